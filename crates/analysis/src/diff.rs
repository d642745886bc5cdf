//! Differences between two summaries: measureme's `summarize diff`, paired by crate when
//! both sides are whole builds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::summary::{LabelStats, Summary};

/// A `(base, new)` pair of one figure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub base: u64,
    pub new: u64,
}

impl Change {
    pub fn delta(&self) -> i128 {
        self.new as i128 - self.base as i128
    }

    /// The change in percent of the base; `None` when the base is 0.
    pub fn percent(&self) -> Option<f64> {
        (self.base != 0).then(|| self.delta() as f64 * 100.0 / self.base as f64)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiffRow {
    /// The crate, when the diff pairs rows by crate.
    #[serde(rename = "crate", skip_serializing_if = "Option::is_none")]
    pub crate_name: Option<String>,
    pub label: String,
    pub self_time_ns: Change,
    pub time_ns: Change,
    pub count: Change,
    pub cache_hits: Change,
    pub blocked_time_ns: Change,
    pub incremental_load_time_ns: Change,
    pub incremental_hashing_time_ns: Change,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrateChange {
    #[serde(rename = "crate")]
    pub crate_name: String,
    pub total_cpu_time_ns: Change,
    pub wall_time_ns: Change,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtifactSizeChange {
    pub label: String,
    pub bytes: Change,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diff {
    pub schema: String,
    /// True when rows are paired by crate and label (both sides hold several crates).
    pub by_crate: bool,
    pub total_cpu_time_ns: Change,
    pub wall_time_ns: Change,
    /// Sorted by the size of the self-time change, largest first.
    pub rows: Vec<DiffRow>,
    /// Per-crate totals, when `by_crate`; sorted by the size of the CPU-time change.
    pub crates: Vec<CrateChange>,
    pub artifact_sizes: Vec<ArtifactSizeChange>,
}

pub const DIFF_SCHEMA: &str = "buildscope.diff/1";

/// Orders changes by their size, the largest (either way) first.
fn largest_change_first(a: &Change, b: &Change) -> std::cmp::Ordering {
    b.delta().abs().cmp(&a.delta().abs())
}

type Pairs<'a> =
    BTreeMap<(Option<&'a str>, &'a str), (Option<&'a LabelStats>, Option<&'a LabelStats>)>;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Base,
    New,
}

fn collect_side<'a>(pairs: &mut Pairs<'a>, summary: &'a Summary, by_crate: bool, side: Side) {
    let sections: Vec<(Option<&'a str>, &'a [LabelStats])> = if by_crate {
        summary
            .crates
            .iter()
            .map(|c| (Some(c.crate_name.as_str()), c.rows.as_slice()))
            .collect()
    } else {
        vec![(None, summary.rows.as_slice())]
    };
    for (crate_name, rows) in sections {
        for row in rows {
            let entry = pairs.entry((crate_name, row.label.as_str())).or_default();
            match side {
                Side::Base => entry.0 = Some(row),
                Side::New => entry.1 = Some(row),
            }
        }
    }
}

/// Compares `base` with `new`. Rows whose label contains any of `exclude` are left out.
pub fn diff(base: &Summary, new: &Summary, exclude: &[String]) -> Diff {
    let by_crate = base.crates.len() > 1 && new.crates.len() > 1;
    let excluded = |label: &str| exclude.iter().any(|e| label.contains(e.as_str()));

    let mut pairs: Pairs = BTreeMap::new();
    collect_side(&mut pairs, base, by_crate, Side::Base);
    collect_side(&mut pairs, new, by_crate, Side::New);

    let mut rows: Vec<DiffRow> = pairs
        .into_iter()
        .filter(|((_, label), _)| !excluded(label))
        .map(|((crate_name, label), (b, n))| {
            let pick = |f: fn(&LabelStats) -> u64| Change {
                base: b.map_or(0, f),
                new: n.map_or(0, f),
            };
            DiffRow {
                crate_name: crate_name.map(str::to_string),
                label: label.to_string(),
                self_time_ns: pick(|r| r.self_time_ns),
                time_ns: pick(|r| r.time_ns),
                count: pick(|r| r.count),
                cache_hits: pick(|r| r.cache_hits),
                blocked_time_ns: pick(|r| r.blocked_time_ns),
                incremental_load_time_ns: pick(|r| r.incremental_load_time_ns),
                incremental_hashing_time_ns: pick(|r| r.incremental_hashing_time_ns),
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        largest_change_first(&a.self_time_ns, &b.self_time_ns)
            .then_with(|| a.label.cmp(&b.label))
            .then_with(|| a.crate_name.cmp(&b.crate_name))
    });

    let mut crates = Vec::new();
    if by_crate {
        let mut totals: BTreeMap<&str, CrateChange> = BTreeMap::new();
        for (side, summary) in [(false, base), (true, new)] {
            for c in &summary.crates {
                let entry = totals
                    .entry(c.crate_name.as_str())
                    .or_insert_with(|| CrateChange {
                        crate_name: c.crate_name.clone(),
                        total_cpu_time_ns: Change::default(),
                        wall_time_ns: Change::default(),
                    });
                if side {
                    entry.total_cpu_time_ns.new = c.total_cpu_time_ns;
                    entry.wall_time_ns.new = c.wall_time_ns;
                } else {
                    entry.total_cpu_time_ns.base = c.total_cpu_time_ns;
                    entry.wall_time_ns.base = c.wall_time_ns;
                }
            }
        }
        crates = totals.into_values().collect();
        crates.sort_by(|a, b| {
            largest_change_first(&a.total_cpu_time_ns, &b.total_cpu_time_ns)
                .then_with(|| a.crate_name.cmp(&b.crate_name))
        });
    }

    let mut sizes: BTreeMap<&str, Change> = BTreeMap::new();
    for s in &base.artifact_sizes {
        sizes.entry(s.label.as_str()).or_default().base = s.bytes;
    }
    for s in &new.artifact_sizes {
        sizes.entry(s.label.as_str()).or_default().new = s.bytes;
    }
    let mut artifact_sizes: Vec<ArtifactSizeChange> = sizes
        .into_iter()
        .filter(|(label, _)| !excluded(label))
        .map(|(label, bytes)| ArtifactSizeChange {
            label: label.to_string(),
            bytes,
        })
        .collect();
    artifact_sizes.sort_by(|a, b| {
        largest_change_first(&a.bytes, &b.bytes).then_with(|| a.label.cmp(&b.label))
    });

    Diff {
        schema: DIFF_SCHEMA.to_string(),
        by_crate,
        total_cpu_time_ns: Change {
            base: base.total_cpu_time_ns,
            new: new.total_cpu_time_ns,
        },
        wall_time_ns: Change {
            base: base.wall_time_ns,
            new: new.wall_time_ns,
        },
        rows,
        crates,
        artifact_sizes,
    }
}
