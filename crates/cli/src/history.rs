//! What goes into the history: every measured run and every experiment, and the spread
//! of the runs one `buildscope build --runs N` made. A history that cannot be written
//! costs a warning, never the build.

use std::path::Path;

use anyhow::{Context, Result};
use buildscope_analysis::{run_measures, ExperimentRecord, Measures, Spread};
use buildscope_measure::RunRecord;
use buildscope_store::{ExperimentRow, RunRow, Store};

use crate::cli::HistoryArgs;
use crate::resolve::open_store;

/// A run as the history keeps it.
pub(crate) fn run_row(record: &RunRecord) -> RunRow {
    RunRow {
        id: record.id.clone(),
        workspace_root: record.workspace_root.clone(),
        started_at_ns: record.started_at_ns,
        command: record.command_line(),
        cargo_args: record.cargo_args.clone(),
        scenario: record.scenario.describe_in(&record.workspace_root),
        success: record.success,
        wall_ns: record.totals.wall_ns,
        cpu_ns: record.totals.cpu_ns,
        units: record.units.len(),
        fresh_units: record.fresh_units,
        critical_chain_ns: record.critical_path.longest_chain_ns,
        run_dir: record.run_dir.clone(),
        machine: comparability(record),
    }
}

/// `latest` and the comparable runs before it (at most `limit` in all), oldest first, each
/// with its measures: the series a trend draws.
pub(crate) fn comparable_series(
    store: &Store,
    latest: &RunRow,
    limit: usize,
) -> Result<Vec<(RunRow, Measures)>> {
    let mut rows = store.comparable_runs(latest, limit.saturating_sub(1))?;
    rows.reverse();
    rows.push(latest.clone());
    rows.into_iter()
        .map(|row| {
            let (_, units) = store.run(&row.id, None)?;
            let extra = store.measures(&row.id)?;
            let measures = run_measures(&units, row.wall_ns, row.cpu_ns, &extra);
            Ok((row, measures))
        })
        .collect()
}

/// What runs must share to compare: the machine and toolchain, and the flags and
/// variables that change build times.
fn comparability(record: &RunRecord) -> String {
    let machine = record.machine.as_ref().map(|m| m.key()).unwrap_or_default();
    match record.settings.as_ref().map(|s| s.comparability()) {
        Some(settings) if !settings.is_empty() => format!("{machine} · {settings}"),
        _ => machine,
    }
}

/// Records a measured build: the run, its units and its measures in one transaction.
pub(crate) fn record_run(store: &Store, record: &RunRecord) -> Result<()> {
    let row = run_row(record);
    let critical: Vec<usize> = record.critical_path.steps.iter().map(|s| s.unit).collect();
    let measures = extra_measures(record);
    let write = || store.insert_run(&row, &record.units, &critical, &measures);
    match write() {
        // Once more on a new connection: the one opened before the build may be gone.
        Err(e) if e.is_unavailable() && store.reconnect().is_ok() => write()?,
        other => other?,
    }
    Ok(())
}

/// Records runs; the ones the history refused stay in their folders (their run.json):
/// returns the line that says so and how to add them later, if any was refused.
pub(crate) fn record_runs(store: &Store, records: &[RunRecord]) -> Option<String> {
    let refused: Vec<(String, &RunRecord)> = records
        .iter()
        .filter_map(|r| record_run(store, r).err().map(|e| (format!("{e:#}"), r)))
        .collect();
    let (why, _) = refused.first()?;
    let dirs: Vec<String> = refused
        .iter()
        .map(|(_, r)| r.run_dir.display().to_string())
        .collect();
    Some(format!(
        "the history could not be written ({why}); the run is kept in its folder: add it later with `buildscope db import {}`",
        dirs.join(" ")
    ))
}

/// `--store-profiles DIR`: each run's folder (record, profiles, report, trace) copied to
/// `DIR/<run id>`, and the history told that is where the run is now, for anyone who
/// reads the history to open.
pub(crate) fn share_run_folders(store: &Store, records: &[RunRecord], shared: &Path) -> Result<()> {
    for record in records {
        let to = shared.join(&record.id);
        copy_folder(&record.run_dir, &to).with_context(|| {
            format!(
                "--store-profiles {}: copying {}",
                shared.display(),
                record.id
            )
        })?;
        let mut moved = record.clone();
        moved.run_dir = to.clone();
        moved.profile_dir = record.profile_dir.as_ref().map(|_| to.join("profiles"));
        record_run(store, &moved)?;
    }
    Ok(())
}

fn copy_folder(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_folder(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// The measures of a run its units and times do not hold.
pub(crate) fn extra_measures(record: &RunRecord) -> Vec<(String, f64)> {
    record
        .binary_size_bytes
        .map(|bytes| ("binary-size".to_string(), bytes as f64))
        .into_iter()
        .collect()
}

/// Records an experiment as one entity (its variants' runs went in as runs already).
pub(crate) fn record_experiment(
    history: &HistoryArgs,
    id: &str,
    workspace_root: &Path,
    started_at_ns: u64,
    experiment: &ExperimentRecord,
) {
    let result = open_store(history).and_then(|store| -> Result<()> {
        let recommendation: Vec<String> = experiment
            .recommendation
            .settings
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        store.insert_experiment(&ExperimentRow {
            id: id.to_string(),
            workspace_root: workspace_root.to_path_buf(),
            started_at_ns,
            scenario: experiment.scenario.clone(),
            variants: experiment.variants.len(),
            recommendation: recommendation.join(" "),
            document: serde_json::to_string(experiment)?,
        })?;
        Ok(())
    });
    if let Err(e) = result {
        eprintln!("warning: the experiment was not added to the history: {e:#}");
    }
}

/// The wall-time spread of the plan a run belonged to: the runs of the history made by the
/// same `buildscope build` (ids are `<date>-<time>-<machine>-<pid>-<n>`, before machines
/// `<date>-<time>-<pid>-<n>`: same date, machine and process, same scenario), when there
/// were several.
pub(crate) fn plan_spread(store: &Store, run: &RunRecord) -> Option<Spread> {
    let plan_of = |id: &str| {
        let parts: Vec<&str> = id.split('-').collect();
        match parts.len() {
            5 => Some(format!("{}-{}-{}", parts[0], parts[2], parts[3])),
            4 => Some(format!("{}-{}", parts[0], parts[2])),
            _ => None,
        }
    };
    let plan = plan_of(&run.id)?;
    let scenario = run.scenario.describe_in(&run.workspace_root);
    let walls: Vec<u64> = store
        .runs(Some(&run.workspace_root), 1000)
        .ok()?
        .into_iter()
        .filter(|r| plan_of(&r.id).as_ref() == Some(&plan) && r.scenario == scenario)
        .map(|r| r.wall_ns)
        .collect();
    Spread::of(&walls).filter(|s| s.n >= 2)
}
