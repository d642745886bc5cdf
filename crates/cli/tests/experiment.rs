//! `experiment` on real projects: a 2x2 matrix in a hot scenario whose settings are proven
//! from the flags rustc recorded, the user's files byte-identical afterwards; and the
//! linkers of a binary with real dependencies measured with their spread.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{
    buildscope_in, busy_functions, generate_lockfile, manifest, path_str, workspace, write,
};
use serde_json::Value;

/// Every file of the workspace (outside target/) and its bytes.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path
                .file_name()
                .is_some_and(|n| n == "target" || n == "history.sqlite")
            {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else {
                files.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

/// Taken by every test here: experiments measure time, and on a 2-core machine two at
/// once would measure each other.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn experiment(root: &Path, args: &[&str]) -> Value {
    let mut all = vec!["experiment", "--json", "--quiet"];
    all.extend_from_slice(args);
    let out = buildscope_in(root, &root.join("history.sqlite"), &all);
    assert!(
        out.status.success(),
        "experiment failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_two_by_two_matrix_takes_effect_and_leaves_the_sources_alone() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let root = workspace(
        "buildscope-experiment-",
        &[
            (
                "core",
                manifest("core", &[], ""),
                vec![("src/lib.rs", busy_functions("c", 40))],
            ),
            (
                "app",
                manifest("app", &["core"], ""),
                vec![(
                    "src/main.rs",
                    "fn main() { println!(\"{}\", core::c1(3)); }\n".to_string(),
                )],
            ),
        ],
    );
    generate_lockfile(&root);
    let before = snapshot(&root);
    let doc = experiment(
        &root,
        &[
            "--touch",
            "app/src/main.rs",
            "--vary",
            "debug=0,2",
            "--vary",
            "incremental=true,false",
        ],
    );
    assert_eq!(doc["schema"], "buildscope.experiment/1");
    let variants = doc["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 4);
    for v in variants {
        let name = v["name"].as_str().unwrap();
        assert_eq!(v["not_applied"], serde_json::json!([]), "{name}: {v}");
        let flags: Vec<&str> = v["rustc_flags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap())
            .collect();
        // From what rustc recorded, independently of buildscope's own checks.
        assert_eq!(
            flags.contains(&"-C debuginfo=2"),
            name.contains("debug=2"),
            "{name}: {flags:?}"
        );
        assert_eq!(
            flags.contains(&"-C incremental=…"),
            name.contains("incremental=true"),
            "{name}: {flags:?}"
        );
        assert_eq!(v["wall_ns"].as_array().unwrap().len(), 1);
        assert!(v["binaries_bytes"].as_u64().unwrap() > 0);
    }
    // Debug info shows in the binaries: the trade-off is visible.
    let size = |i: usize| variants[i]["binaries_bytes"].as_u64().unwrap();
    assert!(size(2) > size(0), "debug=2 binaries are larger");
    assert_eq!(variants[0]["vs_baseline"], Value::Null);
    assert!(variants[1]["vs_baseline"]["ratio"].as_f64().unwrap() > 0.0);
    // The sources are byte-identical afterwards (the touch was undone).
    assert!(snapshot(&root) == before, "the workspace changed");
    // Each variant built in a target directory of its own.
    let dirs: Vec<_> = std::fs::read_dir(root.join("target/buildscope/experiments"))
        .unwrap()
        .collect();
    assert_eq!(dirs.len(), 4);

    // The history has every variant's run, each under an id of its own, and the
    // experiment as one entity that names them.
    let db = root.join("history.sqlite");
    let ids: std::collections::BTreeSet<&str> = variants
        .iter()
        .flat_map(|v| v["run_ids"].as_array().unwrap())
        .map(|id| id.as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 4, "{ids:?}");
    let runs = buildscope_in(&root, &db, &["runs", "--json"]);
    let runs: Value = serde_json::from_slice(&runs.stdout).unwrap();
    let recorded: std::collections::BTreeSet<&str> = runs["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(ids.is_subset(&recorded), "{ids:?} in {recorded:?}");
    let listed = buildscope_in(&root, &db, &["runs", "--experiments", "--json"]);
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    let experiments = listed["experiments"].as_array().unwrap();
    assert_eq!(experiments.len(), 1);
    assert_eq!(experiments[0]["variants"], doc["variants"]);

    // Its page: the chart has a bar per variant, and the script runs without errors.
    let id = experiments[0]["id"].as_str().unwrap();
    let page = root.join(format!(
        "target/buildscope/experiment-runs/{id}/report.html"
    ));
    assert!(page.exists(), "{}", page.display());
    let again = root.join("again.html");
    let out = buildscope_in(
        &root,
        &db,
        &["report", "--experiment", "latest", "-o", path_str(&again)],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_file(&again).unwrap();
    let Some(browser) = common::chromium() else {
        eprintln!("chromium not found: the browser half of this test is skipped outside CI");
        return;
    };
    let (dom, log) = common::headless(
        &browser,
        &["--dump-dom"],
        &format!("file://{}", page.display()),
    );
    common::assert_no_console_errors(&log);
    assert!(dom.contains("data-ready=\"1\""), "the page's script ran");
    assert_eq!(
        dom.matches("<g class=\"variant\">").count(),
        4,
        "a bar per variant"
    );
    assert!(dom.contains("debug=2 incremental=false"));
}

#[test]
fn linkers_are_measured_with_their_spread() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let root = workspace(
        "buildscope-experiment-link-",
        &[(
            "svc",
            format!(
                // Crates buildscope itself depends on, so cargo has them without network.
                "{}serde_json = \"1\"\nclap = \"4\"\n",
                manifest("svc", &[], "")
            ),
            vec![(
                "src/main.rs",
                "fn main() {\n\
                     let v: serde_json::Value = serde_json::from_str(\"{\\\"a\\\": [1, 2]}\").unwrap();\n\
                     let m = clap::Command::new(\"svc\").arg(clap::Arg::new(\"n\")).get_matches_from([\"svc\", \"1\"]);\n\
                     println!(\"{} {:?}\", v, m.get_one::<String>(\"n\"));\n\
                 }\n"
                    .to_string(),
            )],
        )],
    );
    let doc = experiment(
        &root,
        &[
            "--offline",
            "--touch",
            "svc/src/main.rs",
            "--vary",
            "linker=rust-lld,gnu-ld",
            "--runs",
            "3",
        ],
    );
    let variants = doc["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 2);
    assert_eq!(doc["rounds"], 3);
    for v in variants {
        assert_eq!(v["not_applied"], serde_json::json!([]), "{v}");
        assert_eq!(
            v["wall_ns"].as_array().unwrap().len(),
            3,
            "interleaved runs"
        );
    }
    let gnu = &variants[1];
    assert!(gnu["rustc_flags"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f == "-C linker-features=-lld"));
    let c = &gnu["vs_baseline"];
    let (low, ratio, high) = (
        c["low"].as_f64().unwrap(),
        c["ratio"].as_f64().unwrap(),
        c["high"].as_f64().unwrap(),
    );
    assert!(low <= ratio && ratio <= high, "{c}");
}

/// The installed rustup toolchains as (name, folder), from `rustup toolchain list -v`.
fn toolchains() -> Vec<(String, PathBuf)> {
    let out = std::process::Command::new("rustup")
        .args(["toolchain", "list", "-v"])
        .output()
        .expect("rustup runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            Some((words.first()?.to_string(), PathBuf::from(words.last()?)))
        })
        .collect()
}

#[test]
fn toolchains_and_unstable_options_take_effect_and_run_times_a_command() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let root = common::scratch_dir("buildscope-experiment-toolchain-");
    write(
        &root.join("Cargo.toml"),
        &manifest("tiny", &[], "[workspace]\n"),
    );
    write(
        &root.join("src/main.rs"),
        "fn main() { println!(\"{}\", std::env::args().count()); }\n",
    );
    // Two toolchains when the machine has them; else the one it has, by two names (the
    // proof is the same: every unit ran the compiler of the toolchain named).
    let installed = toolchains();
    let mut distinct: Vec<&(String, PathBuf)> = Vec::new();
    for t in &installed {
        if !distinct.iter().any(|d| d.1 == t.1) {
            distinct.push(t);
        }
    }
    let (first, second) = match distinct.as_slice() {
        [a, b, ..] => (a.0.clone(), b.0.clone()),
        [a] => {
            let short = a.0.split('-').next().unwrap().to_string();
            (a.0.clone(), short)
        }
        [] => panic!("no rustup toolchain"),
    };
    let folder_of = |name: &str| {
        installed
            .iter()
            .find(|t| t.0 == name || t.0.starts_with(&format!("{name}-")))
            .unwrap()
            .1
            .clone()
    };
    let doc = experiment(
        &root,
        &[
            // The spelling of --touch src/main.rs.
            "--scenario",
            "touch:src/main.rs",
            "--vary",
            &format!("toolchain={first},{second}"),
            "--vary",
            "share-generics=n,y",
            "--baseline-plus-one",
            "--run",
            "\"$CARGO_TARGET_DIR/debug/tiny\" && echo \"$BUILDSCOPE_VARIANT|$BUILDSCOPE_CARGO_ARGS\" >> ran.txt",
        ],
    );
    let variants = doc["variants"].as_array().unwrap();
    let names: Vec<&str> = variants
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        // One at a time, a variant is named by what it changes from the baseline.
        [
            format!("toolchain={first} share-generics=n"),
            format!("toolchain={second}"),
            "share-generics=y".to_string(),
        ]
    );
    for (v, toolchain) in variants.iter().zip([&first, &second, &first]) {
        let name = v["name"].as_str().unwrap();
        assert_eq!(v["not_applied"], serde_json::json!([]), "{name}");
        let rustc = folder_of(toolchain).join("bin/rustc");
        assert_eq!(
            v["compilers"],
            serde_json::json!([rustc.to_str().unwrap()]),
            "{name}"
        );
        let generics = if name.ends_with("=y") { "y" } else { "n" };
        assert!(
            v["rustc_flags"]
                .as_array()
                .unwrap()
                .contains(&Value::from(format!("-Z share-generics={generics}"))),
            "{name}: {}",
            v["rustc_flags"]
        );
        assert_eq!(v["unstable"], true);
        assert_eq!(v["command_ns"].as_array().unwrap().len(), 1);
    }
    // `--run` ran after each build (and once more as the warm-up of the first round), with
    // the variant's cargo arguments.
    let ran = std::fs::read_to_string(root.join("ran.txt")).unwrap();
    assert_eq!(ran.lines().count(), 6, "{ran}");
    assert!(ran.contains("share-generics=y|--config build.rustflags=[\"-Zshare-generics=y\"]"));
    std::fs::remove_file(root.join("ran.txt")).unwrap();

    // What is not installed is refused up front, in one line.
    let out = buildscope_in(
        &root,
        &root.join("history.sqlite"),
        &["experiment", "--vary", "toolchain=no-such-toolchain"],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--vary toolchain=no-such-toolchain: not an installed toolchain"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    let out = buildscope_in(
        &root,
        &root.join("history.sqlite"),
        &["experiment", "--scenario", "warm", "--vary", "debug=0"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected cold, touch:PATH or edit:PATH"));
}

#[test]
fn the_fast_dev_preset_finds_the_winner_and_apply_writes_it_with_a_backup() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let root = common::scratch_dir("buildscope-experiment-preset-");
    // A project that turned incremental compilation off: in an edit loop, turning it back
    // on is the planted win (the whole crate recompiles without it: ~2.5x here, so that a
    // noisy round cannot hide it).
    let manifest = format!(
        "# the user's own comment\n{}\n[profile.dev]\nincremental = false # tried once\n",
        common::manifest("slowloop", &[], "[workspace]\n")
    );
    write(&root.join("Cargo.toml"), &manifest);
    // main uses every busy function, so that without incremental reuse an edit of
    // main.rs (in `helper`, the first function) code-generates them all again.
    write(
        &root.join("src/main.rs"),
        "mod busy;\nfn helper() -> u64 {\n    1\n}\nfn main() {\n    println!(\"{}\", helper() + busy::all(3));\n}\n",
    );
    let calls: String = (0..150).map(|i| format!(" + f{i}(x)")).collect();
    write(
        &root.join("src/busy.rs"),
        &format!(
            "{}pub fn all(x: u64) -> u64 {{ 0{calls} }}\n",
            busy_functions("f", 150)
        ),
    );
    generate_lockfile(&root);
    let before = snapshot(&root);

    let out = buildscope_in(
        &root,
        &root.join("history.sqlite"),
        &[
            "experiment",
            "--edit",
            "src/main.rs",
            "--preset",
            "fast-dev",
            "--vary",
            "incremental=true",
            // With the win this large, three runs separate cleanly.
            "--runs",
            "3",
            "--apply",
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = doc["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    for candidate in [
        "baseline",
        "debug=line-tables-only",
        "codegen-units=16",
        "incremental=false",
        "incremental=true",
    ] {
        assert!(names.contains(&candidate), "{candidate} in {names:?}");
    }
    // Nothing outside the workspace for dependencies' opt-level to change: not tried.
    assert!(
        !names.iter().any(|n| n.starts_with("deps-opt-level")),
        "{names:?}"
    );
    let incremental = doc["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "incremental=true")
        .unwrap();
    assert!(
        incremental["vs_baseline"]["significant"] == true
            && incremental["vs_baseline"]["ratio"].as_f64().unwrap() < 1.0,
        "{incremental}"
    );
    let recommendation = &doc["recommendation"];
    assert!(recommendation["settings"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!(["incremental", "true"])));

    // --apply: Cargo.toml now says so, the user's comments kept, the old file backed up,
    // and nothing else of theirs changed.
    let cargo_toml = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    assert!(
        cargo_toml.starts_with("# the user's own comment\n"),
        "{cargo_toml}"
    );
    let parsed: toml_edit::DocumentMut = cargo_toml.parse().unwrap();
    assert_eq!(
        parsed["profile"]["dev"]["incremental"].as_bool(),
        Some(true)
    );
    let backup = root.join("Cargo.toml.buildscope-backup");
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), manifest);
    let applied = recommendation["applied"].as_array().unwrap();
    let cargo_change = applied
        .iter()
        .find(|a| a["path"].as_str().unwrap().ends_with("Cargo.toml"))
        .expect("Cargo.toml among the files applied");
    assert!(cargo_change["diff"]
        .as_str()
        .unwrap()
        .contains("-incremental = false # tried once\n+incremental = true # tried once\n"));
    // Another winner of the preset on a noisy machine (the linker, which goes to
    // .cargo/config.toml) is written too, and said to be; nothing else of theirs changes.
    let written: Vec<PathBuf> = applied
        .iter()
        .flat_map(|a| [a["path"].as_str(), a["backup"].as_str()])
        .flatten()
        .map(|p| root.join(p))
        .collect();
    let mut after = snapshot(&root);
    after.remove(&backup);
    after.insert(root.join("Cargo.toml"), manifest.into_bytes());
    let changed: Vec<&PathBuf> = after
        .keys()
        .chain(before.keys())
        .filter(|p| after.get(*p) != before.get(*p))
        .filter(|p| !written.contains(p))
        .collect();
    assert!(
        changed.is_empty(),
        "only the files the recommendation applied changed, not {changed:?}"
    );
}

#[test]
fn ctrl_c_while_run_times_an_edited_build_restores_the_file() {
    use std::os::unix::process::CommandExt;
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let root = common::scratch_dir("buildscope-experiment-interrupt-");
    write(
        &root.join("Cargo.toml"),
        &manifest("tiny", &[], "[workspace]\n"),
    );
    let main = root.join("src/main.rs");
    write(&main, "fn main() {\n    println!(\"hi\");\n}\n");
    let original = std::fs::read(&main).unwrap();
    let mtime = std::fs::metadata(&main).unwrap().modified().unwrap();
    let marker = root.join("running");
    // --run runs after the measured build and before the edit is undone: the window where
    // the file is changed the longest.
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_buildscope"))
        .args([
            "experiment",
            "--edit",
            "src/main.rs",
            "--vary",
            "debug=0,2",
            "--runs",
            "3",
            "--run",
            "touch running; sleep 60",
            "-q",
        ])
        .current_dir(&root)
        .env("BUILDSCOPE_DB", root.join("history.sqlite"))
        .env_remove("CARGO_TARGET_DIR")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !marker.exists() {
        assert!(std::time::Instant::now() < deadline, "--run never started");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_ne!(
        std::fs::read(&main).unwrap(),
        original,
        "the edit is in place"
    );
    let sent = std::time::Instant::now();
    // SAFETY: sends SIGINT to the child's process group, as Ctrl-C in a terminal does.
    unsafe { libc::kill(-(child.id() as i32), libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert!(
        sent.elapsed() < std::time::Duration::from_secs(30),
        "ended promptly, not after {:?}: {}",
        sent.elapsed(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success());
    assert_eq!(
        std::fs::read(&main).unwrap(),
        original,
        "restored byte for byte"
    );
    assert_eq!(std::fs::metadata(&main).unwrap().modified().unwrap(), mtime);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
