//! A run's report page: the run record, its explanation, a compared run and the run's
//! place in the history gathered for the report's assembly (buildscope-output). Shared by
//! `build` (a report in every run folder), `report`, `check --report` and `experiment`
//! (its chart over the baseline's timeline).

use std::path::{Path, PathBuf};

use buildscope_analysis::{
    compare_units, largest_measures, rebuild_roots, series_verdicts, ExperimentRecord, Explanation,
    RunRecord, Spread, Verdict,
};
use buildscope_measure::{
    cargo_profile, explain_run, rustc_version, save_evidence, EvidenceSource, ExplainExtras,
};
use buildscope_output::{
    phase_deltas, report_title, write_report, ReportCompare, ReportHistory, ReportHistoryRun,
    ReportInputs, ReportRun, ReportSeries,
};
use buildscope_store::Store;

use crate::{comparable_series, WorkflowError};

/// A run compared in the report, with each side's `--runs` spread.
pub struct ReportBaseline<'a> {
    pub run: &'a RunRecord,
    pub spread: Option<Spread>,
    pub new_spread: Option<Spread>,
}

/// Writes the report of a run (or of profiles alone) to `output`; returns the run's
/// explanation, which the report shows.
pub fn write_run_report(
    record: Option<&RunRecord>,
    profile_paths: &[PathBuf],
    baseline: Option<ReportBaseline>,
    experiment: Option<&ExperimentRecord>,
    history: Option<&Store>,
    output: &Path,
    threads: usize,
) -> Result<Explanation, WorkflowError> {
    // One reading of the profiles serves the findings and the summarize tables.
    // Estimates scaled to a run without the profiler, as `explain` scales them.
    let unprofiled = match (history, record) {
        (Some(store), Some(record)) => crate::unprofiled_twin(store, record),
        _ => None,
    };
    let explained = explain_run(
        record,
        profile_paths,
        threads,
        ExplainExtras {
            unprofiled,
            ..ExplainExtras::default()
        },
    )?;
    // What the profiles gave is saved beside the record, for when they are pruned.
    if let Some(r) = record {
        save_evidence(&r.run_dir, &explained.evidence)?;
    }
    let pruned = explained.evidence.source == EvidenceSource::Saved;
    let explanation = explained.explanation;
    let compare = match (record, baseline) {
        (Some(new), Some(base)) => {
            let old = base.run;
            let before = explain_run(
                Some(old),
                &old.profile_dirs(),
                threads,
                ExplainExtras::default(),
            )?;
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
        title: report_title(record, experiment.is_some(), explained.evidence.files.len()),
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
        // A pruned run's stacks, heaviest invocations and trace need the raw profiles.
        files: if pruned {
            &[]
        } else {
            &explained.evidence.files
        },
        raw_profiles_pruned: pruned,
        summaries: &explained.evidence.summaries,
        compare,
        experiment,
        history: record.and_then(|r| report_history(r, history?)),
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
fn report_history(record: &RunRecord, store: &Store) -> Option<ReportHistory> {
    let (row, _) = store.run(&record.id, None).ok()?;
    let series = comparable_series(store, &row, HISTORY_SHOWN).ok()?;
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
