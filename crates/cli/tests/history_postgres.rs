//! The history on a real PostgreSQL server: what `build`, `runs`, `compare`, `why` and
//! `check` do against it, and what happens when it cannot be reached, is not buildscope's,
//! is newer than this buildscope, or goes away while a build runs — one line, exit 2, and
//! nothing measured lost.
//!
//! The server is the one `BUILDSCOPE_TEST_POSTGRES` names (.ci/run starts a throw-away
//! cluster); without it these tests say so and pass, except on CI.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

mod common;
use common::{manifest, workspace};

fn server() -> Option<String> {
    let url = std::env::var("BUILDSCOPE_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.is_empty());
    if url.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI tests the history on PostgreSQL: set BUILDSCOPE_TEST_POSTGRES (.ci/run does)"
        );
        eprintln!("BUILDSCOPE_TEST_POSTGRES is not set: skipped");
    }
    url
}

/// A database of its own for one test on `server`, empty.
fn database(server: &str, name: &str) -> String {
    let database = format!("cli_{name}_{}", std::process::id());
    let mut client = postgres::Client::connect(server, postgres::NoTls).unwrap();
    client
        .batch_execute(&format!("DROP DATABASE IF EXISTS {database}"))
        .unwrap();
    client
        .batch_execute(&format!("CREATE DATABASE {database}"))
        .unwrap();
    let (base, _) = server.rsplit_once('/').unwrap();
    format!("{base}/{database}")
}

fn buildscope(root: &Path, db: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_buildscope"))
        .args(args)
        .current_dir(root)
        .env("BUILDSCOPE_DB", db)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One line on stderr, exit 2.
fn refused(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: ") && !stderr.contains("panicked"),
        "{stderr}"
    );
    stderr
}

fn small_workspace(prefix: &str) -> PathBuf {
    workspace(
        prefix,
        &[
            (
                "core",
                manifest("core", &[], ""),
                vec![("src/lib.rs", "pub fn one() -> u32 { 1 }\n".to_string())],
            ),
            (
                "app",
                manifest("app", &["core"], ""),
                vec![(
                    "src/main.rs",
                    "fn main() { println!(\"{}\", core::one()); }\n".to_string(),
                )],
            ),
        ],
    )
}

#[test]
fn every_history_command_works_on_postgres() {
    let Some(server) = server() else { return };
    let db = database(&server, "commands");
    let root = small_workspace("buildscope-pg-");
    ok(&buildscope(&root, &db, &["build", "-q"]));
    ok(&buildscope(
        &root,
        &db,
        &["build", "-q", "--touch", "core/src/lib.rs"],
    ));
    let runs: Value =
        serde_json::from_str(&ok(&buildscope(&root, &db, &["runs", "--json"]))).unwrap();
    let runs = runs["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    // Run ids carry the machine: `<date>-<time>-<machine>-<pid>-<n>`.
    let id = runs[0]["id"].as_str().unwrap();
    assert_eq!(id.split('-').count(), 5, "{id}");
    assert!(runs[0]["machine"].as_str().unwrap().contains("cores"));
    let text = ok(&buildscope(&root, &db, &["compare", "latest~1", "latest"]));
    assert!(text.contains("core"), "{text}");
    let why = ok(&buildscope(&root, &db, &["why", "app"]));
    assert!(why.contains("core/src/lib.rs"), "{why}");
    let check = ok(&buildscope(&root, &db, &["check", "--run", "latest"]));
    assert!(check.contains("not enough history"), "{check}");
    let mine = ok(&buildscope(&root, &db, &["runs", "--machine"]));
    assert!(mine.contains(id), "{mine}");
    assert!(ok(&buildscope(
        &root,
        &db,
        &["runs", "--machine", "no such cpu"]
    ))
    .contains("No runs"));

    // A developer's SQLite history copied into the team's database, twice: no duplicates.
    let file = root.join("mine.sqlite");
    ok(&buildscope(
        &root,
        file.to_str().unwrap(),
        &["build", "-q", "--touch", "app/src/main.rs"],
    ));
    let copy = |out: &Output| String::from_utf8_lossy(&out.stderr).into_owned();
    let args = ["db", "copy", "--from", file.to_str().unwrap(), "--to", &db];
    assert!(copy(&buildscope(&root, &db, &args)).contains("copied 1 runs"));
    buildscope(&root, &db, &args);
    let all: Value =
        serde_json::from_str(&ok(&buildscope(&root, &db, &["runs", "--json"]))).unwrap();
    assert_eq!(all["runs"].as_array().unwrap().len(), 3);
}

#[test]
fn an_unusable_database_is_refused_before_anything_is_built() {
    let Some(server) = server() else { return };
    let root = small_workspace("buildscope-pg-bad-");
    let (base, _) = server.rsplit_once('/').unwrap();
    // Nobody listens there.
    let err = refused(&buildscope(
        &root,
        "postgres://buildscope@127.0.0.1:1/x",
        &["build", "-q"],
    ));
    assert!(
        err.contains("127.0.0.1:1") && err.contains("refused"),
        "{err}"
    );
    // A role the server does not know, its password never shown.
    let wrong = format!(
        "{}/postgres",
        base.replacen("buildscope@", "stranger:hunter2@", 1)
    );
    let err = refused(&buildscope(&root, &wrong, &["build", "-q"]));
    assert!(
        err.contains("stranger") && !err.contains("hunter2"),
        "{err}"
    );
    // A database of something else.
    let other = database(&server, "foreign");
    let mut client = postgres::Client::connect(&other, postgres::NoTls).unwrap();
    client
        .batch_execute("CREATE TABLE invoices (id BIGINT)")
        .unwrap();
    let err = refused(&buildscope(&root, &other, &["build", "-q"]));
    assert!(
        err.contains("not a buildscope history") && err.contains("invoices"),
        "{err}"
    );
    // A history a newer buildscope wrote.
    let newer = database(&server, "newer");
    ok(&buildscope(&root, &newer, &["runs"]));
    let mut client = postgres::Client::connect(&newer, postgres::NoTls).unwrap();
    client
        .batch_execute("UPDATE buildscope_schema SET version = 7")
        .unwrap();
    let err = refused(&buildscope(&root, &newer, &["build", "-q"]));
    assert!(err.contains("schema version 7 is newer"), "{err}");
    assert!(!root.join("target").exists(), "nothing was built");
}

#[test]
fn a_server_that_goes_away_during_a_build_loses_nothing() {
    let Some(server) = server() else { return };
    // A server of this test's own, to stop while the build runs.
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts");
    let dir = std::env::temp_dir().join(format!("buildscope-pg-away-{}", std::process::id()));
    let port = (56000 + std::process::id() % 1000).to_string();
    let started = Command::new(scripts.join("pg-throwaway.sh"))
        .args(["start", dir.to_str().unwrap(), &port])
        .output()
        .unwrap();
    assert!(
        started.status.success(),
        "{}",
        String::from_utf8_lossy(&started.stderr)
    );
    let doomed = String::from_utf8_lossy(&started.stdout).trim().to_string();
    let stop = || {
        Command::new(scripts.join("pg-throwaway.sh"))
            .args(["stop", dir.to_str().unwrap()])
            .output()
            .unwrap()
    };
    // A build script that takes two seconds: time to stop the server under it.
    let root = workspace(
        "buildscope-pg-away-",
        &[(
            "slow",
            manifest("slow", &[], ""),
            vec![
                (
                    "build.rs",
                    "fn main() { std::thread::sleep(std::time::Duration::from_secs(2)); }\n"
                        .to_string(),
                ),
                ("src/main.rs", "fn main() {}\n".to_string()),
            ],
        )],
    );
    let child = Command::new(env!("CARGO_BIN_EXE_buildscope"))
        .args(["build", "-q"])
        .current_dir(&root)
        .env("BUILDSCOPE_DB", &doomed)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTC_WRAPPER")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Measuring has begun once the run's folder exists.
    let runs = root.join("target/buildscope/runs");
    for _ in 0..200 {
        if std::fs::read_dir(&runs).is_ok_and(|mut d| d.next().is_some()) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    stop();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{err}");
    let line = err.lines().last().unwrap();
    assert!(
        line.starts_with("error: the history could not be written"),
        "{err}"
    );
    let import = line
        .split("buildscope db import ")
        .nth(1)
        .expect("says how to add the run later")
        .trim_end_matches('`');
    assert!(Path::new(import).join("run.json").is_file(), "{line}");
    // Added later, to the team's database that is up.
    let db = database(&server, "imported");
    let out = buildscope(&root, &db, &["db", "import", import]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let runs: Value =
        serde_json::from_str(&ok(&buildscope(&root, &db, &["runs", "--json"]))).unwrap();
    assert_eq!(runs["runs"].as_array().unwrap().len(), 1);
    assert!(import.ends_with(runs["runs"][0]["id"].as_str().unwrap()));
}
