//! `queries`: the query tree of real rustc profiles (one recorded with individual cache
//! hits), its invariants checked node by node, its counts against `summarize`, its HTML
//! opened in headless Chromium.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use buildscope_testkit::{hostile_profile, rustc_profile};
use common::{
    assert_no_console_errors, buildscope, chromium, fixture, headless, path_str, stdout_json,
};
use serde_json::Value;

/// A profile of one rustc run recorded with individual cache hits and arguments.
fn profile_with_hits() -> &'static PathBuf {
    static PROFILE: OnceLock<PathBuf> = OnceLock::new();
    PROFILE.get_or_init(|| {
        let dir = common::scratch_dir("buildscope-queries-");
        rustc_profile(
            &dir,
            "hits",
            "pub trait Area { fn area(&self) -> f64; }\n\
             #[derive(Debug, Clone, PartialEq)] pub struct Sq(pub f64);\n\
             impl Area for Sq { fn area(&self) -> f64 { self.0 * self.0 } }\n\
             pub fn total<T: Area>(v: &[T]) -> f64 { v.iter().map(|s| s.area()).sum() }\n\
             pub fn squares() -> f64 { total(&[Sq(1.0), Sq(2.0)]) }\n",
            "default,query-cache-hit,args",
        )
    })
}

fn queries_json(path: &Path, flags: &[&str]) -> Value {
    let mut args = vec!["queries", "--json", path_str(path)];
    args.extend_from_slice(flags);
    stdout_json(&buildscope(&args))
}

#[test]
fn every_node_of_the_whole_tree_obeys_its_definition() {
    let path = profile_with_hits();
    // Keep every node: the whole tree, to check each one.
    let trees = queries_json(
        path,
        &[
            "--min-extent",
            "0",
            "--min-percent",
            "0",
            "--max-nodes",
            "100000000",
        ],
    );
    assert_eq!(trees["schema"], "buildscope.queries/1");
    assert_eq!(trees["has_hit_events"], true);
    let profile = &trees["profiles"][0];
    let nodes = profile["nodes"].as_array().unwrap();
    assert_eq!(nodes.len() as u64, profile["invocations"].as_u64().unwrap());
    assert!(nodes.len() > 1000, "a real crate asks many queries");
    assert!(profile["hit_leaves"].as_u64().unwrap() > 1000);

    let by_id: BTreeMap<u64, &Value> = nodes
        .iter()
        .map(|n| (n["id"].as_u64().unwrap(), n))
        .collect();
    let mut children: BTreeMap<u64, Vec<&Value>> = BTreeMap::new();
    for node in nodes {
        if let Some(parent) = node["parent"].as_u64() {
            children.entry(parent).or_default().push(node);
        }
    }
    let mut hit_leaves = 0;
    for node in nodes {
        let id = node["id"].as_u64().unwrap();
        let kids = children.get(&id).map(Vec::as_slice).unwrap_or(&[]);
        let hits = node["hits"].as_u64().unwrap();
        hit_leaves += hits;
        assert_eq!(
            node["extent"].as_u64().unwrap(),
            kids.len() as u64 + hits,
            "extent = child misses + hit leaves: {node}"
        );
        let depth = node["depth"].as_u64().unwrap();
        match node["parent"].as_u64() {
            Some(parent) => assert_eq!(depth, by_id[&parent]["depth"].as_u64().unwrap() + 1),
            None => assert_eq!(depth, 0),
        }
        let children_ns: u64 = kids.iter().map(|k| k["total_ns"].as_u64().unwrap()).sum();
        let total = node["total_ns"].as_u64().unwrap();
        assert!(children_ns <= total, "children inside their parent: {node}");
        assert_eq!(node["self_ns"].as_u64().unwrap(), total - children_ns);
        assert_eq!(node["folded_nodes"], 0, "nothing folded when all is kept");
    }
    // Hits outside any query (at a thread's top level) are not anyone's leaves.
    assert!(hit_leaves <= profile["hit_leaves"].as_u64().unwrap());
    assert!(hit_leaves > 0);
    // Arguments: each kept node says what it worked on.
    assert!(nodes
        .iter()
        .any(|n| n["query"] == "typeck" && n["args"][0].as_str().unwrap().contains("total")));
}

#[test]
fn counts_agree_with_summarize() {
    for path in [profile_with_hits().clone(), {
        let f = fixture();
        f.profile(&f.base_dir, "alpha")
    }] {
        let trees = queries_json(&path, &[]);
        let summary = stdout_json(&buildscope(&["summarize", "--json", path_str(&path)]));
        let rows: BTreeMap<&str, &Value> = summary["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["label"].as_str().unwrap(), r))
            .collect();
        let counts = trees["counts"].as_array().unwrap();
        assert!(counts.len() > 50);
        // Independently, with analyzeme: query intervals per label, and which labels are
        // also used by other kinds of interval that summarize counts in Time.
        let data = analyzeme::ProfilingData::new(&path).unwrap();
        let mut query_counts: BTreeMap<String, u64> = BTreeMap::new();
        let mut other_kinds: std::collections::BTreeSet<String> = Default::default();
        for e in data.iter_full().filter(|e| e.payload.is_interval()) {
            // analyzeme names an unresolvable label `<unknown>`.
            let label = match &*e.label {
                "<unknown>" => "<unresolved>".to_string(),
                other => other.to_string(),
            };
            if e.event_kind == "Query" {
                *query_counts.entry(label).or_default() += 1;
            } else if e.event_kind != "IncrementalResultHashing" {
                // (Hashing a query's result is not counted as time, in either tool.)
                other_kinds.insert(label);
            }
        }
        let mut exact = 0;
        for c in counts {
            let query = c["query"].as_str().unwrap();
            let row = rows[query];
            let expected = query_counts.get(query).copied().unwrap_or(0);
            assert_eq!(c["count"].as_u64().unwrap(), expected, "{c}");
            assert_eq!(c["hits"], row["cache_hits"], "{c}");
            if !other_kinds.contains(query) {
                // (Self time differs by design: here it is time not in child queries;
                // summarize also subtracts activities and adds result hashing.)
                assert_eq!(c["total_ns"], row["time_ns"], "{c}");
                exact += 1;
            }
        }
        assert!(exact > 20, "{exact} labels compared exactly");
        let totals: Vec<u64> = counts
            .iter()
            .map(|c| c["total_ns"].as_u64().unwrap())
            .collect();
        assert!(
            totals.windows(2).all(|w| w[0] >= w[1]),
            "sorted by duration"
        );
    }
}

#[test]
fn text_and_csv_name_the_pathological_nodes_and_missing_hits() {
    let f = fixture();
    let out = buildscope(&["queries", path_str(&f.base_dir)]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Largest extents:"), "{text}");
    assert!(text.contains("Deepest chain:"), "{text}");
    assert!(
        text.contains("query-cache-hit"),
        "says the profile lacks hits: {text}"
    );
    let with_hits = buildscope(&["queries", path_str(profile_with_hits())]);
    assert!(!String::from_utf8(with_hits.stdout)
        .unwrap()
        .contains("hold no individual cache hits"));

    let out = buildscope(&["queries", "--csv", path_str(&f.base_dir)]);
    let csv = String::from_utf8(out.stdout).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("query,count,hits,total_ns,self_ns,max_extent")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert!(rows.len() > 50);
    assert!(rows
        .iter()
        .all(|r| r.len() == 6 && r[1..].iter().all(|v| v.parse::<u64>().is_ok())));
}

#[test]
fn the_html_view_runs_in_chromium_and_escapes_profile_text() {
    let dir = tempfile::tempdir().unwrap();
    let hostile = hostile_profile(dir.path());
    let html = dir.path().join("queries.html");
    let out = buildscope(&[
        "queries",
        "--html",
        path_str(&html),
        "--min-percent",
        "0",
        path_str(&hostile),
        path_str(profile_with_hits()),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(!page.contains("<script>alert"), "profile text is escaped");
    assert!(page.contains("&lt;script&gt;alert"));
    assert!(page.contains("class=\"node important\""));

    let Some(browser) = chromium() else {
        eprintln!("chromium not found: the browser half of this test is skipped outside CI");
        return;
    };
    let url = format!("file://{}#filter=typeck", html.display());
    let (dom, log) = headless(&browser, &["--dump-dom"], &url);
    assert_no_console_errors(&log);
    // The script ran: it marked the page ready and applied the filter from the URL.
    let ready = dom
        .split("data-ready=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|n| n.parse::<usize>().ok())
        .expect("the script marks the body ready");
    assert!(ready > 10, "nodes in the view: {ready}");
    assert!(dom.contains("matching"), "the filter ran");
    assert!(
        dom.contains("class=\"node important hidden\"") || dom.contains("class=\"node hidden\"")
    );
    // The hostile argument survived as text, not markup.
    assert!(!dom.contains("<script>alert"));
}
