//! What the numbers in a self-profile mean: per-label summaries (self time, time, counts,
//! cache hits, blocked and incremental time), merged over a whole build with a per-crate
//! split, and diffs between two summaries; the heaviest single invocations, folded stacks,
//! the query tree and the flat event table; phases a Rust user understands and the
//! findings that explain a build; what a build's timeline of units means (its critical
//! path and what each unit on it costs); and whether two sets of timings really differ.
//!
//! Pure functions over data from `buildscope-profile`. This crate does not know about
//! terminals, colours, JSON files the user writes, or how cargo is run.

mod amounts;
mod bill;
mod diff;
mod events;
mod experiment;
mod feature_resolve;
mod findings;
mod inputs;
mod manifests;
mod phases;
mod program;
mod query_tree;
mod rebuild;
mod regression;
pub mod run;
mod scaling;
mod schedule;
mod settings;
mod stacks;
mod stats;
mod summary;
mod timeline;
mod top;

pub use amounts::{human_duration, number_and_unit, three_digits};
pub use bill::{
    bill, levers, line_name, mark_unused, Bill, BillLine, DeclaredDependency, DependencyKind,
    FeatureLine, FeatureTable, Lever, LeverProof, ManifestEdit, Manifests, PackageTime, Price,
    SharedCost, UnusedDependency,
};
pub use diff::{diff, ArtifactSizeChange, Change, CrateChange, Diff, DiffRow, DIFF_SCHEMA};
pub use events::{for_each_event_row, kind_name, EventRow, EVENT_COLUMNS};
pub use experiment::{
    AppliedChange, ExperimentRecord, ExperimentVariant, Recommendation, EXPERIMENT_SCHEMA,
};
pub use findings::{
    cost_centres, evidence_needed, explain, floor_ns, is_item_query, is_slow_linker,
    settings_to_try, verifications, wall_breakdown, BroughtIn, BuildEvidence, Cascade, Cause,
    Centre, CostCentre, CostCentres, CratePhases, EvidenceNeeded, ExplainInput, Explanation, Facts,
    Finding, FunctionLines, GenericCopies, OlderCopy, Owner, QueryCall, Replay, RerunCause,
    ScaledTo, Timed, Unprofiled, Verification, VerificationVerdict, WallBreakdown, CENTRE_SHARE,
    EXPLAIN_SCHEMA,
};
pub use inputs::{phase_measures_in, summarize_inputs, InputError};
pub use phases::{phase_of, phase_times, Phase, PhaseTime, PhaseTimes, RULES as PHASE_RULES};
pub use program::{
    crate_of, crate_times, function_changes, function_spreads, function_times, machine_factor,
    FunctionChange, FunctionSpread, FunctionTime, ProgramRun, FUNCTION_MEASURE_PREFIX,
    KEPT_FUNCTIONS, MIN_FUNCTION_CHANGE, PROGRAM_COMMAND, SINGLE_RUN_CHANGE,
};
pub use query_tree::{
    query_tree, query_trees, Chain, Importance, ProfileQueries, QueryCount, QueryTrees, TreeNode,
    QUERIES_SCHEMA,
};
pub use rebuild::{
    assign_reasons, classify as classify_rebuild_reason, parse_dirty_line, reason_chain,
    rebuild_roots, RebuildReason, RebuildRoot, UnitReason,
};
pub use regression::{
    check as check_regressions, largest_measures, measure_unit, noise_fence, phase_measures,
    profile_phase_measures, run_measures, series_verdicts, unit_measure_name, what_grew,
    BaselineKind, BaselineSource, CheckOutcome, Confirmation, GrownUnit, Limit, MeasureCheck,
    Measures, NewUnit, NoiseFence, Threshold, ThresholdCheck, ThresholdError, Verdict, WhatGrew,
    CHECK_SCHEMA, DEFAULT_THRESHOLDS, FENCE_IQRS, MIN_HISTORY, PROGRAM_DEFAULT_THRESHOLDS,
};
pub use run::{
    command_line, scenario_text_of, BuildFailure, FolderState, Machine, RunRecord, RunRow,
    Scenario, WrapperUse, RUN_SCHEMA,
};
pub use scaling::{fit_growth, scale_headline, Fit, Growth, ScaleMeasure, SizePoint};
pub use schedule::{
    schedule_summary, simulate, simulate_with, wall_saving, Schedule, ScheduleSummary, UnitTime,
    CORE_COUNTS,
};
pub use settings::{
    differences as setting_differences, rustflags_from_env, selection_of, timing_environment,
    BuildSettings, SettingDifference, WarmUp,
};
pub use stacks::{collapse_files, collapse_profile, FoldedStacks, StackOptions};
pub use stats::{compare_samples, median, Comparison, Spread};
pub use summary::{
    map_profiles, merge, percent_of, sort_rows, summarize_files, summarize_profile, ArtifactSize,
    CrateSummary, LabelStats, ProfileSummary, SortKey, Summary, SUMMARY_SCHEMA,
};
pub use timeline::{
    build_totals, compare_units, critical_path, slowest_units, BuildTotals, CriticalPath, PathStep,
    Unit, UnitChange, UnitKind,
};
pub use top::{
    summarize_with_invocations, top_invocations, top_invocations_by, top_invocations_of_files,
    top_invocations_where, Invocation, LabelFilter, RankBy,
};
