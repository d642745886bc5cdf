//! buildscope's workflows: what a command does from the libraries' pieces, once, so that
//! every command that records a run, judges one against a baseline or reads a history's
//! series does it the same way, and can be tested without the binary.
//!
//! The command line resolves arguments into the inputs here and renders what comes back
//! (through `buildscope-output`); this crate prints nothing.

mod check;
mod experiment;
mod program;
mod recording;
mod report;
mod retention;
mod scale;

pub use check::{
    baseline_from_file, baseline_from_history, baseline_from_run, confirm, measures_of,
    parse_thresholds, records_in_file, thresholds_or_defaults, Baseline,
};
pub use experiment::{
    available_here, experiment_plan, levers_to_prove, prove_levers, settings_to_verify,
    verification_plan, Varying,
};
pub use program::{diff_programs, runs_of_the_same_profile, summed_stacks};
pub use recording::{
    comparable_series, plan_spread, record_experiment, record_run, record_runs, share_run_folders,
    unprofiled_twin, NotRecorded,
};
pub use report::{write_run_report, ReportBaseline};
pub use retention::{collect, Collected};
pub use scale::{default_work_dir, generator_of, scale, scale_measures_of, sizes_to_fit, Scaled};

use std::path::PathBuf;

/// What a workflow could not do.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    #[error(transparent)]
    Store(#[from] buildscope_store::StoreError),
    #[error(transparent)]
    Build(#[from] buildscope_measure::BuildError),
    #[error(transparent)]
    NotRecorded(#[from] NotRecorded),
    #[error(transparent)]
    Explain(#[from] buildscope_measure::ExplainError),
    #[error(transparent)]
    Report(#[from] buildscope_output::ReportError),
    #[error(transparent)]
    Threshold(#[from] buildscope_analysis::ThresholdError),
    /// A file given as input (`--baseline FILE`) that cannot be used.
    #[error("{argument} {}: {reason}", path.display())]
    BadFile {
        argument: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("{0}")]
    BadArgument(String),
    #[error("copying {} to {}: {source}", from.display(), to.display())]
    Copy {
        from: PathBuf,
        to: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
