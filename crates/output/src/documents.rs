//! The JSON documents buildscope prints, one serde type per schema (`docs/json.md` lists
//! them): what a `--json` reader gets is written down here and nowhere else. Documents
//! that are a library's own result (a summary, an explanation, an experiment) are that
//! type, serialized; the ones below gather what a command printed.

use std::path::Path;

use buildscope_analysis::{
    Bill, Cause, Comparison, CratePhases, Explanation, Facts, Finding, FolderState, Invocation,
    Owner, PhaseTimes, RebuildReason, RebuildRoot, RunRecord, RunRow, ScheduleSummary, Spread,
    Unit, UnitChange, Verification, VerificationVerdict, WallBreakdown, EXPLAIN_SCHEMA,
};

use crate::finding_text::{describe_reason, finding_text, verdict_text};

use crate::style::Style;
use serde::Serialize;

/// Wall time over a plan's runs.
#[derive(Debug, Serialize)]
pub struct WallSpread {
    pub min: u64,
    pub median: u64,
    pub max: u64,
}

impl WallSpread {
    pub fn of(records: &[RunRecord]) -> WallSpread {
        let walls: Vec<u64> = records.iter().map(|r| r.totals.wall_ns).collect();
        let spread = Spread::of(&walls).expect("a plan measures at least once");
        WallSpread {
            min: spread.min,
            median: spread.median,
            max: spread.max,
        }
    }
}

/// `buildscope build --json`.
#[derive(Debug, Serialize)]
pub struct BuildDocument<'a> {
    pub schema: &'static str,
    pub runs: &'a [RunRecord],
    pub wall_ns: WallSpread,
}

impl<'a> BuildDocument<'a> {
    pub const SCHEMA: &'static str = "buildscope.build/1";

    pub fn new(runs: &'a [RunRecord]) -> BuildDocument<'a> {
        BuildDocument {
            schema: Self::SCHEMA,
            runs,
            wall_ns: WallSpread::of(runs),
        }
    }
}

/// One member's edit in `build --edit-each-member --json`.
#[derive(Debug, Serialize)]
pub struct EditedMember<'a> {
    pub package: &'a str,
    pub path: &'a Path,
    pub runs: &'a [RunRecord],
    pub wall_ns: WallSpread,
}

impl<'a> EditedMember<'a> {
    pub fn new(package: &'a str, path: &'a Path, runs: &'a [RunRecord]) -> EditedMember<'a> {
        EditedMember {
            package,
            path,
            runs,
            wall_ns: WallSpread::of(runs),
        }
    }
}

/// `buildscope build --edit-each-member --json`.
#[derive(Debug, Serialize)]
pub struct EditEachMemberDocument<'a> {
    pub schema: &'static str,
    pub members: Vec<EditedMember<'a>>,
}

impl<'a> EditEachMemberDocument<'a> {
    pub fn new(members: Vec<EditedMember<'a>>) -> EditEachMemberDocument<'a> {
        EditEachMemberDocument {
            schema: "buildscope.edit-each-member/1",
            members,
        }
    }
}

/// `buildscope runs --json`.
#[derive(Debug, Serialize)]
pub struct RunsDocument<'a> {
    pub schema: &'static str,
    pub runs: Vec<RunWithFolder<'a>>,
}

/// A run as `runs --json` lists it: its row, and what is left of its folder.
#[derive(Debug, Serialize)]
pub struct RunWithFolder<'a> {
    #[serde(flatten)]
    pub row: &'a RunRow,
    /// `whole` (`raw_bytes`: its raw profiles and trace; `kept_bytes`: the rest), `pruned`
    /// (raw profiles removed by the budget) or `gone` (the folder was deleted).
    pub folder: Option<FolderState>,
}

impl<'a> RunsDocument<'a> {
    pub fn new(runs: &'a [RunRow], folders: &'a [FolderState]) -> RunsDocument<'a> {
        RunsDocument {
            schema: "buildscope.runs/1",
            runs: runs
                .iter()
                .enumerate()
                .map(|(i, row)| RunWithFolder {
                    row,
                    folder: folders.get(i).copied(),
                })
                .collect(),
        }
    }
}

/// A pair of figures of `compare`'s two runs.
#[derive(Debug, Serialize)]
pub struct Pair {
    pub a: u64,
    pub b: u64,
}

/// `buildscope compare A B --json`.
#[derive(Debug, Serialize)]
pub struct CompareDocument<'a> {
    pub schema: &'static str,
    pub a: &'a RunRow,
    pub b: &'a RunRow,
    pub wall_ns: Pair,
    pub cpu_ns: Pair,
    pub units: &'a [UnitChange],
}

impl<'a> CompareDocument<'a> {
    pub fn new(a: &'a RunRow, b: &'a RunRow, units: &'a [UnitChange]) -> CompareDocument<'a> {
        CompareDocument {
            schema: "buildscope.compare/1",
            a,
            b,
            wall_ns: Pair {
                a: a.wall_ns,
                b: b.wall_ns,
            },
            cpu_ns: Pair {
                a: a.cpu_ns,
                b: b.cpu_ns,
            },
            units,
        }
    }
}

/// `buildscope runs --experiments --json`: each experiment's own document
/// (`buildscope.experiment/1`) with where and when it ran.
#[derive(Debug, Serialize)]
pub struct ExperimentsDocument {
    pub schema: &'static str,
    pub experiments: Vec<serde_json::Value>,
}

impl ExperimentsDocument {
    pub fn new(experiments: Vec<serde_json::Value>) -> ExperimentsDocument {
        ExperimentsDocument {
            schema: "buildscope.experiments/1",
            experiments,
        }
    }
}

/// One step of a rebuilt unit's chain of reasons in `why --json`.
#[derive(Debug, Serialize)]
pub struct WhyStep<'a> {
    pub unit: usize,
    pub package: Option<&'a str>,
    pub reason: &'a RebuildReason,
}

/// A rebuilt unit and its chain to the root in `why --json`.
#[derive(Debug, Serialize)]
pub struct WhyUnit<'a> {
    pub unit: usize,
    pub package: &'a str,
    pub kind: &'a str,
    pub chain: Vec<WhyStep<'a>>,
}

/// `buildscope why --json`.
#[derive(Debug, Serialize)]
pub struct WhyDocument<'a> {
    pub schema: &'static str,
    pub run: &'a str,
    pub units: Vec<WhyUnit<'a>>,
    pub roots: Vec<RebuildRoot>,
}

impl<'a> WhyDocument<'a> {
    /// `chains`: each unit asked about, with its chain of (unit id, reason) to the root.
    pub fn new(
        run: &'a RunRecord,
        chains: &'a [(&'a Unit, Vec<(usize, RebuildReason)>)],
        roots: Vec<RebuildRoot>,
    ) -> WhyDocument<'a> {
        let package_of = |id: usize| {
            run.units
                .iter()
                .find(|u| u.id == id)
                .map(|u| u.package.as_str())
        };
        WhyDocument {
            schema: "buildscope.why/1",
            run: &run.id,
            units: chains
                .iter()
                .map(|(unit, chain)| WhyUnit {
                    unit: unit.id,
                    package: &unit.package,
                    kind: unit.kind.as_str(),
                    chain: chain
                        .iter()
                        .map(|(id, reason)| WhyStep {
                            unit: *id,
                            package: package_of(*id),
                            reason,
                        })
                        .collect(),
                })
                .collect(),
            roots,
        }
    }
}

/// `buildscope top --json`.
#[derive(Debug, Serialize)]
pub struct TopDocument<'a> {
    pub schema: &'static str,
    pub invocations: &'a [Invocation],
}

impl<'a> TopDocument<'a> {
    pub fn new(invocations: &'a [Invocation]) -> TopDocument<'a> {
        TopDocument {
            schema: "buildscope.top/1",
            invocations,
        }
    }
}

/// The one `error:` line a failed build ends with (after rustc's own diagnostics): the
/// crate that failed, else the first error, and where the partial run is kept.
pub fn build_failure_line(run: &RunRecord, workspace_root: &Path) -> String {
    let kept = run
        .run_dir
        .strip_prefix(workspace_root)
        .unwrap_or(&run.run_dir)
        .display();
    match run
        .failure
        .as_ref()
        .and_then(|f| f.package.as_ref().map(|p| (p, f)))
    {
        Some((package, failure)) => format!(
            "could not compile `{package}`{}; the partial run is kept in {kept}",
            failure
                .target
                .as_ref()
                .map(|t| format!(" ({t})"))
                .unwrap_or_default()
        ),
        None => format!(
            "the build failed ({}); the partial run is kept in {kept}",
            run.first_error()
        ),
    }
}

/// What a run was, as a heading: `/path/ws: cargo build (hot: touch src/main.rs)`.
pub fn run_heading(run: &RunRecord) -> String {
    format!(
        "{}: {} ({})\n\n",
        run.workspace_root.display(),
        run.command_line(),
        run.scenario.describe_in(&run.workspace_root)
    )
}

/// `buildscope why` for people: each unit asked about, with its chain of reasons back to
/// the root cause; with every unit, the roots' table after.
pub fn render_why(
    run: &RunRecord,
    chains: &[(&Unit, Vec<(usize, RebuildReason)>)],
    roots: Option<&[RebuildRoot]>,
    style: &Style,
) -> String {
    let name = |u: &Unit| format!("{} v{} ({})", u.package, u.version, u.kind.as_str());
    let by_id = |id: usize| run.units.iter().find(|u| u.id == id);
    let mut text = run_heading(run);
    for (unit, chain) in chains {
        text.push_str(&format!("{}\n", style.bold(&name(unit))));
        for (depth, (id, reason)) in chain.iter().enumerate() {
            let who = by_id(*id).map(name).unwrap_or_default();
            text.push_str(&match depth {
                0 => format!("  rebuilt because {}\n", describe_reason(reason)),
                _ => format!(
                    "  {}← {who}: {}\n",
                    "  ".repeat(depth - 1),
                    describe_reason(reason)
                ),
            });
        }
    }
    if let Some(roots) = roots {
        text.push_str(&crate::render_rebuild_roots(Some(roots), &run.units, style));
    }
    text
}

/// `buildscope explain --json` (`buildscope.explain/1`), and the explanation the report
/// page reads: the explanation's figures, each finding's facts with its sentences.
#[derive(Debug, Clone, Serialize)]
pub struct ExplainDocument<'a> {
    pub schema: &'static str,
    /// CPU time of the profiled crates by phase.
    pub phases: &'a Option<PhaseTimes>,
    pub crates: &'a [CratePhases],
    pub wall: &'a Option<WallBreakdown>,
    pub schedule: &'a Option<ScheduleSummary>,
    /// Ordered by `estimate_ns`, largest first.
    pub findings: Vec<FindingDocument<'a>>,
    /// What each member's dependency lines and features cost (a cold build's record).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bill: &'a Option<Bill>,
    /// The scenario's wall time by cost centre, each with the findings acting on it or a
    /// note that no lever is known (from a run record).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_centres: Option<crate::CostCentresDocument<'a>>,
    /// The wall times of the runs measured with this one (`build --runs N`), when several:
    /// an estimate below `max - min` is within their noise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runs_spread: Option<buildscope_analysis::Spread>,
    /// The run without the profiler (same scenario and settings) the estimates were
    /// replayed on, when the history had one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scaled_to: &'a Option<buildscope_analysis::ScaledTo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<Vec<VerificationDocument<'a>>>,
    /// `--verify` on a cold run: the bill's Cargo.toml changes tried by removal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proofs: Option<Vec<LeverProofDocument<'a>>>,
}

/// One Cargo.toml change tried by removal: the change, its estimate, what was measured.
#[derive(Debug, Clone, Serialize)]
pub struct LeverProofDocument<'a> {
    pub change: String,
    #[serde(flatten)]
    pub proof: &'a buildscope_analysis::LeverProof,
    pub saving_ns: Option<i64>,
    pub verdict: String,
}

impl<'a> LeverProofDocument<'a> {
    pub fn new(proof: &'a buildscope_analysis::LeverProof) -> LeverProofDocument<'a> {
        let (change, verdict) = crate::explain_view::lever_proof_text(proof);
        LeverProofDocument {
            change,
            proof,
            saving_ns: proof.saving_ns(),
            verdict,
        }
    }
}

impl<'a> ExplainDocument<'a> {
    pub fn new(e: &'a Explanation, verified: Option<&'a [Verification]>) -> ExplainDocument<'a> {
        ExplainDocument {
            schema: EXPLAIN_SCHEMA,
            phases: &e.phases,
            crates: &e.crates,
            wall: &e.wall,
            schedule: &e.schedule,
            findings: e.findings.iter().map(FindingDocument::new).collect(),
            bill: &e.bill,
            cost_centres: e.cost_centres.as_ref().map(crate::CostCentresDocument::new),
            runs_spread: e.runs_spread,
            scaled_to: &e.scaled_to,
            proofs: None,
            verification: verified.map(|v| {
                v.iter()
                    .map(|v| VerificationDocument::new(v, &e.findings))
                    .collect()
            }),
        }
    }
}

/// One finding: its sentences, its estimate, and the facts they were written from.
#[derive(Debug, Clone, Serialize)]
pub struct FindingDocument<'a> {
    pub cause: Cause,
    pub title: String,
    #[serde(rename = "crate")]
    pub crate_name: &'a Option<String>,
    pub evidence: Vec<String>,
    pub fix: String,
    pub estimate_ns: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_ns: Option<u64>,
    pub estimate_basis: String,
    /// Whose code the fix changes, when it is a change to a crate's code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: &'a Option<Owner>,
    pub facts: &'a Facts,
}

impl<'a> FindingDocument<'a> {
    pub fn new(f: &'a Finding) -> FindingDocument<'a> {
        let text = finding_text(f);
        FindingDocument {
            cause: f.cause(),
            title: text.title,
            crate_name: &f.crate_name,
            evidence: text.evidence,
            fix: text.fix,
            estimate_ns: f.estimate_ns,
            cpu_ns: f.cpu_ns,
            estimate_basis: text.basis,
            owner: &f.code_owner,
            facts: &f.facts,
        }
    }
}

/// One finding's estimate against what its setting measured (`explain --verify`).
#[derive(Debug, Clone, Serialize)]
pub struct VerificationDocument<'a> {
    /// The finding's title.
    pub finding: String,
    pub cause: Cause,
    pub estimate_ns: u64,
    pub setting: &'a Option<String>,
    pub baseline_ns: Option<u64>,
    pub with_setting_ns: Option<u64>,
    pub saving_ns: Option<i64>,
    pub comparison: Option<Comparison>,
    /// What the measurement says of the estimate, in words.
    pub verdict: String,
    /// The same, as a kind and ratio.
    pub measured: VerificationVerdict,
}

impl<'a> VerificationDocument<'a> {
    fn new(v: &'a Verification, findings: &[Finding]) -> VerificationDocument<'a> {
        VerificationDocument {
            finding: findings
                .get(v.finding)
                .map(|f| finding_text(f).title)
                .unwrap_or_default(),
            cause: v.cause,
            estimate_ns: v.estimate_ns,
            setting: &v.setting,
            baseline_ns: v.baseline_ns,
            with_setting_ns: v.with_setting_ns,
            saving_ns: v.saving_ns,
            comparison: v.comparison,
            verdict: verdict_text(&v.verdict),
            measured: v.verdict,
        }
    }
}
