//! `diff` between real profiles, whole builds and saved summaries.

mod common;

use common::{buildscope, fixture, path_str, stdout_json};

fn row<'a>(
    json: &'a serde_json::Value,
    label: &str,
    crate_name: Option<&str>,
) -> &'a serde_json::Value {
    json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["label"] == label && crate_name.is_none_or(|c| r["crate"] == c))
        .unwrap_or_else(|| panic!("no row {label} ({crate_name:?})"))
}

fn summary_row(json: &serde_json::Value, label: &str) -> (u64, u64) {
    let r = json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["label"] == label)
        .unwrap();
    (
        r["self_time_ns"].as_u64().unwrap(),
        r["count"].as_u64().unwrap(),
    )
}

#[test]
fn diff_of_two_profiles_pairs_rows_by_label() {
    let f = fixture();
    let base = f.profile(&f.base_dir, "alpha");
    let new = f.profile(&f.new_dir, "alpha");
    let base_json = stdout_json(&buildscope(&["summarize", "--json", path_str(&base)]));
    let new_json = stdout_json(&buildscope(&["summarize", "--json", path_str(&new)]));
    let diff = stdout_json(&buildscope(&[
        "diff",
        "--json",
        path_str(&base),
        path_str(&new),
    ]));
    assert_eq!(diff["schema"], "buildscope.diff/1");
    assert_eq!(diff["by_crate"], false);
    for label in ["typeck", "mir_borrowck", "type_of"] {
        let (base_self, base_count) = summary_row(&base_json, label);
        let (new_self, new_count) = summary_row(&new_json, label);
        let r = row(&diff, label, None);
        assert_eq!(r["self_time_ns"]["base"].as_u64().unwrap(), base_self);
        assert_eq!(r["self_time_ns"]["new"].as_u64().unwrap(), new_self);
        assert_eq!(r["count"]["base"].as_u64().unwrap(), base_count);
        assert_eq!(r["count"]["new"].as_u64().unwrap(), new_count);
    }
    // alpha grew two generic functions: more bodies to type-check.
    let typeck = row(&diff, "typeck", None);
    assert!(typeck["count"]["new"].as_u64() > typeck["count"]["base"].as_u64());
    // Sorted by the size of the self-time change.
    let changes: Vec<i128> = diff["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (r["self_time_ns"]["new"].as_u64().unwrap() as i128
                - r["self_time_ns"]["base"].as_u64().unwrap() as i128)
                .abs()
        })
        .collect();
    assert!(changes.windows(2).all(|w| w[0] >= w[1]));

    let text = buildscope(&["diff", "--color", "never", path_str(&base), path_str(&new)]);
    assert!(text.status.success());
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("Total CPU time") && text.contains(" → "),
        "{text}"
    );
    assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
}

#[test]
fn diff_of_two_builds_pairs_by_crate_and_totals_per_crate() {
    let f = fixture();
    let diff = stdout_json(&buildscope(&[
        "diff",
        "--json",
        path_str(&f.base_dir),
        path_str(&f.new_dir),
    ]));
    assert_eq!(diff["by_crate"], true);
    let crates: Vec<&str> = diff["crates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["crate"].as_str().unwrap())
        .collect();
    assert!(
        crates.contains(&"alpha") && crates.contains(&"beta"),
        "{crates:?}"
    );
    // Rows of the same label in two crates stay apart.
    let alpha = row(&diff, "typeck", Some("alpha"));
    let beta = row(&diff, "typeck", Some("beta"));
    assert_ne!(alpha["count"], beta["count"]);

    let text = buildscope(&[
        "diff",
        "--color",
        "never",
        path_str(&f.base_dir),
        path_str(&f.new_dir),
    ]);
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("Base CPU") && text.contains("Crate"),
        "{text}"
    );
}

#[test]
fn a_saved_summary_stands_in_for_its_profiles_and_exclude_filters() {
    let f = fixture();
    let saved = f.root.join("base-summary.json");
    let out = buildscope(&["summarize", "--json", path_str(&f.base_dir)]);
    assert!(out.status.success());
    std::fs::write(&saved, &out.stdout).unwrap();

    let from_profiles = stdout_json(&buildscope(&[
        "diff",
        "--json",
        path_str(&f.base_dir),
        path_str(&f.new_dir),
    ]));
    let from_saved = stdout_json(&buildscope(&[
        "diff",
        "--json",
        path_str(&saved),
        path_str(&f.new_dir),
    ]));
    assert_eq!(from_profiles, from_saved);

    let excluded = stdout_json(&buildscope(&[
        "diff",
        "--json",
        "--exclude",
        "LLVM",
        "-e",
        "typeck",
        path_str(&saved),
        path_str(&f.new_dir),
    ]));
    let labels: Vec<&str> = excluded["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["label"].as_str().unwrap())
        .collect();
    assert!(!labels.is_empty());
    assert!(labels
        .iter()
        .all(|l| !l.contains("LLVM") && !l.contains("typeck")));

    // Against itself, nothing changed.
    let same = stdout_json(&buildscope(&[
        "diff",
        "--json",
        path_str(&saved),
        path_str(&saved),
    ]));
    assert!(same["rows"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["self_time_ns"]["base"] == r["self_time_ns"]["new"]));
}
