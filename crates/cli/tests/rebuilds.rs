//! Why units rebuilt, on real workspaces built by the real cargo: the reason recorded for
//! each unit, and the findings only those reasons allow (a build script that reruns, an
//! environment variable that changes, one edited crate many depend on, two settings taking
//! turns in one target directory). cargo's verbose lines never reach the user.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

mod common;
use common::{buildscope_in, manifest, unit_of, workspace};

fn json_of(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "buildscope failed ({:?}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert_quiet(out);
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

/// What cargo printed reaches the user as it would without buildscope: no `-v` lines.
fn assert_quiet(out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    for word in ["Dirty", "Fresh", "Running `"] {
        assert!(
            !stderr.lines().any(|l| l.trim_start().starts_with(word)),
            "cargo's verbose output reached the user: {stderr}"
        );
    }
}

/// `buildscope build --json -q <args>` in `root`, with `env` set for it (and nothing else
/// from this process's RUSTFLAGS).
fn build(root: &Path, db: &Path, args: &[&str], env: &[(&str, &str)]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_buildscope"))
        .arg("build")
        .args(args)
        .args(["--json", "-q"])
        .current_dir(root)
        .env("BUILDSCOPE_DB", db)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    json_of(&out)["runs"][0].clone()
}

/// The latest run's findings.
fn findings(root: &Path, db: &Path) -> Vec<Value> {
    let out = buildscope_in(root, db, &["explain", "--json", "--top", "50"]);
    json_of(&out)["findings"].as_array().unwrap().clone()
}

fn finding<'a>(findings: &'a [Value], cause: &str) -> Option<&'a Value> {
    findings.iter().find(|f| f["cause"] == cause)
}

fn text_of(finding: &Value) -> String {
    format!(
        "{} {} {}",
        finding["title"],
        finding["evidence"],
        finding["fix"].as_str().unwrap_or("")
    )
}

fn reasons(run: &Value) -> Vec<Value> {
    run["rebuild_reasons"]
        .as_array()
        .expect("reasons recorded")
        .clone()
}

fn reason_of(run: &Value, unit: &Value) -> Value {
    reasons(run)
        .into_iter()
        .find(|r| r["unit"] == unit["id"])
        .unwrap_or_else(|| panic!("no reason for {unit}"))
}

#[test]
fn a_watched_environment_variable_is_named_as_the_reason() {
    let root = workspace(
        "buildscope-rebuild-env-",
        &[
            (
                "gen",
                manifest("gen", &[], ""),
                vec![
                    (
                        "build.rs",
                        "fn main() { println!(\"cargo:rerun-if-env-changed=GEN_SEED\"); println!(\"cargo:rustc-env=SEED={}\", std::env::var(\"GEN_SEED\").unwrap_or_default()); }\n".to_string(),
                    ),
                    (
                        "src/lib.rs",
                        "pub fn seed() -> &'static str { env!(\"SEED\") }\n".to_string(),
                    ),
                ],
            ),
            (
                "app",
                manifest("app", &["gen"], ""),
                vec![(
                    "src/main.rs",
                    "fn main() { println!(\"{}\", gen::seed()); }\n".to_string(),
                )],
            ),
        ],
    );
    let db = root.join("history.sqlite");
    let first = build(&root, &db, &[], &[("GEN_SEED", "1")]);
    assert!(
        reasons(&first)
            .iter()
            .all(|r| r["kind"] == "not-built-before"),
        "{:?}",
        reasons(&first)
    );
    // The variable changes between two builds of the same target directory.
    let run = build(&root, &db, &[], &[("GEN_SEED", "2")]);
    assert_eq!(run["reasons_from"], "cargo -v");
    let script = unit_of(&run, "gen", "build-script-run");
    let reason = reason_of(&run, script);
    assert_eq!(reason["kind"], "env-changed", "{reason}");
    assert_eq!(reason["variable"], "GEN_SEED");
    let app_reason = reason_of(&run, unit_of(&run, "app", "bin"));
    assert_eq!(app_reason["kind"], "dependency-rebuilt", "{app_reason}");
    assert_eq!(app_reason["dependency"], "gen");
    assert!(reasons(&run).iter().all(|r| r["kind"] != "other"));

    // cargo's build-analysis log names the values too, and asking for it rebuilds
    // nothing else (its RUSTC_BOOTSTRAP reaches no fingerprint).
    let run = build(&root, &db, &["--cargo-log"], &[("GEN_SEED", "1796007740")]);
    assert_eq!(
        run["reasons_from"], "cargo build-analysis log",
        "{}",
        run["notes"]
    );
    let reason = reason_of(&run, unit_of(&run, "gen", "build-script-run"));
    assert_eq!(reason["kind"], "env-changed", "{reason}");
    assert_eq!(reason["before"], "2");
    assert_eq!(reason["after"], "1796007740");
    assert!(
        reasons(&run)
            .iter()
            .all(|r| r["kind"] != "not-built-before"),
        "{:?}",
        reasons(&run)
    );
    let findings = findings(&root, &db);
    let found = finding(&findings, "changing-environment-variable").expect("a finding");
    let text = text_of(found);
    assert!(
        text.contains("GEN_SEED") && text.contains("`2` to `1796007740`"),
        "{text}"
    );
    assert!(text.contains("a timestamp"), "{text}");
    assert!(found["estimate_ns"].as_u64().unwrap() > 0);
}

#[test]
fn a_build_script_without_rerun_if_changed_reruns_after_any_edit_of_its_package() {
    // The build script says nothing of what it reads: cargo watches the whole package.
    let root = workspace(
        "buildscope-rebuild-script-",
        &[(
            "tool",
            manifest("tool", &[], ""),
            vec![
                (
                    "build.rs",
                    // Work worth a finding (as code generation would be): 150 ms.
                    "fn main() { std::thread::sleep(std::time::Duration::from_millis(150)); println!(\"cargo:rustc-env=BUILT=yes\"); }\n".to_string(),
                ),
                (
                    "src/main.rs",
                    "fn main() {\n    println!(\"{}\", env!(\"BUILT\"));\n}\n".to_string(),
                ),
            ],
        )],
    );
    let db = root.join("history.sqlite");
    let run = build(&root, &db, &["--edit", "tool/src/main.rs"], &[]);
    let script_run = unit_of(&run, "tool", "build-script-run");
    let reason = reason_of(&run, script_run);
    assert_eq!(reason["kind"], "package-changed", "{:?}", reasons(&run));
    // cargo prints one line per package; the binary rebuilt after the script's run.
    let bin = reason_of(&run, unit_of(&run, "tool", "bin"));
    assert_eq!(bin["kind"], "dependency-rebuilt", "{bin}");
    assert_eq!(bin["dependency"], "build-script-build");
    assert!(reasons(&run).iter().all(|r| r["kind"] != "other"));
    let findings = findings(&root, &db);
    let found = finding(&findings, "build-script-reruns").expect("a finding");
    let text = text_of(found);
    assert_eq!(found["crate"], "tool");
    // The saving is the script's run (~150 ms), not the binary that the edit rebuilds anyway.
    let saving = found["estimate_ns"].as_u64().unwrap();
    assert!(
        (100_000_000..run["totals"]["wall_ns"].as_u64().unwrap()).contains(&saving),
        "{saving}"
    );
    assert!(
        text.contains("no `cargo:rerun-if-changed` line")
            && text.contains("cargo:rerun-if-changed=build.rs"),
        "{text}"
    );
}

#[test]
fn builds_with_different_rustflags_in_one_target_dir_are_named_with_the_flag() {
    let root = workspace(
        "buildscope-rebuild-flags-",
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
    );
    let db = root.join("history.sqlite");
    let first = build(&root, &db, &[], &[]);
    assert!(first.get("previous_settings").is_none());
    // As an editor's build with other flags would, into the same target directory.
    let run = build(&root, &db, &[], &[("RUSTFLAGS", "-C debug-assertions=off")]);
    assert_eq!(run["previous_settings"]["rustflags"], serde_json::json!([]));
    assert_eq!(
        run["settings"]["rustflags"],
        serde_json::json!(["-C", "debug-assertions=off"])
    );
    assert_eq!(run["settings"]["rustflags_from"], "RUSTFLAGS");
    // cargo 1.95 builds a second copy (new file names) rather than saying "rustflags
    // changed"; both are a change of settings.
    assert!(
        reasons(&run)
            .iter()
            .all(|r| r["kind"] == "not-built-before" || r["kind"] == "flags-changed"),
        "{:?}",
        reasons(&run)
    );
    let findings = findings(&root, &db);
    let found = finding(&findings, "settings-thrash").expect("a finding");
    let text = text_of(found);
    assert!(
        text.contains("RUSTFLAGS") && text.contains("`-C debug-assertions=off`"),
        "{text}"
    );
    assert!(text.contains(".cargo/config.toml"), "{text}");
    assert!(found["estimate_ns"].as_u64().unwrap() > 0);

    // Back to the first flags: cargo still has that copy, nothing is compiled again, and
    // there is nothing to name.
    let back = build(&root, &db, &[], &[]);
    assert_eq!(
        back["units"].as_array().unwrap().len(),
        0,
        "{}",
        back["units"]
    );
    assert!(finding(&self::findings(&root, &db), "settings-thrash").is_none());
}

#[test]
fn one_member_built_alone_unifies_features_differently_and_is_named() {
    // `app` turns on `fancy` of `shared`; `lone` does not. The whole workspace compiles
    // `shared` with the feature, `-p lone` without.
    let root = workspace(
        "buildscope-rebuild-features-",
        &[
            (
                "shared",
                manifest("shared", &[], "[features]\nfancy = []\n"),
                vec![(
                    "src/lib.rs",
                    "pub fn name() -> &'static str { if cfg!(feature = \"fancy\") { \"fancy\" } else { \"plain\" } }\n"
                        .to_string(),
                )],
            ),
            (
                "app",
                "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[dependencies]\nshared = { path = \"../shared\", features = [\"fancy\"] }\n".to_string(),
                vec![(
                    "src/main.rs",
                    "fn main() { println!(\"{}\", shared::name()); }\n".to_string(),
                )],
            ),
            (
                "lone",
                manifest("lone", &["shared"], ""),
                vec![(
                    "src/main.rs",
                    "fn main() { println!(\"{}\", shared::name()); }\n".to_string(),
                )],
            ),
        ],
    );
    let db = root.join("history.sqlite");
    let whole = build(&root, &db, &[], &[]);
    assert_eq!(
        whole["settings"]["features"]["shared 0.1.0"],
        serde_json::json!(["fancy"])
    );
    let alone = build(&root, &db, &["-p", "lone"], &[]);
    assert_eq!(
        alone["settings"]["features"]["shared 0.1.0"],
        serde_json::json!([])
    );
    let shared = unit_of(&alone, "shared", "lib");
    assert_eq!(reason_of(&alone, shared)["kind"], "not-built-before");
    let findings = findings(&root, &db);
    let found = finding(&findings, "settings-thrash").expect("a finding");
    let text = text_of(found);
    assert!(
        text.contains("features of shared 0.1.0: [fancy] before, [] now"),
        "{text}"
    );
    assert!(text.contains("`-p lone`"), "{text}");
    assert!(text.contains("--workspace"), "{text}");
}

#[test]
fn an_edit_of_a_crate_many_depend_on_is_named_as_a_cascade() {
    let dependent = |name: &'static str| {
        (
            name,
            manifest(name, &["core"], ""),
            vec![(
                "src/lib.rs",
                format!("pub fn {name}() -> u32 {{ core::one() + 1 }}\n"),
            )],
        )
    };
    let root = workspace(
        "buildscope-rebuild-cascade-",
        &[
            (
                "core",
                manifest("core", &[], ""),
                vec![(
                    "src/lib.rs",
                    "pub fn one() -> u32 {\n    1\n}\n".to_string(),
                )],
            ),
            dependent("left"),
            dependent("right"),
            dependent("middle"),
            (
                "app",
                manifest("app", &["left", "right", "middle"], ""),
                vec![(
                    "src/main.rs",
                    "fn main() { println!(\"{}\", left::left() + right::right() + middle::middle()); }\n"
                        .to_string(),
                )],
            ),
        ],
    );
    let db = root.join("history.sqlite");
    let run = build(&root, &db, &["--touch", "core/src/lib.rs"], &[]);
    let core = unit_of(&run, "core", "lib");
    assert_eq!(reason_of(&run, core)["kind"], "file-changed");
    assert_eq!(reason_of(&run, core)["file"], "core/src/lib.rs");
    let findings = findings(&root, &db);
    let found = finding(&findings, "edit-cascade").expect("a finding");
    assert_eq!(found["crate"], "core");
    let text = text_of(found);
    assert!(text.contains("rebuilds 4 crates"), "{text}");
    for name in ["left", "right", "middle", "app"] {
        assert!(text.contains(&format!("`{name}`")), "{text}");
    }
    assert!(text.contains("trait object"), "{text}");
    let saving = found["estimate_ns"].as_u64().unwrap();
    assert!(saving > 0 && saving <= run["totals"]["wall_ns"].as_u64().unwrap());

    // The report links each rebuilt unit to its root: core, with the four in its cascade.
    let page = root.join("report.html");
    let out = buildscope_in(&root, &db, &["report", "-o", page.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(&page).unwrap();
    let data = html
        .find("\"rebuild_roots\":[{")
        .expect("roots in the page's data");
    let roots = &html[data..data + 400];
    assert!(
        roots.contains(&format!("\"unit\":{}", core["id"])),
        "{roots}"
    );
    assert!(roots.contains("\"package\":\"core\""), "{roots}");
}
