//! Bounded disk: raw profiles kept for the newest runs within a budget, older runs still
//! explained and reported from what was saved with them, `gc --dry-run` touching nothing,
//! a folder deleted behind buildscope's back reported, and `gc` next to a build losing
//! nothing. Real cargo and rustc on a workspace the test writes.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{buildscope_in, generate_lockfile, manifest, stdout_json, workspace};
use serde_json::Value;

fn ok(out: Output) -> Output {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A small workspace: a library with some generic code, and a binary.
fn project() -> (PathBuf, PathBuf) {
    let lib: String = (0..30)
        .map(|i| {
            format!(
                "pub fn f{i}<T: std::fmt::Debug>(x: T) -> String {{ format!(\"{{x:?}}{i}\") }}\n"
            )
        })
        .collect();
    let root = workspace(
        "buildscope-retention-",
        &[
            ("core", manifest("core", &[], ""), vec![("src/lib.rs", lib)]),
            (
                "app",
                manifest("app", &["core"], ""),
                vec![(
                    "src/main.rs",
                    "fn main() { println!(\"{}\", core::f0(1u8) + &core::f1(\"a\")); }\n".into(),
                )],
            ),
        ],
    );
    generate_lockfile(&root);
    let db = root.join("history.sqlite");
    (root, db)
}

fn profiled_build(root: &Path, db: &Path, extra: &[&str]) -> Value {
    let mut args = vec![
        "build",
        "--json",
        "--quiet",
        "--self-profile-crates",
        "--touch",
        "core/src/lib.rs",
    ];
    args.extend_from_slice(extra);
    stdout_json(&buildscope_in(root, db, &args))["runs"][0].clone()
}

fn folder(run: &Value) -> PathBuf {
    PathBuf::from(run["run_dir"].as_str().unwrap())
}

/// What explain says of a run, without its wording: the phases and the findings' causes.
fn explained(root: &Path, db: &Path, run: &Value) -> (Value, Vec<Value>, String) {
    let out = ok(buildscope_in(
        root,
        db,
        &["explain", "--json", run["id"].as_str().unwrap()],
    ));
    let doc = stdout_json(&out);
    let causes = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["cause"].clone())
        .collect();
    (doc["phases"].clone(), causes, stderr(&out))
}

#[test]
fn older_runs_lose_their_raw_profiles_and_keep_their_explanation() {
    let (root, db) = project();
    let first = profiled_build(&root, &db, &[]);
    let second = profiled_build(&root, &db, &[]);
    assert!(folder(&first).join("profiles").is_dir());
    let before = explained(&root, &db, &first);

    // The third keeps one run's raw profiles: its own.
    let out = ok(buildscope_in(
        &root,
        &db,
        &[
            "build",
            "--quiet",
            "--self-profile-crates",
            "--touch",
            "core/src/lib.rs",
            "--keep-profiles",
            "1",
        ],
    ));
    let said = stderr(&out);
    assert!(
        said.contains("pruned the raw profiles of 2 older runs"),
        "{said}"
    );
    let runs = stdout_json(&buildscope_in(&root, &db, &["runs", "--json"]));
    let third = runs["runs"][0].clone();
    assert!(
        folder(&third).join("profiles").is_dir(),
        "the run just made keeps its profiles"
    );
    for run in [&first, &second] {
        let dir = folder(run);
        assert!(!dir.join("profiles").exists(), "{}", dir.display());
        assert!(!dir.join("trace.json").exists());
        for kept in ["run.json", "evidence.json", "pruned.json", "report.html"] {
            assert!(dir.join(kept).is_file(), "{kept} kept in {}", dir.display());
        }
    }
    let listed: Vec<&str> = runs["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["folder"]["state"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["whole", "pruned", "pruned"]);

    // explain on a pruned run: the same phases and findings, and it says what is missing.
    let after = explained(&root, &db, &first);
    assert_eq!(after.0, before.0, "the phases are the saved summaries'");
    assert_eq!(after.1, before.1);
    assert!(after.2.contains("raw profiles were pruned"), "{}", after.2);
    // The report too, without the views that need the raw profiles.
    let page = root.join("pruned-report.html");
    ok(buildscope_in(
        &root,
        &db,
        &[
            "report",
            first["id"].as_str().unwrap(),
            "-o",
            page.to_str().unwrap(),
        ],
    ));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("\"raw_profiles_pruned\":true"));
    // A profile view pointed at the pruned folder says why it cannot.
    let out = buildscope_in(
        &root,
        &db,
        &[
            "summarize",
            folder(&first).join("profiles").to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    let said = stderr(&out);
    assert!(said.contains("pruned"), "{said}");
    assert_eq!(said.trim().lines().count(), 1, "{said}");
}

#[test]
fn a_dry_run_removes_nothing_and_a_deleted_folder_is_reported() {
    let (root, db) = project();
    let first = profiled_build(&root, &db, &[]);
    let second = profiled_build(&root, &db, &[]);
    let out = ok(buildscope_in(
        &root,
        &db,
        &["gc", "--dry-run", "--keep", "0", "--json"],
    ));
    let planned = stdout_json(&out);
    assert_eq!(planned["pruned"].as_array().unwrap().len(), 2, "{planned}");
    for run in [&first, &second] {
        assert!(
            folder(run).join("profiles").is_dir(),
            "a dry run removes nothing"
        );
        assert!(!folder(run).join("pruned.json").exists());
    }
    // The budget from the environment; a bad value is one line naming it.
    let out = buildscope_in(&root, &db, &["gc", "--max-size", "lots"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--max-size lots"), "{}", stderr(&out));

    // A folder deleted behind buildscope's back (`cargo clean`).
    std::fs::remove_dir_all(folder(&first)).unwrap();
    let out = ok(buildscope_in(&root, &db, &["runs"]));
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(listed.contains("gone"), "{listed}");
    let out = buildscope_in(&root, &db, &["explain", first["id"].as_str().unwrap()]);
    assert!(!out.status.success());
    let said = stderr(&out);
    assert!(said.contains("is gone"), "{said}");
    assert!(!said.contains("panicked"), "{said}");
    // compare still works from the history's rows.
    ok(buildscope_in(
        &root,
        &db,
        &[
            "compare",
            first["id"].as_str().unwrap(),
            second["id"].as_str().unwrap(),
        ],
    ));

    // The history's own retention: nothing is a day old; everything is older than now.
    let said = stderr(&ok(buildscope_in(
        &root,
        &db,
        &["db", "prune", "--older-than", "1d"],
    )));
    assert!(said.contains("removed 0 runs"), "{said}");
    let said = stderr(&ok(buildscope_in(
        &root,
        &db,
        &["db", "prune", "--older-than", "0h", "--dry-run"],
    )));
    assert!(said.contains("would remove 2 runs"), "{said}");
    ok(buildscope_in(
        &root,
        &db,
        &["db", "prune", "--older-than", "0h"],
    ));
    let runs = stdout_json(&buildscope_in(&root, &db, &["runs", "--json"]));
    assert_eq!(runs["runs"].as_array().unwrap().len(), 0, "{runs}");
    let out = buildscope_in(&root, &db, &["db", "prune", "--older-than", "soon"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--older-than soon"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn gc_next_to_a_build_loses_nothing() {
    let (root, db) = project();
    profiled_build(&root, &db, &[]);
    // A build and a gc that prunes everything, started together: they take turns on the
    // workspace's lock, so the build's run is either whole or pruned with its summaries.
    let exe = env!("CARGO_BIN_EXE_buildscope");
    let start = |args: &[&str]| {
        std::process::Command::new(exe)
            .args(args)
            .current_dir(&root)
            .env("BUILDSCOPE_DB", &db)
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("RUSTC_WRAPPER")
            .env_remove("RUSTFLAGS")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let build = start(&[
        "build",
        "--quiet",
        "--self-profile-crates",
        "--touch",
        "core/src/lib.rs",
    ]);
    let gc = start(&["gc", "--keep", "0"]);
    for child in [build, gc] {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let runs = stdout_json(&buildscope_in(&root, &db, &["runs", "--json"]));
    let runs = runs["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    for run in runs {
        let dir = folder(run);
        let whole = dir.join("profiles").is_dir() && !dir.join("pruned.json").exists();
        let pruned = dir.join("pruned.json").is_file() && dir.join("evidence.json").is_file();
        assert!(
            whole || pruned,
            "{} is neither whole nor pruned",
            dir.display()
        );
        let (phases, _, _) = explained(&root, &db, run);
        assert!(phases.is_object(), "{phases}");
    }
}
