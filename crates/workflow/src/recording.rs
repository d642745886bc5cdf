//! What goes into the history: every measured run, whichever command measured it, and
//! every experiment; and what the history gives back about runs (a plan's spread, a
//! comparable series).

use std::path::{Path, PathBuf};

use buildscope_analysis::run::ids;
use buildscope_analysis::{run_measures, ExperimentRecord, Measures, RunRecord, Spread};
use buildscope_store::{ExperimentRow, RunRow, Store, StoreError};

use crate::WorkflowError;

/// Runs the history refused: they stay in their folders (their run.json), to be added
/// later with `buildscope db import`.
#[derive(Debug, thiserror::Error)]
#[error("the history could not be written ({why}); the run is kept in its folder: add it later with `buildscope db import {}`", dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(" "))]
pub struct NotRecorded {
    pub why: String,
    pub dirs: Vec<PathBuf>,
}

/// Records a measured run: its row, units and every measure it holds, in one
/// transaction; once more on a new connection if the one opened before the build is gone.
pub fn record_run(store: &Store, record: &RunRecord) -> Result<(), StoreError> {
    match store.insert_run(record) {
        Err(e) if e.is_unavailable() && store.reconnect().is_ok() => store.insert_run(record),
        other => other,
    }
}

/// Records runs; the ones the history refused are named in the error (their folders keep
/// them).
pub fn record_runs(store: &Store, records: &[RunRecord]) -> Result<(), NotRecorded> {
    let refused: Vec<(String, &RunRecord)> = records
        .iter()
        .filter_map(|r| record_run(store, r).err().map(|e| (e.to_string(), r)))
        .collect();
    match refused.first() {
        None => Ok(()),
        Some((why, _)) => Err(NotRecorded {
            why: why.clone(),
            dirs: refused.iter().map(|(_, r)| r.run_dir.clone()).collect(),
        }),
    }
}

/// `--store-profiles DIR`: each run's folder (record, profiles, report, trace) copied to
/// `DIR/<run id>`, and the history told that is where the run is now, for anyone who
/// reads the history to open.
pub fn share_run_folders(
    store: &Store,
    records: &[RunRecord],
    shared: &Path,
) -> Result<(), WorkflowError> {
    for record in records {
        let to = shared.join(&record.id);
        copy_folder(&record.run_dir, &to).map_err(|source| WorkflowError::Copy {
            from: record.run_dir.clone(),
            to: to.clone(),
            source,
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

/// Records an experiment as one entity (its variants' runs went in as runs already).
pub fn record_experiment(
    store: &Store,
    id: &str,
    workspace_root: &Path,
    started_at_ns: u64,
    experiment: &ExperimentRecord,
) -> Result<(), StoreError> {
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
        document: serde_json::to_string(experiment).expect("an experiment serializes"),
    })
}

/// `latest` and the comparable runs before it (at most `limit` in all), oldest first, each
/// with its measures: the series a trend draws.
pub fn comparable_series(
    store: &Store,
    latest: &RunRow,
    limit: usize,
) -> Result<Vec<(RunRow, Measures)>, StoreError> {
    let mut rows = store.comparable_runs(latest, limit.saturating_sub(1))?;
    rows.reverse();
    rows.push(latest.clone());
    rows.into_iter()
        .map(|row| {
            let measures = stored_measures(store, &row)?;
            Ok((row, measures))
        })
        .collect()
}

/// A stored run's measures, as [`crate::measures_of`] gives a record's.
pub(crate) fn stored_measures(store: &Store, row: &RunRow) -> Result<Measures, StoreError> {
    let (_, units) = store.run(&row.id, None)?;
    let extra = store.measures(&row.id)?;
    Ok(run_measures(&units, row.wall_ns, row.cpu_ns, &extra))
}

/// The wall-time spread of the plan a run belonged to: the runs of the history made by the
/// same `buildscope build` (same maker in their ids, same scenario), when there were
/// several.
pub fn plan_spread(store: &Store, run: &RunRecord) -> Option<Spread> {
    let plan = ids::maker_of(&run.id)?;
    let scenario = run.scenario_key();
    let walls: Vec<u64> = store
        .runs(Some(&run.workspace_root), 1000)
        .ok()?
        .into_iter()
        .filter(|r| ids::maker_of(&r.id).as_ref() == Some(&plan) && r.scenario == scenario)
        .map(|r| r.wall_ns)
        .collect();
    Spread::of(&walls).filter(|s| s.n >= 2)
}

/// The newest successful run of `run`'s workspace, scenario and settings made without the
/// profiler or the sampler (its folder still holding its record): what a profiled run's
/// estimates are scaled to, since self-profiling slows query-heavy crates (2.3x on a
/// planted crate of generic functions). `None` for a run made without the profiler.
pub fn unprofiled_twin(store: &Store, run: &RunRecord) -> Option<RunRecord> {
    run.profile_dir.as_ref()?;
    let scenario = run.scenario_key();
    let settings = run.comparability();
    store
        .runs(Some(&run.workspace_root), 200)
        .ok()?
        .into_iter()
        // The same cargo command too: an experiment's variants pass settings as `--config`.
        .filter(|r| {
            r.id != run.id
                && r.success
                && r.scenario == scenario
                && r.machine == settings
                && r.cargo_args == run.cargo_args
        })
        .find_map(|r| {
            let (record, _) = buildscope_measure::load_run_dir(&r.run_dir).ok()?;
            (record.profile_dir.is_none() && record.samples.is_none()).then_some(record)
        })
}
