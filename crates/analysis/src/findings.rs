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
        findings.extend(pathological_item(krate, input.item_invocations));
        let lines = input
            .llvm_lines
            .iter()
            .find(|(c, _)| *c == krate.crate_name)
            .map(|(_, l)| l.as_slice());
        findings.extend(monomorphization(krate, input.instance_invocations, lines));
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

fn secs(ns: u64) -> String {
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
fn short(text: &str, max: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= max {
        return text.to_string();
    }
    let head: String = chars[..max * 2 / 3].iter().collect();
    let tail: String = chars[chars.len() - max / 3..].iter().collect();
    format!("{head}…{tail}")
}

/// One invocation taking a large share of its crate.
fn pathological_item(krate: &CratePhases, invocations: &[Invocation]) -> Option<Finding> {
    let crate_ns = krate.phases.build_ns();
    // An item query names its item; `()` is the key of crate-wide queries.
    let mine = invocations
        .iter()
        .filter(|i| i.crate_name == krate.crate_name && !i.args.is_empty() && i.args != ["()"]);
    // The outermost trait-solving invocation names the type; typeck names the item.
    let worst_trait = mine
        .clone()
        .filter(|i| phase_of(&i.label).0 == Phase::TraitSolving)
        .max_by_key(|i| i.duration_ns);
    let worst_item = mine
        .filter(|i| phase_of(&i.label).0 != Phase::TraitSolving)
        .max_by_key(|i| i.duration_ns);
    let dominates = |i: &Invocation| {
        i.duration_ns >= MATTERS_NS && i.duration_ns as f64 >= DOMINATES * crate_ns as f64
    };
    if let Some(t) = worst_trait.filter(|t| dominates(t)) {
        let mut evidence = vec![format!(
            "one `{}` took {} ({:.0}% of {}'s {} of CPU): {}",
            t.label,
            secs(t.duration_ns),
            percent_of(t.duration_ns, crate_ns),
            krate.crate_name,
            secs(crate_ns),
            short(&t.args.join(" "), 160)
        )];
        if let Some(item) = worst_item.filter(|i| i.duration_ns >= t.duration_ns / 2) {
            evidence.push(format!(
                "inside `{}` of {} ({})",
                item.label,
                short(&item.args.join(" "), 100),
                secs(item.duration_ns)
            ));
        }
        evidence.push(format!(
            "trait solving is {} of the crate's CPU time",
            secs(krate.phases.of(Phase::TraitSolving))
        ));
        return Some(Finding {
            cause: Cause::PathologicalTraitSolving,
            title: format!(
                "one trait obligation dominates `{}`: rustc proves it on a very large type",
                krate.crate_name
            ),
            crate_name: Some(krate.crate_name.clone()),
            evidence,
            fix: "Erase the type where it is built: return `Box<dyn Trait>` / `impl Trait` behind a boxed boundary (for futures and streams `.boxed()`), or break the nested combinator chain into named functions; simplify where-clauses on it.".to_string(),
            estimate_ns: t.duration_ns,
            estimate_basis: "at most the time of that one invocation".to_string(),
        });
    }
    let item = worst_item.filter(|i| dominates(i))?;
    let name = short(&item.args.join(" "), 80);
    let own = item.self_time_ns as f64 / item.duration_ns.max(1) as f64;
    // Time in the query itself, not in the queries it asked: inference and the trait
    // solving done inside it (typeck solves most obligations without a query of their own).
    let inside = own >= 0.5 && item.label.starts_with("typeck");
    Some(Finding {
        cause: Cause::PathologicalItem,
        title: if inside {
            format!(
                "type checking one function dominates `{}`: `{name}` (inference and trait solving on its types)",
                krate.crate_name
            )
        } else {
            format!(
                "one item dominates `{}`: `{}` of `{name}`",
                krate.crate_name, item.label
            )
        },
        crate_name: Some(krate.crate_name.clone()),
        evidence: vec![
            format!(
                "`{}` of {name} took {} ({:.0}% of the crate's {} of CPU)",
                item.label,
                secs(item.duration_ns),
                percent_of(item.duration_ns, krate.phases.build_ns()),
                secs(krate.phases.build_ns())
            ),
            format!(
                "{:.0}% of it in the query itself, not in the queries it called",
                own * 100.0
            ),
        ],
        fix: if inside {
            "Give the compiler smaller types: box or erase the combinator where it is built (`Box<dyn Trait>`, `.boxed()`), split the chain into functions with explicit return types, and simplify the where-clauses it must prove.".to_string()
        } else {
            "Split the item (smaller functions, fewer generic parameters), annotate the types the compiler has to infer, or move it to a crate that rarely changes.".to_string()
        },
        estimate_ns: item.self_time_ns.max(item.duration_ns / 2),
        estimate_basis: "the item's own time (at most its whole time): what erasing or splitting the type removes".to_string(),
    })
}

/// The generic function an instance is of: `alloc::vec::{impl#1}::push` from
/// `Instance { def: Item(DefId(3:8540 ~ alloc[fdfd]::vec::{impl#1}::push)), args: [u8] }`.
fn instance_function(instance: &str) -> Option<String> {
    let start = instance.find(" ~ ")? + 3;
    let rest = &instance[start..];
    let end = rest.find(')')?;
    let path = &rest[..end];
    // Drop the crate's disambiguator: `alloc[fdfd]::vec` → `alloc::vec`.
    Some(match (path.find('['), path.find(']')) {
        (Some(open), Some(close)) if open < close => {
            format!("{}{}", &path[..open], &path[close + 1..])
        }
        _ => path.to_string(),
    })
}

/// The generic arguments of an instance: `[u8, std::alloc::Global]`.
fn instance_args(instance: &str) -> Option<&str> {
    let start = instance.rfind("args: [")? + "args: ".len();
    let end = instance.rfind(']')?;
    (start < end).then(|| &instance[start..=end])
}

/// The top-level types of `[A, B<C, D>, E]`.
fn split_types(list: &str) -> Vec<&str> {
    let inner = list.trim_start_matches('[').trim_end_matches(']');
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '<' | '[' | '(' => depth += 1,
            '>' | ']' | ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(inner[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(inner[start..].trim());
    out.retain(|t| !t.is_empty());
    out
}

/// Whether `text` names `ty` as a whole word (`Ty3` is not in `Ty30`).
fn mentions(text: &str, ty: &str) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(ty).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + ty.len()..].chars().next();
        !before.is_some_and(word) && !after.is_some_and(word)
    })
}

/// Crates whose generic code no user can change.
fn is_std_path(path: &str) -> bool {
    let krate = path.split("::").next().unwrap_or("");
    matches!(
        krate,
        "std" | "core" | "alloc" | "proc_macro" | "test" | "compiler_builtins" | "hashbrown"
    )
}

/// Many instances of the same generic functions in one crate.
fn monomorphization(
    krate: &CratePhases,
    instances: &[Invocation],
    llvm_lines: Option<&[FunctionLines]>,
) -> Option<Finding> {
    let crate_ns = krate.phases.build_ns();
    let mono = krate.phases.of(Phase::Monomorphization);
    let llvm = krate.phases.of(Phase::LlvmOptimization) + krate.phases.of(Phase::LlvmCodegen);
    if mono + llvm < MATTERS_NS || ((mono + llvm) as f64) < 0.4 * crate_ns as f64 {
        return None;
    }
    // Distinct instances per generic function.
    let mut copies: std::collections::BTreeMap<String, std::collections::BTreeSet<&str>> =
        Default::default();
    let mut all = std::collections::BTreeSet::new();
    for inv in instances
        .iter()
        .filter(|i| i.crate_name == krate.crate_name)
    {
        let Some(instance) = inv.args.first() else {
            continue;
        };
        all.insert(instance.as_str());
        if let Some(function) = instance_function(instance) {
            copies
                .entry(function)
                .or_default()
                .insert(instance.as_str());
        }
    }
    let mut ranked: Vec<(String, usize)> = copies
        .into_iter()
        .filter(|(f, _)| !is_std_path(f))
        .map(|(f, set)| (f, set.len()))
        .filter(|(_, n)| *n >= 2)
        .collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let (top_fn, top_copies) = ranked.first()?.clone();
    if top_copies < 8 {
        return None;
    }
    let shown: Vec<&(String, usize)> = ranked.iter().take(5).collect();
    let shown_fns: Vec<&str> = shown.iter().map(|(f, _)| f.as_str()).collect();
    // What those copies pull in: other instances for the same (user) types, such as
    // `Vec<MyType>::push` called from `render::<MyType>`.
    let mut user_types = std::collections::BTreeSet::new();
    for instance in &all {
        if instance_function(instance).is_some_and(|f| shown_fns.contains(&f.as_str())) {
            for ty in instance_args(instance).map(split_types).unwrap_or_default() {
                // User types are CamelCase; primitives would match everything.
                if ty.chars().any(|c| c.is_ascii_uppercase()) && !ty.contains("Global") {
                    user_types.insert(ty);
                }
            }
        }
    }
    let attributable = all
        .iter()
        .filter(|instance| {
            instance_function(instance).is_some_and(|f| shown_fns.contains(&f.as_str()))
                || user_types.iter().any(|t| mentions(instance, t))
        })
        .count();
    let total = all.len().max(1);
    // One copy of each function stays; the rest, and what they pull in, go.
    let saved_share =
        attributable as f64 / total as f64 * (top_copies - 1) as f64 / top_copies as f64;
    let estimate = ((mono + llvm) as f64 * saved_share.min(1.0)) as u64;
    let evidence = vec![
            format!(
                "generic functions with the most copies: {}",
                shown
                    .iter()
                    .map(|(f, n)| format!("{f} ×{n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            format!(
                "{} of the crate's {} instances are these functions or instances for the types they are instantiated with; monomorphization and LLVM IR generation {}, LLVM {} ({:.0}% of the crate's {})",
                attributable,
                total,
                secs(mono),
                secs(llvm),
                percent_of(mono + llvm, crate_ns),
                secs(crate_ns)
            ),
        ];
    let mut evidence = evidence;
    match llvm_lines {
        Some(lines) => {
            let total: u64 = lines.iter().map(|l| l.lines).sum();
            let top: Vec<String> = lines
                .iter()
                .take(5)
                .map(|l| format!("{} {} lines in {} copies", short(&l.function, 70), l.lines, l.copies))
                .collect();
            evidence.push(format!(
                "LLVM IR lines (cargo llvm-lines view, {total} in all): {}",
                top.join("; ")
            ));
        }
        None => evidence.push(format!(
            "lines per function: `buildscope explain --llvm-lines` builds `{}` once more with --emit=llvm-ir",
            krate.crate_name
        )),
    }
    Some(Finding {
        cause: Cause::Monomorphization,
        title: format!(
            "heavy monomorphization in `{}`: `{}` is compiled {} times",
            krate.crate_name, top_fn, top_copies
        ),
        crate_name: Some(krate.crate_name.clone()),
        evidence,
        fix: "Make each of these a thin generic wrapper around a non-generic inner function (`fn f<T: AsRef<str>>(x: T) { fn inner(x: &str) { … } inner(x.as_ref()) }`), or take `&dyn Trait` where the call is not hot; `cargo llvm-lines` shows the lines each copy costs.".to_string(),
        estimate_ns: estimate,
        estimate_basis: format!(
            "the crate's monomorphization and LLVM time × the share of its instances owed to these functions ({attributable} of {total}) × ({top_copies} − 1)/{top_copies}, the copies a non-generic inner function removes"
        ),
    })
}

/// LLVM taking most of a build.
fn llvm_dominates(
    phases: &PhaseTimes,
    crates: &[CratePhases],
    build: Option<BuildEvidence>,
) -> Option<Finding> {
    let llvm_of = |p: &PhaseTimes| p.of(Phase::LlvmOptimization) + p.of(Phase::LlvmCodegen);
    // Over the crates given (those no more specific finding explains).
    let llvm: u64 = crates.iter().map(|c| llvm_of(&c.phases)).sum();
    let total = phases.build_ns();
    if llvm < MATTERS_NS || (llvm as f64) < 0.4 * total as f64 {
        return None;
    }
    let mut by_crate: Vec<(&str, u64)> = crates
        .iter()
        .map(|c| {
            (
                c.crate_name.as_str(),
                c.phases.of(Phase::LlvmOptimization) + c.phases.of(Phase::LlvmCodegen),
            )
        })
        .collect();
    by_crate.sort_by_key(|c| std::cmp::Reverse(c.1));
    let top: Vec<String> = by_crate
        .iter()
        .take(3)
        .map(|(c, ns)| format!("{c} {}", secs(*ns)))
        .collect();
    let _ = build;
    Some(Finding {
        cause: Cause::LlvmDominates,
        title: format!(
            "LLVM takes {:.0}% of the compile time",
            percent_of(llvm, total)
        ),
        crate_name: by_crate.first().map(|(c, _)| c.to_string()),
        evidence: vec![
            format!(
                "LLVM optimisation {}, code generation {} of {} CPU",
                secs(phases.of(Phase::LlvmOptimization)),
                secs(phases.of(Phase::LlvmCodegen)),
                secs(total)
            ),
            format!("most in: {}", top.join(", ")),
        ],
        fix: "In dev builds, emit less debug info (`[profile.dev] debug = \"line-tables-only\"` or `debug = 0` for dependencies), keep `opt-level = 0` for your own crates, and check `codegen-units`; rebuild with each setting to measure it.".to_string(),
        estimate_ns: llvm / 3,
        estimate_basis: "a third of the LLVM time: what less debug info typically removes from code generation".to_string(),
    })
}

fn incremental_overhead(
    phases: &PhaseTimes,
    crates: &[CratePhases],
    build: Option<BuildEvidence>,
) -> Option<Finding> {
    let hot = build.is_some_and(|b| b.hot);
    let incr = phases.of(Phase::Incremental);
    let total = phases.build_ns();
    if !hot || incr < MATTERS_NS || (incr as f64) < 0.25 * total as f64 {
        return None;
    }
    let worst = crates
        .iter()
        .max_by_key(|c| c.phases.of(Phase::Incremental))?;
    Some(Finding {
        cause: Cause::IncrementalOverhead,
        title: format!(
            "incremental bookkeeping is {:.0}% of this rebuild",
            percent_of(incr, total)
        ),
        crate_name: Some(worst.crate_name.clone()),
        evidence: vec![format!(
            "loading, hashing, encoding and copying incremental state: {} of {} CPU, most in {} ({})",
            secs(incr),
            secs(total),
            worst.crate_name,
            secs(worst.phases.of(Phase::Incremental))
        )],
        fix: "Split the crate so that an edit invalidates less, or try `incremental = false` for it when edits there usually change everything.".to_string(),
        estimate_ns: incr / 2,
        estimate_basis: "half the bookkeeping time".to_string(),
    })
}

/// Proc macros re-expanded on every rebuild (expansion is never cached).
fn proc_macro_expansion(
    invocations: &[Invocation],
    crates: &[CratePhases],
    build: Option<BuildEvidence>,
) -> Option<Finding> {
    let mut by_crate: std::collections::BTreeMap<&str, (u64, usize)> = Default::default();
    let mut by_macro: std::collections::BTreeMap<String, (u64, usize)> = Default::default();
    for inv in invocations {
        let entry = by_crate.entry(inv.crate_name.as_str()).or_default();
        entry.0 += inv.duration_ns;
        entry.1 += 1;
        let name = inv
            .args
            .first()
            .map(|a| macro_name(a))
            .unwrap_or_else(|| "(macro not recorded)".to_string());
        let m = by_macro.entry(name).or_default();
        m.0 += inv.duration_ns;
        m.1 += 1;
    }
    let (&krate, &(ns, count)) = by_crate.iter().max_by_key(|(_, (ns, _))| *ns)?;
    if ns < MATTERS_NS {
        return None;
    }
    let hot = build.is_some_and(|b| b.hot);
    let mut macros: Vec<(String, (u64, usize))> = by_macro.into_iter().collect();
    macros.sort_by_key(|m| std::cmp::Reverse(m.1 .0));
    let top: Vec<String> = macros
        .iter()
        .take(3)
        .map(|(m, (ns, n))| format!("{m} ×{n} ({})", secs(*ns)))
        .collect();
    // In a rebuild, the generated code is also resolved, hashed and checked again: the
    // share of parse-and-expand time that is expansion stands for the share of the
    // crate's code the macros generate.
    let (estimate, basis) = match crates.iter().find(|c| c.crate_name == krate) {
        Some(c) if hot => {
            let parse_and_expand = c.phases.of(Phase::ParsingAndExpansion).max(ns);
            let generated = ns as f64 / parse_and_expand as f64;
            let downstream = c.phases.of(Phase::NameResolution)
                + c.phases.of(Phase::TypeChecking)
                + c.phases.of(Phase::Incremental);
            (
                (ns + (downstream as f64 * generated) as u64).min(c.phases.build_ns()),
                format!(
                    "expansion time, plus the crate's name resolution, type checking and incremental time × {:.0}% (expansion's share of its parse-and-expand time, standing for the share of its code the macros generate), at most the crate's CPU: what moving the derived types into a crate that rarely changes saves on each rebuild",
                    generated * 100.0
                ),
            )
        }
        _ => (
            ns / 2,
            "half the expansion time (deriving only what is used)".to_string(),
        ),
    };
    Some(Finding {
        cause: Cause::ProcMacroExpansion,
        title: format!(
            "proc-macro expansion in `{krate}`: {count} expansions take {}{}",
            secs(ns),
            if hot { " on every rebuild" } else { "" }
        ),
        crate_name: Some(krate.to_string()),
        evidence: vec![
            format!("by macro: {}", top.join(", ")),
            format!("slowest call sites: {}", slowest_sites(invocations, krate)),
        ],
        fix: "Proc-macro output is never cached: move the derived types into a crate that rarely changes, derive only what is used (e.g. `Serialize` without `Deserialize`), or replace derives on many small types with a hand-written impl for a generic wrapper.".to_string(),
        estimate_ns: estimate,
        estimate_basis: basis,
    })
}

/// The three slowest expansions of a crate with their macro and call site.
fn slowest_sites(invocations: &[Invocation], krate: &str) -> String {
    let mut mine: Vec<&Invocation> = invocations
        .iter()
        .filter(|i| i.crate_name == krate)
        .collect();
    mine.sort_by_key(|i| std::cmp::Reverse(i.duration_ns));
    mine.iter()
        .take(3)
        .map(|i| format!("{} ({})", short(&i.args.join(" "), 90), secs(i.duration_ns)))
        .collect::<Vec<_>>()
        .join("; ")
}

/// `#[derive(serde::Serialize)]` from `#[derive(serde::Serialize)] src/lib.rs:1:10: 1:26`.
fn macro_name(arg: &str) -> String {
    match arg.find(']') {
        Some(end) => arg[..=end].to_string(),
        None => arg.split_whitespace().next().unwrap_or(arg).to_string(),
    }
}

fn linking(build: BuildEvidence) -> Option<Finding> {
    let link = build.totals.final_link_ns.unwrap_or(0);
    let wall = build.totals.wall_ns;
    if !build.hot || link < MATTERS_NS / 2 || (link as f64) < 0.2 * wall as f64 {
        return None;
    }
    let last = build.units.iter().max_by_key(|u| u.end_ns)?;
    Some(Finding {
        cause: Cause::Linking,
        title: format!(
            "linking is {:.0}% of this rebuild ({})",
            percent_of(link, wall),
            last.display_name()
        ),
        crate_name: Some(last.target.clone()),
        evidence: vec![
            format!("the final link took {} of {} wall", secs(link), secs(wall)),
            format!(
                "linkers on this machine: {}",
                if build.installed_linkers.is_empty() {
                    "none found besides rustc's bundled rust-lld".to_string()
                } else {
                    build.installed_linkers.join(", ")
                }
            ),
        ],
        fix: "Since Rust 1.90 x86_64 Linux links with the bundled rust-lld by default; if this build uses GNU ld (`-C linker-features=-lld`) or a custom linker, try `-C link-arg=-fuse-ld=mold`; otherwise emit less debug info (`debug = \"line-tables-only\"`, or `split-debuginfo = \"unpacked\"`), which shrinks what the linker copies.".to_string(),
        estimate_ns: link / 2,
        estimate_basis: "half the final link: what a faster linker or less debug info typically saves"
            .to_string(),
    })
}

/// Walks a build's timeline from one unit start or end to the next, calling `visit` with
/// each span's length and the units running during it.
fn sweep(units: &[Unit], mut visit: impl FnMut(u64, &[usize])) -> u64 {
    let mut edges: Vec<(u64, i32, usize)> = Vec::new();
    // A unit of no duration (a build script with nothing to do) would start after it
    // ended at the same instant, and never stop running.
    for u in units.iter().filter(|u| u.end_ns > u.start_ns) {
        edges.push((u.start_ns, 1, u.id));
        edges.push((u.end_ns, -1, u.id));
    }
    edges.sort_by_key(|&(t, d, _)| (t, d));
    let mut running: Vec<usize> = Vec::new();
    let mut last = 0u64;
    for (t, d, id) in edges {
        visit(t.saturating_sub(last), &running);
        if d > 0 {
            running.push(id);
        } else if let Some(i) = running.iter().position(|&r| r == id) {
            running.swap_remove(i);
        }
        last = t;
    }
    last
}

/// Time with exactly one unit running, per unit.
fn alone_time(units: &[Unit]) -> Vec<(usize, u64)> {
    let mut alone: std::collections::BTreeMap<usize, u64> = Default::default();
    sweep(units, |span, running| {
        if let [only] = running {
            *alone.entry(*only).or_default() += span;
        }
    });
    alone.into_iter().filter(|&(_, ns)| ns > 0).collect()
}

pub fn wall_breakdown(build: BuildEvidence, crates: &[CratePhases]) -> WallBreakdown {
    let t = build.totals;
    let busy: u64 = build.units.iter().map(Unit::duration_ns).sum();
    let (shares, idle, short_of_cores) = wall_shares(build.units, t.wall_ns, t.cores);
    let mut by_what: std::collections::BTreeMap<String, f64> = Default::default();
    for unit in build.units {
        let share = shares.get(&unit.id).copied().unwrap_or(0.0);
        if share <= 0.0 {
            continue;
        }
        let profiled = profile_of(unit, crates).filter(|c| c.phases.build_ns() > 0);
        match (unit.kind, profiled) {
            (UnitKind::BuildScriptRun, _) => {
                *by_what.entry("Running build scripts".into()).or_default() += share
            }
            (_, Some(c)) => {
                let total = c.phases.build_ns() as f64;
                for p in c
                    .phases
                    .phases
                    .iter()
                    .filter(|p| p.phase != Phase::ProfilerOverhead)
                {
                    *by_what.entry(p.title.to_string()).or_default() +=
                        share * p.self_ns as f64 / total;
                }
            }
            (UnitKind::BuildScriptCompile, None) => {
                *by_what
                    .entry("Compiling build scripts (not profiled)".into())
                    .or_default() += share
            }
            (_, None) => {
                *by_what
                    .entry("Compiling crates that were not profiled".into())
                    .or_default() += share
            }
        }
    }
    if idle > 0 {
        *by_what
            .entry("No unit running (cargo's own work)".into())
            .or_default() += idle as f64;
    }
    let mut by_phase: Vec<WallPhase> = by_what
        .into_iter()
        .map(|(what, ns)| WallPhase {
            what,
            wall_ns: ns.round() as u64,
        })
        .filter(|p| p.wall_ns > 0)
        .collect();
    by_phase.sort_by(|a, b| b.wall_ns.cmp(&a.wall_ns).then(a.what.cmp(&b.what)));
    WallBreakdown {
        wall_ns: t.wall_ns,
        cores: t.cores,
        waiting_core_ns: (t.wall_ns * t.cores as u64).saturating_sub(busy),
        build_scripts_ns: t.build_script_compile_ns + t.build_script_run_ns,
        proc_macros_ns: t.proc_macro_ns,
        linking_ns: t.link_ns,
        serial_ns: alone_time(build.units).iter().map(|(_, ns)| ns).sum(),
        fewer_units_than_cores_ns: short_of_cores,
        by_phase,
    }
}

/// The profile of a unit: its crate name (build scripts are `build_script_build(pkg)`).
fn profile_of<'a>(unit: &Unit, crates: &'a [CratePhases]) -> Option<&'a CratePhases> {
    let name = match unit.kind {
        UnitKind::BuildScriptCompile => format!("build_script_build({})", unit.package),
        _ => unit.target.replace('-', "_"),
    };
    crates.iter().find(|c| c.crate_name == name)
}

/// Each unit's share of the wall time (a second shared by n running units gives each
/// 1/n), the time no unit ran, and the time fewer units ran than cores.
fn wall_shares(
    units: &[Unit],
    wall_ns: u64,
    cores: usize,
) -> (std::collections::BTreeMap<usize, f64>, u64, u64) {
    let mut shares: std::collections::BTreeMap<usize, f64> = Default::default();
    let (mut idle, mut short) = (0u64, 0u64);
    let last = sweep(units, |span, running| {
        if running.is_empty() {
            idle += span;
        } else {
            for &r in running {
                *shares.entry(r).or_default() += span as f64 / running.len() as f64;
            }
        }
        if running.len() < cores {
            short += span;
        }
    });
    // After the last unit, until the build ended.
    let tail = wall_ns.saturating_sub(last);
    (shares, idle + tail, short + tail)
}

/// A crate compiling alone, on the critical path, while the other cores wait.
fn serializing_crate(build: BuildEvidence, crates: &[CratePhases]) -> Option<Finding> {
    let cores = build.totals.cores.max(1) as u64;
    if cores < 2 {
        return None;
    }
    let on_path: Vec<usize> = build.critical_path.steps.iter().map(|s| s.unit).collect();
    let (id, alone) = alone_time(build.units)
        .into_iter()
        .filter(|(id, _)| on_path.contains(id))
        .max_by_key(|(_, ns)| *ns)?;
    let unit = build.units.iter().find(|u| u.id == id)?;
    let wall = build.totals.wall_ns;
    if alone < MATTERS_NS || (alone as f64) < 0.3 * wall as f64 {
        return None;
    }
    // The share of the crate's CPU before code generation (1 when it was not profiled).
    let crate_name = unit.target.replace('-', "_");
    let front_end = crates
        .iter()
        .find(|c| c.crate_name == crate_name)
        .map_or(1.0, |c| {
            let back_end = c.phases.of(Phase::Monomorphization)
                + c.phases.of(Phase::LlvmOptimization)
                + c.phases.of(Phase::LlvmCodegen)
                + c.phases.of(Phase::Lto)
                + c.phases.of(Phase::Linking);
            1.0 - back_end as f64 / c.phases.build_ns().max(1) as f64
        });
    let dependents: Vec<String> = build
        .units
        .iter()
        .filter(|u| u.deps.contains(&id))
        .map(|u| u.display_name())
        .collect();
    Some(Finding {
        cause: Cause::SerializingCrate,
        title: format!(
            "`{}` serializes the build: it compiles alone for {} ({:.0}% of the wall time)",
            unit.target,
            secs(alone),
            percent_of(alone, wall)
        ),
        crate_name: Some(unit.target.clone()),
        evidence: vec![
            format!(
                "{} ran {} in all, {} of it with every other core idle ({} cores)",
                unit.display_name(),
                secs(unit.duration_ns()),
                secs(alone),
                cores
            ),
            if dependents.is_empty() {
                "it is the last unit of the build".to_string()
            } else {
                format!("waiting on it: {}", dependents.join(", "))
            },
        ],
        fix: format!(
            "Split `{}` into crates that can compile in parallel (by feature area or layer), and move what its dependents need first into a small crate of its own.",
            unit.target
        ),
        estimate_ns: (alone as f64 * (cores - 1) as f64 / cores as f64 * front_end) as u64,
        estimate_basis: format!(
            "its time alone × (1 − 1/{cores}) × the share of its CPU before code generation ({:.0}%): a split over {cores} cores parallelizes the front end; LLVM already spreads code generation over codegen units",
            front_end * 100.0
        ),
    })
}

/// Build scripts and proc-macro crates on the critical path.
fn critical_path_units(build: BuildEvidence) -> Vec<Finding> {
    let mut out = Vec::new();
    for kind in [UnitKind::BuildScriptCompile, UnitKind::ProcMacro] {
        let steps: Vec<(&Unit, u64, u64)> = build
            .critical_path
            .steps
            .iter()
            .filter_map(|s| {
                let u = build.units.iter().find(|u| u.id == s.unit)?;
                let counts = u.kind == kind
                    || (kind == UnitKind::BuildScriptCompile && u.kind == UnitKind::BuildScriptRun);
                counts.then_some((u, s.on_path_ns, s.saving_if_free_ns))
            })
            .collect();
        let on_path: u64 = steps.iter().map(|s| s.1).sum();
        let saving = steps.iter().map(|s| s.2).max().unwrap_or(0);
        let wall = build.totals.wall_ns;
        if saving < MATTERS_NS / 2 || (on_path as f64) < 0.15 * wall as f64 {
            continue;
        }
        let names: Vec<String> = steps
            .iter()
            .map(|(u, ns, _)| format!("{} {}", u.display_name(), secs(*ns)))
            .collect();
        let worst = steps.iter().max_by_key(|s| s.1).expect("non-empty");
        let (cause, what, fix) = if kind == UnitKind::ProcMacro {
            (
                Cause::ProcMacroCrateOnCriticalPath,
                "proc-macro crates",
                "Proc-macro crates and their dependencies (syn, quote) must finish before any crate using them starts: trim the macro's dependencies (syn features), or move the users off the critical path.",
            )
        } else {
            (
                Cause::BuildScriptOnCriticalPath,
                "build scripts",
                "Everything that depends on the package waits for its build script: make it do less (cache generated files, skip work with `cargo:rerun-if-changed`), or move generated code into a crate of its own that rarely rebuilds.",
            )
        };
        out.push(Finding {
            cause,
            title: format!(
                "{what} on the critical path: {} of the wall time (`{}`)",
                secs(on_path),
                worst.0.package
            ),
            crate_name: Some(worst.0.package.clone()),
            evidence: vec![format!("on the path: {}", names.join(", "))],
            fix: fix.to_string(),
            estimate_ns: saving,
            estimate_basis: "how much shorter the longest dependency chain gets if the slowest of them took no time".to_string(),
        });
    }
    out
}

/// A package compiled more than once.
fn duplicate_dependencies(build: BuildEvidence) -> Vec<Finding> {
    let mut by_package: std::collections::BTreeMap<&str, Vec<&Unit>> = Default::default();
    for u in build.units.iter().filter(|u| u.kind == UnitKind::Lib) {
        by_package.entry(u.package.as_str()).or_default().push(u);
    }
    let mut out = Vec::new();
    for (package, units) in by_package {
        if units.len() < 2 {
            continue;
        }
        let mut versions: Vec<&str> = units.iter().map(|u| u.version.as_str()).collect();
        versions.sort_unstable();
        versions.dedup();
        let extra: u64 = {
            let mut times: Vec<u64> = units.iter().map(|u| u.duration_ns()).collect();
            times.sort_unstable();
            times[..times.len() - 1].iter().sum()
        };
        if extra < MATTERS_NS / 5 {
            continue;
        }
        let why = if versions.len() > 1 {
            format!("versions {}", versions.join(", "))
        } else {
            "one version with differing features or profiles".to_string()
        };
        out.push(Finding {
            cause: Cause::DuplicateDependency,
            title: format!("`{package}` is compiled {} times ({why})", units.len()),
            crate_name: Some(package.to_string()),
            evidence: vec![units
                .iter()
                .map(|u| format!("{} {}", u.display_name(), secs(u.duration_ns())))
                .collect::<Vec<_>>()
                .join(", ")],
            fix: format!(
                "See why with `cargo tree -d -p {package}` (versions) or `cargo tree -e features -i {package}`; align the versions or features so it builds once."
            ),
            estimate_ns: extra,
            estimate_basis: "the time of every copy but the longest".to_string(),
        });
    }
    out
}

/// Dependencies (with their build scripts) that only one workspace member needs: every
/// build of the workspace pays for them.
fn dependencies_of_one_member(build: BuildEvidence) -> Option<Finding> {
    if build.members.len() < 2 || build.hot {
        return None;
    }
    let is_member = |u: &Unit| build.members.contains(&u.package);
    let by_id: std::collections::HashMap<usize, &Unit> =
        build.units.iter().map(|u| (u.id, u)).collect();
    // For each non-member package, the members whose units reach it.
    let mut users: std::collections::BTreeMap<&str, std::collections::BTreeSet<&str>> =
        Default::default();
    for root in build.units.iter().filter(|u| is_member(u)) {
        let mut stack: Vec<usize> = root.deps.clone();
        let mut seen = std::collections::HashSet::new();
        while let Some(id) = stack.pop() {
            if !seen.insert(id) {
                continue;
            }
            let Some(u) = by_id.get(&id) else { continue };
            if !is_member(u) {
                users
                    .entry(u.package.as_str())
                    .or_default()
                    .insert(root.package.as_str());
            }
            stack.extend(u.deps.iter().copied());
        }
    }
    let time_of = |package: &str| -> u64 {
        build
            .units
            .iter()
            .filter(|u| u.package == package)
            .map(Unit::duration_ns)
            .sum()
    };
    let mut by_member: std::collections::BTreeMap<&str, Vec<(&str, u64)>> = Default::default();
    for (package, members) in &users {
        if members.len() == 1 {
            let member = *members.iter().next().expect("one");
            by_member
                .entry(member)
                .or_default()
                .push((package, time_of(package)));
        }
    }
    let total: u64 = build.units.iter().map(Unit::duration_ns).sum();
    let (member, mut deps) = by_member
        .into_iter()
        .max_by_key(|(_, deps)| deps.iter().map(|d| d.1).sum::<u64>())?;
    let exclusive: u64 = deps.iter().map(|d| d.1).sum();
    if exclusive < MATTERS_NS * 4 || (exclusive as f64) < 0.15 * total as f64 {
        return None;
    }
    deps.sort_by_key(|d| std::cmp::Reverse(d.1));
    let shown: Vec<String> = deps
        .iter()
        .take(6)
        .map(|(p, ns)| format!("{p} {}", secs(*ns)))
        .collect();
    Some(Finding {
        cause: Cause::DependencyOfOneMember,
        title: format!(
            "{} dependencies ({} of compile time) are needed only by `{member}`",
            deps.len(),
            secs(exclusive)
        ),
        crate_name: Some(member.to_string()),
        evidence: vec![
            format!("only `{member}` uses: {}", shown.join(", ")),
            format!(
                "{:.0}% of the build's summed unit time",
                percent_of(exclusive, total)
            ),
        ],
        fix: format!(
            "Builds that do not need `{member}` still compile these: put them behind an optional feature of `{member}`, or leave `{member}` out of `default-members` so that `cargo build` skips it unless asked."
        ),
        estimate_ns: exclusive,
        estimate_basis: "the compile time of those packages, saved by every build that leaves the member out".to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::timeline::tests::unit as lib_unit;

    #[test]
    fn instances_name_their_generic_function() {
        assert_eq!(
            instance_function(
                "Instance { def: Item(DefId(3:8540 ~ alloc[fdfd]::vec::{impl#1}::push)), args: [u8] }"
            )
            .as_deref(),
            Some("alloc::vec::{impl#1}::push")
        );
        assert!(is_std_path("alloc::vec::{impl#1}::push"));
        assert_eq!(
            split_types("[Ty3, std::vec::Vec<(u8, Ty4)>, &str]"),
            vec!["Ty3", "std::vec::Vec<(u8, Ty4)>", "&str"]
        );
        assert!(mentions("args: [Ty3, Global]", "Ty3"));
        assert!(!mentions("args: [Ty30]", "Ty3"));
        assert!(!is_std_path("mono::render"));
    }

    #[test]
    fn wall_time_is_shared_among_running_units() {
        let unit = |id, kind, start, end| Unit {
            kind,
            ..lib_unit(id, &format!("p{id}"), start, end, &[])
        };
        // 0..10 idle; 10..20 units 0 and 1; 20..40 unit 1 alone; a zero-length script run
        // at 20; 40..50 idle.
        let units = vec![
            unit(0, UnitKind::Lib, 10, 20),
            unit(1, UnitKind::Bin, 10, 40),
            unit(2, UnitKind::BuildScriptRun, 20, 20),
        ];
        let (shares, idle, short) = wall_shares(&units, 50, 2);
        assert_eq!(shares[&0], 5.0);
        assert_eq!(shares[&1], 25.0);
        assert!(!shares.contains_key(&2));
        assert_eq!((idle, short), (20, 40));
        assert_eq!(alone_time(&units), vec![(1, 20)]);
    }

    #[test]
    fn dependencies_only_one_member_needs_are_found() {
        let unit = |id, package: &str, deps: Vec<usize>, ms: u64| {
            lib_unit(id, package, 0, ms * 1_000_000, &deps)
        };
        // `cli` alone uses clap (and through it clap_derive); both use `common`.
        let units = vec![
            unit(0, "common", vec![], 100),
            unit(1, "clap_derive", vec![], 900),
            unit(2, "clap", vec![1], 700),
            unit(3, "cli", vec![0, 2], 200),
            unit(4, "server", vec![0], 200),
        ];
        let totals = crate::timeline::build_totals(&units, 2_000_000_000, 2);
        let path = crate::timeline::critical_path(&units, 2_000_000_000);
        let members = vec!["cli".to_string(), "server".to_string()];
        let finding = dependencies_of_one_member(BuildEvidence {
            units: &units,
            totals: &totals,
            critical_path: &path,
            hot: false,
            installed_linkers: &[],
            members: &members,
        })
        .expect("a finding");
        assert_eq!(finding.crate_name.as_deref(), Some("cli"));
        assert_eq!(finding.estimate_ns, 1_600_000_000);
        assert!(
            finding.evidence[0].contains("clap_derive"),
            "{:?}",
            finding.evidence
        );
        assert!(!finding.evidence[0].contains("common"));
    }

    #[test]
    fn macro_names_and_shortening() {
        assert_eq!(
            macro_name("#[derive(serde::Serialize)] src/main.rs:1:10: 1:26"),
            "#[derive(serde::Serialize)]"
        );
        assert_eq!(short("abcdefghij", 6), "abcd…ij");
        assert_eq!(short("abc", 6), "abc");
    }
}
