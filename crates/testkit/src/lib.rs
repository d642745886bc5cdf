//! Fixtures for buildscope's tests, shared across crates: self-profiles made by the real
//! rustc (on stable, with `RUSTC_BOOTSTRAP=1` for that rustc only), and a profile written
//! with the `measureme` crate whose text is full of what HTML, SVG and JSON must escape.
//!
//! Test code only: nothing here is part of buildscope.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Text full of what HTML, SVG and JSON must escape, as rustc's type names are.
pub const HOSTILE_LABEL: &str = "<T as Trait<&'a U>>::f \"quoted\" & more";
pub const HOSTILE_ARG: &str = "<script>alert('x')</script> &amp; Vec<Box<dyn Fn() -> u8>>";

/// Compiles `source` as a library crate named `crate_name` with the self-profiler on
/// (`-Zself-profile-events=` `events`), writing into `dir`; returns the profile.
///
/// The profile is checked with measureme's own reader: once in a few hundred CI runs rustc
/// left a profile without its string index (seen on a loaded 2-core machine), and a fixture
/// must be a well-formed profile — such a file is made again, at most twice.
pub fn rustc_profile(dir: &Path, crate_name: &str, source: &str, events: &str) -> PathBuf {
    for attempt in 1..=3 {
        let profile = compile_with_profile(dir, crate_name, source, events);
        let stem = profile.with_extension("");
        match analyzeme::ProfilingData::new(&stem) {
            Ok(_) => return profile,
            Err(e) if attempt < 3 => {
                eprintln!("rustc wrote an unreadable profile ({e}); compiling again");
                let _ = std::fs::remove_file(&profile);
            }
            Err(e) => panic!("rustc wrote an unreadable profile three times: {e}"),
        }
    }
    unreachable!("the loop returns or panics")
}

fn compile_with_profile(dir: &Path, crate_name: &str, source: &str, events: &str) -> PathBuf {
    let src = dir.join(format!("{crate_name}.rs"));
    std::fs::write(&src, source).unwrap();
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(rustc)
        .args([
            "--crate-type",
            "lib",
            "--edition",
            "2021",
            "--crate-name",
            crate_name,
        ])
        .arg(format!("-Zself-profile={}", dir.display()))
        .arg(format!("-Zself-profile-events={events}"))
        .arg("--out-dir")
        .arg(dir)
        .arg(&src)
        .env("RUSTC_BOOTSTRAP", "1")
        .output()
        .expect("rustc runs");
    assert!(
        out.status.success(),
        "rustc failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let prefix = format!("{crate_name}-");
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with(&prefix) && name.ends_with(".mm_profdata")
        })
        .expect("rustc wrote a profile")
}

/// A profile written with the `measureme` crate whose label and argument are
/// [`HOSTILE_LABEL`] and [`HOSTILE_ARG`], nested in a plain activity.
pub fn hostile_profile(dir: &Path) -> PathBuf {
    use measureme::{EventId, EventIdBuilder, Profiler};
    let stem = dir.join("hostile-4242");
    let p = Profiler::new(&stem).unwrap();
    let query = p.alloc_string("Query");
    let generic = p.alloc_string("GenericActivity");
    let outer = p.alloc_string("analysis");
    let label = p.alloc_string(HOSTILE_LABEL);
    let arg = p.alloc_string(HOSTILE_ARG);
    let builder = EventIdBuilder::new(&p);
    {
        let _outer = p.start_recording_interval_event(generic, EventId::from_label(outer), 1);
        spin(std::time::Duration::from_millis(1));
        let id = builder.from_label_and_arg(label, arg);
        let _inner = p.start_recording_interval_event(query, id, 1);
        spin(std::time::Duration::from_millis(2));
    }
    drop(p);
    stem.with_extension("mm_profdata")
}

/// A busy wait: sleeping is too coarse for distinct, non-zero intervals.
fn spin(d: std::time::Duration) {
    let start = std::time::Instant::now();
    while start.elapsed() < d {}
}
