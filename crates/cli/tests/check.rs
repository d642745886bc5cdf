//! `buildscope check` on real builds: a history of hot rebuilds with their natural noise,
//! then one crate really made slower (a bigger module); exit codes; the formats CI systems
//! read; and every source of a rustc wrapper cargo would use.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

mod common;
use common::{busy_functions, manifest, workspace};

/// The tests of this binary build one at a time: a check judges timings, and builds of the
/// other tests running beside it would be noise of the test's own making.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn buildscope(root: &Path, db: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_buildscope"))
        .args(args)
        .current_dir(root)
        .env("BUILDSCOPE_DB", db)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CARGO_BUILD_RUSTC_WRAPPER")
        .env_remove("RUSTFLAGS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("NO_COLOR")
        .envs(env.iter().copied())
        .output()
        .expect("buildscope runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `core` (a module of `functions` functions, most of the rebuild) and `app` using it.
fn project(prefix: &str, functions: usize) -> PathBuf {
    workspace(
        prefix,
        &[
            (
                "core",
                manifest("core", &[], ""),
                vec![("src/lib.rs", core_source(functions))],
            ),
            (
                "app",
                manifest("app", &["core"], ""),
                vec![(
                    "src/main.rs",
                    "fn main() { println!(\"{}\", core::f0(3)); }\n".to_string(),
                )],
            ),
        ],
    )
}

fn core_source(functions: usize) -> String {
    busy_functions("f", functions)
}

const HOT: [&str; 2] = ["--touch", "core/src/lib.rs"];

#[test]
fn a_crate_made_slower_fails_the_check_and_noise_does_not() {
    let _serial = one_at_a_time();
    let root = project("buildscope-check-", 120);
    let db = root.join("history.sqlite");
    // The history: six hot rebuilds as they come, noise and all. As CI builds: without
    // incremental compilation, so a rebuild compiles the whole crate.
    // One codegen unit: the crate's time grows with its code, not spread over the cores.
    let ci = [
        ("CARGO_INCREMENTAL", "0"),
        ("CARGO_PROFILE_DEV_CODEGEN_UNITS", "1"),
    ];
    let history = buildscope(
        &root,
        &db,
        &["build", "-q", "--json", "--runs", "6", HOT[0], HOT[1]],
        &ci,
    );
    assert!(history.status.success(), "{}", stderr(&history));

    // Nothing changed: within the noise, exit 0 (three runs, judged by their median).
    let summary = root.join("step-summary.md");
    std::fs::write(&summary, "# earlier step\n").unwrap();
    let bmf = root.join("bmf.json");
    let junit = root.join("junit.xml");
    let out = buildscope(
        &root,
        &db,
        &[
            "check",
            "-q",
            "--runs",
            "3",
            HOT[0],
            HOT[1],
            "--bmf",
            bmf.to_str().unwrap(),
            "--junit",
            junit.to_str().unwrap(),
        ],
        &[
            ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
            ci[0],
            ci[1],
        ],
    );
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(
        text.contains("against 6 comparable runs of the history"),
        "{text}"
    );
    assert!(text.contains("no regression"), "{text}");
    let markdown = std::fs::read_to_string(&summary).unwrap();
    assert!(
        markdown.starts_with("# earlier step\n### ✅ buildscope check: no regression"),
        "{markdown}"
    );
    assert!(markdown.contains("| `wall` |"), "{markdown}");
    check_bmf(&bmf, 3);
    let cases = junit_cases(&junit);
    assert_eq!(
        cases,
        vec![
            ("wall>10%".to_string(), None),
            ("cpu>10%".to_string(), None),
            ("unit:*>20%".to_string(), None)
        ]
    );

    // core made slower for real: a module three times the size. Less would do on a quiet
    // machine, but a shared CI runner's hot rebuilds scatter by a quarter of their median
    // (seen: quartiles 193 ms apart at 697 ms), which puts the fence near twice the median.
    std::fs::write(root.join("core/src/lib.rs"), core_source(360)).unwrap();
    let out = buildscope(
        &root,
        &db,
        &[
            "check",
            "-q",
            "--runs",
            "3",
            HOT[0],
            HOT[1],
            "--json",
            "--junit",
            junit.to_str().unwrap(),
        ],
        &ci,
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["schema"], "buildscope.check/1");
    let crossed: Vec<&Value> = doc["outcome"]["thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["crossed"].as_array().unwrap())
        .collect();
    assert!(crossed.iter().any(|c| *c == "unit:core"), "{doc:#}");
    let core = doc["outcome"]["measures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["measure"] == "unit:core")
        .unwrap();
    assert_eq!(core["verdict"], "regressed", "{core}");
    let explanation = doc["explanation"].to_string();
    assert!(
        explanation.contains("confirmed: measured 2 more time(s)"),
        "{explanation}"
    );
    assert!(
        explanation.contains("core took") && explanation.contains("core/src/lib.rs"),
        "names the unit and why it rebuilt: {explanation}"
    );
    let cases = junit_cases(&junit);
    let units = cases.iter().find(|(name, _)| name == "unit:*>20%").unwrap();
    assert!(
        units.1.as_deref().is_some_and(|m| m.contains("unit:core")),
        "{cases:?}"
    );

    // The trend shows it: the history, the two checks' runs (and those measured again to
    // confirm a crossing), core's first slower run beyond the noise.
    let out = buildscope(&root, &db, &["runs", "--trend", "--json"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let trend: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(trend["schema"], "buildscope.trend/1");
    let runs = trend["runs"].as_array().unwrap().len();
    assert!(runs >= 12, "{trend:#}");
    let core = trend["measures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["measure"] == "unit:core")
        .expect("core among the largest units");
    let verdicts = core["verdicts"].as_array().unwrap();
    assert!(verdicts[9..].iter().any(|v| v == "regressed"), "{core}");
    let text = stdout(&buildscope(&root, &db, &["runs", "--trend"], &[]));
    assert!(
        text.contains(&format!("{runs} comparable runs")) && text.contains("unit:core"),
        "{text}"
    );
    // And so does the run's report: its history, the alarm marked.
    let page = root.join("report.html");
    let out = buildscope(&root, &db, &["report", "-o", page.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let html = std::fs::read_to_string(&page).unwrap();
    let start = html
        .find("\"history\":{")
        .expect("the report carries the history");
    let history = &html[start..];
    assert!(
        history.contains("\"measure\":\"unit:core\""),
        "{}",
        &history[..400.min(history.len())]
    );
    assert!(
        history.contains("\"regressed\":[false,"),
        "{}",
        &history[..400.min(history.len())]
    );
}

#[test]
fn too_little_history_says_so_and_passes_unless_strict() {
    let _serial = one_at_a_time();
    let root = project("buildscope-check-short-", 20);
    let db = root.join("history.sqlite");
    let built = buildscope(
        &root,
        &db,
        &["build", "-q", "--runs", "2", HOT[0], HOT[1]],
        &[],
    );
    assert!(built.status.success(), "{}", stderr(&built));
    // Four times the code: slower by far, but two runs are no noise model.
    std::fs::write(root.join("core/src/lib.rs"), core_source(400)).unwrap();
    let measured = buildscope(&root, &db, &["build", "-q", HOT[0], HOT[1]], &[]);
    assert!(measured.status.success(), "{}", stderr(&measured));
    let out = buildscope(&root, &db, &["check", "--run", "latest"], &[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(
        text.contains("not enough history to judge: 2 of 5 comparable runs"),
        "{text}"
    );
    let out = buildscope(&root, &db, &["check", "--run", "latest", "--strict"], &[]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    // A named baseline is judged on its values: the run before the change.
    let out = buildscope(
        &root,
        &db,
        &[
            "check",
            "--run",
            "latest",
            "--baseline",
            "latest~1",
            "--fail-if",
            "unit:core>50%",
        ],
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    // A saved record as the baseline, as a CI job keeps the main branch's.
    let saved = root.join("main.json");
    let record = std::fs::read_dir(root.join("target/buildscope/runs"))
        .unwrap()
        .flatten()
        .map(|e| e.path().join("run.json"))
        .min()
        .unwrap();
    std::fs::copy(record, &saved).unwrap();
    let out = buildscope(
        &root,
        &db,
        &[
            "check",
            "--run",
            "latest",
            "--baseline",
            saved.to_str().unwrap(),
            "--fail-if-slower",
            "1s",
        ],
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("main.json (1 run)"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn bad_thresholds_and_baselines_exit_2_with_one_line() {
    let root = project("buildscope-check-bad-", 2);
    let db = root.join("history.sqlite");
    for (args, says) in [
        (
            vec!["--fail-if", "speed>5%"],
            "threshold `speed>5%`: the measure is one of",
        ),
        (vec!["--fail-if", "wall>fast"], "threshold `wall>fast`"),
        (vec!["--fail-if", "rss>5s"], "not a unit of size"),
        (vec!["--fail-if", "wall"], "expected MEASURE>LIMIT"),
        (vec!["--fail-if-slower", "lots"], "--fail-if-slower lots"),
        (
            vec!["--baseline", "missing.json", "--run", "latest"],
            "missing.json",
        ),
    ] {
        let mut all = vec!["check"];
        all.extend(args.iter().copied());
        let out = buildscope(&root, &db, &all, &[]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{all:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{all:?}: {err}");
        assert!(err.contains(says), "{all:?}: {err}");
    }
    assert!(!root.join("target").exists(), "bad input builds nothing");
}

#[test]
fn a_broken_change_names_the_compilers_first_error() {
    // It builds: not while another test times its builds.
    let _serial = one_at_a_time();
    let root = project("buildscope-check-broken-", 2);
    let db = root.join("history.sqlite");
    write_file(
        &root.join("core/src/lib.rs"),
        "pub fn f0(x: u64) -> u64 { x + \"one\" }\n",
    );
    let out = buildscope(&root, &db, &["check", "-q"], &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    // rustc's own diagnostics first, then one line of buildscope's quoting the first error
    // (not cargo's last line, "Timing report saved to …" or "process didn't exit").
    let ours: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("nothing to check"))
        .collect();
    assert_eq!(ours.len(), 1, "{err}");
    assert!(
        ours[0].starts_with("error: the build failed: error[E0277]: cannot add `&str` to `u64`"),
        "{}",
        ours[0]
    );
    assert!(!err.contains("Timing report"), "{err}");
}

fn write_file(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

/// The BMF file is valid against Bencher's schema (tests/data/bmf.schema.json), its build
/// benchmark has the wall time with the bounds of `runs` runs, and each unit one too.
fn check_bmf(path: &Path, runs: usize) {
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bmf.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    validate(&doc, &schema, "$");
    let benchmarks = doc.as_object().unwrap();
    let (_, build) = benchmarks
        .iter()
        .find(|(name, _)| !name.contains("unit:"))
        .expect("a benchmark for the build");
    let wall = &build["build-time"];
    assert!(wall["value"].as_f64().unwrap() > 0.0);
    if runs > 1 {
        assert!(wall["lower_value"].as_f64().unwrap() <= wall["value"].as_f64().unwrap());
        assert!(wall["upper_value"].as_f64().unwrap() >= wall["value"].as_f64().unwrap());
    }
    assert!(
        benchmarks.keys().any(|k| k.ends_with("unit:core")),
        "{doc:#}"
    );
}

/// The part of JSON Schema (draft 7) the BMF schema uses: type, patternProperties,
/// properties and required.
fn validate(value: &Value, schema: &Value, at: &str) {
    if let Some(kind) = schema.get("type").and_then(Value::as_str) {
        let ok = match kind {
            "object" => value.is_object(),
            "number" => value.is_number(),
            "string" => value.is_string(),
            other => panic!("the schema uses type {other}, which this check does not know"),
        };
        assert!(ok, "{at}: expected {kind}, got {value}");
    }
    let Some(object) = value.as_object() else {
        return;
    };
    for required in schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = required.as_str().unwrap();
        assert!(object.contains_key(key), "{at}: `{key}` is required");
    }
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (key, sub) in properties {
            if let Some(v) = object.get(key) {
                validate(v, sub, &format!("{at}.{key}"));
            }
        }
    }
    if let Some(patterns) = schema.get("patternProperties").and_then(Value::as_object) {
        for (pattern, sub) in patterns {
            assert_eq!(
                pattern, ".+",
                "the schema's only pattern: any non-empty name"
            );
            for (key, v) in object {
                assert!(!key.is_empty(), "{at}: an empty name");
                validate(v, sub, &format!("{at}.{key}"));
            }
        }
    }
}

/// (test case name, failure message) of a JUnit file, parsed as XML.
fn junit_cases(path: &Path) -> Vec<(String, Option<String>)> {
    use quick_xml::events::Event;
    let text = std::fs::read_to_string(path).unwrap();
    let mut reader = quick_xml::Reader::from_str(&text);
    let mut cases: Vec<(String, Option<String>)> = Vec::new();
    let attribute = |e: &quick_xml::events::BytesStart, name: &str| -> Option<String> {
        e.attributes()
            .map(|a| a.expect("well-formed attributes"))
            .find(|a| a.key.as_ref() == name.as_bytes())
            .map(|a| a.normalized_value(Default::default()).unwrap().into_owned())
    };
    loop {
        match reader
            .read_event()
            .expect("the JUnit file is well-formed XML")
        {
            Event::Start(e) | Event::Empty(e) => match e.name().as_ref() {
                b"testcase" => cases.push((attribute(&e, "name").unwrap(), None)),
                b"failure" => {
                    cases.last_mut().expect("inside a test case").1 = attribute(&e, "message");
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    cases
}

/// A wrapper script that logs the crate of every rustc it runs, then runs it.
fn logging_wrapper(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let log = dir.join(format!("{name}.log"));
    let script = dir.join(name);
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprev=''\nfor a in \"$@\"; do if [ \"$prev\" = --crate-name ]; then echo \"$a\" >> '{}'; fi; prev=\"$a\"; done\nexec \"$@\"\n",
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (script, log)
}

/// Builds cold and returns the run record and the crates the wrapper saw.
fn build_through(root: &Path, env: &[(&str, &str)], log: &Path) -> (Value, Vec<String>) {
    let _ = std::fs::remove_file(log);
    let out = buildscope(
        root,
        &root.join("h.sqlite"),
        &["build", "--cold", "-q", "--json"],
        env,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let seen = std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    (doc["runs"][0].clone(), seen)
}

fn compiled_crates(run: &Value) -> Vec<String> {
    let mut crates: Vec<String> = run["units"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["kind"] != "build-script-run")
        .map(|u| u["target"].as_str().unwrap().replace('-', "_"))
        .collect();
    crates.sort();
    crates
}

#[test]
fn every_wrapper_cargo_would_use_runs_every_rustc_inside_buildscope() {
    let _serial = one_at_a_time();
    let root = project("buildscope-check-wrap-", 2);
    // From the environment.
    let (script, log) = logging_wrapper(&root, "env-wrapper");
    let (run, seen) = build_through(&root, &[("RUSTC_WRAPPER", script.to_str().unwrap())], &log);
    for krate in compiled_crates(&run) {
        assert!(
            seen.contains(&krate),
            "{krate} did not go through RUSTC_WRAPPER: {seen:?}"
        );
    }
    assert_eq!(run["wrappers"][0]["source"], "RUSTC_WRAPPER");
    assert!(run["units"].as_array().unwrap().len() >= 2);

    // From .cargo/config.toml, as sccache is often configured.
    let (script, log) = logging_wrapper(&root, "config-wrapper");
    std::fs::create_dir_all(root.join(".cargo")).unwrap();
    std::fs::write(
        root.join(".cargo/config.toml"),
        format!("[build]\nrustc-wrapper = \"{}\"\n", script.display()),
    )
    .unwrap();
    let (run, seen) = build_through(&root, &[], &log);
    for krate in compiled_crates(&run) {
        assert!(
            seen.contains(&krate),
            "{krate} did not go through build.rustc-wrapper: {seen:?}"
        );
    }
    assert_eq!(run["wrappers"][0]["role"], "rustc-wrapper");
    assert!(
        run["wrappers"][0]["source"]
            .as_str()
            .unwrap()
            .ends_with(".cargo/config.toml"),
        "{}",
        run["wrappers"]
    );
    std::fs::remove_dir_all(root.join(".cargo")).unwrap();

    // RUSTC_WORKSPACE_WRAPPER: cargo runs it for the members, inside buildscope.
    let (script, log) = logging_wrapper(&root, "workspace-wrapper");
    let (run, seen) = build_through(
        &root,
        &[("RUSTC_WORKSPACE_WRAPPER", script.to_str().unwrap())],
        &log,
    );
    for krate in compiled_crates(&run) {
        assert!(
            seen.contains(&krate),
            "{krate} did not go through RUSTC_WORKSPACE_WRAPPER: {seen:?}"
        );
    }
    assert_eq!(run["wrappers"][0]["role"], "rustc-workspace-wrapper");
    // And buildscope still measured every unit (its own wrapper ran too).
    assert!(run["units"]
        .as_array()
        .unwrap()
        .iter()
        .all(|u| u["cpu_ns"].as_u64().is_some() || u["kind"] == "build-script-run"));
}

#[test]
fn units_sccache_serves_are_recorded_as_cached() {
    let _serial = one_at_a_time();
    let Some(sccache) = which("sccache") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI installs sccache (scripts/install-system-deps.sh)"
        );
        eprintln!("sccache is not installed: skipped");
        return;
    };
    let root = project("buildscope-check-sccache-", 30);
    let cache = root.join("sccache");
    let port = 4226 + (std::process::id() % 1000) as u16;
    let env = [
        ("RUSTC_WRAPPER", sccache.to_str().unwrap()),
        ("SCCACHE_DIR", cache.to_str().unwrap()),
        // A server of its own for this test, on a port of its own.
        (
            "SCCACHE_SERVER_PORT",
            &*Box::leak(port.to_string().into_boxed_str()),
        ),
        // sccache does not cache incremental builds.
        ("CARGO_INCREMENTAL", "0"),
    ];
    let db = root.join("h.sqlite");
    let cold = |expect_cached: bool| {
        let out = buildscope(&root, &db, &["build", "--cold", "-q", "--json"], &env);
        assert!(out.status.success(), "{}", stderr(&out));
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        let run = doc["runs"][0].clone();
        let cached = run["cached_units"].as_array().map_or(0, |c| c.len());
        assert_eq!(cached > 0, expect_cached, "{}", run["cached_units"]);
        run
    };
    cold(false);
    let run = cold(true);
    let core = run["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["package"] == "core")
        .unwrap();
    assert!(run["cached_units"]
        .as_array()
        .unwrap()
        .contains(&core["id"]));
    let _ = Command::new(&sccache)
        .arg("--stop-server")
        .envs(env.iter().copied())
        .output();
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(program))
            .find(|p| p.is_file())
    })
}

#[test]
fn profiled_runs_are_judged_phase_by_phase() {
    let _serial = one_at_a_time();
    let root = project("buildscope-check-phases-", 20);
    let db = root.join("history.sqlite");
    for _ in 0..2 {
        let built = buildscope(
            &root,
            &db,
            &["build", "-q", "--cold", "--self-profile-crates"],
            &[],
        );
        assert!(built.status.success(), "{}", stderr(&built));
    }
    let out = buildscope(
        &root,
        &db,
        &[
            "check",
            "--run",
            "latest",
            "--baseline",
            "latest~1",
            "--json",
            "--fail-if",
            "phase:core>1000%",
        ],
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    // The baseline's phase times come from the history, the run's from its profiles.
    let phases: Vec<&Value> = doc["outcome"]["measures"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["measure"].as_str().unwrap().starts_with("phase:core:"))
        .collect();
    assert!(!phases.is_empty(), "{doc:#}");
    assert!(
        phases.iter().all(|m| m["baseline"].as_f64().is_some()),
        "{phases:?}"
    );
    let judged = &doc["outcome"]["thresholds"][0];
    assert_eq!(judged["threshold"]["text"], "phase:core>1000%");
    assert_eq!(judged["judged"], true);
}
