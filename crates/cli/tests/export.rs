//! `export` and `sql`: the event table of real profiles in every format, read back by
//! independent readers (serde_json, the `parquet` crate, SQLite), its sums checked against
//! `summarize` and its rows against analyzeme.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{buildscope, buildscope_ok, fixture, path_str, stdout_json};
use serde_json::Value;

/// Per label, summarize's self time over the given inputs.
fn summarize_self(input: &Path) -> BTreeMap<String, u64> {
    let summary = stdout_json(&buildscope(&["summarize", "--json", path_str(input)]));
    summary["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["label"].as_str().unwrap().to_string(),
                r["self_time_ns"].as_u64().unwrap(),
            )
        })
        .filter(|(_, ns)| *ns > 0)
        .collect()
}

fn export(input: &Path, format: &str, out: &Path) {
    buildscope_ok(&[
        "export",
        path_str(input),
        "--format",
        format,
        "-o",
        path_str(out),
    ]);
}

fn sum_by_label(rows: impl Iterator<Item = (String, u64)>) -> BTreeMap<String, u64> {
    let mut sums = BTreeMap::new();
    for (label, ns) in rows {
        *sums.entry(label).or_default() += ns;
    }
    sums.retain(|_, ns| *ns > 0);
    sums
}

#[test]
fn jsonl_rows_are_analyzemes_intervals_and_sum_to_summarize() {
    let f = fixture();
    let path = f.profile(&f.base_dir, "alpha");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("events.jsonl");
    export(&path, "jsonl", &out);
    let rows: Vec<Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    let data = analyzeme::ProfilingData::new(&path).unwrap();
    let mut theirs: Vec<(String, Vec<String>)> = data
        .iter_full()
        .filter(|e| e.payload.is_interval())
        .map(|e| {
            let label = if e.label == "<unknown>" {
                "<unresolved>".into()
            } else {
                e.label.to_string()
            };
            (
                label,
                e.additional_data.iter().map(|a| a.to_string()).collect(),
            )
        })
        .collect();
    let mut ours: Vec<(String, Vec<String>)> = rows
        .iter()
        .map(|r| {
            (
                r["label"].as_str().unwrap().to_string(),
                serde_json::from_value(r["args"].clone()).unwrap(),
            )
        })
        .collect();
    theirs.sort();
    ours.sort();
    assert_eq!(ours.len(), theirs.len(), "one row per interval");
    assert!(ours == theirs, "the same intervals with the same arguments");
    for r in &rows {
        let (start, end) = (
            r["start_ns"].as_u64().unwrap(),
            r["end_ns"].as_u64().unwrap(),
        );
        assert_eq!(r["dur_ns"].as_u64().unwrap(), end - start);
        assert!(r["self_ns"].as_u64().unwrap() <= end - start);
        assert_eq!(r["crate"], "alpha");
    }
    assert!(rows.iter().any(|r| r["depth"].as_u64().unwrap() > 3));
    let self_sums = sum_by_label(rows.iter().map(|r| {
        (
            r["label"].as_str().unwrap().to_string(),
            r["self_ns"].as_u64().unwrap(),
        )
    }));
    assert_eq!(self_sums, summarize_self(&path));
}

#[test]
fn csv_and_parquet_hold_the_same_table() {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::Field;

    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let csv_path = dir.path().join("events.csv");
    let parquet_path = dir.path().join("events.parquet");
    export(&f.base_dir, "csv", &csv_path);
    export(&f.base_dir, "parquet", &parquet_path);

    let csv = std::fs::read_to_string(&csv_path).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("crate,kind,label,thread,start_ns,end_ns,dur_ns,self_ns,depth,args")
    );
    let csv_rows = lines.count();

    let reader = SerializedFileReader::new(std::fs::File::open(&parquet_path).unwrap())
        .expect("a readable Parquet file");
    let schema: Vec<String> = reader
        .metadata()
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    assert_eq!(
        schema,
        [
            "crate", "kind", "label", "thread", "start_ns", "end_ns", "dur_ns", "self_ns", "depth",
            "args"
        ]
    );
    let mut parquet_rows = 0;
    let mut self_by_label = BTreeMap::new();
    let mut crates = std::collections::BTreeSet::new();
    for row in reader.get_row_iter(None).unwrap() {
        let row = row.unwrap();
        let fields: BTreeMap<String, Field> = row
            .get_column_iter()
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect();
        let (Field::Str(label), Field::Long(self_ns), Field::Str(krate), Field::Str(args)) = (
            &fields["label"],
            &fields["self_ns"],
            &fields["crate"],
            &fields["args"],
        ) else {
            panic!("unexpected column types: {fields:?}");
        };
        serde_json::from_str::<Vec<String>>(args).expect("args is a JSON array");
        *self_by_label.entry(label.clone()).or_insert(0u64) += *self_ns as u64;
        crates.insert(krate.clone());
        parquet_rows += 1;
    }
    assert_eq!(parquet_rows, csv_rows);
    assert!(crates.contains("alpha") && crates.contains("beta"));
    self_by_label.retain(|_, ns| *ns > 0);
    assert_eq!(self_by_label, summarize_self(&f.base_dir));
}

#[test]
fn sql_answers_from_events_and_queries() {
    let f = fixture();
    let input = path_str(&f.base_dir);
    let out = stdout_json(&buildscope(&[
        "sql",
        input,
        "SELECT label, sum(self_ns) AS self FROM events GROUP BY label",
        "--json",
    ]));
    let sums = sum_by_label(out.as_array().unwrap().iter().map(|r| {
        (
            r["label"].as_str().unwrap().to_string(),
            r["self"].as_u64().unwrap(),
        )
    }));
    assert_eq!(sums, summarize_self(&f.base_dir));

    // The queries table is summarize --per-crate.
    let per_crate = stdout_json(&buildscope(&["summarize", "--json", input]));
    let out = stdout_json(&buildscope(&[
        "sql",
        input,
        "SELECT crate, label, count, cache_hits, time_ns FROM queries WHERE label = 'typeck'",
        "--json",
    ]));
    for row in out.as_array().unwrap() {
        let krate = per_crate["crates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["crate"] == row["crate"])
            .unwrap();
        let expected = krate["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["label"] == "typeck")
            .unwrap();
        assert_eq!(row["count"], expected["count"]);
        assert_eq!(row["cache_hits"], expected["cache_hits"]);
        assert_eq!(row["time_ns"], expected["time_ns"]);
    }
    assert!(!out.as_array().unwrap().is_empty());

    // Arguments are queryable with SQLite's JSON functions; the table fits 80 columns.
    let o = buildscope_ok(&[
        "sql",
        input,
        "SELECT label, dur_ns, j.value AS arg FROM events, json_each(events.args) AS j WHERE label = 'typeck' ORDER BY dur_ns DESC LIMIT 3",
    ]);
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("3 rows"), "{text}");
    assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");

    let o = buildscope(&["sql", input, "SELECT count(*) AS n FROM events", "--csv"]);
    let csv = String::from_utf8(o.stdout).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("n"));
    assert!(lines.next().unwrap().parse::<u64>().unwrap() > 1000);
}

#[test]
fn bad_sql_is_a_one_line_error() {
    let f = fixture();
    for bad in [
        "SELEC 1",
        "SELECT nope FROM events",
        "SELECT * FROM missing_table",
    ] {
        let out = buildscope(&["sql", path_str(&f.base_dir), bad]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with("error: SQL error"), "{stderr}");
    }
}

/// The rows of a Parquet file, each as column → value, read by the `parquet` crate.
fn parquet_rows(path: &Path) -> Vec<BTreeMap<String, parquet::record::Field>> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let reader = SerializedFileReader::new(std::fs::File::open(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: not Parquet: {e}", path.display()));
    reader
        .get_row_iter(None)
        .unwrap()
        .map(|row| {
            row.unwrap()
                .get_column_iter()
                .map(|(n, v)| (n.clone(), v.clone()))
                .collect()
        })
        .collect()
}

#[test]
fn the_history_exports_to_parquet_as_four_tables_joined_by_run() {
    use parquet::record::Field;
    let root = common::workspace(
        "buildscope-export-history-",
        &[
            (
                "core",
                common::manifest("core", &[], ""),
                vec![("src/lib.rs", common::busy_functions("f", 20))],
            ),
            (
                "app",
                common::manifest("app", &["core"], ""),
                vec![(
                    "src/main.rs",
                    "fn main() { println!(\"{}\", core::f0(3)); }\n".to_string(),
                )],
            ),
        ],
    );
    let db = root.join("history.sqlite");
    let built = common::buildscope_in(&root, &db, &["build", "-q", "--self-profile-crates"]);
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let out = root.join("runs.parquet");
    let exported = common::buildscope_in(
        &root,
        &db,
        &["runs", "--export", "parquet", "-o", out.to_str().unwrap()],
    );
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );

    let runs = parquet_rows(&out);
    assert_eq!(runs.len(), 1);
    let Field::Str(run_id) = &runs[0]["run_id"] else {
        panic!("{:?}", runs[0])
    };
    assert!(matches!(runs[0]["wall_ns"], Field::Long(ns) if ns > 0));
    assert!(matches!(runs[0]["success"], Field::Bool(true)));
    let units = parquet_rows(&root.join("runs.units.parquet"));
    assert!(units.len() >= 2);
    assert!(units
        .iter()
        .all(|u| u["run_id"] == Field::Str(run_id.clone())));
    assert!(units
        .iter()
        .any(|u| u["package"] == Field::Str("core".into())));
    // Both members were self-profiled: their CPU time by phase.
    let phases = parquet_rows(&root.join("runs.phases.parquet"));
    for krate in ["core", "app"] {
        let of_crate: Vec<_> = phases
            .iter()
            .filter(|p| p["crate"] == Field::Str(krate.into()))
            .collect();
        assert!(!of_crate.is_empty(), "{krate}: {phases:?}");
        assert!(of_crate
            .iter()
            .all(|p| matches!(p["cpu_ns"], Field::Long(ns) if ns > 0)));
    }
    // The findings explain gives for the run, ranked as it ranks them.
    let findings = parquet_rows(&root.join("runs.findings.parquet"));
    let explain = common::buildscope_in(&root, &db, &["explain", "--json", "--top", "100"]);
    let explained: Value = serde_json::from_slice(&explain.stdout).unwrap();
    let titles: Vec<&str> = explained["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["title"].as_str().unwrap())
        .collect();
    assert_eq!(findings.len(), titles.len());
    for (i, finding) in findings.iter().enumerate() {
        assert_eq!(finding["run_id"], Field::Str(run_id.clone()));
        assert_eq!(finding["rank"], Field::Long(i as i64 + 1));
        assert_eq!(finding["title"], Field::Str(titles[i].to_string()));
    }
}
