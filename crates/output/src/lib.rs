//! Turns analysis results into what people and machines read: terminal tables that fit 80
//! columns, CSV, and JSON.
//!
//! This crate owns presentation only: durations humanized, long labels shortened in the
//! middle, colour when asked. It computes no figures (that is `buildscope-analysis`) and
//! decides nothing about terminals itself: the caller says whether to use colour and how
//! wide to be.

mod bill_view;
mod build_view;
mod check_view;
mod cost_centre_view;
mod csv;
mod documents;
mod emit;
mod experiment_view;
mod explain_view;
mod export;
mod finding_text;
mod flamegraph;
mod format;
mod history_export;
mod history_view;
mod output_file;
mod program_view;
mod queries_view;
mod report;
mod report_assembly;
mod retention_view;
mod rows_view;
mod scale_view;
mod status;
mod style;
mod table;
mod top_view;
mod trace;
mod views;

pub use bill_view::{bill_markdown, render_bill};
pub use build_view::{
    render_build, render_build_summary, render_member_edits, render_rebuild_roots,
    render_run_footer, wall_spread, BuildView, MemberEdit,
};
pub use check_view::{
    check_bmf, check_junit, check_markdown, check_verdict, render_check, CheckDocument, CheckView,
    STEP_SUMMARY_LIMIT,
};
pub use cost_centre_view::{
    centre_title, cost_centres_markdown, no_lever_note, render_cost_centres, CostCentresDocument,
};
pub use csv::summary_csv;
pub use documents::{
    build_failure_line, render_why, run_heading, BuildDocument, CompareDocument,
    EditEachMemberDocument, EditedMember, ExperimentsDocument, ExplainDocument, FindingDocument,
    RunsDocument, TopDocument, VerificationDocument, WallSpread, WhyDocument, WhyStep, WhyUnit,
};
pub use emit::{
    emit, CheckResult, CompareResult, DiffResult, Document, EmitError, ExperimentResult,
    ExplainResult, Format, QueriesResult, RunsResult, SummaryResult, TopResult, WhyResult,
};
pub use experiment_view::render_experiment;
pub use explain_view::{
    explanation_markdown, render_explanation, render_top_findings, render_verification,
    verification_markdown,
};
pub use export::{export_events, ExportError, ExportFormat};
pub use finding_text::{describe_reason, finding_text, verdict_text, FindingText};
pub use flamegraph::{
    inputs_title, write_collapsed, write_differential_flamegraph, write_flamegraph,
    FlamegraphError, FlamegraphOptions, StacksSource,
};
pub use format::{human_bytes, human_duration, human_signed_duration, human_signed_percent};
pub use history_export::{export_history, history_export_paths, ExportedRun};
pub use history_view::{
    machines_differ, render_compare, render_experiments, render_no_runs_on, render_runs,
    render_trend, sparkline, trend_json, trend_title, ExperimentLine, TrendRow, TrendView,
};
pub use output_file::{OutputFile, OutputFileError};
pub use program_view::{ProgramDiff, ProgramProfile};
pub use queries_view::{pathological_text, queries_csv, queries_html, render_queries};
pub use report::{
    crate_stacks, render_report, ReportCompare, ReportCrate, ReportData, ReportHistory,
    ReportHistoryRun, ReportRun, ReportSeries, REPORT_ROWS, REPORT_SCHEMA, REPORT_STACKS,
};
pub use report_assembly::{phase_deltas, report_title, write_report, ReportError, ReportInputs};
pub use retention_view::{PrunedRun, Retention};
pub use rows_view::{render_rows, rows_csv};
pub use scale_view::{render_scale, write_scale_page, ScaleView, SCALE_SCHEMA};
pub use status::{Activity, Contents, Status};
pub use style::Style;
pub use table::{Align, Table};
pub use top_view::render_top;
pub use trace::{write_trace, TraceError, TraceOptions, TraceReport, DEFAULT_SPLIT_PAGES};
pub use views::{render_diff, render_per_crate, render_summary, SummaryView};
