//! The report: one self-contained HTML page per run. The page is built in the browser from
//! typed data embedded as JSON; its script, style and markup live in `assets/report.*`.
//! Nothing is fetched: it opens from `file://` offline.

use buildscope_analysis::{
    BuildTotals, CriticalPath, ExperimentRecord, FoldedStacks, Invocation, LabelStats, RebuildRoot,
    Spread, Unit, UnitChange, UnitReason,
};
use serde::Serialize;

use crate::documents::ExplainDocument;
use crate::format::escape_html;

const TEMPLATE: &str = include_str!("../assets/report.html");
const CSS: &str = include_str!("../assets/report.css");
const JS: &str = include_str!("../assets/report.js");

pub const REPORT_SCHEMA: &str = "buildscope.report/1";

/// Everything the page shows.
#[derive(Debug, Clone, Serialize)]
pub struct ReportData<'a> {
    pub schema: &'static str,
    pub title: String,
    pub generated_by: String,
    pub run: Option<ReportRun<'a>>,
    pub explanation: ExplainDocument<'a>,
    pub crates: Vec<ReportCrate>,
    pub compare: Option<ReportCompare>,
    /// An experiment the run was the baseline of: its variants charted.
    pub experiment: Option<&'a ExperimentRecord>,
    /// (label, relative or absolute href)
    pub links: Vec<(String, String)>,
    /// The run among its comparable runs: the trend of its measures.
    pub history: Option<ReportHistory>,
    /// The run's raw profiles were pruned (`buildscope gc`): no stacks, heaviest
    /// invocations or trace.
    pub raw_profiles_pruned: bool,
}

/// The comparable runs of a run (same command, scenario, machine and settings), oldest
/// first and the run itself last, and its main measures over them.
#[derive(Debug, Clone, Serialize)]
pub struct ReportHistory {
    pub runs: Vec<ReportHistoryRun>,
    pub series: Vec<ReportSeries>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReportHistoryRun {
    pub id: String,
    pub started_at_ns: u64,
}

/// One measure over the runs: nanoseconds, `null` where a run lacks it; each value judged
/// against the ones before it (`regressed` marks what `check` would flag).
#[derive(Debug, Clone, Serialize)]
pub struct ReportSeries {
    pub measure: String,
    pub values: Vec<Option<f64>>,
    pub regressed: Vec<bool>,
}

/// A measured build.
#[derive(Debug, Clone, Serialize)]
pub struct ReportRun<'a> {
    pub id: String,
    pub command: String,
    pub scenario: String,
    /// `dev`, `release` or the named profile.
    pub profile: String,
    pub toolchain: String,
    pub host: String,
    pub totals: &'a BuildTotals,
    pub fresh_units: usize,
    pub units: &'a [Unit],
    pub critical_path: &'a CriticalPath,
    /// Why each unit rebuilt, when the run recorded it.
    pub rebuild_reasons: Option<&'a [UnitReason]>,
    /// The units dirty for a reason of their own, each with the units that rebuilt because
    /// of it (empty without reasons).
    pub rebuild_roots: Vec<RebuildRoot>,
    /// Units a compiler cache served (by id).
    pub cached_units: &'a [usize],
}

/// One self-profiled crate.
#[derive(Debug, Clone, Serialize)]
pub struct ReportCrate {
    pub name: String,
    pub cpu_ns: u64,
    /// summarize's rows, largest self time first (the top ones only).
    pub rows: Vec<LabelStats>,
    pub rows_total: usize,
    /// Folded stacks of this crate (frames after the crate's root), the heaviest ones.
    pub stacks: Vec<(String, u64)>,
    pub top: Vec<Invocation>,
}

/// Two runs side by side.
#[derive(Debug, Clone, Serialize)]
pub struct ReportCompare {
    pub base_id: String,
    pub base_wall_ns: u64,
    pub new_wall_ns: u64,
    pub units: Vec<UnitChange>,
    /// CPU time per phase in each run (title, before, after), when both were profiled.
    pub phases: Vec<(String, u64, u64)>,
    /// Wall time of each side's `--runs`, when it had several.
    pub base_spread: Option<Spread>,
    pub new_spread: Option<Spread>,
}

/// Rows of a crate's summarize table kept in the page.
pub const REPORT_ROWS: usize = 200;
/// Stacks of a crate's flame graph kept in the page (the heaviest; the rest are folded
/// into their parents' self time by the page).
pub const REPORT_STACKS: usize = 1500;

/// The stacks of one crate from a whole build's folded stacks: its root frame removed,
/// the heaviest `REPORT_STACKS` kept.
pub fn crate_stacks(all: &FoldedStacks, crate_name: &str) -> Vec<(String, u64)> {
    let prefix = format!("{crate_name};");
    let mut mine: Vec<(String, u64)> = all
        .stacks
        .iter()
        .filter_map(|(stack, ns)| {
            if stack == crate_name {
                Some(("(rustc, between activities)".to_string(), *ns))
            } else {
                stack.strip_prefix(&prefix).map(|s| (s.to_string(), *ns))
            }
        })
        .collect();
    mine.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    mine.truncate(REPORT_STACKS);
    mine
}

/// The page. The data goes in as JSON inside a `<script type="application/json">`: every
/// `<` is written as `\u003c`, so no text from a profile can close the script or open a tag.
pub fn render_report(data: &ReportData) -> String {
    let json = serde_json::to_string(data)
        .expect("report data serializes")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026");
    TEMPLATE
        .replacen("/*{CSS}*/", CSS, 1)
        .replacen("{TITLE}", &escape_html(&data.title), 1)
        .replacen("{DATA}", &json, 1)
        .replacen("/*{JS}*/", JS, 1)
}
