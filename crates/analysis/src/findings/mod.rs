//! Findings: the cause of a slow build named in Rust terms, with its evidence, a concrete
//! fix, and an estimate of the time it could save.
//!
//! Every estimate is bounded by the measured time it is derived from (the finding says
//! which), so a finding never claims more than the time it is based on. Findings are
//! ranked by that estimate.

use serde::Serialize;

use crate::bill::{Bill, Manifests, UnusedDependency};
use crate::phases::{phase_of, phase_times, Phase, PhaseTime, PhaseTimes};
use crate::rebuild::UnitReason;
use crate::schedule::{schedule_summary, wall_saving, ScheduleSummary, UnitTime};
use crate::settings::{SettingDifference, WarmUp};
use crate::summary::{merge, ProfileSummary};
use crate::timeline::{BuildTotals, CriticalPath, Unit, UnitKind};
use crate::top::Invocation;

mod backend;
mod cost_centres;
mod dependencies;
mod facts;
mod generics;
mod items;
mod macros;
mod rebuilds;
mod schedule;
mod verify;

use backend::{
    few_codegen_units, incremental_in_cold_build, incremental_savings, linking, llvm_dominates,
    unprofiled_units, whole_crate_rework,
};
pub use cost_centres::{cost_centres, BroughtIn, Centre, CostCentre, CostCentres, CENTRE_SHARE};
use dependencies::{dependencies_of_one_member, duplicate_dependencies};
pub use facts::{
    is_slow_linker, Cascade, Extrapolated, Facts, GenericCopies, OlderCopy, QueryCall, Replay,
    RerunCause, Timed,
};
use generics::monomorphization;
use items::pathological_item;
use macros::proc_macro_expansion;
use rebuilds::rebuild_findings;
pub use schedule::wall_breakdown;
use schedule::{critical_path_units, serializing_crate};
pub use verify::{settings_to_try, verifications, Verification, VerificationVerdict};

pub const EXPLAIN_SCHEMA: &str = "buildscope.explain/1";

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cause {
    PathologicalTraitSolving,
    PathologicalItem,
    Monomorphization,
    LlvmDominates,
    Linking,
    SerializingCrate,
    BuildScriptOnCriticalPath,
    ProcMacroCrateOnCriticalPath,
    ProcMacroExpansion,
    /// Work an edited crate redoes whole on every edit (a split would halve it).
    WholeCrateRework,
    /// Incremental state written in a build from scratch (CI, release) that never reuses it.
    IncrementalInColdBuild,
    /// A profile's `codegen-units` leaves cores idle during a crate's code generation.
    FewCodegenUnits,
    DuplicateDependency,
    /// The same version of crates compiled again for build scripts or proc macros.
    HostCopies,
    DependencyOfOneMember,
    /// A dependency line rustc finds unused.
    UnusedDependency,
    /// A build script cargo reruns on every rebuild.
    BuildScriptReruns,
    /// An environment variable a crate depends on changed between builds.
    ChangingEnvironmentVariable,
    /// One edited crate rebuilt many that depend on it.
    EditCascade,
    /// Builds with different settings take turns in one target directory.
    SettingsThrash,
}

/// A cause found in a build, as facts: output writes its sentences.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// What was found, with its numbers and names.
    pub facts: Facts,
    /// The crate or package it is about.
    pub crate_name: Option<String>,
    /// Whose code the fix would change, when the fix is a change to that crate's code: a
    /// dependency's finding then names what its user controls instead.
    pub code_owner: Option<Owner>,
    /// Time it could save, at most: wall time in the scenario the run measured (a replay of
    /// its schedule with the fix's effect), or CPU time when only profiles were given.
    pub estimate_ns: u64,
    /// The CPU time the fix removes, when the finding is about CPU (its wall-time effect,
    /// `estimate_ns`, is smaller when other work runs in parallel).
    pub cpu_ns: Option<u64>,
    /// How the estimate became wall time, when it was replayed on the run's schedule.
    pub replay: Option<Replay>,
}

impl Finding {
    fn new(facts: Facts, crate_name: Option<String>, estimate_ns: u64) -> Finding {
        Finding {
            facts,
            crate_name,
            code_owner: None,
            estimate_ns,
            cpu_ns: None,
            replay: None,
        }
    }

    fn owned_by(mut self, owner: Owner) -> Finding {
        self.code_owner = Some(owner);
        self
    }

    pub fn cause(&self) -> Cause {
        self.facts.cause()
    }
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
    /// Packages from a local path that are not members: code the user may well own.
    pub path_dependencies: &'a [String],
    /// Why each unit rebuilt, when recorded.
    pub rebuild_reasons: Option<&'a [UnitReason]>,
    /// How this build's settings differ from the previous build's into its target
    /// directory (empty: the same, or unknown).
    pub setting_changes: &'a [SettingDifference],
    /// What the warm-up before a hot run compiled.
    pub warm_up: Option<WarmUp>,
    /// Units a compiler cache served (not compiled): no finding names them as a cause.
    pub cached_units: &'a [usize],
    /// What the manifests declare (`cargo metadata`), when known: the bill's kinds and
    /// features.
    pub manifests: Option<&'a Manifests>,
    /// The members' dependency lines rustc found unused, when looked for.
    pub unused: Option<&'a [UnusedDependency]>,
    /// A run of the same scenario without the profiler, when the history has one: the
    /// estimates are replayed on its units, each cut scaled by how much faster the unit ran
    /// there (self-profiling slowed query-heavy crates 2.3x in a planted build).
    pub unprofiled: Option<Unprofiled<'a>>,
}

/// The run of the same scenario without the profiler that estimates are scaled to.
#[derive(Debug, Clone, Copy)]
pub struct Unprofiled<'a> {
    pub run_id: &'a str,
    pub units: &'a [Unit],
    pub wall_ns: u64,
}

/// What explain's estimates were scaled to: a run without the profiler.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScaledTo {
    pub run_id: String,
    /// Its wall time and the profiled run's.
    pub wall_ns: u64,
    pub profiled_wall_ns: u64,
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
    /// Parsing what derive macros produced (`expand_derive_proc_macro_outer`'s own time):
    /// the derives' cost beyond running the macros.
    pub derive_output_ns: u64,
    /// The codegen units rustc cut the crate's code into (`codegen_module` events).
    pub codegen_units_made: u64,
}

impl CratePhases {
    /// One crate's phases from its profile's rows.
    pub fn of(crate_name: &str, rows: &[crate::summary::LabelStats]) -> CratePhases {
        CratePhases {
            crate_name: crate_name.to_string(),
            phases: phase_times(rows),
            derive_output_ns: rows
                .iter()
                .filter(|r| r.label == "expand_derive_proc_macro_outer")
                .map(|r| r.self_time_ns)
                .sum(),
            codegen_units_made: rows
                .iter()
                .filter(|r| r.label == "codegen_module")
                .map(|r| r.count)
                .sum(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    pub schema: &'static str,
    /// CPU time of the profiled crates by phase.
    pub phases: Option<PhaseTimes>,
    pub crates: Vec<CratePhases>,
    /// Wall time by what the build did: from the run record, when there is one.
    pub wall: Option<WallBreakdown>,
    /// What bounds the wall time, and the build on other core counts: a replay of the
    /// run's schedule (from the run record, when there is one).
    pub schedule: Option<ScheduleSummary>,
    /// Ordered by `estimate_ns`, largest first.
    pub findings: Vec<Finding>,
    /// What each member's dependency lines and features cost (from the run record).
    pub bill: Option<Bill>,
    /// The scenario's wall time by cost centre, each tied to the findings that act on it
    /// (from the run record).
    pub cost_centres: Option<CostCentres>,
    /// The wall times of the runs measured with this one (`--runs N`), when there were
    /// several: a saving smaller than their spread is within the noise. Set by the caller,
    /// which knows the history.
    pub runs_spread: Option<crate::stats::Spread>,
    /// The unprofiled run the estimates were scaled to, if any.
    pub scaled_to: Option<ScaledTo>,
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
    let mono_llvm = phases.of(Phase::Monomorphization) + phases.llvm_ns();
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

/// The least saving worth a maintainer's change, and so a finding: 20 ms, or 1% of the
/// time measured (the scenario's wall time; the profiles' CPU time without a run), whichever
/// is more. A true finding below it ("could save up to 876 µs" on a 22 s build) is noise to
/// the reader.
pub fn floor_ns(measured_ns: u64) -> u64 {
    (measured_ns / 100).max(20_000_000)
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
                .map(|c| CratePhases::of(&c.crate_name, &c.rows))
                .collect()
        })
        .unwrap_or_default();
    let wall = input.build.map(|b| wall_breakdown(b, &crates));
    let schedule = input
        .build
        .map(|b| schedule_summary(b.units, b.totals.wall_ns, b.totals.cores));
    let mut findings = Vec::new();
    for krate in &crates {
        findings.extend(
            pathological_item(krate, input.item_invocations)
                .map(|finding| finding.owned_by(Owner::of(input.build, &krate.crate_name))),
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
    // Before the whole-crate work: the time a macro's finding explains is not claimed again.
    findings.extend(proc_macro_expansion(
        input.proc_macro_invocations,
        &crates,
        input.build,
    ));
    if let Some(phases) = &phases {
        // Time a monomorphization finding explains is not claimed again.
        let explained: Vec<&str> = findings
            .iter()
            .filter(|f| f.cause() == Cause::Monomorphization)
            .filter_map(|f| f.crate_name.as_deref())
            .collect();
        let rest: Vec<CratePhases> = crates
            .iter()
            .filter(|c| !explained.contains(&c.crate_name.as_str()))
            .cloned()
            .collect();
        findings.extend(llvm_dominates(phases, &crates, &rest, input.build));
        findings.extend(incremental_in_cold_build(phases, &crates, input.build));
        findings.extend(few_codegen_units(&crates, input.build));
        findings.extend(
            whole_crate_rework(phases, &crates, input.build, &claimed_by_macros(&findings))
                .map(|f| {
                    let owner = Owner::of(input.build, f.crate_name.as_deref().unwrap_or(""));
                    f.owned_by(owner)
                })
                .filter(|f| matches!(f.code_owner, Some(Owner::Member) | Some(Owner::Unknown))),
        );
    }
    if let Some(build) = input.build {
        findings.extend(linking(build));
        // In a rebuild only the edited crates compile: idle cores are not the cause.
        if !build.hot {
            findings.extend(serializing_crate(build, &crates));
        }
        findings.extend(critical_path_units(build));
        findings.extend(duplicate_dependencies(build));
        findings.extend(dependencies_of_one_member(build));
        findings.extend(rebuild_findings(build));
    }
    // A rebuild compiles no dependency: the bill is a cold build's.
    let mut bill = input
        .build
        .filter(|b| !b.members.is_empty() && !b.hot)
        .map(|b| {
            crate::bill::bill(
                b.units,
                b.members,
                b.manifests,
                b.totals.cores,
                b.totals.wall_ns,
            )
        });
    if let (Some(bill), Some(unused)) = (&mut bill, input.build.and_then(|b| b.unused)) {
        crate::bill::mark_unused(bill, unused);
        findings.extend(unused_lines(bill));
    }
    if let Some(build) = input.build {
        for finding in &mut findings {
            in_wall_time(finding, build, &crates);
        }
    }
    let measured = match (input.build, &phases) {
        (Some(build), _) => build.totals.wall_ns,
        (None, Some(phases)) => phases.build_ns(),
        (None, None) => 0,
    };
    // What falls under the floor still tells a cost centre that its lever is too small here.
    let (mut findings, under_floor): (Vec<Finding>, Vec<Finding>) = findings
        .into_iter()
        .partition(|f| f.estimate_ns >= floor_ns(measured));
    // Largest saving first; of two alike (within a tenth), specific evidence (one item,
    // one crate, one unit) before a rule of thumb.
    findings.sort_by(|a, b| {
        let key = |f: &Finding| (f.estimate_ns as f64).log(1.1).floor() as i64;
        key(b)
            .cmp(&key(a))
            .then(is_rule_of_thumb(a).cmp(&is_rule_of_thumb(b)))
            .then(b.estimate_ns.cmp(&a.estimate_ns))
            .then(a.cause().cmp(&b.cause()))
            .then(a.crate_name.cmp(&b.crate_name))
    });
    if let Some(bill) = &bill {
        for finding in &mut findings {
            name_the_line(finding, bill);
        }
    }
    let cost_centres = input.build.map(|build| {
        let mut centres = cost_centres(build, &crates);
        cost_centres::attach_findings(&mut centres, &findings, &under_floor);
        if let Some(bill) = &bill {
            cost_centres::attach_provenance(&mut centres, bill, build);
        }
        centres
    });
    Explanation {
        schema: EXPLAIN_SCHEMA,
        phases,
        crates,
        wall,
        schedule,
        findings,
        bill,
        cost_centres,
        runs_spread: None,
        scaled_to: input.build.and_then(|b| {
            let u = b.unprofiled?;
            Some(ScaledTo {
                run_id: u.run_id.to_string(),
                wall_ns: u.wall_ns,
                profiled_wall_ns: b.totals.wall_ns,
            })
        }),
    }
}

/// The CPU time proc-macro findings claim, by crate (estimates are still CPU time here).
fn claimed_by_macros(findings: &[Finding]) -> Vec<(String, u64)> {
    findings
        .iter()
        .filter(|f| f.cause() == Cause::ProcMacroExpansion)
        .filter_map(|f| f.crate_name.clone().map(|c| (c, f.estimate_ns)))
        .collect()
}

/// An unused dependency line, priced by what removing it saves.
fn unused_lines(bill: &Bill) -> Vec<Finding> {
    bill.lines
        .iter()
        .filter(|l| l.unused)
        .map(|l| {
            let facts = Facts::UnusedDependency {
                member: l.member.clone(),
                package: l.package.clone(),
                kind: l.kind,
                crates: l.price.units,
                unit_ns: l.price.unit_ns,
            };
            Finding::new(facts, Some(l.package.clone()), l.price.wall_saving_ns)
        })
        .collect()
}

/// A build script or proc-macro crate on the critical path: the member's line or feature
/// that alone brings its package into the build, the user's lever (a feature before a line:
/// it is the smaller change).
fn name_the_line(finding: &mut Finding, bill: &Bill) {
    let (Facts::BuildScriptOnCriticalPath {
        package,
        brought_in_by,
        ..
    }
    | Facts::ProcMacroCrateOnCriticalPath {
        package,
        brought_in_by,
        ..
    }
    | Facts::DuplicateDependency {
        puller: package,
        brought_in_by,
        ..
    }) = &mut finding.facts
    else {
        return;
    };
    *brought_in_by = lever_that_takes_out(bill, package).map(|(words, _)| words);
}

/// The member's line or feature whose removal alone takes `package` out of the build, in
/// words, with its price: the most specific first (a named feature, then default features,
/// then a line: the smaller change).
pub(crate) fn lever_that_takes_out<'b>(
    bill: &'b Bill,
    package: &str,
) -> Option<(String, &'b crate::bill::Price)> {
    let brings = |price: &crate::bill::Price| price.packages.iter().any(|p| p.package == package);
    let feature = bill
        .features
        .iter()
        .filter(|f| brings(&f.price))
        .min_by_key(|f| (f.feature == "default", f.price.units));
    feature
        .map(|f| {
            let words = match (f.member == f.package, f.feature.as_str()) {
                (true, "default") => format!("`{}`'s default features", f.member),
                (true, own) => format!(
                    "`{}`'s own feature `{own}`{}",
                    f.member,
                    if f.in_default {
                        " (a default feature)"
                    } else {
                        ""
                    }
                ),
                (false, "default") => format!(
                    "{} (its default features)",
                    crate::bill::line_name(&f.member, &f.package)
                ),
                (false, other) => format!(
                    "{} (its feature `{other}`)",
                    crate::bill::line_name(&f.member, &f.package)
                ),
            };
            (words, &f.price)
        })
        .or_else(|| {
            bill.lines
                .iter()
                .find(|l| brings(&l.price))
                .map(|l| (crate::bill::line_name(&l.member, &l.package), &l.price))
        })
}

/// A finding whose estimate is a general rule rather than this build's own evidence.
fn is_rule_of_thumb(f: &Finding) -> bool {
    matches!(f.cause(), Cause::LlvmDominates | Cause::WholeCrateRework)
}

/// Which part of a unit a fix shortens: before its metadata is ready (dependents that
/// pipeline start earlier too) or after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    FrontEnd,
    BackEnd,
}

/// Turns a finding's estimate into wall time in the measured scenario: its units shortened
/// by the fix's effect, the run's schedule replayed with and without, the difference; CPU
/// kept apart. Never more than the wall time.
fn in_wall_time(finding: &mut Finding, build: BuildEvidence, crates: &[CratePhases]) {
    let wall = build.totals.wall_ns;
    // (crate, cut, part, whether the cut is CPU time to convert to the unit's wall time).
    let cuts: Vec<(String, u64, Part, bool)> = match finding.cause() {
        Cause::PathologicalTraitSolving
        | Cause::PathologicalItem
        | Cause::ProcMacroExpansion
        | Cause::WholeCrateRework => finding
            .crate_name
            .iter()
            .map(|c| (c.clone(), finding.estimate_ns, Part::FrontEnd, true))
            .collect(),
        Cause::Monomorphization => finding
            .crate_name
            .iter()
            .map(|c| (c.clone(), finding.estimate_ns, Part::BackEnd, true))
            .collect(),
        // LLVM on as many threads as codegen units: its CPU time is the unit's wall time.
        Cause::FewCodegenUnits => finding
            .crate_name
            .iter()
            .map(|c| (c.clone(), finding.estimate_ns, Part::BackEnd, false))
            .collect(),
        // Every crate's bookkeeping.
        Cause::IncrementalInColdBuild => incremental_savings(crates, build.units)
            .map(|(c, saving)| (c.crate_name.clone(), saving.total(), Part::BackEnd, true))
            .filter(|cut| cut.1 > 0)
            .collect(),
        // A third of every crate's LLVM time, the crates without a profile at the
        // profiled crates' share of their CPU.
        Cause::LlvmDominates => {
            let share = match &finding.facts {
                Facts::LlvmDominates {
                    unprofiled: Some(u),
                    ..
                } => u.llvm_ns as f64 / u.cpu_ns.max(1) as f64,
                _ => 0.0,
            };
            let unprofiled = unprofiled_units(build, crates)
                .into_iter()
                .map(|t| (t.name, (t.ns as f64 * share) as u64));
            crates
                .iter()
                .map(|c| (c.crate_name.clone(), c.phases.llvm_ns()))
                .chain(unprofiled)
                .map(|(krate, llvm)| (krate, llvm / 3, Part::BackEnd, true))
                .collect()
        }
        Cause::Linking => finding
            .crate_name
            .iter()
            .map(|c| {
                (
                    c.replace('-', "_"),
                    finding.estimate_ns,
                    Part::BackEnd,
                    false,
                )
            })
            .collect(),
        Cause::SerializingCrate => finding
            .crate_name
            .iter()
            .map(|c| {
                (
                    c.replace('-', "_"),
                    finding.estimate_ns,
                    Part::FrontEnd,
                    false,
                )
            })
            .collect(),
        // Already wall time on the measured timeline.
        _ => {
            finding.estimate_ns = finding.estimate_ns.min(wall);
            return;
        }
    };
    // The schedule to replay: the unprofiled run's when there is one, each cut scaled by
    // how much faster its unit ran there (the link is not slowed by the profiler).
    let (replayed, replayed_wall): (&[Unit], u64) = match build.unprofiled {
        Some(u) => (u.units, u.wall_ns),
        None => (build.units, wall),
    };
    let scales = finding.cause() != Cause::Linking;
    let mut times: Vec<UnitTime> = replayed.iter().map(UnitTime::of).collect();
    let mut touched = false;
    // What the fix removes from the units: no replay may save more wall time than that.
    let mut removed = 0u64;
    for (krate, cut, part, is_cpu) in cuts {
        let units: Vec<usize> = (0..build.units.len())
            .filter(|&i| build.units[i].compiles_crate(&krate))
            .collect();
        let total: u64 = units.iter().map(|&i| build.units[i].duration_ns()).sum();
        for i in units {
            let unit = &build.units[i];
            let duration = unit.duration_ns();
            // This unit's part of the cut; CPU time becomes wall time at the unit's own
            // ratio (LLVM runs several threads: more CPU than wall).
            let mut unit_cut = (cut as f64 * duration as f64 / total.max(1) as f64) as u64;
            if is_cpu {
                let cpu = unit.cpu_ns.unwrap_or(duration).max(duration);
                unit_cut = (unit_cut as f64 * duration as f64 / cpu.max(1) as f64) as u64;
            }
            // The same unit in the replayed run.
            let j = if build.unprofiled.is_some() {
                match replayed
                    .iter()
                    .position(|r| r.identity() == unit.identity())
                {
                    Some(j) => j,
                    None => continue,
                }
            } else {
                i
            };
            if scales && build.unprofiled.is_some() {
                let there = replayed[j].duration_ns();
                unit_cut = (unit_cut as f64 * there as f64 / duration.max(1) as f64) as u64;
            }
            removed += unit_cut;
            times[j] = match part {
                Part::FrontEnd => times[j].without_front_end(unit_cut),
                Part::BackEnd => times[j].without_back_end(unit_cut),
            };
            touched = true;
        }
    }
    let saving = if touched {
        wall_saving(replayed, &times, build.totals.cores)
            .min(replayed_wall)
            .min(removed)
    } else {
        0
    };
    let is_cpu = !matches!(finding.cause(), Cause::Linking | Cause::SerializingCrate);
    if is_cpu {
        finding.cpu_ns = Some(finding.estimate_ns);
    }
    finding.replay = Some(Replay {
        shortened: finding
            .crate_name
            .clone()
            .filter(|_| finding.cause() != Cause::LlvmDominates),
        cpu: is_cpu,
        unprofiled: build.unprofiled.is_some(),
    });
    finding.estimate_ns = saving;
}

/// Whose code a crate is, which decides what a fix in it can be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "owner", rename_all = "kebab-case")]
pub enum Owner {
    /// A workspace member: the user's code.
    Member,
    /// A dependency; `hot` when the run measured a rebuild; `path` when it comes from a
    /// local path outside the workspace (it may be the user's own).
    Dependency {
        package: String,
        hot: bool,
        path: bool,
    },
    /// No run record to tell.
    Unknown,
}

impl Owner {
    pub(super) fn of(build: Option<BuildEvidence>, crate_name: &str) -> Owner {
        let Some(build) = build.filter(|b| !b.members.is_empty()) else {
            return Owner::Unknown;
        };
        let unit = build.units.iter().find(|u| u.compiles_crate(crate_name));
        match unit {
            Some(u) => Owner::of_package(Some(build), &u.package),
            None => Owner::Unknown,
        }
    }

    pub(super) fn of_package(build: Option<BuildEvidence>, package: &str) -> Owner {
        match build.filter(|b| !b.members.is_empty()) {
            None => Owner::Unknown,
            Some(b) if b.members.iter().any(|m| m == package) => Owner::Member,
            Some(b) => Owner::Dependency {
                package: package.to_string(),
                hot: b.hot,
                path: b.path_dependencies.iter().any(|p| p == package),
            },
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::timeline::tests::unit as lib_unit;

    const MS: u64 = 1_000_000;

    /// A run of `units` on `cores`, its wall time the last unit's end (the detectors'
    /// tests build theirs with it too).
    pub(super) struct Run {
        units: Vec<Unit>,
        totals: BuildTotals,
        path: CriticalPath,
    }

    impl Run {
        pub(super) fn of(units: Vec<Unit>, cores: usize) -> Run {
            let wall = units.iter().map(|u| u.end_ns).max().unwrap_or(0);
            Run {
                totals: crate::timeline::build_totals(&units, wall, cores),
                path: crate::timeline::critical_path(&units, wall),
                units,
            }
        }

        pub(super) fn evidence<'a>(&'a self, members: &'a [String]) -> BuildEvidence<'a> {
            BuildEvidence {
                unprofiled: None,
                units: &self.units,
                totals: &self.totals,
                critical_path: &self.path,
                hot: false,
                installed_linkers: &[],
                members,
                path_dependencies: &[],
                rebuild_reasons: None,
                setting_changes: &[],
                warm_up: None,
                cached_units: &[],
                manifests: None,
                unused: None,
            }
        }
    }

    fn phases_with(llvm_ms: u64, typeck_ms: u64) -> PhaseTimes {
        let row = |label: &str, ns: u64| crate::summary::LabelStats {
            label: label.into(),
            self_time_ns: ns,
            time_ns: ns,
            count: 1,
            ..Default::default()
        };
        phase_times(&[
            row("LLVM_module_codegen_emit_obj", llvm_ms * MS),
            row("typeck", typeck_ms * MS),
        ])
    }

    /// A finding as explain leaves it for a build of `units` on `cores`.
    fn explained(
        units: &[Unit],
        members: &[String],
        cores: usize,
        crates: &[CratePhases],
        finding: Finding,
    ) -> Finding {
        let run = Run::of(units.to_vec(), cores);
        let mut finding = finding;
        in_wall_time(&mut finding, run.evidence(members), crates);
        finding
    }

    /// A finding of `cause` about `krate`, its facts empty but for the crate.
    fn finding(cause: Cause, krate: &str, estimate_ns: u64) -> Finding {
        let query = QueryCall {
            query: "typeck".into(),
            argument: "f".into(),
            ns: estimate_ns,
        };
        let facts = match cause {
            Cause::Monomorphization => Facts::Monomorphization {
                krate: krate.into(),
                crate_ns: 0,
                mono_ns: 0,
                llvm_ns: 0,
                top: GenericCopies {
                    function: "f".into(),
                    copies: 2,
                    default_method_of: None,
                },
                attributed: 2,
                instances: 2,
                largest: Vec::new(),
                foreign: Vec::new(),
                llvm_lines: None,
            },
            Cause::PathologicalItem => Facts::PathologicalItem {
                krate: krate.into(),
                crate_ns: 0,
                item: query,
                own_share: 1.0,
                inference: false,
            },
            Cause::DuplicateDependency => Facts::DuplicateDependency {
                puller: krate.into(),
                puller_version: "1.0.0".into(),
                puller_is_member: false,
                path: Vec::new(),
                copies: Vec::new(),
                brought_in_by: None,
            },
            other => unimplemented!("{other:?}"),
        };
        Finding::new(facts, Some(krate.into()), estimate_ns)
    }

    #[test]
    fn estimates_are_scaled_to_a_run_without_the_profiler() {
        // Profiled, `big` took 1000 ms; without the profiler 400 ms. Cutting 300 ms of its
        // profiled time saves 120 ms of the build without the profiler.
        let profiled = Run::of(vec![lib_unit(0, "big", 0, 1000 * MS, &[])], 2);
        let plain = vec![lib_unit(0, "big", 0, 400 * MS, &[])];
        let crates = vec![CratePhases {
            crate_name: "big".into(),
            phases: phases_with(600, 400),
            derive_output_ns: 0,
            codegen_units_made: 0,
        }];
        let mut finding = finding(Cause::PathologicalItem, "big", 300 * MS);
        let members = ["big".to_string()];
        let build = BuildEvidence {
            unprofiled: Some(Unprofiled {
                run_id: "plain",
                units: &plain,
                wall_ns: 400 * MS,
            }),
            ..profiled.evidence(&members)
        };
        in_wall_time(&mut finding, build, &crates);
        assert_eq!(finding.estimate_ns, 120 * MS);
    }

    #[test]
    fn a_cpu_estimate_becomes_wall_time_and_never_exceeds_the_wall() {
        // Two crates in parallel on 2 cores: `big` 1000 ms, `small` 400 ms.
        let units = vec![
            lib_unit(0, "big", 0, 1000 * MS, &[]),
            lib_unit(1, "small", 0, 400 * MS, &[]),
        ];
        let crates = vec![
            CratePhases {
                crate_name: "big".into(),
                phases: phases_with(600, 400),
                derive_output_ns: 0,
                codegen_units_made: 0,
            },
            CratePhases {
                crate_name: "small".into(),
                phases: phases_with(200, 200),
                derive_output_ns: 0,
                codegen_units_made: 0,
            },
        ];
        let members = vec!["big".to_string(), "small".to_string()];
        // Cutting 300 ms of `small` saves no wall time: `big` still takes 1000 ms.
        let f = explained(
            &units,
            &members,
            2,
            &crates,
            finding(Cause::Monomorphization, "small", 300 * MS),
        );
        assert_eq!(f.estimate_ns, 0);
        assert_eq!(f.cpu_ns, Some(300 * MS));
        // Cutting 300 ms of `big` saves 300 ms.
        let f = explained(
            &units,
            &members,
            2,
            &crates,
            finding(Cause::PathologicalItem, "big", 300 * MS),
        );
        assert_eq!(f.estimate_ns, 300 * MS);
        assert_eq!(
            f.replay,
            Some(Replay {
                shortened: Some("big".into()),
                cpu: true,
                unprofiled: false,
            })
        );
        // A claim of more CPU than the build's wall time is held to the wall time.
        let f = explained(
            &units,
            &members,
            1,
            &crates,
            finding(Cause::Monomorphization, "big", 40_000 * MS),
        );
        assert!(f.estimate_ns <= 1400 * MS, "{}", f.estimate_ns);
        let f = explained(
            &units,
            &members,
            2,
            &crates,
            finding(Cause::DuplicateDependency, "big", 40_000 * MS),
        );
        assert_eq!(f.estimate_ns, 1000 * MS);
    }

    #[test]
    fn a_finding_under_the_floor_is_not_printed() {
        assert_eq!(floor_ns(500 * MS), 20 * MS);
        assert_eq!(floor_ns(10_000 * MS), 100 * MS);
        // Two versions of `dup` of 30 ms each, one after the other on one core, then the
        // member; the build's length varies.
        let explained = |wall_ms: u64| {
            let mut units = vec![
                lib_unit(0, "dup", 0, 30 * MS, &[]),
                lib_unit(1, "dup", 30 * MS, 60 * MS, &[]),
                lib_unit(2, "app", 60 * MS, wall_ms * MS, &[0, 1]),
            ];
            units[1].version = "2.0.0".into();
            let run = Run::of(units, 1);
            let members = ["app".to_string()];
            let input = ExplainInput {
                profiles: &[],
                item_invocations: &[],
                proc_macro_invocations: &[],
                instance_invocations: &[],
                llvm_lines: &[],
                build: Some(run.evidence(&members)),
            };
            explain(&input)
                .findings
                .iter()
                .filter(|f| f.cause() == Cause::DuplicateDependency)
                .count()
        };
        assert_eq!(explained(1_000), 1, "30 ms of a 1 s build");
        assert_eq!(explained(10_000), 0, "30 ms of a 10 s build");
    }

    #[test]
    fn a_project_of_one_crate_is_not_told_that_its_crate_serializes_the_build() {
        // A dependency, then the project's one crate alone for most of the build.
        let units = vec![
            lib_unit(0, "dep", 0, 100 * MS, &[]),
            lib_unit(1, "app", 100 * MS, 2000 * MS, &[0]),
        ];
        let run = Run::of(units, 2);
        let one = ["app".to_string()];
        let two = ["app".to_string(), "lib2".to_string()];
        assert!(serializing_crate(run.evidence(&one), &[]).is_none());
        assert!(serializing_crate(run.evidence(&two), &[]).is_some());
    }

    #[test]
    fn a_dependencys_finding_never_asks_to_edit_the_dependency() {
        // A dependency compiling alone for most of a cold build, then the user's crate.
        let units = vec![
            lib_unit(0, "regex", 0, 1800 * MS, &[]),
            lib_unit(1, "app", 1800 * MS, 2000 * MS, &[0]),
            lib_unit(2, "helper", 1800 * MS, 1900 * MS, &[0]),
        ];
        let run = Run::of(units, 2);
        let members = vec!["app".to_string(), "helper".to_string()];
        let build = run.evidence(&members);
        let finding = serializing_crate(build, &[]).expect("regex compiles alone");
        assert_eq!(
            finding.code_owner,
            Some(Owner::Dependency {
                package: "regex".into(),
                hot: false,
                path: false
            })
        );
        // The same code problem in the user's own crate keeps the code fix.
        assert_eq!(Owner::of(Some(build), "app"), Owner::Member);
        let hot = BuildEvidence { hot: true, ..build };
        assert!(matches!(
            Owner::of(Some(hot), "regex"),
            Owner::Dependency { hot: true, .. }
        ));
    }
}
