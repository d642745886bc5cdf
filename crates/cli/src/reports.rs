//! A run's report page: the run record and its explanation handed to the report's
//! assembly (buildscope-output). Shared by `build` (a report in every run folder),
//! `report` and `experiment` (its chart over the baseline's timeline).

use std::path::{Path, PathBuf};

use anyhow::Result;
use buildscope_analysis::{compare_units, rebuild_roots, ExperimentRecord, Explanation, Spread};
use buildscope_measure::{cargo_profile, explain_run, rustc_version, RunRecord};
use buildscope_output::{phase_deltas, write_report, ReportCompare, ReportInputs, ReportRun};

use crate::cli::HistoryArgs;
use crate::resolve::resolve_target;

/// A run compared in the report, with each side's `--runs` spread.
pub(crate) struct Baseline<'a> {
    pub(crate) run: &'a RunRecord,
    pub(crate) spread: Option<Spread>,
    pub(crate) new_spread: Option<Spread>,
}

/// Writes the report of a run (or of profiles alone) to `output`; returns the run's
/// explanation, which the report shows.
pub(crate) fn write_run_report(
    record: Option<&RunRecord>,
    profile_paths: &[PathBuf],
    baseline: Option<Baseline>,
    experiment: Option<&ExperimentRecord>,
    output: &Path,
    threads: usize,
) -> Result<Explanation> {
    // One reading of the profiles serves the findings and the summarize tables.
    let explained = explain_run(record, profile_paths, threads, false)?;
    let explanation = explained.explanation;
    let compare = match (record, baseline) {
        (Some(new), Some(base)) => {
            let old = base.run;
            let before = explain_run(Some(old), &old.profile_dirs(), threads, false)?;
            Some(ReportCompare {
                base_id: old.id.clone(),
                base_wall_ns: old.totals.wall_ns,
                new_wall_ns: new.totals.wall_ns,
                units: compare_units(&old.units, &new.units),
                phases: phase_deltas(
                    before.explanation.phases.as_ref(),
                    explanation.phases.as_ref(),
                ),
                base_spread: base.spread,
                new_spread: base.new_spread,
            })
        }
        _ => None,
    };
    let version = rustc_version();
    let inputs = ReportInputs {
        title: title(record, experiment.is_some(), explained.evidence.files.len()),
        run: record.map(|r| ReportRun {
            id: r.id.clone(),
            command: r.command_line(),
            scenario: r.scenario.describe_in(&r.workspace_root),
            profile: cargo_profile(&r.cargo_args),
            toolchain: version.release.clone(),
            host: version.host.clone(),
            totals: &r.totals,
            fresh_units: r.fresh_units,
            units: &r.units,
            critical_path: &r.critical_path,
            rebuild_reasons: r.rebuild_reasons.as_deref(),
            rebuild_roots: r
                .rebuild_reasons
                .as_deref()
                .map(|reasons| rebuild_roots(&r.units, reasons, r.totals.cores))
                .unwrap_or_default(),
            cached_units: &r.cached_units,
        }),
        run_dir: record.map(|r| r.run_dir.as_path()),
        explanation: &explanation,
        files: &explained.evidence.files,
        summaries: &explained.evidence.summaries,
        compare,
        experiment,
    };
    write_report(inputs, output, threads)?;
    Ok(explanation)
}

fn title(record: Option<&RunRecord>, experiment: bool, profiles: usize) -> String {
    match record {
        Some(r) => format!(
            "{}: {}{}",
            r.workspace_root
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            if experiment { "experiment, " } else { "" },
            r.scenario.describe_in(&r.workspace_root)
        ),
        None if experiment => "experiment".to_string(),
        None => format!("{profiles} self-profiles"),
    }
}

/// The report of a run just measured by `build`, into its run folder; returns where it
/// went and the run's explanation.
pub(crate) fn report_for_run(record: &RunRecord, threads: usize) -> Result<(PathBuf, Explanation)> {
    let output = record.run_dir.join("report.html");
    let explanation = write_run_report(
        Some(record),
        &record.profile_dirs(),
        None,
        None,
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
    write_run_report(
        baseline_run.as_ref(),
        &[],
        None,
        Some(experiment),
        output,
        threads,
    )?;
    Ok(())
}
