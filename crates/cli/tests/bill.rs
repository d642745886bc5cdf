//! The bill for a Cargo.toml, on a real workspace built by the real cargo: two members,
//! dependencies from a local registry of path packages outside the workspace (no network):
//! one only `app` uses, one both use, a default feature that turns on an optional
//! dependency, a build-dependency of `app`'s build script, and a crate its code and its
//! build script both use with other features (compiled twice).

use std::path::Path;

use serde_json::Value;

mod common;
use common::{buildscope_in, generate_lockfile, scratch_dir, write};

fn package(root: &Path, name: &str, deps: &str, features: &str, lib: &str) {
    write(
        &root.join(name).join("Cargo.toml"),
        &format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n{deps}\n{features}"
        ),
    );
    write(&root.join(name).join("src/lib.rs"), lib);
}

/// `buildscope ARGS` in `ws` with the history `db`, succeeding; its JSON.
fn json_of(ws: &Path, db: &Path, args: &[&str]) -> Value {
    let out = buildscope_in(ws, db, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A cold build of `ws` (with `extra` cargo arguments) into the history `db`.
fn build_cold(ws: &Path, db: &Path, extra: &[&str]) {
    let args: Vec<&str> = ["build", "--cold", "-q"]
        .iter()
        .chain(extra)
        .copied()
        .collect();
    let built = buildscope_in(ws, db, &args);
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
}

/// `fake-sys`: a `-sys` crate whose build script takes 2.5 s (as building a C library does).
fn slow_sys_package(deps: &Path) {
    package(deps, "fake-sys", "", "", "pub fn native() -> u32 { 7 }\n");
    write(
        &deps.join("fake-sys/build.rs"),
        "fn main() { std::thread::sleep(std::time::Duration::from_millis(2500)); \
         println!(\"cargo:rerun-if-changed=build.rs\"); }\n",
    );
}

/// Code that takes rustc a moment: `count` small generic-free functions.
fn code(prefix: &str, count: usize) -> String {
    common::busy_functions(prefix, count)
}

#[test]
fn every_line_and_default_feature_is_priced_and_shared_crates_are_shared() {
    let root = scratch_dir("buildscope-bill-");
    let deps = root.join("deps");
    package(&deps, "heavy", "", "", &code("h", 300));
    package(&deps, "shared", "", "", &code("s", 100));
    package(&deps, "extra", "", "", &code("e", 200));
    package(
        &deps,
        "fancy",
        "extra = { path = \"../extra\", optional = true }",
        "[features]\ndefault = [\"pretty\"]\npretty = [\"dep:extra\"]\n",
        "pub fn f() -> u32 { 1 }\n",
    );
    package(&deps, "codegen", "", "", &code("c", 50));
    // Used by app's code and by its build script with another feature: two copies.
    package(
        &deps,
        "tables",
        "",
        "[features]\nwide = []\n",
        &(code("t", 250) + "#[cfg(feature = \"wide\")] pub fn wide() {}\n"),
    );
    let ws = root.join("ws");
    write(
        &ws.join("Cargo.toml"),
        "[workspace]\nresolver = \"2\"\nmembers = [\"app\", \"cli\"]\n",
    );
    write(
        &ws.join("app/Cargo.toml"),
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [dependencies]\nheavy = { path = \"../../deps/heavy\" }\nshared = { path = \"../../deps/shared\" }\n\
         fancy = { path = \"../../deps/fancy\" }\ntables = { path = \"../../deps/tables\" }\n\n\
         [build-dependencies]\ncodegen = { path = \"../../deps/codegen\" }\n\
         tables = { path = \"../../deps/tables\", features = [\"wide\"] }\n",
    );
    write(
        &ws.join("app/src/lib.rs"),
        "pub fn app() -> u64 { heavy::h1(3) + shared::s1(2) + fancy::f() as u64 + tables::t2(1) }\n",
    );
    write(
        &ws.join("app/build.rs"),
        "fn main() { let _ = codegen::c1(2) + tables::t1(1); tables::wide(); println!(\"cargo:rerun-if-changed=build.rs\"); }\n",
    );
    write(
        &ws.join("cli/Cargo.toml"),
        "[package]\nname = \"cli\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [dependencies]\nshared = { path = \"../../deps/shared\" }\n",
    );
    write(
        &ws.join("cli/src/main.rs"),
        "fn main() { println!(\"{}\", shared::s2(5)); }\n",
    );
    generate_lockfile(&ws);
    let db = root.join("history.sqlite");
    build_cold(&ws, &db, &[]);
    let doc = json_of(&ws, &db, &["explain", "--json"]);
    let bill = &doc["bill"];
    let line = |member: &str, package: &str| -> &Value {
        bill["lines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["member"] == member && l["package"] == package)
            .unwrap_or_else(|| panic!("no {member} → {package} in {bill:#}"))
    };
    // Only app uses heavy: the line is heavy's own unit, and the replay saves wall time.
    let heavy = line("app", "heavy");
    assert_eq!(heavy["kind"], "normal");
    assert_eq!(heavy["price"]["units"], 1, "{heavy:#}");
    assert!(heavy["price"]["unit_ns"].as_u64().unwrap() > 0);
    assert!(
        heavy["price"]["wall_saving_ns"].as_u64().unwrap() > 0,
        "{heavy:#}"
    );
    // Both members use shared: neither line alone removes it, and the pair shows it.
    for member in ["app", "cli"] {
        let shared = line(member, "shared");
        assert_eq!(shared["price"]["units"], 0, "{shared:#}");
        assert_eq!(shared["shared_units"], 1, "{shared:#}");
    }
    let pairs = bill["shared"].as_array().unwrap();
    assert!(
        pairs.iter().any(|p| {
            p["lines"].to_string().contains("app → shared")
                && p["lines"].to_string().contains("cli → shared")
                && p["price"]["packages"][0]["package"] == "shared"
        }),
        "{pairs:#?}"
    );
    // The build script's dependency is a build line.
    assert_eq!(line("app", "codegen")["kind"], "build");
    // fancy's default features turn on extra: priced and named as the default.
    let features = bill["features"].as_array().unwrap();
    let fancy = features
        .iter()
        .find(|f| f["package"] == "fancy")
        .unwrap_or_else(|| panic!("{features:#?}"));
    assert_eq!(fancy["feature"], "default");
    assert_eq!(fancy["enables"], serde_json::json!(["extra"]));
    assert_eq!(fancy["price"]["units"], 1);
    // tables is compiled twice, the second time for app's build script: one finding that
    // says so, its saving replayed wall time.
    let findings = doc["findings"].as_array().unwrap();
    let host = findings
        .iter()
        .find(|f| f["cause"] == "host-copies")
        .unwrap_or_else(|| panic!("{findings:#?}"));
    assert!(
        host["title"].as_str().unwrap().contains(
            "`tables` compiled a second time, at the same version, for the build script of app"
        ),
        "{host:#}"
    );
    assert!(
        host["estimate_basis"]
            .as_str()
            .unwrap()
            .starts_with("wall time"),
        "{host:#}"
    );
    // The text shows the bill; the heavy line is in it.
    let text = buildscope_in(&ws, &db, &["explain", "--bill"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("The bill for your Cargo.toml"), "{text}");
    assert!(text.contains("app → heavy"), "{text}");
    assert!(
        text.contains("app → fancy: default features turn on `extra`"),
        "{text}"
    );
    // The report has the bill as a section of its own.
    let page = root.join("report.html");
    let report = buildscope_in(
        &ws,
        &db,
        &["report", "latest", "-o", page.to_str().unwrap()],
    );
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    if let Some(browser) = common::chromium() {
        let (dom, log) = common::headless(
            &browser,
            &["--dump-dom"],
            &format!("file://{}", page.display()),
        );
        common::assert_no_console_errors(&log);
        let section = &dom[dom.find("id=\"bill\"").expect("a bill section")..];
        let section = &section[..section.find("</section>").unwrap()];
        assert!(
            !section.starts_with("id=\"bill\" aria-labelledby=\"bill-h\" hidden"),
            "{section}"
        );
        assert!(section.contains("app → heavy 0.1.0"), "{section}");
        assert!(
            section.contains("default features turn on extra"),
            "{section}"
        );
    }
}

#[test]
fn a_slow_sys_build_script_names_the_feature_that_brings_it_in() {
    let root = scratch_dir("buildscope-bill-sys-");
    let deps = root.join("deps");
    slow_sys_package(&deps);
    package(
        &deps,
        "wrapper",
        "fake-sys = { path = \"../fake-sys\", optional = true }",
        "[features]\nnative = [\"dep:fake-sys\"]\n",
        "pub fn w() -> u32 { 1 }\n",
    );
    let ws = root.join("ws");
    write(
        &ws.join("Cargo.toml"),
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [dependencies]\nwrapper = { path = \"../deps/wrapper\", features = [\"native\"] }\n\n[workspace]\n",
    );
    write(
        &ws.join("src/main.rs"),
        "fn main() { println!(\"{}\", wrapper::w()); }\n",
    );
    generate_lockfile(&ws);
    let db = root.join("history.sqlite");
    build_cold(&ws, &db, &[]);
    let doc = json_of(&ws, &db, &["explain", "--json"]);
    let findings = doc["findings"].as_array().unwrap();
    let script = findings
        .iter()
        .find(|f| f["cause"] == "build-script-on-critical-path")
        .unwrap_or_else(|| panic!("{findings:#?}"));
    assert_eq!(script["crate"], "fake-sys", "{script:#}");
    assert_eq!(
        script["facts"]["brought_in_by"], "app → wrapper (its feature `native`)",
        "{script:#}"
    );
    let fix = script["fix"].as_str().unwrap();
    assert!(
        fix.contains("app → wrapper (its feature `native`), which alone brings it in"),
        "{fix}"
    );
    assert!(fix.contains("installed on the system"), "{fix}");
    assert!(!fix.contains("its code is not yours"), "{fix}");
    let evidence = script["evidence"].to_string();
    assert!(
        evidence.contains("app → wrapper 0.1.0 → fake-sys 0.1.0"),
        "{evidence}"
    );
}

#[test]
fn a_member_feature_that_turns_on_a_dependencys_feature_is_named_behind_a_costly_build_script() {
    // app's default feature `tls` turns on client's `tls`, which turns on crypto's `fast`,
    // which brings the slow `-sys` crate in: no line of app names it, and removing any one
    // line app has would not take it out (client is needed either way).
    let root = scratch_dir("buildscope-bill-chain-");
    let deps = root.join("deps");
    slow_sys_package(&deps);
    package(
        &deps,
        "crypto",
        "fake-sys = { path = \"../fake-sys\", optional = true }",
        "[features]\nfast = [\"dep:fake-sys\"]\n",
        "pub fn c() -> u32 { 1 }\n",
    );
    package(
        &deps,
        "client",
        "crypto = { path = \"../crypto\" }",
        "[features]\ntls = [\"crypto/fast\"]\n",
        "pub fn get() -> u32 { crypto::c() }\n",
    );
    let ws = root.join("ws");
    write(
        &ws.join("Cargo.toml"),
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [features]\ndefault = [\"tls\"]\ntls = [\"client/tls\"]\n\n\
         [dependencies]\nclient = { path = \"../deps/client\" }\n\n[workspace]\n",
    );
    write(
        &ws.join("src/main.rs"),
        "fn main() { println!(\"{}\", client::get()); }\n",
    );
    generate_lockfile(&ws);
    let db = root.join("history.sqlite");
    build_cold(&ws, &db, &[]);
    let doc = json_of(&ws, &db, &["explain", "--json", "--bill"]);
    // The bill prices app's own feature by what the build leaves out without it.
    let features = doc["bill"]["features"].as_array().unwrap();
    let tls = features
        .iter()
        .find(|f| f["member"] == "app" && f["package"] == "app" && f["feature"] == "tls")
        .unwrap_or_else(|| panic!("{features:#?}"));
    assert_eq!(tls["in_default"], true, "{tls:#}");
    assert_eq!(tls["enables"], serde_json::json!(["fake-sys"]), "{tls:#}");
    let gone: Vec<&str> = tls["price"]["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["package"].as_str().unwrap())
        .collect();
    assert_eq!(gone, ["fake-sys"], "crypto and client stay: {tls:#}");
    assert!(
        tls["price"]["wall_saving_ns"].as_u64().unwrap() >= 2_000_000_000,
        "the build script's 2.5 s: {tls:#}"
    );
    // The build script's cost centre says why it is in the build and what takes it out.
    let centres = doc["cost_centres"]["centres"].as_array().unwrap();
    let script = centres
        .iter()
        .find(|c| c["centre"] == "build-script-run" && c["crate"] == "fake_sys")
        .unwrap_or_else(|| panic!("{centres:#?}"));
    let why = script["why_in_build"].as_str().unwrap_or_default();
    assert!(
        why.contains(
            "app's feature `tls` → client's feature `tls` → crypto's feature `fast` → fake-sys"
        ),
        "{script:#}"
    );
    assert!(
        why.contains("without `app`'s own feature `tls` (a default feature)"),
        "{script:#}"
    );
    assert_eq!(
        script["brought_in"]["lever"], "`app`'s own feature `tls` (a default feature)",
        "{script:#}"
    );
    // The same in the text a user reads.
    let text = buildscope_in(&ws, &db, &["explain"]);
    let text = String::from_utf8_lossy(&text.stdout).replace('\n', " ");
    assert!(text.contains("your Cargo.toml"), "{text}");
}

#[test]
fn an_unused_line_is_found_and_priced_and_one_only_the_binary_uses_is_not() {
    let root = scratch_dir("buildscope-bill-unused-");
    let deps = root.join("deps");
    package(&deps, "spare", "", "", &code("p", 200));
    package(&deps, "onlybin", "", "", "pub fn b() -> u32 { 2 }\n");
    package(&deps, "renamed-dep", "", "", "pub fn r() -> u32 { 3 }\n");
    // Behind tool's own default feature `fast`, and used by its code without a cfg: the
    // feature cannot go.
    package(&deps, "turbo", "", "", &code("u", 200));
    let ws = root.join("ws");
    write(
        &ws.join("Cargo.toml"),
        "[package]\nname = \"tool\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [dependencies]\nspare = { path = \"../deps/spare\" }\nonlybin = { path = \"../deps/onlybin\" }\n\
         short = { package = \"renamed-dep\", path = \"../deps/renamed-dep\" }\n\
         turbo = { path = \"../deps/turbo\", optional = true }\n\n\
         [features]\ndefault = [\"fast\"]\nfast = [\"dep:turbo\"]\n\n[workspace]\n",
    );
    write(
        &ws.join("src/lib.rs"),
        "pub fn t() -> u32 { short::r() + turbo::u1(1) as u32 }\n",
    );
    write(
        &ws.join("src/main.rs"),
        "fn main() { println!(\"{}\", tool::t() + onlybin::b()); }\n",
    );
    generate_lockfile(&ws);
    let before = std::fs::read(ws.join("Cargo.toml")).unwrap();
    let db = root.join("history.sqlite");
    // One job: each dependency's time is wall time, so every lever is worth its proof.
    build_cold(&ws, &db, &["-j", "1"]);
    let doc = json_of(&ws, &db, &["explain", "--unused", "--json"]);
    let unused: Vec<&str> = doc["bill"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["unused"] == true)
        .map(|l| l["package"].as_str().unwrap())
        .collect();
    // spare is unused; onlybin is the binary's, renamed-dep is used as `short`.
    assert_eq!(unused, ["spare"], "{:#}", doc["bill"]);
    // spare is the largest dependency, on the way to `tool`: removing it saves wall time.
    let finding = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["cause"] == "unused-dependency")
        .unwrap_or_else(|| panic!("{:#}", doc["findings"]));
    assert_eq!(finding["facts"]["package"], "spare");
    assert!(finding["estimate_ns"].as_u64().unwrap() > 0, "{finding:#}");
    assert!(
        finding["fix"]
            .as_str()
            .unwrap()
            .starts_with("Remove `spare`"),
        "{finding:#}"
    );
    // The check ran in buildscope's own folder: the project's target/ has no check
    // artifacts and its manifest is as it was.
    assert!(ws.join("target/buildscope/unused-check").is_dir());
    assert!(
        !ws.join("target/debug").exists(),
        "cargo's own target/debug untouched"
    );
    assert_eq!(std::fs::read(ws.join("Cargo.toml")).unwrap(), before);
    let text = buildscope_in(&ws, &db, &["explain", "--unused"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("tool → spare 0.1.0 (unused)"), "{text}");
    // Proof by removal: scratch copies, the project's files untouched.
    let sources = |dir: &Path| -> Vec<(String, Vec<u8>)> {
        ["Cargo.toml", "Cargo.lock", "src/lib.rs", "src/main.rs"]
            .iter()
            .map(|f| (f.to_string(), std::fs::read(dir.join(f)).unwrap()))
            .collect()
    };
    let untouched = sources(&ws);
    let doc = json_of(
        &ws,
        &db,
        &["explain", "--unused", "--verify", "--runs", "1", "--json"],
    );
    assert_eq!(sources(&ws), untouched, "the workspace is byte-identical");
    let proofs = doc["proofs"]
        .as_array()
        .unwrap_or_else(|| panic!("{doc:#}"));
    let spare = proofs
        .iter()
        .find(|p| p["change"] == "remove `spare` from tool's [dependencies]")
        .unwrap_or_else(|| panic!("{proofs:#?}"));
    assert!(spare["baseline_ns"].as_u64().unwrap() > 0, "{spare:#}");
    assert!(spare["with_change_ns"].as_u64().unwrap() > 0, "{spare:#}");
    assert!(spare["failure"].is_null(), "{spare:#}");
    let fast = proofs
        .iter()
        .find(|p| p["change"] == "take `fast` out of tool's default features")
        .unwrap_or_else(|| panic!("{proofs:#?}"));
    assert!(
        fast["verdict"]
            .as_str()
            .unwrap()
            .starts_with("does not build without it: needed"),
        "{fast:#}"
    );
}
