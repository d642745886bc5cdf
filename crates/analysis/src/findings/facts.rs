//! What a finding found, as numbers and names: no sentence is written here. Output
//! renders a finding's title, evidence, fix and estimate basis from these facts, so every
//! figure a user reads is formatted once, the same way as the tables beside it, and a new
//! view (JSON, the report, a CI summary) reads the same facts.

use serde::Serialize;

use super::Cause;
use crate::phases::PhaseTime;
use crate::settings::SettingDifference;

/// A crate, a unit or a package with the time it took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Timed {
    pub name: String,
    pub ns: u64,
}

/// Crates without a profile whose time in a phase is taken at the profiled crates' share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Extrapolated {
    pub crates: usize,
    /// Their CPU time, measured.
    pub cpu_ns: u64,
    /// Their time in the phase, extrapolated.
    pub llvm_ns: u64,
}

impl Timed {
    pub fn new(name: impl Into<String>, ns: u64) -> Timed {
        Timed {
            name: name.into(),
            ns,
        }
    }
}

/// One query invocation: its label, its argument (the item or obligation) and time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueryCall {
    pub query: String,
    pub argument: String,
    pub ns: u64,
}

/// A generic function with its copies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GenericCopies {
    pub function: String,
    pub copies: usize,
    /// The trait whose default method this is (once per implementing type).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_method_of: Option<String>,
}

/// An older copy of a crate, beside the newest version the build also compiles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OlderCopy {
    pub package: String,
    pub version: String,
    pub newest: String,
    pub ns: u64,
}

/// Units rebuilt after a root, for evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cascade {
    pub units: usize,
    /// The other packages rebuilt (sorted, without the root's own).
    pub packages: Vec<String>,
    pub unit_ns: u64,
    pub wall_ns: u64,
}

/// Why cargo reran a build script on every build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "why", rename_all = "kebab-case")]
pub enum RerunCause {
    /// No `cargo:rerun-if-changed` line: any file of the package reruns it.
    NoRerunIfChanged,
    /// It watches a file that does not exist.
    WatchesMissingFile { file: String },
    /// It watches a file the build itself writes.
    WatchesGeneratedFile { file: String },
}

/// The facts of one finding, by its cause.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Facts {
    /// One trait-solving invocation dominates a crate.
    PathologicalTraitSolving {
        krate: String,
        crate_ns: u64,
        obligation: QueryCall,
        /// The item (typeck, …) it was asked inside, when that took at least half as long.
        inside: Option<QueryCall>,
        trait_solving_ns: u64,
    },
    /// One item's query dominates a crate.
    PathologicalItem {
        krate: String,
        crate_ns: u64,
        item: QueryCall,
        /// Share of the query's time in itself, not in queries it called.
        own_share: f64,
        /// Type checking one function, most of it inference and trait solving inside it.
        inference: bool,
    },
    Monomorphization {
        krate: String,
        crate_ns: u64,
        mono_ns: u64,
        llvm_ns: u64,
        /// The function the estimate is about, with the instances it accounts for.
        top: GenericCopies,
        attributed: usize,
        instances: usize,
        /// The crate's generic functions by the instances they account for (first five).
        largest: Vec<GenericCopies>,
        /// Other crates' generic functions instantiated here, with their copies.
        foreign: Vec<(String, usize)>,
        /// `cargo llvm-lines`' view, when measured: lines in all, the largest functions.
        llvm_lines: Option<(u64, Vec<super::FunctionLines>)>,
    },
    LlvmDominates {
        optimization_ns: u64,
        codegen_ns: u64,
        total_ns: u64,
        /// The crates with the most LLVM time (first three).
        largest: Vec<Timed>,
        /// The crates without a profile, their LLVM time taken at the profiled crates'
        /// share of work (counted in the estimate).
        unprofiled: Option<Extrapolated>,
    },
    /// The work a crate redoes whole on every edit of it: parsing and expansion, name
    /// resolution, lints, metadata, incremental bookkeeping.
    WholeCrateRework {
        #[serde(rename = "crate")]
        krate: String,
        /// Each part, by phase.
        parts: Vec<PhaseTime>,
        /// The crate's CPU time in this build.
        crate_ns: u64,
        /// Of the parts, what a proc-macro finding about the crate already claims (not
        /// counted in this estimate).
        claimed_by_macros_ns: u64,
        /// All profiled crates' CPU time in this build.
        total_ns: u64,
    },
    /// A profile's `codegen-units` below the threads code generation could use.
    FewCodegenUnits {
        #[serde(rename = "crate")]
        krate: String,
        codegen_units: u32,
        /// The crate's LLVM optimisation and code generation (CPU).
        llvm_ns: u64,
        cores: usize,
    },
    /// Incremental compilation's bookkeeping in a build from scratch, which never reuses it.
    IncrementalInColdBuild {
        /// The crates that kept incremental state, most bookkeeping first.
        crates: Vec<Timed>,
        /// Their bookkeeping together (CPU).
        incremental_ns: u64,
        /// All profiled crates' CPU time in this build.
        total_ns: u64,
        /// Code generation spent on codegen units beyond those a build without incremental
        /// makes (CPU, estimated).
        partitioning_ns: u64,
        /// The crate cut into the most codegen units, and how many.
        most_codegen_units: Option<(String, u64)>,
    },
    Linking {
        /// The unit linked last (`bin "rg"`).
        unit: String,
        link_ns: u64,
        wall_ns: u64,
        installed_linkers: Vec<String>,
        /// The linker the final link ran (`rust-lld`, `GNU ld`, `mold`), when measured.
        linker: Option<String>,
    },
    SerializingCrate {
        target: String,
        /// The unit as cargo names it.
        unit: String,
        unit_ns: u64,
        alone_ns: u64,
        wall_ns: u64,
        cores: usize,
        /// Units waiting on it.
        dependents: Vec<String>,
        /// Share of its CPU before code generation (1 when not profiled).
        front_end_share: f64,
    },
    BuildScriptOnCriticalPath {
        package: String,
        on_path_ns: u64,
        steps: Vec<Timed>,
        /// From a member down to the package.
        path: Vec<String>,
        /// The member's dependency line or feature that alone brings it into the build,
        /// when one does (from the bill).
        brought_in_by: Option<String>,
    },
    ProcMacroCrateOnCriticalPath {
        package: String,
        on_path_ns: u64,
        steps: Vec<Timed>,
        /// From a member down to the package.
        path: Vec<String>,
        /// The member's dependency line or feature that alone brings it into the build,
        /// when one does (from the bill).
        brought_in_by: Option<String>,
    },
    ProcMacroExpansion {
        krate: String,
        expansions: usize,
        ns: u64,
        hot: bool,
        /// By macro: name, expansions, time (first three).
        by_macro: Vec<(String, usize, u64)>,
        /// The slowest call sites (first three).
        slowest: Vec<Timed>,
        /// In a rebuild: expansion's share of parse-and-expand time, standing for the
        /// share of the crate's code the macros generate.
        generated_share: Option<f64>,
    },
    /// Older copies of crates the build also compiles at a newer version, all pulled in
    /// by one package.
    DuplicateDependency {
        /// The package that asks for the older versions (the first, going up from them,
        /// that is not itself an older copy).
        puller: String,
        puller_version: String,
        /// The puller is a workspace member: the requirement is in the user's Cargo.toml.
        puller_is_member: bool,
        /// From a member down to the first older copy: `hyperfine`, `statistical 1.0.0`,
        /// `rand 0.6.5`.
        path: Vec<String>,
        copies: Vec<OlderCopy>,
        /// The member's line or feature that alone brings the puller in (from the bill).
        brought_in_by: Option<String>,
    },
    /// Crates compiled a second time at the same version for build scripts or proc macros
    /// (the host), apart from the copy the members' code uses.
    HostCopies {
        /// What uses the host copies: `the build script of app`, `the proc macro serde_derive`.
        users: Vec<String>,
        /// The host copies (`name version`) and their time.
        copies: Vec<Timed>,
    },
    /// A member's dependency line rustc's `unused_crate_dependencies` lint finds unused in
    /// every target that could use it.
    UnusedDependency {
        member: String,
        package: String,
        kind: crate::bill::DependencyKind,
        /// What removing the line removes from the build.
        crates: usize,
        unit_ns: u64,
    },
    DependencyOfOneMember {
        member: String,
        /// The packages only it uses, largest first.
        dependencies: Vec<Timed>,
        exclusive_ns: u64,
        total_ns: u64,
    },
    BuildScriptReruns {
        package: String,
        cause: RerunCause,
        ran_ns: u64,
        /// Units rebuilt after it, which waited for it.
        waiting: usize,
    },
    ChangingEnvironmentVariable {
        package: String,
        variable: String,
        before: Option<String>,
        after: Option<String>,
        /// What the new value looks like when it changes by itself ("a timestamp").
        volatile: Option<&'static str>,
        cascade: Cascade,
    },
    EditCascade {
        package: String,
        file: String,
        /// Units of other packages rebuilt only because it did.
        units: usize,
        packages: Vec<String>,
        unit_ns: u64,
    },
    SettingsThrash {
        changes: Vec<SettingDifference>,
        /// Units compiled again for the changed settings.
        units: usize,
        unit_ns: u64,
        /// The estimate is the warm-up build's wall time (it compiled the other copies).
        from_warm_up: bool,
    },
}

/// Linkers a switch away from pays off: rust-lld linked the linking test project's binary
/// in a quarter of GNU ld's time, mold in half (bench/RESULTS.md).
pub fn is_slow_linker(linker: &str) -> bool {
    matches!(linker, "GNU ld" | "gold" | "ld" | "ld.bfd" | "bfd")
}

impl Facts {
    pub fn cause(&self) -> Cause {
        match self {
            Facts::PathologicalTraitSolving { .. } => Cause::PathologicalTraitSolving,
            Facts::PathologicalItem { .. } => Cause::PathologicalItem,
            Facts::Monomorphization { .. } => Cause::Monomorphization,
            Facts::LlvmDominates { .. } => Cause::LlvmDominates,
            Facts::WholeCrateRework { .. } => Cause::WholeCrateRework,
            Facts::IncrementalInColdBuild { .. } => Cause::IncrementalInColdBuild,
            Facts::FewCodegenUnits { .. } => Cause::FewCodegenUnits,
            Facts::Linking { .. } => Cause::Linking,
            Facts::SerializingCrate { .. } => Cause::SerializingCrate,
            Facts::BuildScriptOnCriticalPath { .. } => Cause::BuildScriptOnCriticalPath,
            Facts::ProcMacroCrateOnCriticalPath { .. } => Cause::ProcMacroCrateOnCriticalPath,
            Facts::ProcMacroExpansion { .. } => Cause::ProcMacroExpansion,
            Facts::DuplicateDependency { .. } => Cause::DuplicateDependency,
            Facts::HostCopies { .. } => Cause::HostCopies,
            Facts::DependencyOfOneMember { .. } => Cause::DependencyOfOneMember,
            Facts::UnusedDependency { .. } => Cause::UnusedDependency,
            Facts::BuildScriptReruns { .. } => Cause::BuildScriptReruns,
            Facts::ChangingEnvironmentVariable { .. } => Cause::ChangingEnvironmentVariable,
            Facts::EditCascade { .. } => Cause::EditCascade,
            Facts::SettingsThrash { .. } => Cause::SettingsThrash,
        }
    }
}

/// How a CPU or rule-of-thumb estimate became wall time: the run's schedule replayed with
/// units shortened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Replay {
    /// The crate shortened (`None`: every profiled crate).
    pub shortened: Option<String>,
    /// The cut was CPU time, converted at each unit's own CPU-to-wall ratio.
    pub cpu: bool,
    /// Replayed on a run of the same scenario made without the profiler.
    pub unprofiled: bool,
}
