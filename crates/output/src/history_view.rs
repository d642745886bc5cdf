//! The history screens: `runs` (a list) and `compare` (two builds, unit by unit).

use buildscope_analysis::UnitChange;

use crate::format::{human_duration, human_signed_duration, human_signed_percent};
use crate::style::Style;
use crate::table::{Align, Paint, Table};

/// A run as the history screens show it.
pub struct RunLine {
    pub id: String,
    pub workspace: String,
    /// `build --release`.
    pub command: String,
    pub scenario: String,
    pub success: bool,
    pub wall_ns: u64,
    pub cpu_ns: u64,
    pub units: usize,
}

pub fn render_runs(runs: &[RunLine], style: &Style) -> String {
    if runs.is_empty() {
        return "No runs yet: `buildscope build` records one.\n".to_string();
    }
    let mut table = Table::new(&[
        ("Run", Align::Left),
        ("Wall", Align::Right),
        ("CPU", Align::Right),
        ("Units", Align::Right),
        ("Result", Align::Left),
        ("Command", Align::Left),
        ("Scenario", Align::Left),
    ])
    .shrink_column(6);
    for run in runs {
        table.push(vec![
            run.id.clone(),
            human_duration(run.wall_ns),
            human_duration(run.cpu_ns),
            run.units.to_string(),
            if run.success { "ok" } else { "failed" }.to_string(),
            run.command.clone(),
            run.scenario.clone(),
        ]);
    }
    let mut out = table.render(style);
    let mut workspaces: Vec<&str> = runs.iter().map(|r| r.workspace.as_str()).collect();
    workspaces.dedup();
    if workspaces.len() == 1 {
        out.push_str(&style.dim(&format!("Workspace: {}\n", workspaces[0])));
    }
    out
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

pub fn render_compare(
    base: &RunLine,
    new: &RunLine,
    changes: &[UnitChange],
    top: Option<usize>,
    style: &Style,
) -> String {
    let mut out = String::new();
    for (name, run) in [("A", base), ("B", new)] {
        out.push_str(&format!(
            "{} {}  cargo {} ({}), {} units\n",
            style.bold(name),
            run.id,
            run.command,
            run.scenario,
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
