//! `buildscope build` on real workspaces built by the real cargo: units, dependency edges,
//! the critical path, hot rebuilds, the restore guarantee, history, failures.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

mod common;
use common::{buildscope_in, busy_functions, manifest, workspace, write};

/// A workspace with a known critical path: base (with a build script) -> middle -> app
/// (a binary that also uses a proc macro), each with real work; `side` is small and
/// independent.
fn chain_workspace() -> PathBuf {
    workspace(
        "buildscope-chain-",
        &[
            (
                "base",
                manifest("base", &[], ""),
                vec![
                    (
                        "build.rs",
                        "fn main() { println!(\"cargo:rustc-env=BASE_SEED=7\"); }\n".to_string(),
                    ),
                    (
                        "src/lib.rs",
                        format!(
                            "pub const SEED: &str = env!(\"BASE_SEED\");\npub fn start() -> u64 {{ 1 }}\n{}",
                            busy_functions("b", 300)
                        ),
                    ),
                ],
            ),
            (
                "middle",
                manifest("middle", &["base"], ""),
                vec![(
                    "src/lib.rs",
                    format!(
                        "pub fn go() -> u64 {{ base::start() + base::b1(3) }}\n{}",
                        busy_functions("m", 300)
                    ),
                )],
            ),
            (
                "app",
                manifest("app", &["middle", "macros"], ""),
                vec![(
                    "src/main.rs",
                    format!(
                        "fn main() {{ println!(\"{{}}\", middle::go() + macros::answer!() + a1(2)); }}\n{}",
                        busy_functions("a", 300)
                    ),
                )],
            ),
            (
                "side",
                manifest("side", &[], ""),
                vec![("src/lib.rs", "pub fn small() -> u32 { 1 }\n".to_string())],
            ),
            (
                "macros",
                manifest("macros", &[], "\n[lib]\nproc-macro = true\n"),
                vec![(
                    "src/lib.rs",
                    "use proc_macro::TokenStream;\n#[proc_macro]\npub fn answer(_: TokenStream) -> TokenStream { \"42u64\".parse().unwrap() }\n".to_string(),
                )],
            ),
        ],
    )
}

fn json_of(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "buildscope failed ({:?}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

fn units(run: &Value) -> Vec<Value> {
    run["units"].as_array().unwrap().clone()
}

/// `package:kind` of each unit of a run, sorted.
fn unit_names(run: &Value) -> Vec<String> {
    let mut names: Vec<String> = units(run)
        .iter()
        .map(|u| {
            format!(
                "{}:{}",
                u["package"].as_str().unwrap(),
                u["kind"].as_str().unwrap()
            )
        })
        .collect();
    names.sort();
    names
}

fn find<'a>(units: &'a [Value], package: &str, kind: &str) -> &'a Value {
    units
        .iter()
        .find(|u| u["package"] == package && u["kind"] == kind)
        .unwrap_or_else(|| panic!("no {package} {kind} unit in {units:#?}"))
}

#[test]
fn a_cold_build_records_every_unit_its_edges_and_the_critical_path() {
    let root = chain_workspace();
    let db = root.join("history.sqlite");
    let doc = json_of(&buildscope_in(
        &root,
        &db,
        &["build", "--cold", "--json", "-j", "2"],
    ));
    assert_eq!(doc["schema"], "buildscope.build/1");
    let run = &doc["runs"][0];
    assert_eq!(run["success"], true);
    let units = units(run);

    let base = find(&units, "base", "lib");
    let script = find(&units, "base", "build-script");
    let script_run = find(&units, "base", "build-script-run");
    let middle = find(&units, "middle", "lib");
    let app = find(&units, "app", "bin");
    let macros = find(&units, "macros", "proc-macro");
    let side = find(&units, "side", "lib");
    assert_eq!(units.len(), 7, "{units:#?}");

    // Dependency edges as cargo's unit graph has them.
    let deps = |u: &Value| -> Vec<u64> {
        u["deps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap())
            .collect()
    };
    assert!(deps(script_run).contains(&script["id"].as_u64().unwrap()));
    assert!(deps(base).contains(&script_run["id"].as_u64().unwrap()));
    assert!(deps(middle).contains(&base["id"].as_u64().unwrap()));
    assert!(deps(app).contains(&middle["id"].as_u64().unwrap()));
    assert!(deps(app).contains(&macros["id"].as_u64().unwrap()));
    assert!(deps(side).is_empty());

    // Times: every unit ends after it starts, dependents start after their dependencies
    // released them; rustc units have CPU time and peak memory from the wrapper.
    for u in &units {
        assert!(u["end_ns"].as_u64() >= u["start_ns"].as_u64(), "{u}");
    }
    assert!(middle["start_ns"].as_u64().unwrap() >= base["rmeta_ns"].as_u64().unwrap());
    assert!(app["start_ns"].as_u64().unwrap() >= middle["end_ns"].as_u64().unwrap());
    // The final link is measured (buildscope stands in as the linker), libraries link
    // nothing.
    assert!(app["link_ns"].as_u64().unwrap() > 0, "{app}");
    assert!(
        app["link_ns"].as_u64()
            < Some(app["end_ns"].as_u64().unwrap() - app["start_ns"].as_u64().unwrap())
    );
    assert!(base["link_ns"].is_null());
    assert_eq!(run["totals"]["final_link_ns"], app["link_ns"]);
    for u in [base, script, middle, app, macros, side] {
        assert!(u["cpu_ns"].as_u64().unwrap() > 0, "{u}");
        assert!(u["max_rss_bytes"].as_u64().unwrap() > 1 << 20, "{u}");
        assert_eq!(u["exit_code"], 0);
    }

    // The critical path: base's build script, base, middle, app, in that order; not side.
    let by_id = |id: &Value| units.iter().find(|u| u["id"] == *id).unwrap();
    let path: Vec<String> = run["critical_path"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let u = by_id(&s["unit"]);
            format!(
                "{}:{}",
                u["package"].as_str().unwrap(),
                u["kind"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        path,
        vec![
            "base:build-script",
            "base:build-script-run",
            "base:lib",
            "middle:lib",
            "app:bin"
        ],
        "critical path"
    );
    let last = run["critical_path"]["steps"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert!(last["saving_if_free_ns"].as_u64().unwrap() > 0);
    let wall = run["totals"]["wall_ns"].as_u64().unwrap();
    let on_path: u64 = run["critical_path"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["on_path_ns"].as_u64().unwrap())
        .sum();
    assert!(
        on_path <= wall && on_path + run["critical_path"]["waiting_ns"].as_u64().unwrap() == wall
    );

    // The run folder has the record; the user's own target dir holds nothing else of ours.
    let run_dir = PathBuf::from(run["run_dir"].as_str().unwrap());
    assert!(run_dir.join("run.json").is_file());
    assert!(run_dir.starts_with(root.join("target/buildscope/runs")));
    let user_target: Vec<String> = std::fs::read_dir(root.join("target"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        user_target,
        vec!["buildscope".to_string()],
        "the user's cache is untouched"
    );

    // The terminal report: nothing to do, then a small rebuild.
    let out = buildscope_in(&root, &db, &["build", "--color", "never"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("0 units built, 7 fresh"), "{text}");
    let out = buildscope_in(
        &root,
        &db,
        &["build", "--color", "never", "--touch", "side/src/lib.rs"],
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("Critical path") && text.contains("side v0.1.0"),
        "{text}"
    );
    assert!(text.contains("1 unit built, 6 fresh"), "{text}");
}

#[test]
fn a_touch_rebuilds_only_what_depends_on_the_touched_crate() {
    let root = chain_workspace();
    let db = root.join("history.sqlite");
    let touched = root.join("middle/src/lib.rs");
    let touched_mtime = std::fs::metadata(&touched).unwrap().modified().unwrap();
    let out = buildscope_in(
        &root,
        &db,
        &["build", "--touch", "middle/src/lib.rs", "--json"],
    );
    // cargo runs verbose for its reasons, but none of that reaches the user.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("Dirty") && !stderr.contains("Fresh") && !stderr.contains("Running `"),
        "{stderr}"
    );
    let doc = json_of(&out);
    // The mtime is put back: the user's own build does not see the file as changed.
    assert_eq!(
        std::fs::metadata(&touched).unwrap().modified().unwrap(),
        touched_mtime
    );
    let run = &doc["runs"][0];
    assert_eq!(unit_names(run), vec!["app:bin", "middle:lib"]);
    assert_eq!(run["fresh_units"], 5);
    assert_eq!(run["scenario"]["kind"], "touch");
    // Why each unit rebuilt: the touched file at the root, app for its dependency.
    let reasons = run["rebuild_reasons"].as_array().expect("reasons recorded");
    let reason_of = |package: &str| {
        let unit = run["units"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["package"] == package)
            .unwrap();
        reasons
            .iter()
            .find(|r| r["unit"] == unit["id"])
            .unwrap()
            .clone()
    };
    assert_eq!(reason_of("middle")["kind"], "file-changed");
    assert_eq!(reason_of("middle")["file"], "middle/src/lib.rs");
    assert_eq!(reason_of("app")["kind"], "dependency-rebuilt");
    assert_eq!(reason_of("app")["dependency"], "middle");
    let why = buildscope_in(&root, &db, &["why", "app", "--color", "never"]);
    let text = String::from_utf8_lossy(&why.stdout);
    assert!(
        why.status.success(),
        "{}",
        String::from_utf8_lossy(&why.stderr)
    );
    assert!(
        text.contains("rebuilt because its dependency `middle` was rebuilt")
            && text.contains("← middle v0.1.0 (lib): `middle/src/lib.rs` changed"),
        "{text}"
    );
    let why = json_of(&buildscope_in(&root, &db, &["why", "--json"]));
    assert_eq!(why["roots"][0]["package"], "middle");
    assert_eq!(why["roots"][0]["cascade"].as_array().unwrap().len(), 1);

    // An edit inside a function body of app: only app rebuilds, and the file is back.
    let main = root.join("app/src/main.rs");
    let before = std::fs::read(&main).unwrap();
    let mtime = std::fs::metadata(&main).unwrap().modified().unwrap();
    let doc = json_of(&buildscope_in(
        &root,
        &db,
        &[
            "build",
            "--edit",
            "app/src/main.rs",
            "--runs",
            "2",
            "--json",
        ],
    ));
    assert_eq!(doc["runs"].as_array().unwrap().len(), 2);
    for run in doc["runs"].as_array().unwrap() {
        let names: Vec<&str> = run["units"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["package"].as_str().unwrap())
            .collect();
        assert_eq!(names, vec!["app"]);
    }
    assert!(doc["wall_ns"]["min"].as_u64() <= doc["wall_ns"]["max"].as_u64());
    assert_eq!(std::fs::read(&main).unwrap(), before);
    assert_eq!(std::fs::metadata(&main).unwrap().modified().unwrap(), mtime);

    // History: the three runs are there, and compare pairs their units.
    let runs = json_of(&buildscope_in(&root, &db, &["runs", "--json"]));
    assert_eq!(runs["runs"].as_array().unwrap().len(), 3);
    let compare = json_of(&buildscope_in(
        &root,
        &db,
        &["compare", "latest~2", "latest", "--json"],
    ));
    let pairs = compare["units"].as_array().unwrap();
    let middle = pairs.iter().find(|u| u["package"] == "middle").unwrap();
    assert!(middle["base_ns"].as_u64().unwrap() > 0);
    assert!(
        middle["new_ns"].is_null(),
        "middle did not rebuild after editing app"
    );
    let text = buildscope_in(
        &root,
        &db,
        &["compare", "latest~1", "latest", "--color", "never"],
    );
    assert!(String::from_utf8(text.stdout)
        .unwrap()
        .contains("Wall time"));
    let bad = buildscope_in(&root, &db, &["compare", "no-such-run", "latest"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no run \"no-such-run\""));
}

/// Starts `buildscope build --edit FILE` in a process group of its own (as a terminal's
/// foreground job) and returns once the edit is in place, after the warm-up build.
fn start_edit_and_wait(root: &Path, db: &Path, file: &str, original: &[u8]) -> std::process::Child {
    use std::os::unix::process::CommandExt;
    let mut command = Command::new(env!("CARGO_BIN_EXE_buildscope"));
    command
        .args(["build", "--edit", file, "-q"])
        .current_dir(root)
        .env("BUILDSCOPE_DB", db)
        .env_remove("CARGO_TARGET_DIR")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .process_group(0);
    spawn_and_wait_for_edit(command, &root.join(file), original)
}

#[test]
fn a_killed_edit_is_restored_byte_for_byte_at_the_next_start() {
    let root = chain_workspace();
    let db = root.join("history.sqlite");
    let lib = root.join("base/src/lib.rs");
    let original = std::fs::read(&lib).unwrap();
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
    std::fs::File::options()
        .append(true)
        .open(&lib)
        .unwrap()
        .set_modified(old)
        .unwrap();

    // Every command that resolves the workspace restores an edit a killed run left: each
    // in turn after its own kill -9.
    let journal = root.join("target/buildscope/edit-journal.json");
    for command in [
        &["build", "-q", "--json"][..],
        &["runs"],
        &["explain"],
        &["report", "-o", "/dev/null"],
    ] {
        // Wait until the edit is in place (after the warm-up build), then kill -9.
        let mut child = start_edit_and_wait(&root, &db, "base/src/lib.rs", &original);
        // SAFETY: kill -9 to the whole group: buildscope, cargo and rustc die at once.
        unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
        child.wait().unwrap();
        assert!(journal.exists(), "the journal outlives the killed process");
        assert_ne!(
            std::fs::read(&lib).unwrap(),
            original,
            "killed mid-edit: still edited"
        );

        let out = buildscope_in(&root, &db, command);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("restored"), "{command:?} says so: {stderr}");
        assert!(out.status.success(), "{command:?}: {stderr}");
        assert_eq!(std::fs::read(&lib).unwrap(), original, "{command:?}");
        assert_eq!(
            std::fs::metadata(&lib).unwrap().modified().unwrap(),
            old,
            "{command:?}"
        );
        assert!(!journal.exists(), "{command:?}");
    }
}

#[test]
fn a_second_run_never_touches_a_live_runs_edit() {
    let root = chain_workspace();
    let db = root.join("history.sqlite");
    let lib = root.join("base/src/lib.rs");
    let original = std::fs::read(&lib).unwrap();

    // The first run is mid-edit, with runs to go.
    let mut first = Command::new(env!("CARGO_BIN_EXE_buildscope"));
    first
        .args([
            "build",
            "--edit",
            "base/src/lib.rs",
            "--runs",
            "3",
            "-q",
            "--json",
        ])
        .current_dir(&root)
        .env("BUILDSCOPE_DB", &db)
        .env_remove("CARGO_TARGET_DIR")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut first = spawn_and_wait_for_edit(first, &lib, &original);
    let edited = std::fs::read(&lib).unwrap();

    // Commands that only read leave its edit alone, and so does one told not to wait.
    let out = buildscope_in(&root, &db, &["runs"]);
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("restored"));
    let out = buildscope_in(
        &root,
        &db,
        &["build", "--touch", "app/src/main.rs", "--no-wait"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("(process {})", first.id())) && stderr.contains("--no-wait"),
        "names the run it would wait for: {stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    if first.try_wait().unwrap().is_none() {
        assert_eq!(
            std::fs::read(&lib).unwrap(),
            edited,
            "still the first run's edit"
        );
    }

    // A second measuring run waits for the first, then measures.
    let first_pid = first.id();
    let second = buildscope_in(&root, &db, &["build", "--touch", "app/src/main.rs", "-q"]);
    let first = first.wait_with_output().unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let doc: Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(doc["runs"].as_array().unwrap().len(), 3);
    for run in doc["runs"].as_array().unwrap() {
        assert_eq!(run["success"], true);
        let rebuilt: Vec<&str> = run["units"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["package"].as_str().unwrap())
            .collect();
        assert!(
            rebuilt.contains(&"base"),
            "each run rebuilt the edit: {rebuilt:?}"
        );
    }
    let second_err = String::from_utf8_lossy(&second.stderr);
    assert!(second.status.success(), "{second_err}");
    assert!(
        second_err.contains(&format!(
            "waiting for another buildscope run (process {first_pid})"
        )),
        "{second_err}"
    );
    assert!(!second_err.contains("restored"), "{second_err}");
    assert_eq!(std::fs::read(&lib).unwrap(), original);
}

#[test]
fn concurrent_runs_in_one_workspace_take_turns() {
    let root = chain_workspace();
    let db = root.join("history.sqlite");
    let before = runs_recorded(&root, &db);
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_buildscope"))
                .args(["build", "--touch", "app/src/main.rs", "-q"])
                .current_dir(&root)
                .env("BUILDSCOPE_DB", &db)
                .env_remove("CARGO_TARGET_DIR")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(runs_recorded(&root, &db), before + 4);
}

fn runs_recorded(root: &Path, db: &Path) -> usize {
    let out = buildscope_in(root, db, &["runs", "--json", "--limit", "1000"]);
    assert!(out.status.success());
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["runs"].as_array().unwrap().len()
}

/// Starts `command` and returns once it has edited `file` (after its warm-up build).
fn spawn_and_wait_for_edit(
    mut command: Command,
    file: &Path,
    original: &[u8],
) -> std::process::Child {
    let mut child = command.spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(240);
    while std::fs::read(file).unwrap() == original {
        assert!(
            std::time::Instant::now() < deadline,
            "the edit never happened"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "buildscope ended before editing"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    child
}

#[test]
fn a_failing_build_reports_what_it_measured_and_exits_with_cargos_status() {
    let root = chain_workspace();
    let db = root.join("history.sqlite");
    write(
        &root.join("side/src/lib.rs"),
        "pub fn small() -> u32 { \"not a number\" }\n",
    );
    let out = buildscope_in(&root, &db, &["build", "--json", "-j", "1"]);
    assert_eq!(out.status.code(), Some(101), "cargo's exit status");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let run = &doc["runs"][0];
    assert_eq!(run["success"], false);
    let units = units(run);
    let side = find(&units, "side", "lib");
    assert_ne!(side["exit_code"], 0);
    // rustc's error reached the user through the wrapper.
    assert!(String::from_utf8_lossy(&out.stderr).contains("mismatched types"));
    let failure = &run["failure"];
    assert_eq!(failure["package"], "side", "{failure}");
    assert_eq!(failure["first_error"], "error[E0308]: mismatched types");

    // For people: rustc's diagnostics untouched, then one line of ours, cargo's status,
    // and nothing of a schedule the build never finished.
    let out = buildscope_in(&root, &db, &["build", "-j", "1"]);
    assert_eq!(out.status.code(), Some(101), "cargo's exit status");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stderr.contains("error[E0308]: mismatched types"),
        "{stderr}"
    );
    assert!(stderr.contains("--> side/src/lib.rs:1:"), "{stderr}");
    assert!(
        !stderr.contains('\u{1b}'),
        "no colour into a pipe: {stderr}"
    );
    let ours: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error:") && l.contains("partial run"))
        .collect();
    assert_eq!(ours.len(), 1, "{stderr}");
    assert!(
        ours[0].starts_with("error: could not compile `side` (lib); the partial run is kept in target/buildscope/runs/"),
        "{}",
        ours[0]
    );
    for never in [
        "Critical path",
        "Verdict",
        "Replaying",
        "Caused by",
        "Timing report",
    ] {
        assert!(!stdout.contains(never), "{never}: {stdout}");
        assert!(!stderr.contains(never), "{never}: {stderr}");
    }
}

#[test]
fn many_concurrent_rustc_processes_lose_no_records_and_warnings_pass_through() {
    let names: Vec<String> = (0..16).map(|i| format!("leaf{i}")).collect();
    let members: Vec<_> = names
        .iter()
        .map(|name| {
            (
                name.as_str(),
                manifest(name, &[], ""),
                vec![(
                    "src/lib.rs",
                    format!(
                        "pub fn {name}() -> u32 {{ let unused_{name} = 1; 2 }}\n{}",
                        busy_functions("f", 20)
                    ),
                )],
            )
        })
        .collect();
    let root = workspace("buildscope-many-", &members);
    let db = root.join("history.sqlite");
    let out = buildscope_in(&root, &db, &["build", "--json", "-j", "2"]);
    let doc = json_of(&out);
    let units = units(&doc["runs"][0]);
    assert_eq!(units.len(), 16);
    for u in &units {
        assert!(
            u["cpu_ns"].as_u64().unwrap() > 0,
            "every unit has its wrapper record: {u}"
        );
    }
    let records =
        std::fs::read_dir(PathBuf::from(doc["runs"][0]["run_dir"].as_str().unwrap()).join("units"))
            .unwrap()
            .count();
    assert_eq!(records, 16);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unused variable: `unused_leaf3`"),
        "{stderr}"
    );
}

/// The profile of one crate in a run's profile folder, summarized by buildscope.
fn crate_rows(summary: &Value, crate_name: &str) -> std::collections::HashMap<String, Value> {
    summary["crates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["crate"] == crate_name)
        .unwrap_or_else(|| panic!("no {crate_name} in {:?}", summary["crates"]))["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["label"].as_str().unwrap().to_string(), r.clone()))
        .collect()
}

#[test]
fn self_profiles_land_in_the_run_folder_and_hot_builds_stay_hot() {
    let root = chain_workspace();
    let db = root.join("history.sqlite");
    let cold = json_of(&buildscope_in(
        &root,
        &db,
        &[
            "build",
            "--cold",
            "--self-profile-crates",
            "--self-profile-events",
            "default,args",
            "--json",
        ],
    ));
    let profiles = PathBuf::from(cold["runs"][0]["profile_dir"].as_str().unwrap());
    assert!(profiles.starts_with(root.join("target/buildscope/runs")));
    let summary = json_of(&buildscope_in(
        &root,
        &db,
        &["summarize", "--json", profiles.to_str().unwrap()],
    ));
    let mut crates: Vec<&str> = summary["crates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["crate"].as_str().unwrap())
        .collect();
    crates.sort();
    assert_eq!(
        crates,
        vec![
            "app",
            "base",
            "build_script_build(base)",
            "macros",
            "middle",
            "side"
        ]
    );
    let cold_app = crate_rows(&summary, "app");
    let cold_cgus = cold_app["LLVM_module_codegen_emit_obj"]["count"]
        .as_u64()
        .unwrap();
    assert!(cold_cgus > 1);

    // A touch: the warm-up and the measured build give rustc the same arguments (the same
    // -Zself-profile directory included), so codegen is reused, not redone.
    let hot = json_of(&buildscope_in(
        &root,
        &db,
        &[
            "build",
            "--touch",
            "app/src/main.rs",
            "--self-profile-crates",
            "app",
            "--self-profile-events",
            "default,args",
            "--json",
        ],
    ));
    let profiles = PathBuf::from(hot["runs"][0]["profile_dir"].as_str().unwrap());
    let files: Vec<_> = std::fs::read_dir(&profiles).unwrap().collect();
    assert_eq!(files.len(), 1, "only app was rebuilt and profiled");
    let summary = json_of(&buildscope_in(
        &root,
        &db,
        &["summarize", "--json", profiles.to_str().unwrap()],
    ));
    let hot_app = crate_rows(&summary, "app");
    let hot_cgus = hot_app
        .get("LLVM_module_codegen_emit_obj")
        .map_or(0, |r| r["count"].as_u64().unwrap());
    assert!(
        hot_cgus < cold_cgus,
        "hot build redid codegen: {hot_cgus} of {cold_cgus} CGUs"
    );
    assert!(
        hot_app.contains_key("incr_comp_prepare_session_directory"),
        "incremental was on"
    );

    // RUSTC_BOOTSTRAP reached the profiled rustc only: cargo never saw it, so a plain
    // build in the same target directory has nothing to redo.
    let plain = json_of(&buildscope_in(&root, &db, &["build", "--json"]));
    assert_eq!(plain["runs"][0]["units"].as_array().unwrap().len(), 0);
}

#[test]
fn ctrl_c_during_an_edit_restores_the_file_and_exits_non_zero() {
    let root = chain_workspace();
    let db = root.join("history.sqlite");
    let lib = root.join("middle/src/lib.rs");
    let original = std::fs::read(&lib).unwrap();
    let mtime = std::fs::metadata(&lib).unwrap().modified().unwrap();
    // Its own process group, as a terminal's foreground job: Ctrl-C reaches buildscope and
    // cargo (and rustc) at once.
    let child = start_edit_and_wait(&root, &db, "middle/src/lib.rs", &original);
    // SAFETY: sends SIGINT to the child's process group.
    unsafe { libc::kill(-(child.id() as i32), libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert_eq!(
        std::fs::read(&lib).unwrap(),
        original,
        "restored byte for byte"
    );
    assert_eq!(std::fs::metadata(&lib).unwrap().modified().unwrap(), mtime);
    assert!(!root.join("target/buildscope/edit-journal.json").exists());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn cargo_check_is_measured_too() {
    let root = chain_workspace();
    let db = root.join("history.sqlite");
    let doc = json_of(&buildscope_in(
        &root,
        &db,
        &["build", "--command", "check", "-p", "middle", "--json"],
    ));
    let run = &doc["runs"][0];
    assert_eq!(run["command"], "check");
    assert_eq!(
        unit_names(run),
        vec![
            "base:build-script",
            "base:build-script-run",
            "base:lib",
            "middle:lib"
        ]
    );
    for u in units(run) {
        assert!(
            u["link_ns"].is_null() || u["kind"] == "build-script",
            "check links nothing: {u}"
        );
    }
}

#[test]
fn a_run_recorded_before_reasons_says_so_and_never_guesses() {
    let root = chain_workspace();
    let db = root.join("history.sqlite");
    let doc = json_of(&buildscope_in(&root, &db, &["build", "--json", "-q"]));
    let run_dir = PathBuf::from(doc["runs"][0]["run_dir"].as_str().unwrap());
    // A package that did not rebuild is said not to have.
    let out = buildscope_in(&root, &db, &["why", "latest", "no-such-package"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("did not rebuild"));
    // The record as an older buildscope wrote it: no rebuild_reasons.
    let path = run_dir.join("run.json");
    let mut record: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    record.as_object_mut().unwrap().remove("rebuild_reasons");
    std::fs::write(&path, serde_json::to_vec(&record).unwrap()).unwrap();
    let out = buildscope_in(&root, &db, &["why", run_dir.to_str().unwrap(), "app"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("reasons not recorded"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}
