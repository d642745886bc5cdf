//! `summarize` on real profiles made by the real rustc, checked against an independent
//! computation over the same events (analyzeme's decoder, a different algorithm).

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::UNIX_EPOCH;

use analyzeme::{EventPayload, ProfilingData, Timestamp};
use common::{buildscope, fixture, path_str, stdout_json};

#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Expected {
    self_time: i128,
    time: u64,
    count: u64,
    cache_hits: u64,
    blocked: u64,
    incr_load: i128,
    incr_hashing: i128,
}

struct Interval {
    kind: String,
    label: String,
    start: u64,
    end: u64,
    file_index: usize,
}

struct ExpectedProfile {
    rows: BTreeMap<String, Expected>,
    total_cpu: u64,
    wall: u64,
}

fn ns(t: std::time::SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64
}

/// A plain forward walk: intervals per thread sorted by start (outermost first), a nesting
/// stack, and each interval's direct children found by containment.
fn independent_walk(path: &Path) -> ExpectedProfile {
    let data = ProfilingData::new(path).unwrap();
    let mut rows: BTreeMap<String, Expected> = BTreeMap::new();
    let mut by_thread: BTreeMap<u32, Vec<Interval>> = BTreeMap::new();
    let mut instant_hits: BTreeMap<String, u64> = BTreeMap::new();
    let mut counted_hits: BTreeMap<String, u64> = BTreeMap::new();
    for (file_index, event) in data.iter_full().enumerate() {
        let label = match event.label.as_ref() {
            "<unknown>" => "<unresolved>".to_string(),
            l => l.to_string(),
        };
        match event.payload {
            EventPayload::Timestamp(Timestamp::Interval { start, end }) => by_thread
                .entry(event.thread_id)
                .or_default()
                .push(Interval {
                    kind: event.event_kind.to_string(),
                    label,
                    start: ns(start),
                    end: ns(end),
                    file_index,
                }),
            EventPayload::Timestamp(Timestamp::Instant(_)) => {
                if event.event_kind == "QueryCacheHit" {
                    *instant_hits.entry(label).or_default() += 1;
                }
            }
            EventPayload::Integer(v) => {
                if event.event_kind == "QueryCacheHitCount" {
                    *counted_hits.entry(label).or_default() += v;
                }
            }
        }
    }
    // Labels with aggregated counts take those; others count their instants.
    for (label, hits) in instant_hits {
        if !counted_hits.contains_key(&label) {
            rows.entry(label).or_default().cache_hits += hits;
        }
    }
    for (label, hits) in counted_hits {
        rows.entry(label).or_default().cache_hits += hits;
    }

    let mut total_cpu = 0;
    let (mut first, mut last) = (u64::MAX, 0);
    for intervals in by_thread.values_mut() {
        // Outer before inner: earlier start first, then longer, then the one written later
        // (a parent is written after a child that ends at the same moment).
        intervals.sort_by(|a, b| {
            a.start
                .cmp(&b.start)
                .then(b.end.cmp(&a.end))
                .then(b.file_index.cmp(&a.file_index))
        });
        total_cpu += intervals.iter().map(|i| i.end).max().unwrap()
            - intervals.iter().map(|i| i.start).min().unwrap();
        first = first.min(intervals.iter().map(|i| i.start).min().unwrap());
        last = last.max(intervals.iter().map(|i| i.end).max().unwrap());
        let mut stack: Vec<usize> = Vec::new();
        for (i, interval) in intervals.iter().enumerate() {
            while let Some(&top) = stack.last() {
                let t = &intervals[top];
                if t.start <= interval.start && interval.end <= t.end {
                    break;
                }
                stack.pop();
            }
            let duration = (interval.end - interval.start) as i128;
            if let Some(&parent) = stack.last() {
                let p = &intervals[parent];
                let row = rows.entry(p.label.clone()).or_default();
                row.self_time -= duration;
                match p.kind.as_str() {
                    "IncrementalResultHashing" => row.incr_hashing -= duration,
                    "IncrementalLoadResult" => row.incr_load -= duration,
                    _ => {}
                }
            }
            let hashing = interval.kind == "IncrementalResultHashing";
            let recursive = stack.iter().any(|&a| {
                intervals[a].label == interval.label
                    && intervals[a].kind != "IncrementalResultHashing"
            });
            let row = rows.entry(interval.label.clone()).or_default();
            row.self_time += duration;
            if !hashing && !recursive {
                row.time += duration as u64;
            }
            match interval.kind.as_str() {
                "QueryBlocked" => row.blocked += duration as u64,
                "IncrementalLoadResult" => row.incr_load += duration,
                "IncrementalResultHashing" => row.incr_hashing += duration,
                _ => row.count += 1,
            }
            stack.push(i);
        }
    }
    rows.retain(|_, r| r.self_time != 0 || r.time != 0 || r.count != 0 || r.cache_hits != 0);
    ExpectedProfile {
        rows,
        total_cpu,
        wall: last - first,
    }
}

fn rows_by_label(json: &serde_json::Value) -> BTreeMap<String, serde_json::Value> {
    json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["label"].as_str().unwrap().to_string(), r.clone()))
        .collect()
}

fn check_against_independent_walk(path: &Path) {
    let expected = independent_walk(path);
    let json = stdout_json(&buildscope(&["summarize", "--json", path_str(path)]));
    let actual = rows_by_label(&json);
    assert_eq!(
        actual.keys().collect::<Vec<_>>(),
        expected.rows.keys().collect::<Vec<_>>(),
        "labels of {}",
        path.display()
    );
    for (label, e) in &expected.rows {
        let a = &actual[label];
        let context = format!("{label} in {}", path.display());
        assert_eq!(
            a["self_time_ns"].as_u64().unwrap() as i128,
            e.self_time,
            "self time of {context}"
        );
        assert_eq!(a["time_ns"].as_u64().unwrap(), e.time, "time of {context}");
        assert_eq!(a["count"].as_u64().unwrap(), e.count, "count of {context}");
        assert_eq!(
            a["cache_hits"].as_u64().unwrap(),
            e.cache_hits,
            "hits of {context}"
        );
        assert_eq!(
            a["blocked_time_ns"].as_u64().unwrap(),
            e.blocked,
            "blocked of {context}"
        );
        assert_eq!(
            a["incremental_load_time_ns"].as_u64().unwrap() as i128,
            e.incr_load,
            "{context}"
        );
        assert_eq!(
            a["incremental_hashing_time_ns"].as_u64().unwrap() as i128,
            e.incr_hashing,
            "{context}"
        );
    }
    assert_eq!(
        json["total_cpu_time_ns"].as_u64().unwrap(),
        expected.total_cpu
    );
    assert_eq!(json["wall_time_ns"].as_u64().unwrap(), expected.wall);
    assert!(expected.total_cpu > 0 && expected.wall > 0);
}

#[test]
fn summarize_agrees_with_an_independent_walk_of_real_profiles() {
    let f = fixture();
    // Every profile of both builds: libraries, the binary, the build script, cargo's probe.
    let mut checked = 0;
    for dir in [&f.base_dir, &f.new_dir] {
        for entry in std::fs::read_dir(dir).unwrap() {
            check_against_independent_walk(&entry.unwrap().path());
            checked += 1;
        }
    }
    assert_eq!(checked, 8);
}

/// The same figures as measureme's own analysis (analyzeme's `perform_analysis`, which its
/// `summarize` prints): self time, item count, cache hits, blocked and incremental time,
/// total CPU time. Time may only be lower, where measureme counts recursion twice.
#[test]
fn summarize_agrees_with_measureme() {
    let f = fixture();
    let path = f.profile(&f.base_dir, "beta");
    let measureme = ProfilingData::new(&path).unwrap().perform_analysis();
    let json = stdout_json(&buildscope(&["summarize", "--json", path_str(&path)]));
    let actual = rows_by_label(&json);
    assert_eq!(
        json["total_cpu_time_ns"].as_u64().unwrap() as u128,
        measureme.total_time.as_nanos()
    );
    let mut compared = 0;
    for q in &measureme.query_data {
        let label = if q.label == "<unknown>" {
            "<unresolved>"
        } else {
            &q.label
        };
        let Some(a) = actual.get(label) else {
            assert!(
                q.self_time.is_zero() && q.invocation_count == 0 && q.number_of_cache_hits == 0
            );
            continue;
        };
        assert_eq!(
            a["self_time_ns"].as_u64().unwrap() as u128,
            q.self_time.as_nanos(),
            "{label}"
        );
        assert_eq!(
            a["count"].as_u64().unwrap(),
            q.invocation_count as u64,
            "{label}"
        );
        assert_eq!(
            a["cache_hits"].as_u64().unwrap(),
            q.number_of_cache_hits as u64,
            "{label}"
        );
        assert_eq!(
            a["blocked_time_ns"].as_u64().unwrap() as u128,
            q.blocked_time.as_nanos()
        );
        assert_eq!(
            a["incremental_load_time_ns"].as_u64().unwrap() as u128,
            q.incremental_load_time.as_nanos()
        );
        assert!(
            a["time_ns"].as_u64().unwrap() as u128 <= q.time.as_nanos(),
            "{label}"
        );
        compared += 1;
    }
    assert!(compared > 50, "only {compared} rows compared");
}

#[test]
fn a_directory_is_a_whole_build_with_a_per_crate_split() {
    let f = fixture();
    let json = stdout_json(&buildscope(&["summarize", "--json", path_str(&f.base_dir)]));
    let crates: Vec<&str> = json["crates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["crate"].as_str().unwrap())
        .collect();
    for name in [
        "alpha",
        "beta",
        "build_script_build(alpha)",
        "___ (cargo's target probe)",
    ] {
        assert!(crates.contains(&name), "{name} missing from {crates:?}");
    }
    assert_eq!(json["profile_count"].as_u64().unwrap(), 4);
    // The merged rows are the sum of the per-crate rows.
    let crate_cpu: u64 = json["crates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["total_cpu_time_ns"].as_u64().unwrap())
        .sum();
    assert_eq!(json["total_cpu_time_ns"].as_u64().unwrap(), crate_cpu);
    let typeck_total = rows_by_label(&json)["typeck"]["count"].as_u64().unwrap();
    let typeck_by_crate: u64 = json["crates"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| {
            rows_by_label(c)
                .get("typeck")
                .map(|r| r["count"].as_u64().unwrap())
        })
        .sum();
    assert_eq!(typeck_total, typeck_by_crate);
    // Wall time spans the build: at least the longest crate, at most the CPU total.
    let wall = json["wall_time_ns"].as_u64().unwrap();
    let longest = json["crates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["wall_time_ns"].as_u64().unwrap())
        .max()
        .unwrap();
    assert!(wall >= longest);

    let text = buildscope(&[
        "summarize",
        "--per-crate",
        "--color",
        "never",
        path_str(&f.base_dir),
    ]);
    assert!(text.status.success());
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("alpha: "), "{text}");
    assert!(text.contains("Top item"), "{text}");
}

#[test]
fn terminal_table_fits_80_columns_and_obeys_top_sort_and_min_percent() {
    let f = fixture();
    let dir = path_str(&f.base_dir);
    let out = buildscope(&["summarize", "--top", "5", "--color", "never", dir]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for line in text.lines() {
        assert!(line.chars().count() <= 80, "too wide: {line:?}");
    }
    assert!(
        text.contains("Total CPU time") && text.contains("Wall time"),
        "{text}"
    );
    assert!(!text.contains('\x1b'), "colour with --color never");
    let table_rows = text
        .lines()
        .skip_while(|l| !l.starts_with('─'))
        .skip(1)
        .take_while(|l| !l.is_empty() && !l.starts_with('…'))
        .count();
    assert_eq!(table_rows, 5, "{text}");

    let sorted = stdout_json(&buildscope(&[
        "summarize",
        "--json",
        "--sort",
        "count",
        dir,
    ]));
    let counts: Vec<u64> = sorted["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["count"].as_u64().unwrap())
        .collect();
    assert!(
        counts.windows(2).all(|w| w[0] >= w[1]),
        "not sorted by count"
    );

    let all = stdout_json(&buildscope(&["summarize", "--json", dir]));
    let filtered = stdout_json(&buildscope(&[
        "summarize",
        "--json",
        "--min-percent",
        "2",
        dir,
    ]));
    let total = all["total_cpu_time_ns"].as_u64().unwrap() as f64;
    let rows = filtered["rows"].as_array().unwrap();
    assert!(!rows.is_empty() && rows.len() < all["rows"].as_array().unwrap().len());
    for r in rows {
        assert!(r["self_time_ns"].as_u64().unwrap() as f64 * 100.0 / total >= 2.0);
    }

    let colored = buildscope(&["summarize", "--color", "always", "--top", "3", dir]);
    assert!(String::from_utf8(colored.stdout)
        .unwrap()
        .contains("\x1b[1m"));
}

#[test]
fn csv_has_one_line_per_row_with_raw_nanoseconds() {
    let f = fixture();
    let dir = path_str(&f.base_dir);
    let json = stdout_json(&buildscope(&["summarize", "--json", dir]));
    let out = buildscope(&["summarize", "--csv", dir]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert!(lines.next().unwrap().starts_with("label,self_time_ns,"));
    let first = json["rows"][0].clone();
    let first_line = lines.next().unwrap();
    assert!(
        first_line.starts_with(&format!(
            "{},{},",
            first["label"].as_str().unwrap(),
            first["self_time_ns"]
        )),
        "{first_line}"
    );
    assert_eq!(
        text.lines().count(),
        json["rows"].as_array().unwrap().len() + 1
    );
}

#[test]
fn cargo_subcommand_binary_accepts_cargos_extra_argument() {
    let f = fixture();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-buildscope"))
        .args(["buildscope", "summarize", "--json", path_str(&f.base_dir)])
        .output()
        .unwrap();
    assert_eq!(stdout_json(&out)["profile_count"].as_u64().unwrap(), 4);
}
