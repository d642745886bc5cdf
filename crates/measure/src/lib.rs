//! Runs and measures cargo builds.
//!
//! This crate owns cargo orchestration: the rustc wrapper (`buildscope` itself, started by
//! cargo as `RUSTC_WRAPPER`), what it records per rustc process, cargo's own views of a
//! build (the unit graph and the `--timings` report), and joining them into a timeline of
//! units. It does not interpret profiles or timelines (that is `buildscope-analysis`) and
//! does not print anything but what cargo and rustc themselves print.

mod build_analysis;
mod cargo_data;
mod error;
mod evidence;
mod experiment;
mod experiment_runner;
mod llvm_lines;
mod lock;
mod machine;
mod manifest_proof;
mod measure;
mod owner;
mod program;
mod recommend;
mod record;
mod retention;
mod run;
mod sample_join;
mod sampling;
mod scale;
mod scenario;
mod unused;
mod user_wrappers;
mod workspace;
mod wrapper;

pub use cargo_data::{TimingUnit, UnitGraph};
pub use error::BuildError;
pub use evidence::{
    ensure_saved_evidence, explain_run, load_run_dir, save_evidence, Evidence, EvidenceSource,
    ExplainError, ExplainExtras, Explained, SAVED_EVIDENCE,
};
pub(crate) use experiment::{binaries_size, failed_checks, parse_vary};
pub use experiment::{
    installed_toolchains, preset, setting, slug, variants, Available, FlagCheck, Setting,
    Toolchain, Variant, AS_IS, KEYS, PRESETS,
};
pub use experiment_runner::{
    keys_to_vary, measure_variants, summarize_experiment, ExperimentPlan, ExperimentProgress,
    VariantRuns, Varies,
};
pub use llvm_lines::llvm_lines;
pub(crate) use llvm_lines::target_selection;
pub use lock::{lock_workspace, recover_if_idle, LockWait, WorkspaceLock};
pub use machine::this_machine;
pub use manifest_proof::{prove_manifest_edit, ProofRuns};
pub use measure::{measure, BuildRequest, Measurement, Progress, SelfProfile};
pub use owner::ProcessId;
pub use program::{
    build_program, invoked_as_timer, profile_program, run_timer, split_command_line, CargoTarget,
    ProgramPhase, ProgramPlan, STDERR_FILE, STDOUT_FILE, TIMED_OUTPUT_VARIABLE,
};
pub(crate) use recommend::winning_settings;
pub use recommend::{apply, snippet, AppliedFile, Snippet};
pub(crate) use record::read_records;
pub use record::UnitRecord;
pub use retention::{
    folder_state, parse_size, plan_pruning, prune, run_folders, size_of, Budget, Pruning,
    RunFolder, KEEP_VARIABLE, MAX_SIZE_VARIABLE, PRUNED_MARK,
};
pub use run::{execute, experiment_id, BuildPlan, Phase};
pub(crate) use run::{execute_then, prime};
pub use sampling::{read_folded, SAMPLES_FILE};
pub use scale::{measure_sizes, Generator, ScalePlan, ScaledSize, Shape, SHAPES};
pub use scenario::{interrupted, touch, Edit};
pub use unused::unused_dependencies;
pub use workspace::{
    cargo, cargo_profile, installed_linkers, rustc_version, LocalPackages, Member, RustcVersion,
    Workspace,
};
pub(crate) use workspace::{has_dependencies, local_packages};
pub use wrapper::{
    compiling_now, invoked_as_linker, invoked_as_wrapper, now_ns, run_linker_shim, run_wrapper,
};
