//! A run's report page: the run record and its explanation handed to the report's
//! assembly (buildscope-output). Shared by `build` (a report in every run folder),
//! `report` and `experiment` (its chart over the baseline's timeline).

use std::path::{Path, PathBuf};

use anyhow::Result;
use buildscope_analysis::RunRecord;
use buildscope_analysis::{
    compare_units, largest_measures, rebuild_roots, series_verdicts, ExperimentRecord, Explanation,
    Spread, Verdict,
};
use buildscope_measure::{cargo_profile, explain_run, rustc_version};
use buildscope_output::{
    phase_deltas, write_report, ReportCompare, ReportHistory, ReportHistoryRun, ReportInputs,
    ReportRun, ReportSeries,
};

use crate::cli::HistoryArgs;
use crate::resolve::{open_store, resolve_target};
use buildscope_workflow::comparable_series;

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
    history: &HistoryArgs,
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
        history: record.and_then(|r| report_history(r, history)),
    };
    write_report(inputs, output, threads)?;
    Ok(explanation)
}

/// Runs of the history a report's trend shows at most.
const HISTORY_SHOWN: usize = 30;
/// Units a report's trend draws beside the wall and CPU time.
const HISTORY_UNITS: usize = 3;

/// The run among its comparable runs, when the history has it (a report of a run from a
/// folder whose history is elsewhere has none; that is no error).
fn report_history(record: &RunRecord, history: &HistoryArgs) -> Option<ReportHistory> {
    let store = open_store(history).ok()?;
    let (row, _) = store.run(&record.id, None).ok()?;
    let series = comparable_series(&store, &row, HISTORY_SHOWN).ok()?;
    let mut measures = vec!["wall".to_string(), "cpu".to_string()];
    measures.extend(largest_measures(&series.last()?.1, "unit:", HISTORY_UNITS));
    let series_of = |measure: &String| {
        let values: Vec<Option<f64>> = series
            .iter()
            .map(|(_, m)| m.get(measure).copied())
            .collect();
        let present: Vec<f64> = values.iter().flatten().copied().collect();
        let mut verdicts = series_verdicts(&present, measure, 20).into_iter();
        let regressed = values
            .iter()
            .map(|v| v.is_some() && verdicts.next() == Some(Verdict::Regressed))
            .collect();
        ReportSeries {
            measure: measure.clone(),
            values,
            regressed,
        }
    };
    Some(ReportHistory {
        runs: series
            .iter()
            .map(|(r, _)| ReportHistoryRun {
                id: r.id.clone(),
                started_at_ns: r.started_at_ns,
            })
            .collect(),
        series: measures.iter().map(series_of).collect(),
    })
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
pub(crate) fn report_for_run(
    record: &RunRecord,
    history: &HistoryArgs,
    threads: usize,
) -> Result<(PathBuf, Explanation)> {
    let output = record.run_dir.join("report.html");
    let explanation = write_run_report(
        Some(record),
        &record.profile_dirs(),
        None,
        None,
        history,
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
        history,
        output,
        threads,
    )?;
    Ok(())
}
