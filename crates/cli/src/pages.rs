//! A run's report page, wired: the history opened for the report's trend, then the
//! workflow's report (buildscope-workflow) written where the command says.

use std::path::{Path, PathBuf};

use anyhow::Result;
use buildscope_analysis::{ExperimentRecord, Explanation, RunRecord};
use buildscope_workflow::write_run_report;

use crate::cli::HistoryArgs;
use crate::resolve::{open_store, resolve_target};

/// The report of a run just measured by `build`, into its run folder; returns where it
/// went and the run's explanation.
pub(crate) fn report_for_run(
    record: &RunRecord,
    history: &HistoryArgs,
    threads: usize,
) -> Result<(PathBuf, Explanation)> {
    let output = record.run_dir.join("report.html");
    let store = open_store(history).ok();
    let explanation = write_run_report(
        Some(record),
        &record.profile_dirs(),
        None,
        None,
        store.as_ref(),
        &output,
        threads,
    )?;
    Ok((output, explanation))
}

/// The page of an experiment: its chart, over the timeline of the baseline's last run
/// (when that run is still in the history and on disk).
pub(crate) fn write_experiment_report(
    experiment: &ExperimentRecord,
    history: &HistoryArgs,
    output: &Path,
    threads: usize,
) -> Result<()> {
    let baseline_run = experiment
        .variants
        .first()
        .and_then(|v| v.run_ids.last())
        .and_then(|id| {
            resolve_target(std::slice::from_ref(id), history, None)
                .ok()
                .and_then(|(record, _)| record)
        });
    let store = open_store(history).ok();
    write_run_report(
        baseline_run.as_ref(),
        &[],
        None,
        Some(experiment),
        store.as_ref(),
        output,
        threads,
    )?;
    Ok(())
}
