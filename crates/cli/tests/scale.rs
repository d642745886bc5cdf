//! `buildscope scale` on real builds of generated projects: a shape whose rustc cost grows
//! faster than its input and one that grows with it, classified as such; a generator that
//! fails at one size; the page.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

mod common;
use common::scratch_dir;

/// The scale builds time rustc: one at a time in this binary.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn scale(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_buildscope"))
        .arg("scale")
        .args(args)
        .args(["-q", "--json"])
        .current_dir(dir)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap()
}

fn doc(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn measure<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["measures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["measure"] == name)
        .unwrap_or_else(|| panic!("no {name} in {doc:#}"))
}

#[test]
fn an_iterator_chain_grows_superlinearly_in_trait_solving() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // Measured before choosing it (rustc 1.95, 2 cores): sizes 20/40/60/80 took 122, 252,
    // 593 and 1319 ms in rustc alone; `evaluate_obligation` grew as n^2.98 [2.43, 3.53]
    // and the trait-solving phase as n^2.65: every `.map()` wraps the previous adapter's
    // type, and each step's obligations are about the whole nested type.
    let dir = scratch_dir("buildscope-scale-chain-");
    let page = dir.join("scale.html");
    let doc = doc(&scale(
        &dir,
        &[
            "--shape",
            "iterator-chain",
            "--sizes",
            "20,40,60,80",
            "-o",
            page.to_str().unwrap(),
        ],
    ));
    assert_eq!(doc["schema"], "buildscope.scale/1");
    let solving = measure(&doc, "phase:Trait solving");
    assert_eq!(solving["fit"]["growth"], "superlinear", "{solving:#}");
    assert!(
        solving["fit"]["exponent"].as_f64().unwrap() > 1.5,
        "{solving:#}"
    );
    let headline = doc["headline"].as_str().unwrap();
    assert!(headline.contains("(superlinear)"), "{headline}");
    // The page charts every measure.
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("\"measure\":\"phase:Trait solving\""));
    if let Some(browser) = common::chromium() {
        let (dom, log) = common::headless(
            &browser,
            &["--dump-dom"],
            &format!("file://{}", page.display()),
        );
        common::assert_no_console_errors(&log);
        assert!(dom.contains("data-ready=\"1\""), "the page's script ran");
        assert!(
            dom.matches("class=\"chart\"").count() >= 4,
            "a chart per measure"
        );
    }
}

#[test]
fn independent_functions_grow_linearly() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // Measured first: 2000/4000/8000/16000 functions took 282, 535, 1098 and 2085 ms in
    // rustc alone; the build's CPU time grew as n^1.00 [0.94, 1.07]. Smaller sizes with one
    // run each failed on a loaded CI machine (1000..8000: 347, 462, 962, 2239 ms, an
    // interval 1.1 wide, "unknown"): rustc's fixed start-up weighs on the smallest size
    // and one run per size gives the fit no spread to average. Two runs of the sizes
    // measured keep the interval narrow enough to call.
    let dir = scratch_dir("buildscope-scale-functions-");
    let doc = doc(&scale(
        &dir,
        &[
            "--shape",
            "functions",
            "--sizes",
            "2000,4000,8000,16000",
            "--runs",
            "2",
        ],
    ));
    // The work rustc does per function (type checking, borrow checking, building MIR) is
    // linear in the number of independent functions, and must never be called superlinear.
    // Linear on a developer machine; a fresh-clone CI run measured type checking at n^1.12
    // [1.007, 1.23] (the largest size's hash tables outgrowing a cache), which the fit
    // rightly calls n-log-n from those points: either is a true reading of them.
    for phase in ["phase:Type checking and lints", "phase:Borrow checking"] {
        let fit = &measure(&doc, phase)["fit"];
        let growth = fit["growth"].as_str().unwrap_or_default();
        assert!(["linear", "n-log-n"].contains(&growth), "{phase}: {fit:#}");
        let exponent = fit["exponent"].as_f64().unwrap();
        assert!((0.85..1.25).contains(&exponent), "{phase}: {fit:#}");
    }
    // The whole build's CPU time is not all per-function work: LLVM's passes over a crate
    // measured n^1.19 on both a developer machine (cpu 1.07 [0.91, 1.22]) and a CI runner
    // (cpu 1.19 [1.13, 1.25], where a smaller cache made the largest size 2.4x the one
    // before). What must never happen is calling independent functions superlinear.
    let cpu = measure(&doc, "cpu");
    assert_ne!(cpu["fit"]["growth"], "superlinear", "{cpu:#}");
    let exponent = cpu["fit"]["exponent"].as_f64().unwrap();
    assert!((0.85..1.3).contains(&exponent), "{cpu:#}");
    assert_eq!(cpu["points"].as_array().unwrap().len(), 4);
}

#[test]
fn a_size_the_generator_fails_at_is_reported_and_the_rest_fitted() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch_dir("buildscope-scale-failing-");
    let generator = "[ {n} = 30 ] && { echo 'no room for 30' >&2; exit 1; }; \
        printf '[package]\\nname = \"gen\"\\nversion = \"0.1.0\"\\nedition = \"2021\"\\n[workspace]\\n' > {dir}/Cargo.toml; \
        mkdir -p {dir}/src; for i in $(seq {n}); do echo \"pub fn f$i(x: u32) -> u32 { x + $i }\"; done > {dir}/src/lib.rs";
    let out = scale(
        &dir,
        &["--generator", generator, "--sizes", "10,20,30,40,50"],
    );
    let doc = doc(&out);
    let failures = doc["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0][0], 30);
    assert!(failures[0][1].as_str().unwrap().contains("no room for 30"));
    let wall = measure(&doc, "wall");
    assert!(
        wall["fit"].is_object(),
        "fitted on the four other sizes: {wall:#}"
    );
    let measured: Vec<u64> = wall["points"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| !p["values"].as_array().unwrap().is_empty())
        .map(|p| p["size"].as_u64().unwrap())
        .collect();
    assert_eq!(measured, vec![10, 20, 40, 50]);
    // Bad input: one line, exit 2.
    for (args, says) in [
        (
            vec!["--shape", "recursion", "--sizes", "1,2,3"],
            "not a built-in generator",
        ),
        (
            vec!["--shape", "functions", "--sizes", "1,2"],
            "at least three different sizes",
        ),
    ] {
        let out = scale(&dir, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(says), "{err}");
    }
}

#[test]
fn sampling_shows_the_functions_inside_rustc_and_llvm() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let root = common::workspace(
        "buildscope-sample-",
        &[(
            "busy",
            common::manifest("busy", &[], ""),
            vec![("src/lib.rs", common::busy_functions("f", 300))],
        )],
    );
    let db = root.join("history.sqlite");
    let out = common::buildscope_in(&root, &db, &["build", "--cold", "--sample", "--json", "-q"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let run = &doc["runs"][0];
    let notes = run["notes"].to_string();
    if notes.contains("not sampled") {
        // Where perf may not sample, the build says why and completes unsampled.
        assert!(
            std::env::var_os("CI").is_none(),
            "CI samples for real: {notes}"
        );
        assert!(notes.contains("perf"), "{notes}");
        assert!(run["samples"].is_null());
        return;
    }
    let folded = std::fs::read_to_string(run["samples"].as_str().expect("sampled")).unwrap();
    let frames = |prefix: &str| folded.lines().filter(|l| l.contains(prefix)).count();
    assert!(
        frames("llvm::") > 0,
        "LLVM's functions: {}",
        &folded[..folded.len().min(2000)]
    );
    assert!(frames("rustc_") > 0, "rustc's functions");
    assert!(
        folded.lines().any(|l| l.starts_with("rustc;")),
        "rooted at rustc"
    );
    // Drawn by the flamegraph code, and it opens.
    let svg = root.join("samples.svg");
    let drawn = common::buildscope_in(
        &root,
        &db,
        &[
            "flamegraph",
            "--samples",
            "latest",
            "-o",
            svg.to_str().unwrap(),
        ],
    );
    assert!(
        drawn.status.success(),
        "{}",
        String::from_utf8_lossy(&drawn.stderr)
    );
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.contains("llvm::"), "the SVG names LLVM's functions");
    if let Some(browser) = common::chromium() {
        let (_, log) = common::headless(
            &browser,
            &["--dump-dom"],
            &format!("file://{}", svg.display()),
        );
        common::assert_no_console_errors(&log);
    }
    // A run that was not sampled says so in one line.
    let plain = common::buildscope_in(&root, &db, &["build", "-q"]);
    assert!(plain.status.success());
    let out = common::buildscope_in(
        &root,
        &db,
        &[
            "flamegraph",
            "--samples",
            "latest",
            "-o",
            svg.to_str().unwrap(),
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("was not sampled") && err.trim_end().lines().count() == 1,
        "{err}"
    );
}

#[test]
fn the_size_of_an_edit_is_swept_on_the_users_own_project() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // A library of 40 modules with one function each: in a dev build each module is a
    // codegen unit of its own, so an edit of n functions redoes n units' codegen.
    let dir = scratch_dir("buildscope-scale-edits-");
    let modules: String = (0..40)
        .map(|m| {
            format!(
                "pub mod s{m} {{ pub fn g(x: u64) -> u64 {{ let v: Vec<u64> = (0..x).map(|i| i * {m} + 1).collect(); v.iter().sum::<u64>() }} }}\n"
            )
        })
        .collect();
    common::write(
        &dir.join("Cargo.toml"),
        "[package]\nname = \"edited\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    );
    common::write(&dir.join("src/lib.rs"), &modules);
    let doc = doc(&scale(&dir, &["--edit", "src/lib.rs", "--sizes", "1,8,32"]));
    assert_eq!(doc["scenario"], "hot: after an edit", "{doc:#}");
    assert_eq!(doc["generator"], "edits of lib.rs");
    let codegen = measure(&doc, "phase:LLVM code generation");
    let at = |i: usize| -> f64 {
        codegen["points"][i]["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .sum::<f64>()
    };
    assert!(at(2) > 4.0 * at(0), "32 functions vs 1: {codegen:#}");
    // The user's project as it was: the file restored, their own target directory unused.
    assert_eq!(
        std::fs::read_to_string(dir.join("src/lib.rs")).unwrap(),
        modules
    );
    assert!(!dir.join("target/debug").exists());
    // More functions than the file has: the size says so, the others are still measured.
    let out = scale(&dir, &["--edit", "src/lib.rs", "--sizes", "1,2,41"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("fewer than the 41"),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
