//! A program's profile: what `buildscope profile` keeps of one run of the user's own
//! program (the command line, its exit, peak memory, and the time of each function from
//! the sampled stacks), and the figures drawn from it.
//!
//! Functions are named as the demangled symbols the samples hold (`tinyc::resolve::lookup`,
//! `<alloc::vec::Vec<T> as Drop>::drop`); a function's crate is the first path segment of
//! its name, or of the type in an `impl` (`alloc` above), so time can be summed per crate.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::stats::Spread;

/// The `command` of a program run in the history (a build's is cargo's: `build`, `check`).
pub const PROGRAM_COMMAND: &str = "program";

/// The measure name of a function's self time in the history and in `check`.
pub const FUNCTION_MEASURE_PREFIX: &str = "fn:";

/// How many functions a run keeps (by self time), in its record and as history measures:
/// enough for every function a regression check could name, few enough to store per run.
pub const KEPT_FUNCTIONS: usize = 40;

/// What one run of a program left, beside the run record's wall and CPU time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgramRun {
    /// The program and its arguments, as run.
    pub argv: Vec<String>,
    /// The executable run (the first of `argv`, resolved).
    #[serde(default)]
    pub executable: std::path::PathBuf,
    /// The cargo command that built it, when buildscope built it (`cargo build --release
    /// --bin tinyc`); `None` for `--command`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub built_with: Option<String>,
    /// Killed by this signal (the exit code is then `None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    pub peak_rss_bytes: u64,
    /// Sampled CPU time, ns: the samples' share of the measured CPU time.
    pub sampled_ns: u64,
    /// The functions with the most self time, most first ([`KEPT_FUNCTIONS`] of them).
    pub functions: Vec<FunctionTime>,
    /// Why the run was not sampled, when it was not (perf missing or not permitted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_sampled: Option<String>,
    /// The input's size in the user's unit, when given (`--input-size`, `scale --run`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_size: Option<u64>,
}

/// A function's time in one run, ns: self (its own code, the leaf of a sample) and total
/// (itself and everything it called; a recursive function counted once per sample).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionTime {
    pub name: String,
    #[serde(rename = "crate")]
    pub krate: String,
    pub self_ns: u64,
    pub total_ns: u64,
    /// The frame below it in most of its self-time samples: its caller, or, for a C
    /// library function that keeps no frame pointer, its caller's caller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<String>,
}

/// Each function's self and total time in folded stacks (`frame;frame;… weight`, outermost
/// first, as perf samples fold), the weights scaled so that they sum to `cpu_ns`: the
/// samples' clock may be cycles or nanoseconds, the measured CPU time is what is quoted.
/// Most self time first; ties by name, so a profile always lists the same way.
pub fn function_times(stacks: &[(String, u64)], cpu_ns: u64) -> Vec<FunctionTime> {
    let weight: u64 = stacks.iter().map(|(_, w)| w).sum();
    if weight == 0 {
        return Vec::new();
    }
    let scale = cpu_ns as f64 / weight as f64;
    let mut times: HashMap<&str, (f64, f64)> = HashMap::new();
    let mut callers: HashMap<&str, HashMap<&str, f64>> = HashMap::new();
    let mut seen: Vec<&str> = Vec::new();
    for (stack, w) in stacks {
        let w = *w as f64 * scale;
        let frames: Vec<&str> = stack.split(';').collect();
        seen.clear();
        for frame in &frames {
            if !seen.contains(frame) {
                seen.push(frame);
                times.entry(frame).or_default().1 += w;
            }
        }
        if let Some((leaf, below)) = frames.split_last() {
            times.entry(leaf).or_default().0 += w;
            if let Some(caller) = below.last() {
                *callers.entry(leaf).or_default().entry(caller).or_default() += w;
            }
        }
    }
    let mut out: Vec<FunctionTime> = times
        .into_iter()
        .map(|(name, (self_ns, total_ns))| FunctionTime {
            name: name.to_string(),
            krate: crate_of(name),
            self_ns: self_ns.round() as u64,
            total_ns: total_ns.round() as u64,
            within: callers.get(name).and_then(|c| {
                c.iter()
                    .max_by(|a, b| a.1.total_cmp(b.1).then_with(|| b.0.cmp(a.0)))
                    .map(|(caller, _)| caller.to_string())
            }),
        })
        .collect();
    out.sort_by(|a, b| b.self_ns.cmp(&a.self_ns).then_with(|| a.name.cmp(&b.name)));
    out
}

/// The crate a demangled function belongs to: the first path segment, looking through
/// `<` of an impl (`<alloc::vec::Vec<T> as Drop>::drop` → `alloc`) and `&`/`*` of a
/// reference type; a symbol that is not a Rust path (`memcmp`, `[unknown]`,
/// `[kernel.kallsyms]`) is its own group: `libc/system` for C names, `kernel`, `unknown`.
pub fn crate_of(name: &str) -> String {
    if name.starts_with("[k") || name.contains("[kernel") {
        return "kernel".into();
    }
    if name.starts_with('[') {
        return "unknown".into();
    }
    let trimmed = name.trim_start_matches(['<', '&', '*', ' ']);
    let trimmed = trimmed
        .strip_prefix("mut ")
        .or_else(|| trimmed.strip_prefix("dyn "))
        .unwrap_or(trimmed);
    match trimmed.split_once("::") {
        Some((first, _)) if is_identifier(first) => first.to_string(),
        // `<[T] as core::fmt::Debug>::fmt`: the type is not a path, the trait is.
        _ => match name.split_once(" as ") {
            Some((_, bound)) => crate_of(bound),
            None => "system".into(),
        },
    }
}

fn is_identifier(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// A function's self time over the runs of one profile, with its total's median.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionSpread {
    pub name: String,
    #[serde(rename = "crate")]
    pub krate: String,
    pub self_ns: Spread,
    pub total_ns: Spread,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<String>,
}

/// Each function's spread over `runs` (a function a run did not sample counts 0 there),
/// most median self time first.
pub fn function_spreads(runs: &[&[FunctionTime]]) -> Vec<FunctionSpread> {
    type Series<'a> = (&'a FunctionTime, Vec<u64>, Vec<u64>);
    let mut by_name: HashMap<&str, Series> = HashMap::new();
    for (i, functions) in runs.iter().enumerate() {
        for f in functions.iter() {
            let entry = by_name
                .entry(&f.name)
                .or_insert_with(|| (f, vec![0; runs.len()], vec![0; runs.len()]));
            entry.1[i] = f.self_ns;
            entry.2[i] = f.total_ns;
        }
    }
    let mut out: Vec<FunctionSpread> = by_name
        .into_iter()
        .filter_map(|(name, (first, selfs, totals))| {
            Some(FunctionSpread {
                name: name.to_string(),
                krate: first.krate.clone(),
                self_ns: Spread::of(&selfs)?,
                total_ns: Spread::of(&totals)?,
                within: first.within.clone(),
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.self_ns
            .median
            .cmp(&a.self_ns.median)
            .then_with(|| a.name.cmp(&b.name))
    });
    out
}

/// Self time summed per crate, most first.
pub fn crate_times(functions: &[FunctionTime]) -> Vec<(String, u64)> {
    let mut by_crate: HashMap<&str, u64> = HashMap::new();
    for f in functions {
        *by_crate.entry(&f.krate).or_default() += f.self_ns;
    }
    let mut out: Vec<(String, u64)> = by_crate
        .into_iter()
        .map(|(k, ns)| (k.to_string(), ns))
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

impl ProgramRun {
    /// The measures the history keeps of a program run beyond wall and CPU time: peak
    /// memory, and the self time of each kept function of at least 1% of the sampled CPU
    /// time (`fn:<name>`, ns), so that `check` compares them run by run and names the
    /// function that grew. `check` judges them adjusted for the machine's speed in each run
    /// ([`machine_factor`]).
    pub fn measures(&self) -> Vec<(String, f64)> {
        let sampled = self.sampled_ns.max(1);
        std::iter::once(("rss".to_string(), self.peak_rss_bytes as f64))
            .chain(
                self.functions
                    .iter()
                    .filter(|f| f.self_ns * 100 >= sampled)
                    .map(|f| {
                        (
                            format!("{FUNCTION_MEASURE_PREFIX}{}", f.name),
                            f.self_ns as f64,
                        )
                    }),
            )
            .collect()
    }

    /// The program's command line as one would type it.
    pub fn command_line(&self) -> String {
        self.argv
            .iter()
            .map(|a| {
                if a.is_empty() || a.contains(char::is_whitespace) {
                    format!("'{a}'")
                } else {
                    a.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A function whose self time changed between two profiles beyond their noise.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunctionChange {
    pub name: String,
    #[serde(rename = "crate")]
    pub krate: String,
    /// Its self time in each run before and after, ns (0 where a run did not sample it).
    pub before: Vec<f64>,
    pub after: Vec<f64>,
    /// Of the medians: after / before − 1 (`None` for a function new in `after`).
    pub change: Option<f64>,
}

/// With one run a side, the smallest change of a function's self time worth listing.
pub const SINGLE_RUN_CHANGE: f64 = 0.10;

/// With the runs' spread to judge by, the smallest change still worth listing: adjusted
/// ranges can be tight enough to set apart a change of a percent, which sampling alone
/// makes.
pub const MIN_FUNCTION_CHANGE: f64 = 0.05;

/// How much faster or slower the machine ran a program in one run than in a reference:
/// the median, weighted by the reference's time, of each function's time in the run over
/// its time in the reference (`(run, reference)` pairs, ns). A loaded, throttled or shared
/// machine slows every function alike, so the median function shows it, while one function
/// that changed does not move the median (as long as most of the time is in functions that
/// did not change). 1 when no function is in both, and when one function holds half the
/// time or more: the median would then be that function's own change, and a program that
/// is mostly one function has nothing to tell the machine from the function by.
pub fn machine_factor(pairs: &[(f64, f64)]) -> f64 {
    let mut ratios: Vec<(f64, f64)> = pairs
        .iter()
        .filter(|(run, reference)| *run > 0.0 && *reference > 0.0)
        .map(|(run, reference)| (run / reference, *reference))
        .collect();
    let total: f64 = ratios.iter().map(|r| r.1).sum();
    if ratios.is_empty() || ratios.iter().any(|r| r.1 * 2.0 >= total) {
        return 1.0;
    }
    ratios.sort_by(|a, b| a.0.total_cmp(&b.0));
    let half = total / 2.0;
    let mut seen = 0.0;
    for (ratio, weight) in &ratios {
        seen += weight;
        if seen >= half {
            return *ratio;
        }
    }
    ratios.last().map_or(1.0, |r| r.0)
}

/// The functions whose self time changed from `before`'s runs to `after`'s beyond the
/// noise, largest change first; functions under 1% of the CPU time on both sides are left
/// out. Each run's times are first divided by its [`machine_factor`] against the `before`
/// runs' medians, so a slower machine does not make every function look slower; then a
/// function changed when its adjusted ranges over the runs are apart (two or more runs a
/// side) by at least [`MIN_FUNCTION_CHANGE`], or by [`SINGLE_RUN_CHANGE`] with one run a
/// side. `change` is of the adjusted
/// medians; `before`/`after` hold the measured times.
pub fn function_changes(before: &[&ProgramRun], after: &[&ProgramRun]) -> Vec<FunctionChange> {
    let self_times = |runs: &[&ProgramRun]| -> HashMap<String, (String, Vec<f64>)> {
        let mut out: HashMap<String, (String, Vec<f64>)> = HashMap::new();
        for (i, run) in runs.iter().enumerate() {
            for f in &run.functions {
                out.entry(f.name.clone())
                    .or_insert_with(|| (f.krate.clone(), vec![0.0; runs.len()]))
                    .1[i] = f.self_ns as f64;
            }
        }
        out
    };
    let (old, new) = (self_times(before), self_times(after));
    let median = |v: &[f64]| crate::stats::median(v).unwrap_or(0.0);
    let reference: HashMap<&String, f64> = old.iter().map(|(n, (_, v))| (n, median(v))).collect();
    let factors = |times: &HashMap<String, (String, Vec<f64>)>, runs: usize| -> Vec<f64> {
        (0..runs)
            .map(|i| {
                let pairs: Vec<(f64, f64)> = times
                    .iter()
                    .filter_map(|(name, (_, v))| Some((v[i], *reference.get(name)?)))
                    .collect();
                machine_factor(&pairs)
            })
            .collect()
    };
    let (old_factors, new_factors) = (factors(&old, before.len()), factors(&new, after.len()));
    let adjusted = |v: &[f64], factors: &[f64]| -> Vec<f64> {
        v.iter().zip(factors).map(|(ns, f)| ns / f).collect()
    };
    let mut names: Vec<&String> = old.keys().chain(new.keys()).collect();
    names.sort();
    names.dedup();
    let several = before.len() >= 2 && after.len() >= 2;
    let max = |v: &[f64]| v.iter().copied().fold(f64::MIN, f64::max);
    let min = |v: &[f64]| v.iter().copied().fold(f64::MAX, f64::min);
    let mut changes: Vec<FunctionChange> = names
        .into_iter()
        .filter_map(|name| {
            let krate = old.get(name).or(new.get(name)).map(|e| e.0.clone())?;
            let a = old
                .get(name)
                .map_or(vec![0.0; before.len()], |e| e.1.clone());
            let b = new
                .get(name)
                .map_or(vec![0.0; after.len()], |e| e.1.clone());
            let share = |runs: &[&ProgramRun], ns: &[f64]| {
                ns.iter()
                    .zip(runs)
                    .map(|(ns, run)| ns / run.sampled_ns.max(1) as f64)
                    .fold(0.0, f64::max)
            };
            if share(before, &a).max(share(after, &b)) < 0.01 {
                return None;
            }
            let (na, nb) = (adjusted(&a, &old_factors), adjusted(&b, &new_factors));
            let (ma, mb) = (median(&na), median(&nb));
            let change = (ma > 0.0).then(|| mb / ma - 1.0);
            let apart = if several {
                (min(&nb) > max(&na) || max(&nb) < min(&na))
                    && change.is_none_or(|c| c.abs() >= MIN_FUNCTION_CHANGE)
            } else {
                change.is_none_or(|c| c.abs() >= SINGLE_RUN_CHANGE)
            };
            apart.then(|| FunctionChange {
                name: name.clone(),
                krate,
                before: a,
                after: b,
                change,
            })
        })
        .collect();
    changes.sort_by(|x, y| {
        let size = |c: &FunctionChange| c.change.map_or(f64::INFINITY, f64::abs);
        size(y)
            .total_cmp(&size(x))
            .then_with(|| x.name.cmp(&y.name))
    });
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_and_total_time_come_from_leaves_and_whole_stacks() {
        let stacks = vec![
            ("main;tinyc::resolve;tinyc::lookup".to_string(), 6),
            ("main;tinyc::resolve".to_string(), 2),
            ("main;tinyc::lex".to_string(), 2),
            // Recursion counts once in the total.
            ("main;f;f;f".to_string(), 10),
        ];
        let times = function_times(&stacks, 2_000);
        let get = |n: &str| times.iter().find(|f| f.name == n).unwrap();
        assert_eq!(get("tinyc::lookup").self_ns, 600);
        assert_eq!(get("tinyc::resolve").total_ns, 800);
        assert_eq!(get("tinyc::resolve").self_ns, 200);
        assert_eq!(get("main").total_ns, 2_000);
        assert_eq!(get("f").total_ns, 1_000);
        assert_eq!(get("f").self_ns, 1_000);
        assert_eq!(times[0].name, "f");
        assert_eq!(
            get("tinyc::lookup").within.as_deref(),
            Some("tinyc::resolve")
        );
        assert_eq!(get("main").within, None);
    }

    #[test]
    fn crates_are_read_through_impls_and_references() {
        assert_eq!(crate_of("tinyc::resolve::lookup"), "tinyc");
        assert_eq!(
            crate_of("<alloc::vec::Vec<T> as core::ops::Drop>::drop"),
            "alloc"
        );
        assert_eq!(
            crate_of("<&mut serde_json::ser::Serializer<W> as x::Y>::f"),
            "serde_json"
        );
        assert_eq!(crate_of("__memcmp_evex_movbe"), "system");
        assert_eq!(crate_of("[unknown]"), "unknown");
        assert_eq!(crate_of("[kernel.kallsyms]"), "kernel");
        assert_eq!(crate_of("<[T] as core::fmt::Debug>::fmt"), "core");
    }

    fn run_with(functions: &[(&str, u64)], cpu: u64) -> ProgramRun {
        ProgramRun {
            argv: vec!["p".into()],
            executable: "p".into(),
            built_with: None,
            signal: None,
            peak_rss_bytes: 0,
            sampled_ns: cpu,
            functions: functions
                .iter()
                .map(|(name, ns)| FunctionTime {
                    name: name.to_string(),
                    krate: "p".into(),
                    self_ns: *ns,
                    total_ns: *ns,
                    within: None,
                })
                .collect(),
            not_sampled: None,
            input_size: None,
        }
    }

    #[test]
    fn a_function_that_grew_beyond_the_runs_spread_is_listed_and_a_steady_one_not() {
        // `slow` does 15% more work after; the machine is 20% slower in one run, which
        // moves every function's own time alike (`steady`'s range then covers all) but no
        // ratio to the rest; `steady` loses share to `slow` and is not listed for it.
        let before = [
            run_with(&[("slow", 400), ("steady", 300), ("other", 300)], 1_000),
            run_with(&[("slow", 410), ("steady", 295), ("other", 305)], 1_010),
            run_with(&[("slow", 480), ("steady", 360), ("other", 360)], 1_200),
        ];
        let after = [
            run_with(&[("slow", 460), ("steady", 300), ("other", 300)], 1_060),
            run_with(&[("slow", 470), ("steady", 305), ("other", 300)], 1_075),
        ];
        let changes = function_changes(
            &before.iter().collect::<Vec<_>>(),
            &after.iter().collect::<Vec<_>>(),
        );
        let names: Vec<&str> = changes.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["slow"]);
        assert!(changes[0].change.unwrap() > 0.1);
        // One run a side: 10% or more.
        let one = function_changes(&[&before[0]], &[&after[0]]);
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].name, "slow");
    }

    #[test]
    fn the_machine_factor_is_the_median_functions_change() {
        // Everything 20% slower but one function, which is 50% slower.
        let pairs = [(120.0, 100.0), (180.0, 150.0), (60.0, 50.0), (150.0, 100.0)];
        assert!((machine_factor(&pairs) - 1.2).abs() < 1e-9);
        assert_eq!(machine_factor(&[]), 1.0);
        // One function with half the time: no telling the machine from it.
        assert_eq!(
            machine_factor(&[(150.0, 100.0), (60.0, 50.0), (60.0, 50.0)]),
            1.0
        );
    }

    #[test]
    fn a_function_missing_from_a_run_counts_zero_there() {
        let a = [FunctionTime {
            name: "f".into(),
            krate: "x".into(),
            self_ns: 10,
            total_ns: 10,
            within: None,
        }];
        let spreads = function_spreads(&[&a, &[], &a]);
        assert_eq!(spreads[0].self_ns.min, 0);
        assert_eq!(spreads[0].self_ns.median, 10);
    }
}
