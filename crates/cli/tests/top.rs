//! `top`: the largest single invocations of real profiles, checked against analyzeme.

mod common;

use std::time::UNIX_EPOCH;

use analyzeme::{EventPayload, ProfilingData, Timestamp};
use common::{buildscope, fixture, path_str, stdout_json};

/// Every interval of a profile: (thread, start, end, label), times in ns from the epoch.
fn intervals(path: &std::path::Path) -> (u64, Vec<(u32, u64, u64, String)>) {
    let data = ProfilingData::new(path).unwrap();
    let start = data
        .metadata()
        .start_time
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let ns = |t: std::time::SystemTime| t.duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64;
    let list = data
        .iter_full()
        .filter_map(|e| match e.payload {
            EventPayload::Timestamp(Timestamp::Interval { start, end }) => {
                Some((e.thread_id, ns(start), ns(end), e.label.to_string()))
            }
            _ => None,
        })
        .collect();
    (start, list)
}

/// Self time of one interval: its duration minus its direct children on its thread.
fn self_time(all: &[(u32, u64, u64, String)], target: &(u32, u64, u64, String)) -> u64 {
    let inside: Vec<_> = all
        .iter()
        .filter(|i| i.0 == target.0 && target.1 <= i.1 && i.2 <= target.2 && *i != target)
        .collect();
    // Direct children: inside the target and not inside another interval inside it.
    let direct: u64 = inside
        .iter()
        .filter(|c| {
            !inside.iter().any(|o| {
                !std::ptr::eq(*o, **c) && o.1 <= c.1 && c.2 <= o.2 && (o.1, o.2) != (c.1, c.2)
            })
        })
        .map(|c| c.2 - c.1)
        .sum();
    (target.2 - target.1) - direct
}

#[test]
fn top_finds_the_longest_single_invocations_with_their_arguments() {
    let f = fixture();
    let path = f.profile(&f.base_dir, "alpha");
    let (profile_start, all) = intervals(&path);
    let json = stdout_json(&buildscope(&[
        "top",
        "--json",
        "--top",
        "5",
        path_str(&path),
    ]));
    let found = json["invocations"].as_array().unwrap();
    assert_eq!(found.len(), 5);

    // The five longest intervals, as analyzeme decodes them.
    let mut by_duration: Vec<&(u32, u64, u64, String)> = all.iter().collect();
    by_duration.sort_by_key(|i| std::cmp::Reverse(i.2 - i.1));
    for (inv, expected) in found.iter().zip(&by_duration) {
        assert_eq!(
            inv["duration_ns"].as_u64().unwrap(),
            expected.2 - expected.1
        );
    }
    let first = by_duration[0];
    assert_eq!(found[0]["label"], first.3.as_str());
    assert_eq!(
        found[0]["start_ns"].as_u64().unwrap(),
        first.1 - profile_start
    );
    assert_eq!(
        found[0]["self_time_ns"].as_u64().unwrap(),
        self_time(&all, first)
    );

    // Ranked by self time, filtered by label; rustc recorded what each typeck checked.
    let json = stdout_json(&buildscope(&[
        "top",
        "--json",
        "--sort",
        "self",
        "--label",
        "typeck",
        "--top",
        "3",
        path_str(&path),
    ]));
    let found = json["invocations"].as_array().unwrap();
    assert_eq!(found.len(), 3);
    let selfs: Vec<u64> = found
        .iter()
        .map(|i| i["self_time_ns"].as_u64().unwrap())
        .collect();
    assert!(selfs.windows(2).all(|w| w[0] >= w[1]));
    let best_typeck = all
        .iter()
        .filter(|i| i.3.contains("typeck"))
        .map(|i| self_time(&all, i))
        .max()
        .unwrap();
    assert_eq!(selfs[0], best_typeck);
    for inv in found {
        assert!(inv["label"].as_str().unwrap().contains("typeck"));
        assert!(!inv["args"].as_array().unwrap().is_empty(), "{inv}");
    }

    // A whole build: the top list spans crates.
    let json = stdout_json(&buildscope(&[
        "top",
        "--json",
        "--top",
        "40",
        path_str(&f.base_dir),
    ]));
    let crates: std::collections::BTreeSet<&str> = json["invocations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["crate"].as_str().unwrap())
        .collect();
    assert!(crates.len() >= 2, "{crates:?}");

    let text = buildscope(&[
        "top",
        "--color",
        "never",
        "--full",
        "--label",
        "typeck",
        "--top",
        "2",
        path_str(&path),
    ]);
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("  1. typeck"), "{text}");
}
