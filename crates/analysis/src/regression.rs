//! Did this build get slower? Each measure of a run (wall, CPU, peak memory, binary size,
//! every unit's time) against the same measure in comparable earlier runs, judged by the
//! spread of those runs rather than a fixed percentage alone, and the thresholds a CI job
//! fails on.
//!
//! The noise model is a Tukey fence over the history, as rustc-perf judges its benchmarks:
//! a value is outside the noise when it lies beyond the third quartile by [`FENCE_IQRS`]
//! interquartile ranges (mirrored below the first quartile for improvements). With fewer
//! than [`MIN_HISTORY`] comparable runs there is no noise model, and the check says so.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::stats::median;
use crate::timeline::{Unit, UnitKind};

pub const CHECK_SCHEMA: &str = "buildscope.check/1";

/// Comparable runs needed before the spread says anything about noise.
pub const MIN_HISTORY: usize = 5;
/// How far outside the interquartile range a value must lie to be more than noise.
pub const FENCE_IQRS: f64 = 3.0;
/// Below this a time difference is never significant: scheduling and timer granularity.
pub const MIN_TIME_CHANGE_NS: f64 = 10_000_000.0;
/// A fence is never closer to the median than this share of it: a history of identical
/// values (sizes, often) has no spread, and a byte more is not a regression.
pub const MIN_RELATIVE_CHANGE: f64 = 0.01;
/// Peak memory moves by a few percent from run to run with the allocator's luck.
pub const MIN_RSS_CHANGE: f64 = 0.05;
/// `unit:*` looks only at units at least this share of the build's wall time: a unit of
/// 20 ms that takes 30 ms is no regression of a 10 s build.
pub const UNIT_SHARE_OF_WALL: f64 = 0.02;

/// The thresholds a check applies when given none.
pub const DEFAULT_THRESHOLDS: [&str; 3] = ["wall>10%", "cpu>10%", "unit:*>20%"];

/// The thresholds a check of a program's run (`buildscope profile`) applies when given
/// none: a program has functions where a build has units.
pub const PROGRAM_DEFAULT_THRESHOLDS: [&str; 3] = ["wall>10%", "cpu>10%", "fn:*>10%"];

/// The measures of one run, by name: `wall`, `cpu`, `rss`, `binary-size`, `unit:<name>`
/// (times in ns, sizes in bytes).
pub type Measures = BTreeMap<String, f64>;

/// What a measure counts, for printing.
pub fn measure_unit(name: &str) -> &'static str {
    if name == "rss" || name == "binary-size" {
        "bytes"
    } else {
        "ns"
    }
}

fn is_function(name: &str) -> bool {
    name.starts_with(crate::FUNCTION_MEASURE_PREFIX)
}

/// The baseline's median of each program function measure (`fn:<name>`): what each run's
/// machine factor is taken against. Empty for a build's measures.
fn function_reference(baseline: &[Measures]) -> BTreeMap<&str, f64> {
    let mut reference: BTreeMap<&str, f64> = BTreeMap::new();
    for name in baseline.iter().flat_map(|m| m.keys()) {
        if is_function(name) && !reference.contains_key(name.as_str()) {
            let values: Vec<f64> = baseline
                .iter()
                .filter_map(|m| m.get(name).copied())
                .collect();
            reference.insert(name, median(&values).unwrap_or(0.0));
        }
    }
    reference
}

/// A program's function measures of each run divided by that run's
/// [`crate::machine_factor`] against `reference`: a run on a slower machine slows every
/// function alike, which is not a regression of any one of them, and a function that got
/// faster does not make the others look slower. Other measures stay.
fn adjusted_for_the_machine(runs: &[Measures], reference: &BTreeMap<&str, f64>) -> Vec<Measures> {
    runs.iter()
        .map(|run| {
            let pairs: Vec<(f64, f64)> = run
                .iter()
                .filter(|(name, _)| is_function(name))
                .filter_map(|(name, value)| Some((*value, *reference.get(name.as_str())?)))
                .collect();
            let factor = crate::machine_factor(&pairs);
            run.iter()
                .map(|(name, value)| match is_function(name) {
                    true => (name.clone(), value / factor),
                    false => (name.clone(), *value),
                })
                .collect()
        })
        .collect()
}

/// A unit's measure name: its package for a library or proc macro, `package (kind)` for
/// the rest (`app (bin)`, `serde (build-script-run)`).
pub fn unit_measure_name(unit: &Unit) -> String {
    match unit.kind {
        UnitKind::Lib | UnitKind::ProcMacro => format!("unit:{}", unit.package),
        kind => format!("unit:{} ({})", unit.package, kind.as_str()),
    }
}

/// The measures of a run: its wall and CPU time, peak memory of its rustc processes, its
/// units' times (units of one name summed), and the extra ones given (binary size).
pub fn run_measures(
    units: &[Unit],
    wall_ns: u64,
    cpu_ns: u64,
    extra: &[(String, f64)],
) -> Measures {
    let mut measures = Measures::new();
    measures.insert("wall".into(), wall_ns as f64);
    if cpu_ns > 0 {
        measures.insert("cpu".into(), cpu_ns as f64);
    }
    if let Some(rss) = units.iter().filter_map(|u| u.max_rss_bytes).max() {
        measures.insert("rss".into(), rss as f64);
    }
    for unit in units {
        *measures.entry(unit_measure_name(unit)).or_default() += unit.duration_ns() as f64;
    }
    for (name, value) in extra {
        measures.insert(name.clone(), *value);
    }
    measures
}

/// The names of the `n` largest measures whose names start with `prefix` (`unit:`,
/// `phase:`, `query:`), largest first.
pub fn largest_measures(measures: &Measures, prefix: &str, n: usize) -> Vec<String> {
    let mut named: Vec<(&String, f64)> = measures
        .iter()
        .filter(|(name, _)| name.starts_with(prefix))
        .map(|(name, value)| (name, *value))
        .collect();
    named.sort_by(|a, b| b.1.total_cmp(&a.1));
    named
        .into_iter()
        .take(n)
        .map(|(name, _)| name.clone())
        .collect()
}

/// The CPU time of each profiled crate's phases as measures: `phase:<crate>:<phase>`.
pub fn phase_measures(crates: &[crate::findings::CratePhases]) -> Vec<(String, f64)> {
    crates
        .iter()
        .flat_map(|c| {
            c.phases.phases.iter().map(move |p| {
                (
                    format!("phase:{}:{}", c.crate_name, p.title),
                    p.self_ns as f64,
                )
            })
        })
        .collect()
}

/// The phase measures of a run's self-profiles, per crate: what a profiled run records.
pub fn profile_phase_measures(profiles: &[crate::ProfileSummary]) -> Vec<(String, f64)> {
    if profiles.is_empty() {
        return Vec::new();
    }
    let crates: Vec<crate::findings::CratePhases> = crate::merge(profiles)
        .crates
        .iter()
        .map(|c| crate::findings::CratePhases::of(&c.crate_name, &c.rows))
        .collect();
    phase_measures(&crates)
}

/// How large a change may get: a share of the baseline, or an amount (ns or bytes).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "kebab-case")]
pub enum Limit {
    Percent(f64),
    Amount(f64),
}

/// `wall>5%`, `unit:serde_derive>20%`, `rss>100MB`, `binary-size>5%`, `wall>2s`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Threshold {
    /// As written.
    pub text: String,
    /// `wall`, `cpu`, `rss`, `binary-size`, `unit:<name>` or `unit:*`.
    pub measure: String,
    pub limit: Limit,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ThresholdError(String);

impl Threshold {
    pub fn parse(text: &str) -> Result<Threshold, ThresholdError> {
        let bad = |why: &str| ThresholdError(format!("threshold `{text}`: {why}"));
        let (measure, limit) = text
            .split_once('>')
            .ok_or_else(|| bad("expected MEASURE>LIMIT, e.g. wall>5% or unit:serde>20%"))?;
        let measure = measure.trim();
        let known = ["wall", "cpu", "rss", "binary-size"];
        let named = |prefix: &str| {
            measure
                .strip_prefix(prefix)
                .is_some_and(|name| !name.trim().is_empty())
        };
        if !known.contains(&measure) && !named("unit:") && !named("phase:") && !named("fn:") {
            return Err(bad(
                "the measure is one of wall, cpu, rss, binary-size, unit:<package>, unit:*, phase:<crate>:<phase>, phase:<phase>, phase:*, fn:<function> or fn:*",
            ));
        }
        let limit = parse_limit(limit.trim(), measure_unit(measure)).map_err(|why| bad(&why))?;
        Ok(Threshold {
            text: text.to_string(),
            measure: measure.to_string(),
            limit,
        })
    }

    /// `--fail-if-slower 10%` / `2s`: a limit on the wall time.
    pub fn slower(limit: &str) -> Result<Threshold, ThresholdError> {
        Threshold::parse(&format!("wall>{limit}"))
    }

    /// Whether the threshold is about this measure. `unit:NAME` matches the package's
    /// units of every kind.
    fn matches(&self, name: &str) -> bool {
        if let Some(wanted) = self.measure.strip_prefix("phase:") {
            // `phase:<crate>:<phase>`, `phase:<phase>` (any crate), `phase:<crate>` (any
            // phase of it), `phase:*`.
            let Some((krate, phase)) = name.strip_prefix("phase:").and_then(|n| n.split_once(':'))
            else {
                return false;
            };
            return wanted == "*"
                || wanted == format!("{krate}:{phase}")
                || wanted == phase
                || wanted == krate;
        }
        if self.measure == "fn:*" {
            return name.starts_with("fn:");
        }
        match self.measure.strip_prefix("unit:") {
            Some("*") => name.starts_with("unit:"),
            Some(package) => name
                .strip_prefix("unit:")
                .is_some_and(|n| n == package || n.starts_with(&format!("{package} ("))),
            None => self.measure == name,
        }
    }

    /// Whether the threshold names this one measure rather than a group it is in.
    fn names_exactly(&self, name: &str) -> bool {
        match self.measure.strip_prefix("unit:") {
            Some(package) => package != "*",
            None if self.measure.starts_with("phase:") => self.measure == name,
            None => self.measure != "fn:*",
        }
    }

    fn crossed_by(&self, baseline: f64, current: f64) -> bool {
        let change = current - baseline;
        match self.limit {
            Limit::Percent(p) => baseline > 0.0 && change / baseline * 100.0 > p,
            Limit::Amount(a) => change > a,
        }
    }
}

fn parse_limit(text: &str, unit: &str) -> Result<Limit, String> {
    if let Some(number) = text.strip_suffix('%') {
        let p: f64 = number
            .trim()
            .parse()
            .map_err(|_| format!("`{number}` is not a number"))?;
        return if p.is_finite() && p >= 0.0 {
            Ok(Limit::Percent(p))
        } else {
            Err("a percentage is 0 or more".into())
        };
    }
    let (number, suffix) = crate::number_and_unit(text);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a percentage or an amount"))?;
    let scale = match (unit, suffix) {
        ("ns", "s") => 1e9,
        ("ns", "ms") => 1e6,
        ("ns", "us" | "µs") => 1e3,
        ("ns", "ns") => 1.0,
        ("bytes", "B" | "") => 1.0,
        ("bytes", "kB" | "KB") => 1e3,
        ("bytes", "MB") => 1e6,
        ("bytes", "GB") => 1e9,
        ("bytes", "KiB") => 1024.0,
        ("bytes", "MiB") => 1024.0 * 1024.0,
        ("bytes", "GiB") => 1024.0 * 1024.0 * 1024.0,
        ("ns", other) => {
            return Err(format!(
                "`{other}` is not a unit of time (s, ms, us, ns), nor is it a percentage"
            ))
        }
        (_, other) => {
            return Err(format!(
                "`{other}` is not a unit of size (B, kB, MB, GB, KiB, MiB, GiB), nor is it a percentage"
            ))
        }
    };
    Ok(Limit::Amount(value * scale))
}

/// Quartile by linear interpolation between the closest ranks.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let position = q * (sorted.len() - 1) as f64;
    let low = position.floor() as usize;
    let high = position.ceil() as usize;
    sorted[low] + (sorted[high] - sorted[low]) * (position - low as f64)
}

/// The range of values a measure's history calls noise.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct NoiseFence {
    pub low: f64,
    pub high: f64,
}

/// The noise fence of a history of one measure (by name), or `None` with fewer than
/// [`MIN_HISTORY`] values.
pub fn noise_fence(history: &[f64], measure: &str) -> Option<NoiseFence> {
    if history.len() < MIN_HISTORY {
        return None;
    }
    let mut sorted = history.to_vec();
    sorted.sort_by(f64::total_cmp);
    let (q1, q3) = (quantile(&sorted, 0.25), quantile(&sorted, 0.75));
    let middle = quantile(&sorted, 0.5);
    let iqr = q3 - q1;
    let relative = if measure == "rss" {
        MIN_RSS_CHANGE
    } else {
        MIN_RELATIVE_CHANGE
    };
    let floor = (middle * relative).max(if measure_unit(measure) == "ns" {
        MIN_TIME_CHANGE_NS
    } else {
        0.0
    });
    Some(NoiseFence {
        low: (q1 - FENCE_IQRS * iqr).min(middle - floor),
        high: (q3 + FENCE_IQRS * iqr).max(middle + floor),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Beyond the noise fence, higher.
    Regressed,
    /// Beyond the noise fence, lower.
    Improved,
    /// Within the noise of the history.
    WithinNoise,
    /// Too few comparable runs for a noise model.
    NoNoiseModel,
    /// Not in the baseline.
    New,
}

/// One measure, now and in the baseline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeasureCheck {
    pub measure: String,
    /// `ns` or `bytes`.
    pub unit: &'static str,
    /// The median of this check's runs (one, or `--runs N`).
    pub current: f64,
    /// The median of the baseline's values, and how many.
    pub baseline: Option<f64>,
    pub baseline_runs: usize,
    /// (current − baseline) / baseline.
    pub change: Option<f64>,
    pub fence: Option<NoiseFence>,
    pub verdict: Verdict,
}

/// One threshold and what crossed it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThresholdCheck {
    pub threshold: Threshold,
    /// The measures over the limit and outside the noise (or over the limit when there is
    /// no noise model and the check judges without one).
    pub crossed: Vec<String>,
    /// Whether it was judged at all (not with too little history).
    pub judged: bool,
}

/// Where a check's baseline came from, for the reader.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "from", rename_all = "kebab-case")]
pub enum BaselineSource {
    /// Comparable runs of the history.
    History { runs: usize },
    /// One run of the history, by id.
    Run { id: String },
    /// A saved record (`run.json`, `build --json`).
    File {
        path: std::path::PathBuf,
        runs: usize,
    },
}

/// How re-measuring a crossing ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Confirmation {
    /// Measured `again` more times, and the median of all `runs` still crosses.
    Confirmed { again: usize, runs: usize },
    /// A first run crossed; `again` more put the median of `runs` within the thresholds.
    NotReproduced { again: usize, runs: usize },
}

/// A unit that took longer than in the baseline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GrownUnit {
    pub unit: String,
    pub more_ns: u64,
    /// (current − baseline) / baseline.
    pub change: f64,
    /// Why it rebuilt, when cargo said.
    pub reason: Option<crate::RebuildReason>,
}

/// A unit that rebuilt now and not in the baseline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewUnit {
    pub unit: String,
    pub reason: Option<crate::RebuildReason>,
}

/// What grew, in units and their rebuild reasons.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WhatGrew {
    /// The regressed units, the largest growth first (at most five).
    pub grew: Vec<GrownUnit>,
    /// Units rebuilt now and not in the baseline (at most eight).
    pub rebuilt_new: Vec<NewUnit>,
}

/// What grew in `run` by `outcome`: the regressed units first, then units that rebuilt now
/// and not in the baseline (against no baseline, everything is new: that says nothing).
pub fn what_grew(outcome: &CheckOutcome, run: &crate::RunRecord) -> WhatGrew {
    let reason_of = |measure: &str| -> Option<crate::RebuildReason> {
        let reasons = run.rebuild_reasons.as_ref()?;
        let unit = run.units.iter().find(|u| unit_measure_name(u) == measure)?;
        reasons
            .iter()
            .find(|r| r.unit == unit.id)
            .map(|r| r.reason.clone())
    };
    let mut regressed: Vec<&MeasureCheck> = outcome
        .measures
        .iter()
        .filter(|m| m.measure.starts_with("unit:") && m.verdict == Verdict::Regressed)
        .collect();
    let growth = |m: &MeasureCheck| m.current - m.baseline.unwrap_or(0.0);
    regressed.sort_by(|a, b| growth(b).total_cmp(&growth(a)));
    let grew = regressed
        .iter()
        .take(5)
        .map(|m| GrownUnit {
            unit: m.measure.trim_start_matches("unit:").to_string(),
            more_ns: growth(m).max(0.0) as u64,
            change: m.change.unwrap_or(0.0),
            reason: reason_of(&m.measure),
        })
        .collect();
    let rebuilt_new = match outcome.baseline_runs {
        0 => Vec::new(),
        _ => outcome
            .measures
            .iter()
            .filter(|m| m.verdict == Verdict::New && m.measure.starts_with("unit:"))
            .take(8)
            .map(|m| NewUnit {
                unit: m.measure.trim_start_matches("unit:").to_string(),
                reason: reason_of(&m.measure),
            })
            .collect(),
    };
    WhatGrew { grew, rebuilt_new }
}

/// Where the baseline came from, which decides how a missing noise model is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BaselineKind {
    /// Comparable runs of the history: without enough of them, nothing is judged (unless
    /// strict).
    History,
    /// A run or a record the user named: its values are the baseline, with or without a
    /// noise model.
    Named,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckOutcome {
    pub measures: Vec<MeasureCheck>,
    pub thresholds: Vec<ThresholdCheck>,
    pub baseline_kind: BaselineKind,
    pub baseline_runs: usize,
    /// Whether the baseline had enough runs for a noise model.
    pub noise_model: bool,
    /// Whether any threshold was crossed: the check fails.
    pub failed: bool,
}

/// Checks `current` (the measures of this check's runs) against `baseline` (the measures
/// of each baseline run).
pub fn check(
    current: &[Measures],
    baseline: &[Measures],
    thresholds: &[Threshold],
    kind: BaselineKind,
    strict: bool,
) -> CheckOutcome {
    // A program's functions are judged adjusted for the machine's speed in each run.
    // (A build's measures have no functions: they are judged as they are, uncopied.)
    let reference = function_reference(baseline);
    let adjusted = (!reference.is_empty()).then(|| {
        (
            adjusted_for_the_machine(current, &reference),
            adjusted_for_the_machine(baseline, &reference),
        )
    });
    let (current, baseline) = match &adjusted {
        Some((current, baseline)) => (current.as_slice(), baseline.as_slice()),
        None => (current, baseline),
    };
    let names: Vec<&String> = current
        .iter()
        .flat_map(|m| m.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let baseline_wall = median(
        &baseline
            .iter()
            .filter_map(|m| m.get("wall").copied())
            .collect::<Vec<_>>(),
    );
    let measures: Vec<MeasureCheck> = names
        .into_iter()
        .map(|name| {
            let now: Vec<f64> = current
                .iter()
                .filter_map(|m| m.get(name).copied())
                .collect();
            let history: Vec<f64> = baseline
                .iter()
                .filter_map(|m| m.get(name).copied())
                .collect();
            let value = median(&now).unwrap_or(0.0);
            let unit = measure_unit(name);
            let base = median(&history);
            let fence = noise_fence(&history, name);
            let verdict = match (base, fence) {
                (None, _) => Verdict::New,
                (Some(_), None) => Verdict::NoNoiseModel,
                (Some(_), Some(f)) if value > f.high => Verdict::Regressed,
                (Some(_), Some(f)) if value < f.low => Verdict::Improved,
                _ => Verdict::WithinNoise,
            };
            MeasureCheck {
                measure: name.clone(),
                unit,
                current: value,
                baseline: base,
                baseline_runs: history.len(),
                change: base.filter(|b| *b > 0.0).map(|b| (value - b) / b),
                fence,
                verdict,
            }
        })
        .collect();
    let noise_model = baseline.len() >= MIN_HISTORY;
    // Without a noise model a history baseline judges nothing unless strict; a named
    // baseline is judged on its values alone.
    let judge_without_noise = strict || kind == BaselineKind::Named;
    let thresholds: Vec<ThresholdCheck> = thresholds
        .iter()
        .map(|threshold| {
            let mut judged = false;
            let crossed = measures
                .iter()
                .filter(|m| threshold.matches(&m.measure))
                .filter(|m| {
                    // A threshold over many measures (`unit:*`, `phase:core`, `phase:*`) skips
                    // those too small to matter, whose percentages are noise (a 2 ms phase
                    // that takes 20 ms next time is +1000%); one named exactly is always
                    // checked.
                    threshold.names_exactly(&m.measure)
                        || match (m.baseline, baseline_wall) {
                            (Some(b), Some(wall)) => b >= UNIT_SHARE_OF_WALL * wall,
                            _ => false,
                        }
                })
                .filter(|m| {
                    let Some(base) = m.baseline else { return false };
                    let over = threshold.crossed_by(base, m.current);
                    match m.verdict {
                        Verdict::Regressed => {
                            judged = true;
                            over
                        }
                        Verdict::NoNoiseModel if judge_without_noise => {
                            judged = true;
                            over
                        }
                        Verdict::NoNoiseModel => false,
                        _ => {
                            judged = true;
                            false
                        }
                    }
                })
                .map(|m| m.measure.clone())
                .collect::<Vec<_>>();
            ThresholdCheck {
                threshold: threshold.clone(),
                judged: judged || !crossed.is_empty(),
                crossed,
            }
        })
        .collect();
    let failed = thresholds.iter().any(|t| !t.crossed.is_empty());
    CheckOutcome {
        measures,
        thresholds,
        baseline_kind: kind,
        baseline_runs: baseline.len(),
        noise_model,
        failed,
    }
}

/// Each point of a series of one measure (oldest first) judged against the points before
/// it (at most `window` of them), as `check` would have judged it then.
pub fn series_verdicts(values: &[f64], measure: &str, window: usize) -> Vec<Verdict> {
    (0..values.len())
        .map(|i| {
            let before = &values[i.saturating_sub(window)..i];
            if before.is_empty() {
                return Verdict::New;
            }
            match noise_fence(before, measure) {
                None => Verdict::NoNoiseModel,
                Some(f) if values[i] > f.high => Verdict::Regressed,
                Some(f) if values[i] < f.low => Verdict::Improved,
                Some(_) => Verdict::WithinNoise,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program_run(wall: f64, functions: &[(&str, f64)]) -> Measures {
        let mut m = Measures::new();
        m.insert("wall".into(), wall);
        for (name, ns) in functions {
            m.insert(format!("fn:{name}"), *ns);
        }
        m
    }

    #[test]
    fn a_program_function_is_judged_adjusted_for_the_machine() {
        let thresholds = thresholds(&PROGRAM_DEFAULT_THRESHOLDS);
        let ms = 1e6;
        // Ten runs, the machine's speed moving by ±10% from run to run.
        let baseline: Vec<Measures> = (0..10)
            .map(|i| {
                let speed = 1.0 + ((i % 5) as f64 - 2.0) * 0.05;
                let (a, b, c) = (200.0 * ms * speed, 200.0 * ms * speed, 150.0 * ms * speed);
                program_run(a + b + c, &[("a", a), ("b", b), ("c", c)])
            })
            .collect();
        let judge =
            |run: Measures| check(&[run], &baseline, &thresholds, BaselineKind::History, false);
        let crossed = |o: &CheckOutcome| -> Vec<String> {
            o.thresholds
                .iter()
                .flat_map(|t| t.crossed.clone())
                .collect()
        };
        // `a` does 15% more work on a machine 8% faster: its measured time moved +6%.
        let speed = 0.92;
        let slower_a = program_run(
            530.0 * ms,
            &[
                ("a", 230.0 * ms * speed),
                ("b", 200.0 * ms * speed),
                ("c", 150.0 * ms * speed),
            ],
        );
        assert_eq!(crossed(&judge(slower_a)), ["fn:a"]);
        // `a` got 30% faster: neither `b` nor `c` is named for it.
        let faster_a = program_run(
            490.0 * ms,
            &[("a", 140.0 * ms), ("b", 200.0 * ms), ("c", 150.0 * ms)],
        );
        assert!(crossed(&judge(faster_a)).is_empty());
    }

    fn measures(pairs: &[(&str, f64)]) -> Measures {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    /// Twelve builds of ~1 s, ±3%, with a unit `core` of ~400 ms in each.
    fn noisy_history() -> Vec<Measures> {
        let jitter = [
            1.0, 1.02, 0.98, 1.01, 0.99, 1.03, 0.97, 1.0, 1.015, 0.985, 1.0, 1.02,
        ];
        jitter
            .iter()
            .map(|j| {
                measures(&[
                    ("wall", 1e9 * j),
                    ("unit:core", 4e8 * j),
                    ("unit:tiny", 5e6 * (2.0 - j)),
                ])
            })
            .collect()
    }

    fn thresholds(texts: &[&str]) -> Vec<Threshold> {
        texts.iter().map(|t| Threshold::parse(t).unwrap()).collect()
    }

    #[test]
    fn a_thirty_percent_slower_unit_fails_and_noise_does_not() {
        let history = noisy_history();
        let slower = measures(&[("wall", 1.12e9), ("unit:core", 5.2e8), ("unit:tiny", 5e6)]);
        let outcome = check(
            &[slower],
            &history,
            &thresholds(&DEFAULT_THRESHOLDS),
            BaselineKind::History,
            false,
        );
        assert!(outcome.failed);
        assert!(outcome.noise_model);
        let units = outcome
            .thresholds
            .iter()
            .find(|t| t.threshold.measure == "unit:*")
            .unwrap();
        assert_eq!(units.crossed, vec!["unit:core".to_string()]);
        let core = outcome
            .measures
            .iter()
            .find(|m| m.measure == "unit:core")
            .unwrap();
        assert_eq!(core.verdict, Verdict::Regressed);
        assert!((core.change.unwrap() - 0.3).abs() < 0.02, "{core:?}");

        // Within the history's own spread: nothing crosses.
        for noisy in [1.03, 0.97, 1.025] {
            let now = measures(&[("wall", 1e9 * noisy), ("unit:core", 4e8 * noisy)]);
            let outcome = check(
                &[now],
                &history,
                &thresholds(&DEFAULT_THRESHOLDS),
                BaselineKind::History,
                false,
            );
            assert!(!outcome.failed, "{noisy}: {:?}", outcome.thresholds);
        }
    }

    #[test]
    fn too_little_history_judges_nothing_unless_strict_or_named() {
        let history = &noisy_history()[..3];
        let slower = measures(&[("wall", 2e9), ("unit:core", 8e8)]);
        let t = thresholds(&DEFAULT_THRESHOLDS);
        let outcome = check(
            std::slice::from_ref(&slower),
            history,
            &t,
            BaselineKind::History,
            false,
        );
        assert!(!outcome.failed && !outcome.noise_model);
        assert!(outcome.thresholds.iter().all(|t| !t.judged));
        assert!(
            check(
                std::slice::from_ref(&slower),
                history,
                &t,
                BaselineKind::History,
                true
            )
            .failed
        );
        assert!(check(&[slower], history, &t, BaselineKind::Named, false).failed);
    }

    #[test]
    fn a_small_unit_is_not_a_regression_of_the_build_unless_named() {
        let history = noisy_history();
        let now = measures(&[("wall", 1e9), ("unit:core", 4e8), ("unit:tiny", 3e7)]);
        let outcome = check(
            std::slice::from_ref(&now),
            &history,
            &thresholds(&["unit:*>20%"]),
            BaselineKind::History,
            false,
        );
        assert!(!outcome.failed, "tiny is 0.5% of the build");
        let outcome = check(
            &[now],
            &history,
            &thresholds(&["unit:tiny>20%"]),
            BaselineKind::History,
            false,
        );
        assert_eq!(outcome.thresholds[0].crossed, vec!["unit:tiny".to_string()]);
        // A crate's phases as a group skip a 2 ms phase that took 23 ms the next time.
        let base = measures(&[("wall", 5e8), ("phase:core:Linking", 2e6)]);
        let now = measures(&[("wall", 5e8), ("phase:core:Linking", 2.3e7)]);
        let judged = |threshold: &str| {
            check(
                std::slice::from_ref(&now),
                std::slice::from_ref(&base),
                &thresholds(&[threshold]),
                BaselineKind::Named,
                false,
            )
        };
        assert!(!judged("phase:core>1000%").failed);
        assert!(judged("phase:core:Linking>1000%").failed, "named exactly");
    }

    #[test]
    fn every_threshold_form_parses_and_bad_ones_say_why() {
        let t = Threshold::parse("wall>5%").unwrap();
        assert_eq!((t.measure.as_str(), t.limit), ("wall", Limit::Percent(5.0)));
        assert_eq!(Threshold::slower("2s").unwrap().limit, Limit::Amount(2e9));
        assert_eq!(
            Threshold::parse("wall>500ms").unwrap().limit,
            Limit::Amount(5e8)
        );
        assert_eq!(
            Threshold::parse("rss>10%").unwrap().limit,
            Limit::Percent(10.0)
        );
        assert_eq!(
            Threshold::parse("rss>100MB").unwrap().limit,
            Limit::Amount(1e8)
        );
        assert_eq!(
            Threshold::parse("binary-size>1MiB").unwrap().limit,
            Limit::Amount(1048576.0)
        );
        let unit = Threshold::parse("unit:serde_derive>20%").unwrap();
        assert!(unit.matches("unit:serde_derive"));
        assert!(unit.matches("unit:serde_derive (build-script-run)"));
        assert!(!unit.matches("unit:serde"));
        assert!(Threshold::parse("unit:*>20%")
            .unwrap()
            .matches("unit:x (bin)"));
        for (bad, says) in [
            ("wall", "expected MEASURE>LIMIT"),
            ("speed>5%", "the measure is one of"),
            ("wall>fast", "not a percentage or an amount"),
            ("wall>5MB", "not a unit of time"),
            ("rss>5s", "not a unit of size"),
            ("unit:>5%", "the measure is one of"),
            ("wall>-5%", "0 or more"),
        ] {
            let error = Threshold::parse(bad).unwrap_err().to_string();
            assert!(error.contains(says), "{bad}: {error}");
            assert!(error.starts_with(&format!("threshold `{bad}`")), "{error}");
        }
    }

    #[test]
    fn a_series_is_judged_point_by_point_against_its_past() {
        let mut values: Vec<f64> = noisy_history().iter().map(|m| m["wall"]).collect();
        values.push(1.3e9);
        let verdicts = series_verdicts(&values, "wall", 20);
        assert_eq!(verdicts[0], Verdict::New);
        assert!(verdicts[1..5].iter().all(|v| *v == Verdict::NoNoiseModel));
        assert!(
            verdicts[5..12].iter().all(|v| *v == Verdict::WithinNoise),
            "{verdicts:?}"
        );
        assert_eq!(verdicts[12], Verdict::Regressed);
    }

    #[test]
    fn the_fence_has_a_floor_when_the_history_has_no_spread() {
        let fence = noise_fence(&[100.0; 6], "binary-size").unwrap();
        assert_eq!((fence.low, fence.high), (99.0, 101.0));
        assert_eq!(noise_fence(&[100.0; 6], "rss").unwrap().high, 105.0);
        let fence = noise_fence(&[5e7; 6], "unit:core").unwrap();
        assert_eq!(fence.high, 6e7, "10 ms at least");
        assert!(noise_fence(&[1.0; 4], "wall").is_none());
    }
}
