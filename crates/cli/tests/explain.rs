//! `explain` on real projects, each with one planted cause: measured by `buildscope build
//! --cold --self-profile-crates` (the real cargo and rustc), then explained. The top
//! finding must name the planted cause and the right crate, and its numbers must agree
//! with `summarize` and the run record of the same build.

mod common;

use std::path::Path;

use common::{buildscope_in, busy_functions, manifest, unit_of, workspace};
use serde_json::Value;

/// Measures a cold, self-profiled build and explains it; returns (run record, explanation).
fn measure_and_explain(root: &Path) -> (Value, Value) {
    measure_and_explain_with(root, &["--cold"])
}

/// The same with other `build` arguments (a hot scenario).
fn measure_and_explain_with(root: &Path, build_args: &[&str]) -> (Value, Value) {
    let db = root.join("history.sqlite");
    let mut args = vec!["build", "--self-profile-crates", "--json", "--quiet"];
    args.extend_from_slice(build_args);
    let out = buildscope_in(root, &db, &args);
    assert!(
        out.status.success(),
        "build failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let record = doc["runs"][0].clone();
    let run_dir = record["run_dir"].as_str().unwrap().to_string();
    let out = buildscope_in(root, &db, &["explain", &run_dir, "--json", "--llvm-lines"]);
    assert!(
        out.status.success(),
        "explain failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let explanation: Value = serde_json::from_slice(&out.stdout).unwrap();
    // Every second of wall time is classified, and matches the run record.
    let wall = &explanation["wall"];
    assert_eq!(wall["wall_ns"], record["totals"]["wall_ns"]);
    let classified: u64 = wall["by_phase"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["wall_ns"].as_u64().unwrap())
        .sum();
    let wall_ns = wall["wall_ns"].as_u64().unwrap();
    assert!(
        classified.abs_diff(wall_ns) <= 100,
        "{classified} vs {wall_ns}"
    );
    (record, explanation)
}

fn top_finding(explanation: &Value) -> &Value {
    let findings = explanation["findings"].as_array().unwrap();
    assert!(!findings.is_empty(), "no findings: {explanation:#}");
    // Ordered by estimated saving.
    let estimates: Vec<u64> = findings
        .iter()
        .map(|f| f["estimate_ns"].as_u64().unwrap())
        .collect();
    assert!(estimates.windows(2).all(|w| w[0] >= w[1]), "{estimates:?}");
    &findings[0]
}

fn describe(explanation: &Value) -> String {
    explanation["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{} {} {}", f["cause"], f["crate"], f["estimate_ns"]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// summarize's figures for one crate of a run.
fn crate_summary(record: &Value, crate_name: &str) -> Value {
    let profiles = record["profile_dir"].as_str().unwrap();
    let out = common::buildscope(&["summarize", "--json", profiles]);
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    summary["crates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["crate"] == crate_name)
        .cloned()
        .unwrap_or_else(|| panic!("no profile of {crate_name}"))
}

/// The labels with the most self time in a crate's summary, largest first.
fn top_items(summary: &Value, n: usize) -> Vec<String> {
    let mut rows: Vec<&Value> = summary["rows"].as_array().unwrap().iter().collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r["self_time_ns"].as_u64().unwrap()));
    rows.iter()
        .take(n)
        .map(|r| r["label"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_huge_combinator_type_is_named_as_the_cause() {
    // An HList-combining filter chain in the style of warp: each `.and()` doubles the
    // work of proving the bounds of the next.
    let depth = 16;
    let chain: String = (1..depth)
        .map(|i| format!(".and(One({i}u{}))", if i % 2 == 1 { 8 } else { 16 }))
        .collect();
    let lib = format!(
        "pub trait HList {{}}\n\
         impl HList for () {{}}\n\
         impl<H, T: HList> HList for (H, T) {{}}\n\
         pub trait Combine<T: HList> {{ type Output: HList; fn combine(self, other: T) -> Self::Output; }}\n\
         impl<T: HList> Combine<T> for () {{ type Output = T; fn combine(self, other: T) -> T {{ other }} }}\n\
         impl<H, T: HList + Combine<U>, U: HList> Combine<U> for (H, T) where (H, <T as Combine<U>>::Output): HList {{\n\
             type Output = (H, <T as Combine<U>>::Output);\n\
             fn combine(self, other: U) -> Self::Output {{ (self.0, self.1.combine(other)) }}\n\
         }}\n\
         pub trait Filter {{ type Extract: HList; fn extract(&self) -> Self::Extract; }}\n\
         pub struct One<X>(pub X);\n\
         impl<X: Clone> Filter for One<X> {{ type Extract = (X, ()); fn extract(&self) -> (X, ()) {{ (self.0.clone(), ()) }} }}\n\
         pub struct And<A, B>(pub A, pub B);\n\
         impl<A: Filter, B: Filter> Filter for And<A, B> where A::Extract: Combine<B::Extract> {{\n\
             type Extract = <A::Extract as Combine<B::Extract>>::Output;\n\
             fn extract(&self) -> Self::Extract {{ self.0.extract().combine(self.1.extract()) }}\n\
         }}\n\
         pub trait FilterExt: Filter + Sized {{ fn and<F: Filter>(self, other: F) -> And<Self, F> where Self::Extract: Combine<F::Extract> {{ And(self, other) }} }}\n\
         impl<T: Filter> FilterExt for T {{}}\n\
         pub fn routes() -> usize {{ let f = One(0u8){chain}; std::mem::size_of_val(&f.extract()) }}\n"
    );
    let root = workspace(
        "buildscope-explain-types-",
        &[
            (
                "filters",
                manifest("filters", &[], ""),
                vec![("src/lib.rs", lib)],
            ),
            (
                "server",
                manifest("server", &["filters"], ""),
                vec![(
                    "src/main.rs",
                    "fn main() { println!(\"{}\", filters::routes()); }\n".to_string(),
                )],
            ),
        ],
    );
    let (record, explanation) = measure_and_explain(&root);
    let top = top_finding(&explanation);
    assert_eq!(
        top["cause"],
        "pathological-item",
        "{}",
        describe(&explanation)
    );
    assert_eq!(top["crate"], "filters");
    assert!(
        top["title"].as_str().unwrap().contains("filters::routes"),
        "{top}"
    );
    // The planted cause dominates: summarize agrees that typeck is most of the crate.
    let summary = crate_summary(&record, "filters");
    let typeck = summary["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["label"] == "typeck")
        .unwrap();
    let cpu = summary["total_cpu_time_ns"].as_u64().unwrap();
    assert!(
        typeck["self_time_ns"].as_u64().unwrap() * 2 > cpu,
        "{typeck}"
    );
    // The estimate never claims more than the crate's own typeck time.
    assert!(top["estimate_ns"].as_u64().unwrap() <= typeck["time_ns"].as_u64().unwrap());
}

#[test]
fn a_generic_function_copied_for_dozens_of_types_is_monomorphization() {
    let types = 40;
    let mut lib = String::from(
        "use std::collections::BTreeMap;\nuse std::fmt::Debug;\n\
         pub fn render<T: Debug + Clone + Default + PartialEq + Ord>(items: &[T]) -> String {\n\
             let mut sorted: Vec<T> = items.to_vec();\n\
             sorted.sort();\n\
             sorted.dedup();\n\
             let mut counts: BTreeMap<T, usize> = BTreeMap::new();\n\
             for item in items { *counts.entry(item.clone()).or_insert(0) += 1; }\n\
             let mut out = String::new();\n\
             for (item, n) in &counts { out.push_str(&format!(\"{item:?}={n};\")); }\n\
             let defaults = sorted.iter().filter(|x| **x == T::default()).count();\n\
             let max = sorted.iter().max().cloned().unwrap_or_default();\n\
             format!(\"{out} {defaults} {max:?} {:?}\", sorted.first())\n\
         }\n",
    );
    // The same types also implement a trait: 40 impls are 40 different functions, not
    // copies of one (only `render` is).
    lib.push_str("pub trait Describe { fn describe(&self) -> String; }\n");
    for i in 0..types {
        lib.push_str(&format!(
            "#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)] pub struct Ty{i}(pub u64, pub String);\n\
             impl Describe for Ty{i} {{ fn describe(&self) -> String {{ format!(\"{{}}-{{:?}}\", self.0 * {i}, self.1) }} }}\n"
        ));
    }
    lib.push_str("pub fn all() -> Vec<String> { vec![\n");
    for i in 0..types {
        lib.push_str(&format!(
            "    render(&[Ty{i}::default(), Ty{i}(1, \"x\".into())]) + &Ty{i}(2, \"y\".into()).describe(),\n"
        ));
    }
    lib.push_str("] }\n");
    let root = workspace(
        "buildscope-explain-mono-",
        &[
            (
                "report",
                manifest("report", &[], ""),
                vec![("src/lib.rs", lib)],
            ),
            (
                "cli",
                manifest("cli", &["report"], ""),
                vec![(
                    "src/main.rs",
                    "fn main() { println!(\"{}\", report::all().len()); }\n".to_string(),
                )],
            ),
        ],
    );
    let (record, explanation) = measure_and_explain(&root);
    let top = top_finding(&explanation);
    assert_eq!(
        top["cause"],
        "monomorphization",
        "{}",
        describe(&explanation)
    );
    assert_eq!(top["crate"], "report");
    assert!(
        top["title"].as_str().unwrap().contains("report::render"),
        "{top}"
    );
    // No trait impl is taken for a copy of a generic function.
    let text = explanation["findings"].to_string();
    assert!(!text.contains("{impl#"), "{text}");
    assert!(!text.contains("describe ×"), "{text}");
    // The copies are real: summarize counts at least one symbol per type.
    let summary = crate_summary(&record, "report");
    let symbols = summary["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["label"] == "symbol_name")
        .unwrap()["count"]
        .as_u64()
        .unwrap();
    assert!(symbols >= types, "{symbols}");
    let cpu = summary["total_cpu_time_ns"].as_u64().unwrap();
    assert!(top["estimate_ns"].as_u64().unwrap() <= cpu);
}

#[test]
fn a_slow_build_script_on_the_critical_path_is_named() {
    let root = workspace(
        "buildscope-explain-script-",
        &[
            (
                "codegen",
                manifest("codegen", &[], ""),
                vec![
                    (
                        "build.rs",
                        // A build script that works for 2.5 s (as a code generator might).
                        "fn main() { let start = std::time::Instant::now(); let mut x = 0u64; while start.elapsed().as_millis() < 2500 { x = x.wrapping_mul(31).wrapping_add(7); } println!(\"cargo:rustc-env=GEN={x}\"); }\n".to_string(),
                    ),
                    (
                        "src/lib.rs",
                        "pub fn generated() -> &'static str { env!(\"GEN\") }\n".to_string(),
                    ),
                ],
            ),
            (
                "tool",
                manifest("tool", &["codegen"], ""),
                vec![(
                    "src/main.rs",
                    "fn main() { println!(\"{}\", codegen::generated()); }\n".to_string(),
                )],
            ),
        ],
    );
    let (record, explanation) = measure_and_explain(&root);
    let top = top_finding(&explanation);
    assert_eq!(
        top["cause"],
        "build-script-on-critical-path",
        "{}",
        describe(&explanation)
    );
    assert_eq!(top["crate"], "codegen");
    // Agrees with the run record: the script's run is a unit of at least 2.5 s, and the
    // saving claimed is at most the wall time.
    let run = unit_of(&record, "codegen", "build-script-run");
    let ran = run["end_ns"].as_u64().unwrap() - run["start_ns"].as_u64().unwrap();
    assert!(ran >= 2_500_000_000, "{ran}");
    let estimate = top["estimate_ns"].as_u64().unwrap();
    assert!(estimate >= 2_000_000_000 && estimate <= record["totals"]["wall_ns"].as_u64().unwrap());
}

#[test]
fn a_chain_ending_in_one_big_crate_serializes_the_build() {
    // Small crates in a chain, then one big crate of type-checking work (generic
    // functions nobody instantiates: no code generation to spread over codegen units).
    let generic_fns: String = (0..900)
        .map(|i| {
            format!(
                "pub fn g{i}<T: Clone + std::fmt::Debug + PartialOrd>(items: &[T], pivot: &T) -> (Vec<T>, String) {{ let below: Vec<T> = items.iter().filter(|x| *x < pivot).cloned().collect(); let text = format!(\"{{:?}}/{{}}\", below, {i}); (below, text) }}\n"
            )
        })
        .collect();
    let root = workspace(
        "buildscope-explain-chain-",
        &[
            (
                "a",
                manifest("a", &[], ""),
                vec![("src/lib.rs", busy_functions("a", 20))],
            ),
            (
                "b",
                manifest("b", &["a"], ""),
                vec![("src/lib.rs", busy_functions("b", 20))],
            ),
            (
                "big",
                manifest("big", &["b"], ""),
                vec![("src/lib.rs", generic_fns)],
            ),
            (
                "app",
                manifest("app", &["big"], ""),
                vec![(
                    "src/main.rs",
                    "fn main() { println!(\"{:?}\", big::g1(&[1, 2, 3], &2)); }\n".to_string(),
                )],
            ),
        ],
    );
    let (record, explanation) = measure_and_explain(&root);
    let top = top_finding(&explanation);
    assert_eq!(
        top["cause"],
        "serializing-crate",
        "{}",
        describe(&explanation)
    );
    assert_eq!(top["crate"], "big");
    // Agrees with the run record: big is on the critical path and ran at least as long
    // as the saving claimed.
    let big = unit_of(&record, "big", "lib");
    let ran = big["end_ns"].as_u64().unwrap() - big["start_ns"].as_u64().unwrap();
    assert!(top["estimate_ns"].as_u64().unwrap() <= ran);
    let on_path: Vec<u64> = record["critical_path"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["unit"].as_u64().unwrap())
        .collect();
    assert!(on_path.contains(&big["id"].as_u64().unwrap()));
}

/// Dependencies from crates.io that building buildscope itself already fetched (serde,
/// serde_json, clap), so the tests below need no network (`--offline`).
const SERDE: &str = "serde = { version = \"1\", features = [\"derive\"] }\n";

#[test]
fn hundreds_of_derives_dominate_a_hot_rebuild() {
    let mut lib = String::from("use serde::{Deserialize, Serialize};\n");
    for i in 0..250 {
        lib.push_str(&format!(
            "#[derive(Serialize, Deserialize, Debug, Clone)] pub struct Record{i} {{ pub id: u64, pub name: String, pub tags: Vec<String>, pub score: Option<f64> }}\n"
        ));
    }
    lib.push_str("pub fn count() -> usize { 250 }\n");
    let root = workspace(
        "buildscope-explain-derives-",
        &[
            (
                "model",
                format!("{}{SERDE}", manifest("model", &[], "")),
                vec![("src/lib.rs", lib)],
            ),
            (
                "api",
                manifest("api", &["model"], ""),
                vec![(
                    "src/main.rs",
                    "fn main() { println!(\"{}\", model::count()); }\n".to_string(),
                )],
            ),
        ],
    );
    let (record, explanation) =
        measure_and_explain_with(&root, &["--offline", "--touch", "model/src/lib.rs"]);
    // The planted cause dominates: summarize ranks proc-macro expansion among the rebuilt
    // crate's top items (lowering its output to HIR is the other), and expansion holds a
    // large share of the crate's time (a fifth on a quiet machine; an eighth is asked,
    // since the other tests of this binary build beside it, and rustc's phases do not
    // slow down alike).
    let model = crate_summary(&record, "model");
    assert!(
        top_items(&model, 3).contains(&"expand_proc_macro".to_string()),
        "{:?}",
        top_items(&model, 3)
    );
    let expand = model["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["label"] == "expand_crate")
        .unwrap()["time_ns"]
        .as_u64()
        .unwrap();
    let total = model["total_cpu_time_ns"].as_u64().unwrap();
    assert!(
        expand * 8 >= total,
        "expansion {expand} ns of the crate's {total} ns"
    );
    let top = top_finding(&explanation);
    assert_eq!(
        top["cause"],
        "proc-macro-expansion",
        "{}",
        describe(&explanation)
    );
    assert_eq!(top["crate"], "model");
    let evidence = top["evidence"].to_string();
    assert!(
        evidence.contains("Serialize") && evidence.contains("Deserialize"),
        "{evidence}"
    );
    assert!(
        top["title"].as_str().unwrap().contains("every rebuild"),
        "{top}"
    );
}

#[test]
fn the_link_of_a_binary_with_real_dependencies_dominates_its_hot_rebuild() {
    let root = workspace(
        "buildscope-explain-link-",
        &[(
            "service",
            format!(
                "{}{SERDE}serde_json = \"1\"\nclap = \"4\"\n",
                manifest("service", &[], "")
            ),
            vec![(
                "src/main.rs",
                "#[derive(serde::Serialize, serde::Deserialize)] struct Msg { text: String }\n\
                 fn main() {\n\
                     let m: Msg = serde_json::from_str(r#\"{\"text\":\"a1 b22\"}\"#).unwrap();\n\
                     let args = clap::Command::new(\"service\").arg(clap::Arg::new(\"n\")).get_matches_from([\"service\", \"2\"]);\n\
                     let n = args.get_one::<String>(\"n\").map_or(0, |n| n.len() + m.text.len());\n\
                     println!(\"{} {}\", n, serde_json::to_string(&m).unwrap());\n\
                 }\n"
                    .to_string(),
            )],
        )],
    );
    let (record, explanation) =
        measure_and_explain_with(&root, &["--offline", "--touch", "service/src/main.rs"]);
    let service = crate_summary(&record, "service");
    assert!(
        top_items(&service, 2).contains(&"run_linker".to_string()),
        "{:?}",
        top_items(&service, 3)
    );
    let top = top_finding(&explanation);
    assert_eq!(top["cause"], "linking", "{}", describe(&explanation));
    assert_eq!(top["crate"], "service");
    // The linker shim names the linker that ran (rust-lld is rustc's default on x86_64
    // Linux, GNU ld elsewhere), and the finding carries it.
    let linked = unit_of(&record, "service", "bin");
    let linker = linked["linker"].as_str().expect("the linker that ran");
    assert!(
        ["rust-lld", "GNU ld", "lld", "mold"].contains(&linker),
        "{linker}"
    );
    assert!(
        describe(&explanation).contains(&format!("linked by {linker}"))
            || top.to_string().contains(linker),
        "{top}"
    );
    // Agrees with the run record: the claim is at most the final link's time.
    let link = record["totals"]["final_link_ns"].as_u64().unwrap();
    assert!(top["estimate_ns"].as_u64().unwrap() <= link);

    // --verify measures the settings the finding names, on the run's own hot scenario.
    let main = root.join("service/src/main.rs");
    let before = std::fs::read(&main).unwrap();
    let db = root.join("history.sqlite");
    let run_dir = record["run_dir"].as_str().unwrap();
    let out = buildscope_in(
        &root,
        &db,
        &["explain", run_dir, "--json", "--verify", "--runs", "2"],
    );
    assert!(
        out.status.success(),
        "explain --verify failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let verified = doc["verification"].as_array().expect("a verification");
    let debug = verified
        .iter()
        .find(|v| v["setting"] == "debug=line-tables-only")
        .unwrap_or_else(|| panic!("less debug info is tried: {verified:?}"));
    assert!(debug["baseline_ns"].as_u64().unwrap() > 0, "{debug}");
    assert!(debug["with_setting_ns"].as_u64().unwrap() > 0, "{debug}");
    assert!(
        debug["comparison"]["ratio"].as_f64().unwrap() > 0.0,
        "{debug}"
    );
    assert_ne!(debug["verdict"], "not measured", "{debug}");
    if which("mold") {
        assert!(
            verified.iter().any(|v| v["setting"] == "linker=mold"),
            "mold is installed, so it is tried: {verified:?}"
        );
    }
    // The sources as they were, and `latest` is still the run explained (the experiment's
    // builds stay out of the history).
    assert_eq!(std::fs::read(&main).unwrap(), before);
    let out = buildscope_in(&root, &db, &["runs", "--json", "--limit", "1"]);
    let runs: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(runs["runs"][0]["id"], record["id"]);
}

fn which(program: &str) -> bool {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .any(|dir| dir.join(program).is_file())
}
