//! Running an experiment under a progress bar, each measured build recorded in the
//! history as soon as it is made (when asked): shared by `experiment` and `explain --verify`.

use anyhow::Result;
use buildscope_measure::{measure_variants, ExperimentPlan, ExperimentProgress, VariantRuns};
use buildscope_output::human_duration;

use crate::cli::HistoryArgs;
use crate::history::record_run;
use crate::terminal::progress_bar;

/// The runner under a progress bar; every measured build goes into the history at once.
pub(crate) fn measure_with_progress(
    plan: &ExperimentPlan,
    quiet: bool,
    history: Option<&HistoryArgs>,
) -> Result<Vec<VariantRuns>> {
    let bar = progress_bar(
        quiet,
        plan.builds() as u64,
        "{spinner} [{bar:30}] {pos}/{len} builds  {wide_msg}",
    );
    let measured = measure_variants(
        plan,
        |progress| match progress {
            ExperimentProgress::FirstBuild { variant } => {
                bar.set_message(format!("first build: {variant}"))
            }
            ExperimentProgress::Build {
                round,
                rounds,
                variant,
                time_left_ns,
            } => {
                // The estimate first: a long variant name is what the terminal cuts.
                let left = time_left_ns
                    .map(|ns| format!("about {} left, ", human_duration(ns)))
                    .unwrap_or_default();
                bar.set_message(format!("{left}round {round}/{rounds}: {variant}"));
            }
            ExperimentProgress::Built => bar.inc(1),
        },
        |record| {
            if let Some(history) = history {
                record_run(history, record)
            }
        },
    );
    bar.finish_and_clear();
    Ok(measured?)
}
