//! Findings: the cause of a slow build named in Rust terms, with its evidence, a concrete
//! fix, and an estimate of the time it could save.
//!
//! Every estimate is bounded by the measured time it is derived from (the finding says
//! which), so a finding never claims more than the time it is based on. Findings are
//! ranked by that estimate.

use serde::Serialize;

use crate::phases::{phase_of, phase_times, Phase, PhaseTimes};
use crate::summary::{merge, percent_of, ProfileSummary};
use crate::timeline::{BuildTotals, CriticalPath, Unit, UnitKind};
use crate::top::Invocation;

mod backend;
mod dependencies;
mod generics;
mod items;
mod macros;
mod schedule;

use backend::{incremental_overhead, linking, llvm_dominates};
use dependencies::{dependencies_of_one_member, duplicate_dependencies};
use generics::monomorphization;
use items::pathological_item;
use macros::proc_macro_expansion;
pub use schedule::wall_breakdown;
use schedule::{critical_path_units, serializing_crate};

pub const EXPLAIN_SCHEMA: &str = "buildscope.explain/1";

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cause {
    PathologicalTraitSolving,
    PathologicalItem,
    TraitSolving,
    Monomorphization,
    LlvmDominates,
    Linking,
    SerializingCrate,
    BuildScriptOnCriticalPath,
    ProcMacroCrateOnCriticalPath,
    ProcMacroExpansion,
    IncrementalOverhead,
    DuplicateDependency,
    DependencyOfOneMember,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub cause: Cause,
    /// One line: what is slow.
    pub title: String,
    #[serde(rename = "crate")]
    pub crate_name: Option<String>,
    /// The numbers and items behind it.
    pub evidence: Vec<String>,
    /// What to do, in Rust terms.
    pub fix: String,
    /// Time it could save, at most.
    pub estimate_ns: u64,
    /// How the estimate was derived.
    pub estimate_basis: String,
}

/// LLVM IR lines of one generic function, all its copies together (the `cargo llvm-lines`
/// view).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct FunctionLines {
    /// Demangled, without generic arguments or hash: `report::render`.
    pub function: String,
    pub lines: u64,
    pub copies: u64,
}

/// What a build measured (from `buildscope build`'s run record).
#[derive(Debug, Clone, Copy)]
pub struct BuildEvidence<'a> {
    pub units: &'a [Unit],
    pub totals: &'a BuildTotals,
    pub critical_path: &'a CriticalPath,
    /// A rebuild after a touch or an edit (not a cold build).
    pub hot: bool,
    /// Linkers found on this machine, for the linking finding.
    pub installed_linkers: &'a [String],
    /// The workspace's member packages (empty when unknown).
    pub members: &'a [String],
}

/// Everything explain reasons over; profiles or a build record may be missing.
#[derive(Debug, Clone, Copy)]
pub struct ExplainInput<'a> {
    pub profiles: &'a [ProfileSummary],
    /// The longest single invocations of item-level queries ([`is_item_query`]).
    pub item_invocations: &'a [Invocation],
    /// `expand_proc_macro` invocations (with their macro and call site).
    pub proc_macro_invocations: &'a [Invocation],
    /// `symbol_name` invocations: one per instance a crate generates code for, the
    /// instance (function and generic arguments) as argument.
    pub instance_invocations: &'a [Invocation],
    /// LLVM IR lines per function of some crates, when measured: `(crate, lines)`.
    pub llvm_lines: &'a [(String, Vec<FunctionLines>)],
    pub build: Option<BuildEvidence<'a>>,
}

/// Phase times of one crate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CratePhases {
    #[serde(rename = "crate")]
    pub crate_name: String,
    pub phases: PhaseTimes,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    pub schema: &'static str,
    /// CPU time of the profiled crates by phase.
    pub phases: Option<PhaseTimes>,
    pub crates: Vec<CratePhases>,
    /// Wall time by what the build did: from the run record, when there is one.
    pub wall: Option<WallBreakdown>,
    /// Ordered by `estimate_ns`, largest first.
    pub findings: Vec<Finding>,
}

/// Where the wall-clock time of a build went, from its units.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WallBreakdown {
    pub wall_ns: u64,
    pub cores: usize,
    /// Core-time no unit used: cores × wall − busy time.
    pub waiting_core_ns: u64,
    pub build_scripts_ns: u64,
    pub proc_macros_ns: u64,
    pub linking_ns: u64,
    /// Time with exactly one unit running.
    pub serial_ns: u64,
    /// Time with fewer units running than cores (some cores waiting).
    pub fewer_units_than_cores_ns: u64,
    /// Every second of wall time by what it was spent on: each second is shared among the
    /// units running then, and a unit's share split by its profile's phases (by its kind
    /// when it was not profiled). Largest first; sums to `wall_ns`.
    pub by_phase: Vec<WallPhase>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WallPhase {
    pub what: String,
    pub wall_ns: u64,
}

/// Which per-invocation evidence a profile could contribute to a finding. Gathering it
/// costs a walk over the profile (and decoding arguments), so it is gathered only where
/// a finding could come from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvidenceNeeded {
    /// Item-level queries: a pathological item needs a crate of some size.
    pub items: bool,
    /// `expand_proc_macro` invocations.
    pub proc_macros: bool,
    /// `symbol_name` instances: monomorphization and LLVM must be a large share.
    pub instances: bool,
}

pub fn evidence_needed(profile: &ProfileSummary) -> EvidenceNeeded {
    let phases = phase_times(&profile.rows);
    let build = phases.build_ns();
    let mono_llvm = phases.of(Phase::Monomorphization)
        + phases.of(Phase::LlvmOptimization)
        + phases.of(Phase::LlvmCodegen);
    let expansion = profile
        .rows
        .iter()
        .find(|r| r.label == "expand_proc_macro")
        .map_or(0, |r| r.time_ns);
    EvidenceNeeded {
        items: build >= MATTERS_NS,
        proc_macros: expansion >= MATTERS_NS / 10,
        instances: mono_llvm >= MATTERS_NS && mono_llvm as f64 >= 0.4 * build as f64,
    }
}

/// Queries about one item (a function, a type, an obligation): where one pathological
/// item shows. Crate-wide activities (`analysis`, `type_check_crate`) are not.
pub fn is_item_query(label: &str) -> bool {
    matches!(
        phase_of(label).0,
        Phase::TraitSolving | Phase::TypeChecking | Phase::BorrowChecking
    ) && !matches!(
        label,
        "analysis" | "type_check_crate" | "MIR_borrow_checking" | "misc_checking_1"
    )
}

/// A share below this is not worth a finding (of a crate's CPU time).
const DOMINATES: f64 = 0.2;
/// Time below this is not worth a finding.
const MATTERS_NS: u64 = 50_000_000;

pub fn explain(input: &ExplainInput) -> Explanation {
    let merged = (!input.profiles.is_empty()).then(|| merge(input.profiles));
    let phases = merged.as_ref().map(|m| phase_times(&m.rows));
    let crates: Vec<CratePhases> = merged
        .as_ref()
        .map(|m| {
            m.crates
                .iter()
                .map(|c| CratePhases {
                    crate_name: c.crate_name.clone(),
                    phases: phase_times(&c.rows),
                })
                .collect()
        })
        .unwrap_or_default();
    let wall = input.build.map(|b| wall_breakdown(b, &crates));
    let mut findings = Vec::new();
    for krate in &crates {
        findings.extend(
            pathological_item(krate, input.item_invocations).map(|mut finding| {
                finding.fix = Owner::of(input.build, &krate.crate_name).fix_for_code(finding.fix);
                finding
            }),
        );
        let lines = input
            .llvm_lines
            .iter()
            .find(|(c, _)| *c == krate.crate_name)
            .map(|(_, l)| l.as_slice());
        let owner = Owner::of(input.build, &krate.crate_name);
        findings.extend(monomorphization(
            krate,
            input.instance_invocations,
            lines,
            &owner,
        ));
    }
    if let Some(phases) = &phases {
        // Time a monomorphization finding explains is not claimed again.
        let explained: Vec<&str> = findings
            .iter()
            .filter(|f| f.cause == Cause::Monomorphization)
            .filter_map(|f| f.crate_name.as_deref())
            .collect();
        let rest: Vec<CratePhases> = crates
            .iter()
            .filter(|c| !explained.contains(&c.crate_name.as_str()))
            .cloned()
            .collect();
        findings.extend(llvm_dominates(phases, &rest, input.build));
        findings.extend(incremental_overhead(phases, &crates, input.build));
    }
    findings.extend(proc_macro_expansion(
        input.proc_macro_invocations,
        &crates,
        input.build,
    ));
    if let Some(build) = input.build {
        findings.extend(linking(build));
        // In a rebuild only the edited crates compile: idle cores are not the cause.
        if !build.hot {
            findings.extend(serializing_crate(build, &crates));
        }
        findings.extend(critical_path_units(build));
        findings.extend(duplicate_dependencies(build));
        findings.extend(dependencies_of_one_member(build));
    }
    findings.sort_by(|a, b| {
        b.estimate_ns
            .cmp(&a.estimate_ns)
            .then(a.title.cmp(&b.title))
    });
    Explanation {
        schema: EXPLAIN_SCHEMA,
        phases,
        crates,
        wall,
        findings,
    }
}

/// Whose code a crate is, which decides what a fix in it can be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Owner {
    /// A workspace member: the user's code.
    Member,
    /// A dependency; `hot` when the run measured a rebuild.
    Dependency { package: String, hot: bool },
    /// No run record to tell.
    Unknown,
}

impl Owner {
    pub(super) fn of(build: Option<BuildEvidence>, crate_name: &str) -> Owner {
        let Some(build) = build.filter(|b| !b.members.is_empty()) else {
            return Owner::Unknown;
        };
        let unit = build.units.iter().find(|u| {
            u.target.replace('-', "_") == crate_name && u.kind != UnitKind::BuildScriptRun
        });
        match unit {
            Some(u) if build.members.contains(&u.package) => Owner::Member,
            Some(u) => Owner::Dependency {
                package: u.package.clone(),
                hot: build.hot,
            },
            None => Owner::Unknown,
        }
    }

    /// The fix for a problem in the crate's code: as it is for the user's own code; for a
    /// dependency, what the user controls instead.
    pub(super) fn fix_for_code(&self, code_fix: String) -> String {
        match self {
            Owner::Member | Owner::Unknown => code_fix,
            Owner::Dependency { package, hot } => format!(
                "`{package}` is a dependency: its code is not yours to change{}. What you control: its features (turn off what you do not use), its version (a newer release may be lighter), a lighter alternative or whether you need it at all, and how it is built (`[profile.dev.package.{package}]` settings).",
                if *hot {
                    ""
                } else {
                    ", and it is compiled once and cached, so it costs cold builds only: the edit-rebuild loop does not recompile it (`buildscope build --touch` on your own file measures that loop)"
                }
            ),
        }
    }
}

pub(super) fn secs(ns: u64) -> String {
    let s = ns as f64 / 1e9;
    if s >= 10.0 {
        format!("{s:.1} s")
    } else if s >= 0.1 {
        format!("{s:.2} s")
    } else {
        format!("{:.1} ms", ns as f64 / 1e6)
    }
}

/// Shortens a type or item for a line of evidence, keeping both ends.
pub(super) fn short(text: &str, max: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= max {
        return text.to_string();
    }
    let head: String = chars[..max * 2 / 3].iter().collect();
    let tail: String = chars[chars.len() - max / 3..].iter().collect();
    format!("{head}…{tail}")
}
