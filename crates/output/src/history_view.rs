//! The history screens: `runs` (a list), `runs --trend` (a sparkline per measure) and
//! `compare` (two builds, unit by unit).

use buildscope_analysis::{FolderState, RunRow, UnitChange};

use crate::format::{
    human_amount, human_bytes, human_duration, human_signed_duration, human_signed_percent,
};
use crate::style::Style;
use crate::table::{Align, Paint, Table};

/// `runs --machine TEXT` when no run matched.
pub fn render_no_runs_on(machine: &str) -> String {
    format!("No runs on a machine matching \"{machine}\".\n")
}

/// A trend's title: the command and scenario of its runs.
pub fn trend_title(latest: &RunRow) -> String {
    format!("{} ({})", latest.command, latest.scenario_text)
}

pub fn render_runs(runs: &[RunRow], folders: &[FolderState], style: &Style) -> String {
    if runs.is_empty() {
        return "No runs yet: `buildscope build` records one.\n".to_string();
    }
    let mut table = Table::new(&[
        ("Run", Align::Left),
        ("Wall", Align::Right),
        ("CPU", Align::Right),
        ("Units", Align::Right),
        ("Result", Align::Left),
        ("Folder", Align::Right),
        ("Command", Align::Left),
        ("Scenario", Align::Left),
    ])
    .shrink_column(7);
    for (i, run) in runs.iter().enumerate() {
        table.push(vec![
            run.id.clone(),
            human_duration(run.wall_ns),
            human_duration(run.cpu_ns),
            run.units.to_string(),
            if run.success { "ok" } else { "failed" }.to_string(),
            folders.get(i).map(folder_text).unwrap_or_default(),
            run.command.clone(),
            run.scenario_text.clone(),
        ]);
    }
    let mut out = table.render(style);
    if !folders.is_empty() {
        let total: u64 = folders.iter().map(|f| f.bytes()).sum();
        let raw: u64 = folders.iter().map(|f| f.raw_bytes()).sum();
        let gone = folders.iter().filter(|f| **f == FolderState::Gone).count();
        let mut line = format!(
            "Run folders listed: {} ({} of raw profiles; `buildscope gc` prunes them to the budget)",
            human_bytes(total),
            human_bytes(raw)
        );
        if gone > 0 {
            line.push_str(&format!(
                "; {gone} folder{} gone (deleted, e.g. by `cargo clean`): the history keeps {} totals and units",
                if gone == 1 { "" } else { "s" },
                if gone == 1 { "its" } else { "their" }
            ));
        }
        out.push_str(&style.dim(&format!("{line}\n")));
    }
    let mut workspaces: Vec<String> = runs
        .iter()
        .map(|r| r.workspace_root.display().to_string())
        .collect();
    workspaces.dedup();
    if workspaces.len() == 1 {
        out.push_str(&style.dim(&format!("Workspace: {}\n", workspaces[0])));
    }
    out
}

/// What is left of a run's folder, in a word and a size.
fn folder_text(folder: &FolderState) -> String {
    match folder {
        FolderState::Whole {
            raw_bytes,
            kept_bytes,
        } => human_bytes(raw_bytes + kept_bytes),
        FolderState::Pruned { kept_bytes } => format!("pruned, {}", human_bytes(*kept_bytes)),
        FolderState::Gone => "gone".to_string(),
    }
}

/// An experiment as `runs --experiments` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExperimentLine {
    pub id: String,
    pub scenario: String,
    pub variants: usize,
    /// The settings that measured significantly faster, or empty.
    pub recommendation: String,
}

pub fn render_experiments(experiments: &[ExperimentLine], style: &Style) -> String {
    if experiments.is_empty() {
        return "No experiments yet: `buildscope experiment` records one.\n".to_string();
    }
    let mut table = Table::new(&[
        ("Experiment", Align::Left),
        ("Variants", Align::Right),
        ("Scenario", Align::Left),
        ("Faster", Align::Left),
    ])
    .shrink_column(3);
    for experiment in experiments {
        table.push(vec![
            experiment.id.clone(),
            experiment.variants.to_string(),
            experiment.scenario.clone(),
            if experiment.recommendation.is_empty() {
                "–".to_string()
            } else {
                experiment.recommendation.clone()
            },
        ]);
    }
    let mut out = table.render(style);
    out.push_str(&style.dim(
        "buildscope report --experiment ID draws one; buildscope runs --experiments --json has them whole.\n",
    ));
    out
}

/// A warning when two runs were measured on different machines or settings; `None` when
/// they compare.
pub fn machines_differ(a: &RunRow, b: &RunRow) -> Option<String> {
    let shown = |m: &str| {
        if m.is_empty() {
            "unrecorded".to_string()
        } else {
            m.to_string()
        }
    };
    (a.machine != b.machine).then(|| {
        format!(
            "warning: {} and {} were measured on different machines or settings ({} / {}): their times need not compare\n",
            a.id,
            b.id,
            shown(&a.machine),
            shown(&b.machine)
        )
    })
}

pub fn render_compare(
    base: &RunRow,
    new: &RunRow,
    changes: &[UnitChange],
    top: Option<usize>,
    style: &Style,
) -> String {
    let mut out = String::new();
    for (name, run) in [("A", base), ("B", new)] {
        out.push_str(&format!(
            "{} {}  {} ({}), {} units\n",
            style.bold(name),
            run.id,
            run.command,
            run.scenario_text,
            run.units
        ));
    }
    for (name, a, b) in [
        ("Wall time", base.wall_ns, new.wall_ns),
        ("CPU time", base.cpu_ns, new.cpu_ns),
    ] {
        let delta = b as i128 - a as i128;
        out.push_str(&format!(
            "{} {} → {} ({}, {})\n",
            style.bold(name),
            human_duration(a),
            human_duration(b),
            style.change(delta, &human_signed_duration(delta)),
            human_signed_percent((a != 0).then(|| delta as f64 * 100.0 / a as f64)),
        ));
    }
    out.push('\n');
    let mut table = Table::new(&[
        ("Unit", Align::Left),
        ("Kind", Align::Left),
        ("A", Align::Right),
        ("B", Align::Right),
        ("Change", Align::Right),
        ("%", Align::Right),
    ]);
    let shown = top.map_or(changes.len(), |t| t.min(changes.len()));
    for change in &changes[..shown] {
        let delta = change.delta_ns();
        let percent = change
            .base_ns
            .filter(|&b| b > 0)
            .map(|b| delta as f64 * 100.0 / b as f64);
        let name = if change.target == change.package
            || change.target.replace('-', "_") == change.package.replace('-', "_")
        {
            change.package.clone()
        } else {
            format!("{} ({})", change.package, change.target)
        };
        table.push_painted(vec![
            (name, Paint::None),
            (change.kind.as_str().to_string(), Paint::None),
            (
                change
                    .base_ns
                    .map(human_duration)
                    .unwrap_or_else(|| "-".into()),
                Paint::None,
            ),
            (
                change
                    .new_ns
                    .map(human_duration)
                    .unwrap_or_else(|| "-".into()),
                Paint::None,
            ),
            (human_signed_duration(delta), Paint::Change(delta)),
            (
                match (change.base_ns, change.new_ns) {
                    (None, Some(_)) => "new".to_string(),
                    (Some(_), None) => "gone".to_string(),
                    _ => human_signed_percent(percent),
                },
                Paint::Change(delta),
            ),
        ]);
    }
    out.push_str(&table.render(style));
    if shown < changes.len() {
        out.push_str(&style.dim(&format!(
            "… {} more units (--top 0 shows all)\n",
            changes.len() - shown
        )));
    }
    out
}

/// One measure over a series of comparable runs, oldest first.
#[derive(Debug, Clone)]
pub struct TrendRow {
    pub measure: String,
    /// `ns` or `bytes`.
    pub unit: &'static str,
    /// One per run (NaN where the run has no such measure).
    pub values: Vec<f64>,
    /// Each present value judged against the values before it.
    pub verdicts: Vec<buildscope_analysis::Verdict>,
}

#[derive(Debug, Clone)]
pub struct TrendView {
    pub title: String,
    pub run_ids: Vec<String>,
    pub rows: Vec<TrendRow>,
}

const SPARKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// A sparkline of the values, scaled from their minimum to their maximum; a gap for a
/// missing one.
pub fn sparkline(values: &[f64]) -> String {
    let present = values.iter().copied().filter(|v| v.is_finite());
    let (low, high) = present.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
        (l.min(v), h.max(v))
    });
    values
        .iter()
        .map(|v| {
            if !v.is_finite() {
                ' '
            } else if high - low <= f64::EPSILON * high.abs().max(1.0) {
                SPARKS[3]
            } else {
                SPARKS[(((v - low) / (high - low)) * 7.0).round() as usize]
            }
        })
        .collect()
}

pub fn render_trend(view: &TrendView, style: &Style) -> String {
    use buildscope_analysis::Verdict;
    let mut out = format!(
        "{}\n{} comparable runs, oldest to newest{}\n\n",
        style.bold(&format!("Trend: {}", view.title)),
        view.run_ids.len(),
        view.run_ids
            .first()
            .zip(view.run_ids.last())
            .map(|(a, b)| format!(" ({a} … {b})"))
            .unwrap_or_default()
    );
    let mut table = Table::new(&[
        ("Measure", Align::Left),
        ("Trend", Align::Left),
        ("Min", Align::Right),
        ("Median", Align::Right),
        ("Latest", Align::Right),
        ("Beyond noise", Align::Right),
    ])
    .shrink_column(0);
    for row in &view.rows {
        let present: Vec<f64> = row
            .values
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .collect();
        let mut sorted = present.clone();
        sorted.sort_by(f64::total_cmp);
        let median = buildscope_analysis::median(&sorted).unwrap_or(f64::NAN);
        let alarms = row
            .verdicts
            .iter()
            .filter(|v| **v == Verdict::Regressed)
            .count();
        let latest_alarm = row.verdicts.last() == Some(&Verdict::Regressed);
        table.push(vec![
            row.measure.clone(),
            sparkline(&row.values),
            human_amount(row.unit, sorted.first().copied().unwrap_or(f64::NAN)),
            human_amount(row.unit, median),
            style.change(
                if latest_alarm { 1 } else { 0 },
                &human_amount(row.unit, present.last().copied().unwrap_or(f64::NAN)),
            ),
            if alarms == 0 {
                "-".to_string()
            } else {
                style.change(1, &alarms.to_string())
            },
        ]);
    }
    out.push_str(&table.render(style));
    out.push_str(
        "\nBeyond noise: points outside the noise of the runs before them (`buildscope check` fails\nwhere a threshold is crossed too).\n",
    );
    out
}

/// `runs --trend --json`, schema `buildscope.trend/1`.
pub fn trend_json(view: &TrendView) -> serde_json::Value {
    serde_json::json!({
        "schema": "buildscope.trend/1",
        "title": view.title,
        "runs": view.run_ids,
        "measures": view.rows.iter().map(|r| serde_json::json!({
            "measure": r.measure,
            "unit": r.unit,
            "values": r.values.iter().map(|v| if v.is_finite() { serde_json::json!(v) } else { serde_json::Value::Null }).collect::<Vec<_>>(),
            "verdicts": r.verdicts,
        })).collect::<Vec<_>>(),
    })
}
