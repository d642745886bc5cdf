//! `trace`: the Chrome trace of real profiles, parsed and held to the trace-event format's
//! rules, its per-label sums checked against `summarize`, its arguments against analyzeme.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use analyzeme::ProfilingData;
use common::{buildscope, buildscope_ok, fixture, path_str, stdout_json};
use serde_json::Value;

/// Writes a trace of `inputs` with extra `flags`; returns the parsed events and stderr.
fn trace(inputs: &[&Path], flags: &[&str]) -> (Vec<Value>, String, u64) {
    let out_dir = tempfile::tempdir().unwrap();
    let out_path = out_dir.path().join("trace.json");
    let mut args = vec!["trace", "-o", path_str(&out_path)];
    args.extend(inputs.iter().map(|p| path_str(p)));
    args.extend_from_slice(flags);
    let out = buildscope_ok(&args);
    let bytes = std::fs::read(&out_path).unwrap();
    let events: Vec<Value> = serde_json::from_slice(&bytes).expect("the trace is a JSON array");
    (
        events,
        String::from_utf8_lossy(&out.stderr).into_owned(),
        bytes.len() as u64,
    )
}

/// Microseconds with three decimals back to exact nanoseconds.
fn ns(value: &Value) -> u64 {
    let us = value.as_f64().expect("a number of microseconds");
    assert!(us >= 0.0, "negative time {value}");
    (us * 1000.0).round() as u64
}

/// The checks every trace must pass: known phases, the fields each needs, and metadata
/// naming every process and thread that has events.
fn assert_well_formed(events: &[Value]) {
    let mut named_processes = BTreeSet::new();
    let mut named_threads = BTreeSet::new();
    let mut used_processes = BTreeSet::new();
    let mut used_threads = BTreeSet::new();
    for event in events {
        let pid = event["pid"]
            .as_u64()
            .expect("every event has an integer pid");
        assert!(event["name"].is_string(), "{event}");
        match event["ph"].as_str().expect("every event has a phase") {
            "X" => {
                ns(&event["ts"]);
                ns(&event["dur"]);
                let tid = event["tid"].as_u64().expect("an integer tid");
                assert!(event["cat"].is_string(), "{event}");
                if let Some(args) = event.get("args") {
                    let args = args.as_object().expect("args is an object");
                    assert!(!args.is_empty(), "empty args are left out: {event}");
                    for (i, (key, value)) in args.iter().enumerate() {
                        assert_eq!(key, &format!("arg{i}"), "{event}");
                        assert!(value.is_string(), "{event}");
                    }
                }
                used_processes.insert(pid);
                used_threads.insert((pid, tid));
            }
            "M" => match event["name"].as_str().unwrap() {
                "process_name" => {
                    assert!(event["args"]["name"].is_string(), "{event}");
                    named_processes.insert(pid);
                }
                "process_sort_index" => assert!(event["args"]["sort_index"].is_u64()),
                "thread_name" => {
                    assert!(event["args"]["name"].is_string(), "{event}");
                    named_threads.insert((pid, event["tid"].as_u64().unwrap()));
                }
                other => panic!("unexpected metadata record {other}"),
            },
            "C" => {
                ns(&event["ts"]);
                assert!(event["args"]["value"].is_u64(), "{event}");
                used_processes.insert(pid);
            }
            other => panic!("unexpected phase {other} in {event}"),
        }
    }
    assert_eq!(named_processes, used_processes, "a process without a name");
    assert_eq!(named_threads, used_threads, "a thread without a name");
}

/// Per label, the time in intervals not nested in another of the same label on the same
/// thread: what `summarize` calls Time. Rebuilt from the trace's own `ts` and `dur`.
/// (Incremental hashing is not counted as time, as in measureme.)
fn time_by_label(events: &[Value], pid: u64) -> BTreeMap<String, u64> {
    let mut by_thread: BTreeMap<u64, Vec<(u64, u64, &str, bool)>> = BTreeMap::new();
    for e in events.iter().filter(|e| e["ph"] == "X" && e["pid"] == pid) {
        let start = ns(&e["ts"]);
        let end = start + ns(&e["dur"]);
        let counts = e["cat"] != "IncrementalResultHashing";
        by_thread
            .entry(e["tid"].as_u64().unwrap())
            .or_default()
            .push((start, end, e["name"].as_str().unwrap(), counts));
    }
    let mut time = BTreeMap::new();
    for (_, mut intervals) in by_thread {
        intervals.sort_by_key(|&(start, end, _, _)| (start, std::cmp::Reverse(end)));
        let mut stack: Vec<(u64, &str, bool)> = Vec::new();
        for (start, end, label, counts) in intervals {
            while stack.last().is_some_and(|&(top_end, _, _)| top_end < end) {
                stack.pop();
            }
            let nested_in_same = stack.iter().any(|&(_, l, c)| c && l == label);
            if counts && !nested_in_same {
                *time.entry(label.to_string()).or_default() += end - start;
            }
            let _ = start;
            stack.push((end, label, counts));
        }
    }
    time
}

#[test]
fn a_whole_build_trace_is_well_formed_and_sums_to_summarize() {
    let f = fixture();
    let (events, _, _) = trace(&[&f.base_dir], &["--max-size", "0"]);
    assert_well_formed(&events);

    // One process per profile, named by crate and file.
    let names: BTreeMap<u64, String> = events
        .iter()
        .filter(|e| e["name"] == "process_name")
        .map(|e| {
            (
                e["pid"].as_u64().unwrap(),
                e["args"]["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let profiles: Vec<_> = std::fs::read_dir(&f.base_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(names.len(), profiles.len(), "{names:?}");
    for crate_name in ["alpha", "beta", "build_script_build(alpha)"] {
        assert!(
            names
                .values()
                .any(|n| n.starts_with(&format!("{crate_name} ("))),
            "no process for {crate_name}: {names:?}"
        );
    }

    // Every process's per-label sums equal summarize's Time for its profile, exactly.
    let mut most_labels = 0;
    for profile in &profiles {
        let file_name = profile.file_name().unwrap().to_string_lossy();
        let pid = *names
            .iter()
            .find(|(_, n)| n.ends_with(&format!("({file_name})")))
            .unwrap()
            .0;
        let summary = stdout_json(&buildscope(&["summarize", "--json", path_str(profile)]));
        let expected: BTreeMap<String, u64> = summary["rows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["time_ns"].as_u64().unwrap() > 0)
            .map(|r| {
                (
                    r["label"].as_str().unwrap().to_string(),
                    r["time_ns"].as_u64().unwrap(),
                )
            })
            .collect();
        let actual = time_by_label(&events, pid);
        let differing: Vec<_> = expected
            .keys()
            .chain(actual.keys())
            .filter(|label| actual.get(*label) != expected.get(*label))
            .map(|label| (label, actual.get(label), expected.get(label)))
            .take(8)
            .collect();
        assert!(
            differing.is_empty(),
            "per-label time of {file_name} (label, trace, summarize): {differing:?}"
        );
        most_labels = most_labels.max(expected.len());
    }
    assert!(most_labels > 20, "a real profile has many labels");

    // The build reads as one timeline: processes start where their rustc started.
    let first_ts = |pid: u64| {
        events
            .iter()
            .filter(|e| e["ph"] == "X" && e["pid"] == pid)
            .map(|e| ns(&e["ts"]))
            .min()
            .unwrap()
    };
    let starts: Vec<u64> = names.keys().map(|&pid| first_ts(pid)).collect();
    assert!(
        *starts.iter().min().unwrap() < 1_000_000_000,
        "the earliest process starts near zero: {starts:?}"
    );
    assert!(
        starts.iter().any(|&s| s > 1_000_000),
        "later rustc processes are placed later: {starts:?}"
    );
    // Artifact sizes become counters (crox drops them).
    assert!(
        events
            .iter()
            .any(|e| e["ph"] == "C" && e["cat"] == "ArtifactSize"),
        "no artifact size counters"
    );
}

#[test]
fn trace_arguments_are_the_ones_rustc_recorded() {
    let f = fixture();
    let path = f.profile(&f.base_dir, "alpha");
    let (events, _, _) = trace(&[&path], &["--max-size", "0"]);
    let ours: BTreeSet<(String, Vec<String>)> = events
        .iter()
        .filter(|e| e["ph"] == "X")
        .map(|e| {
            let args = e
                .get("args")
                .and_then(Value::as_object)
                .map(|a| {
                    a.values()
                        .map(|v| v.as_str().unwrap().to_string())
                        .collect()
                })
                .unwrap_or_default();
            (e["name"].as_str().unwrap().to_string(), args)
        })
        .collect();
    let data = ProfilingData::new(&path).unwrap();
    let theirs: BTreeSet<(String, Vec<String>)> = data
        .iter_full()
        .filter(|e| e.payload.is_interval())
        .map(|e| {
            // analyzeme names a label its string table cannot resolve `<unknown>`.
            let label = match &*e.label {
                "<unknown>" => "<unresolved>".to_string(),
                other => other.to_string(),
            };
            (
                label,
                e.additional_data.iter().map(|a| a.to_string()).collect(),
            )
        })
        .collect();
    let only_ours: Vec<_> = ours.difference(&theirs).take(5).collect();
    let only_theirs: Vec<_> = theirs.difference(&ours).take(5).collect();
    assert!(
        only_ours.is_empty() && only_theirs.is_empty(),
        "only in the trace: {only_ours:?}\nonly in analyzeme: {only_theirs:?}"
    );
    assert!(
        ours.iter()
            .any(|(_, args)| args.iter().any(|a| a.contains("Shape"))),
        "the fixture's queries have item arguments"
    );
}

#[test]
fn max_size_raises_the_minimum_duration_and_says_what_it_left_out() {
    let f = fixture();
    let (all, _, full_size) = trace(&[&f.base_dir], &["--max-size", "0"]);
    let limit = full_size / 4;
    let (events, stderr, size) = trace(&[&f.base_dir], &["--max-size", &limit.to_string()]);
    assert!(size <= limit, "{size} > {limit}");
    assert_well_formed(&events);
    assert!(stderr.contains("left out"), "{stderr}");
    let kept: Vec<u64> = events
        .iter()
        .filter(|e| e["ph"] == "X")
        .map(|e| ns(&e["dur"]))
        .collect();
    assert!(!kept.is_empty());
    let threshold = *kept.iter().min().unwrap();
    // Everything at least as long as the shortest interval kept is still there: the cut
    // is by duration, not by position in the file.
    let longer = all
        .iter()
        .filter(|e| e["ph"] == "X" && ns(&e["dur"]) >= threshold)
        .count();
    assert!(longer >= kept.len());
    assert!(
        kept.len() < all.iter().filter(|e| e["ph"] == "X").count(),
        "something was left out"
    );

    let (events, _, _) = trace(&[&f.base_dir], &["--min-duration", "50", "--max-size", "0"]);
    assert_well_formed(&events);
    assert!(events
        .iter()
        .filter(|e| e["ph"] == "X")
        .all(|e| ns(&e["dur"]) >= 50_000));
}

#[test]
fn collapsed_threads_keep_the_events_on_fewer_tracks() {
    let f = fixture();
    let (plain, _, _) = trace(&[&f.base_dir], &["--max-size", "0"]);
    let (collapsed, _, _) = trace(&[&f.base_dir], &["--max-size", "0", "--collapse-threads"]);
    assert_well_formed(&collapsed);
    let tracks = |events: &[Value]| {
        events
            .iter()
            .filter(|e| e["ph"] == "X")
            .map(|e| (e["pid"].as_u64(), e["tid"].as_u64()))
            .collect::<BTreeSet<_>>()
            .len()
    };
    let count = |events: &[Value]| events.iter().filter(|e| e["ph"] == "X").count();
    assert!(tracks(&collapsed) <= tracks(&plain));
    assert_eq!(count(&collapsed), count(&plain));
}
