//! Putting a report together: the crates ranked by CPU time with their summarize rows,
//! flame-graph stacks and heaviest invocations (the heaviest crates in full, the rest in
//! brief, so a whole profiled build stays a page that opens quickly), the trace next to
//! the run, the links, and the page itself written in place atomically.

use std::io::Write;
use std::path::{Path, PathBuf};

use buildscope_analysis::{
    collapse_files, map_profiles, merge, top_invocations, ExperimentRecord, Explanation, Phase,
    PhaseTimes, ProfileSummary, RankBy, StackOptions,
};
use buildscope_profile::ProfileError;

use crate::output_file::{OutputFile, OutputFileError};
use crate::report::{
    crate_stacks, render_report, ReportCompare, ReportCrate, ReportData, ReportHistory, ReportRun,
    REPORT_ROWS, REPORT_SCHEMA,
};
use crate::trace::{write_trace, TraceError, TraceOptions, DEFAULT_SPLIT_PAGES};

/// Heaviest single invocations shown per crate.
const TOP_PER_CRATE: usize = 15;
/// Crates shown in full detail (by CPU time); the others get the brief limits below.
const DETAILED_CRATES: usize = 20;
const BRIEF_ROWS: usize = 30;
const BRIEF_STACKS: usize = 150;
const BRIEF_TOP: usize = 5;
/// The trace next to a run's report stays small enough for any viewer.
const RUN_TRACE_MAX_BYTES: u64 = 50_000_000;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error(transparent)]
    File(#[from] OutputFileError),
    #[error("{}: {source}", path.display())]
    Trace { path: PathBuf, source: TraceError },
    #[error("{}: cannot write: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What a report is made from.
pub struct ReportInputs<'a> {
    pub title: String,
    pub run: Option<ReportRun<'a>>,
    /// The run's folder: the trace is written there once, and its files are linked.
    pub run_dir: Option<&'a Path>,
    pub explanation: &'a Explanation,
    /// The self-profiles and their summaries (one per file, in the same order).
    pub files: &'a [PathBuf],
    /// The run's raw profiles were pruned: the summaries are the saved ones, and the views
    /// that need the raw profiles (stacks, heaviest invocations, trace) are left out.
    pub raw_profiles_pruned: bool,
    pub summaries: &'a [ProfileSummary],
    pub compare: Option<ReportCompare>,
    pub experiment: Option<&'a ExperimentRecord>,
    pub history: Option<ReportHistory>,
}

/// Assembles the report and writes it to `output`.
pub fn write_report(
    inputs: ReportInputs,
    output: &Path,
    threads: usize,
) -> Result<(), ReportError> {
    let crates = report_crates(inputs.files, inputs.summaries, threads)?;
    let mut links = Vec::new();
    if let Some(dir) = inputs.run_dir {
        if !inputs.files.is_empty() {
            write_run_trace(inputs.files, &dir.join("trace.json"))?;
        }
        for (label, name) in [
            ("trace.json (open in https://ui.perfetto.dev)", "trace.json"),
            ("run.json (the run record)", "run.json"),
            ("profiles/ (self-profiles)", "profiles"),
            (
                "cargo-timing.html (cargo's own report)",
                "cargo-timing.html",
            ),
        ] {
            let path = dir.join(name);
            if path.exists() {
                links.push((label.to_string(), href(output, &path)));
            }
        }
    }
    let data = ReportData {
        schema: REPORT_SCHEMA,
        title: inputs.title,
        generated_by: format!("buildscope {}", env!("CARGO_PKG_VERSION")),
        run: inputs.run,
        explanation: crate::ExplainDocument::new(inputs.explanation, None),
        crates,
        compare: inputs.compare,
        experiment: inputs.experiment,
        links,
        history: inputs.history,
        raw_profiles_pruned: inputs.raw_profiles_pruned,
    };
    let html = render_report(&data);
    let mut out = OutputFile::create(output)?;
    out.file()
        .write_all(html.as_bytes())
        .map_err(|source| ReportError::Write {
            path: output.to_path_buf(),
            source,
        })?;
    out.commit()?;
    Ok(())
}

/// Every self-profiled crate, heaviest first, the heaviest in full detail.
fn report_crates(
    files: &[PathBuf],
    summaries: &[ProfileSummary],
    threads: usize,
) -> Result<Vec<ReportCrate>, ProfileError> {
    let summary = merge(summaries);
    let stacks = collapse_files(files, threads, StackOptions::default())?;
    // The heaviest invocations of each profile (a crate's come from its profiles).
    let mut top: Vec<_> = map_profiles(files, threads, |profile| {
        top_invocations(profile, TOP_PER_CRATE, RankBy::Duration, None)
    })?
    .into_iter()
    .flatten()
    .collect();
    top.sort_by_key(|i| std::cmp::Reverse(i.duration_ns));
    let mut crates: Vec<ReportCrate> = summary
        .crates
        .iter()
        .map(|c| ReportCrate {
            name: c.crate_name.clone(),
            cpu_ns: c.total_cpu_time_ns,
            rows: c.rows.iter().take(REPORT_ROWS).cloned().collect(),
            rows_total: c.rows.len(),
            stacks: crate_stacks(&stacks, &c.crate_name),
            top: top
                .iter()
                .filter(|i| i.crate_name == c.crate_name)
                .take(TOP_PER_CRATE)
                .cloned()
                .collect(),
        })
        .collect();
    crates.sort_by(|a, b| b.cpu_ns.cmp(&a.cpu_ns).then(a.name.cmp(&b.name)));
    // The page stays small and quick with a whole build profiled: the heaviest crates in
    // full detail, the rest with their largest rows and stacks only.
    for krate in crates.iter_mut().skip(DETAILED_CRATES) {
        krate.rows.truncate(BRIEF_ROWS);
        krate.stacks.truncate(BRIEF_STACKS);
        krate.top.truncate(BRIEF_TOP);
    }
    Ok(crates)
}

/// A trace of the run next to its report, for Perfetto; written once.
fn write_run_trace(files: &[PathBuf], path: &Path) -> Result<(), ReportError> {
    if path.exists() {
        return Ok(());
    }
    let mut out = OutputFile::create(path)?;
    let options = TraceOptions {
        min_duration_ns: 0,
        collapse_threads: false,
        max_bytes: Some(RUN_TRACE_MAX_BYTES),
        split_pages: DEFAULT_SPLIT_PAGES,
    };
    write_trace(files, out.file(), &options).map_err(|source| ReportError::Trace {
        path: path.to_path_buf(),
        source,
    })?;
    out.commit()?;
    Ok(())
}

/// CPU time per phase before and after, for every phase either run has.
pub fn phase_deltas(
    before: Option<&PhaseTimes>,
    after: Option<&PhaseTimes>,
) -> Vec<(String, u64, u64)> {
    let (Some(before), Some(after)) = (before, after) else {
        return Vec::new();
    };
    Phase::ALL
        .iter()
        .filter(|p| p.is_work())
        .map(|&p| (p.title().to_string(), before.of(p), after.of(p)))
        .filter(|(_, a, b)| *a > 0 || *b > 0)
        .collect()
}

/// A link from the report to a file: relative when they share a folder.
fn href(report: &Path, target: &Path) -> String {
    match (report.parent(), target.parent()) {
        (Some(a), Some(b)) if a == b => target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        _ => format!("file://{}", target.display()),
    }
}

/// A report's title: the project and its scenario, an experiment's, or the profiles'.
pub fn report_title(
    record: Option<&buildscope_analysis::RunRecord>,
    experiment: bool,
    profiles: usize,
) -> String {
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
