//! Runs and measures cargo builds.
//!
//! This crate owns cargo orchestration: the rustc wrapper (`buildscope` itself, started by
//! cargo as `RUSTC_WRAPPER`), what it records per rustc process, cargo's own views of a
//! build (the unit graph and the `--timings` report), and joining them into a timeline of
//! units. It does not interpret profiles or timelines (that is `buildscope-analysis`) and
//! does not print anything but what cargo and rustc themselves print.

mod build_analysis;
mod cargo_data;
mod evidence;
mod experiment;
mod experiment_runner;
mod llvm_lines;
mod lock;
mod machine;
mod measure;
mod owner;
mod recommend;
mod record;
mod run;
mod sample_join;
mod sampling;
mod scale;
mod scenario;
mod workspace;
mod wrapper;
mod wrappers;

use std::path::PathBuf;

pub use cargo_data::{parse_timings_html, parse_unit_graph, TimingUnit, UnitGraph};
pub use evidence::{explain_run, load_run_dir, Evidence, ExplainError, Explained};
pub use experiment::{
    binaries_size, failed_checks, installed_toolchains, parse_toolchain_list, parse_vary, preset,
    setting, slug, variants, Available, FlagCheck, Setting, Toolchain, Variant, AS_IS, KEYS,
    PRESETS,
};
pub use experiment_runner::{
    keys_to_vary, measure_variants, summarize_experiment, unified_diff, ExperimentPlan,
    ExperimentProgress, VariantRuns, Varies,
};
pub use llvm_lines::{count_lines, llvm_lines, target_selection};
pub use lock::{lock_workspace, recover_if_idle, LockWait, WorkspaceLock};
pub use machine::this_machine;
pub use measure::{
    measure, BuildRequest, Measurement, Progress, SelfProfile, REASONS_FROM_LOG,
    REASONS_FROM_VERBOSE,
};
pub use owner::ProcessId;
pub use recommend::{apply, snippet, winning_settings, AppliedFile, Snippet};
pub use record::{read_records, UnitRecord};
pub use run::{execute, execute_then, experiment_id, prime, BuildPlan, Phase};
pub use sampling::{read_folded, sampler, SAMPLES_FILE};
pub use scale::{measure_sizes, Generator, ScalePlan, ScaledSize, Shape, SHAPES};
pub use scenario::{function_body_insertion_point, interrupted, touch, Edit};
pub use workspace::{
    cargo, cargo_command_line, cargo_profile, has_dependencies, installed_linkers, local_packages,
    rustc_version, LocalPackages, Member, RustcVersion, Workspace,
};
pub use wrapper::{
    compiling_now, invoked_as_linker, invoked_as_wrapper, now_ns, run_linker_shim, run_wrapper,
};

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{what} {path}: {source}")]
    Io {
        what: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    CargoOutput(String),
    #[error("{0}")]
    Edit(String),
    /// Another run holds the workspace.
    #[error("{0}")]
    Busy(String),
    #[error("interrupted; the sources are restored")]
    Interrupted,
}
