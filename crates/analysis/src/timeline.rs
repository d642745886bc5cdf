//! A build as a timeline of units (one rustc or build-script process each) and its
//! critical path: the chain of units that set the wall time.

use serde::{Deserialize, Serialize};

/// What a unit of a cargo build is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnitKind {
    Lib,
    Bin,
    ProcMacro,
    /// Compiling a `build.rs`.
    #[serde(rename = "build-script")]
    BuildScriptCompile,
    /// Running a compiled build script.
    BuildScriptRun,
    Test,
    Example,
    Bench,
    /// Anything else rustc was asked to do (cargo's target-info probe, doc tests).
    Other,
}

impl UnitKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            UnitKind::Lib => "lib",
            UnitKind::Bin => "bin",
            UnitKind::ProcMacro => "proc-macro",
            UnitKind::BuildScriptCompile => "build-script",
            UnitKind::BuildScriptRun => "build-script-run",
            UnitKind::Test => "test",
            UnitKind::Example => "example",
            UnitKind::Bench => "bench",
            UnitKind::Other => "other",
        }
    }

    /// The kind a name from [`UnitKind::as_str`] stands for (`Other` for anything else).
    pub fn from_name(name: &str) -> UnitKind {
        [
            UnitKind::Lib,
            UnitKind::Bin,
            UnitKind::ProcMacro,
            UnitKind::BuildScriptCompile,
            UnitKind::BuildScriptRun,
            UnitKind::Test,
            UnitKind::Example,
            UnitKind::Bench,
        ]
        .into_iter()
        .find(|k| k.as_str() == name)
        .unwrap_or(UnitKind::Other)
    }
}

/// One unit on the timeline. Times are nanoseconds from the start of the build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unit {
    pub id: usize,
    pub package: String,
    pub version: String,
    /// The target's name (crate name for libs, the binary's name for bins).
    pub target: String,
    pub kind: UnitKind,
    pub start_ns: u64,
    /// When its metadata (`.rmeta`) was ready, letting pipelined dependents start.
    pub rmeta_ns: Option<u64>,
    pub end_ns: u64,
    /// User plus system CPU time of the process, when measured.
    pub cpu_ns: Option<u64>,
    /// Peak resident memory of the process, when measured.
    pub max_rss_bytes: Option<u64>,
    /// The process's exit status (0: success).
    pub exit_code: Option<i32>,
    /// Time in the linker, for units rustc linked (binaries, tests, proc macros).
    #[serde(default)]
    pub link_ns: Option<u64>,
    /// The linker that linked it (`rust-lld`, `mold`, `GNU ld`), when measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linker: Option<String>,
    /// `-C codegen-units` when the profile set it (cargo passes it only then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codegen_units: Option<u32>,
    /// Units this one waited for, by id.
    pub deps: Vec<usize>,
    /// Dependencies it needed only the metadata of (pipelining), by id; a subset of `deps`.
    pub rmeta_deps: Vec<usize>,
}

impl Unit {
    /// Whether rustc compiled crate `crate_name` in this unit (a profile names its crate
    /// with `_` where the target has `-`; a build script's run compiles nothing).
    pub fn compiles_crate(&self, crate_name: &str) -> bool {
        self.kind != UnitKind::BuildScriptRun && self.target.replace('-', "_") == crate_name
    }

    /// What names the unit in any build of its workspace: package, target and kind (its
    /// version may differ: an upgrade is still the same unit).
    pub fn identity(&self) -> (&str, &str, UnitKind) {
        (&self.package, &self.target, self.kind)
    }

    pub fn duration_ns(&self) -> u64 {
        self.end_ns.saturating_sub(self.start_ns)
    }

    /// A name people recognize: `serde v1.0.1 (build-script-run)`.
    pub fn display_name(&self) -> String {
        match self.kind {
            UnitKind::Lib => format!("{} v{}", self.package, self.version),
            _ => format!(
                "{} v{} ({})",
                self.package,
                self.version,
                self.kind.as_str()
            ),
        }
    }

    /// When this unit let a dependent that needs `rmeta_only` start.
    fn ready_for(&self, rmeta_only: bool) -> u64 {
        if rmeta_only {
            self.rmeta_ns.unwrap_or(self.end_ns)
        } else {
            self.end_ns
        }
    }
}

/// A link of the critical path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathStep {
    pub unit: usize,
    /// Time this unit spends on the path: from when the path reached it to when it let the
    /// next step start.
    pub on_path_ns: u64,
    /// Its share of the wall time, in percent.
    pub share_percent: f64,
    /// How much shorter the longest dependency chain gets if this unit took no time.
    pub saving_if_free_ns: u64,
}

/// The chain of units that set the build's wall time, first unit first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CriticalPath {
    pub steps: Vec<PathStep>,
    /// Wall time not explained by the chain: waiting for a free job slot, or cargo's own
    /// work (resolving, fingerprinting, downloads) before the first unit.
    pub waiting_ns: u64,
    /// The longest dependency chain, with every unit as long as it took and unlimited
    /// cores.
    pub longest_chain_ns: u64,
    /// The units of that chain, first unit first (`on_path_ns` is each unit's duration):
    /// what bounds the build on any number of cores.
    #[serde(default)]
    pub longest_chain: Vec<PathStep>,
}

/// The critical path of a build: starting from the unit that finished last, each step goes
/// back to the dependency that released it last (its metadata, for pipelined
/// dependencies). The time between a dependency's release and the unit's start is
/// waiting (for a job slot), not work.
pub fn critical_path(units: &[Unit], wall_ns: u64) -> CriticalPath {
    let by_id = |id: usize| units.iter().find(|u| u.id == id);
    let Some(last) = units.iter().max_by_key(|u| (u.end_ns, u.id)) else {
        return CriticalPath {
            steps: Vec::new(),
            waiting_ns: wall_ns,
            longest_chain_ns: 0,
            longest_chain: Vec::new(),
        };
    };
    // Walk back from the last unit.
    let mut chain: Vec<(usize, u64)> = Vec::new(); // (unit id, time it released the next step)
    let mut current = last;
    let mut release = last.end_ns;
    loop {
        chain.push((current.id, release));
        let blocker = current
            .deps
            .iter()
            .filter_map(|&d| by_id(d))
            .max_by_key(|d| (d.ready_for(current.rmeta_deps.contains(&d.id)), d.id));
        match blocker {
            Some(dep) if !chain.iter().any(|(id, _)| *id == dep.id) => {
                release = dep.ready_for(current.rmeta_deps.contains(&dep.id));
                current = dep;
            }
            _ => break,
        }
    }
    chain.reverse();

    let (longest, longest_units) = longest_chain_units(units);
    let mut steps = Vec::new();
    let mut covered = 0u64;
    for &(id, released_at) in &chain {
        let unit = by_id(id).expect("chain holds known units");
        let on_path = released_at.saturating_sub(unit.start_ns);
        covered += on_path;
        steps.push(PathStep {
            unit: id,
            on_path_ns: on_path,
            share_percent: crate::percent_of(on_path, wall_ns),
            saving_if_free_ns: longest.saturating_sub(longest_chain(units, Some(id)).0),
        });
    }
    let longest_chain = longest_units
        .into_iter()
        .filter_map(by_id)
        .map(|unit| PathStep {
            unit: unit.id,
            on_path_ns: unit.duration_ns(),
            share_percent: crate::percent_of(unit.duration_ns(), wall_ns),
            saving_if_free_ns: longest.saturating_sub(longest_chain(units, Some(unit.id)).0),
        })
        .collect();
    CriticalPath {
        steps,
        waiting_ns: wall_ns.saturating_sub(covered),
        longest_chain_ns: longest,
        longest_chain,
    }
}

/// The longest chain and its units, first unit first.
fn longest_chain_units(units: &[Unit]) -> (u64, Vec<usize>) {
    let (length, predecessors) = longest_chain(units, None);
    let Some(mut at) = predecessors
        .iter()
        .enumerate()
        .max_by_key(|(_, p)| (p.1, std::cmp::Reverse(units[p.0].id)))
        .map(|(i, _)| i)
    else {
        return (0, Vec::new());
    };
    let mut chain = vec![units[at].id];
    while let Some(previous) = predecessors[at].2 {
        if chain.contains(&units[previous].id) {
            break;
        }
        chain.push(units[previous].id);
        at = previous;
    }
    chain.reverse();
    (length, chain)
}

/// The longest chain of dependent work, each unit taking its measured duration (zero for
/// `free`), pipelined dependencies released at their metadata, unlimited cores. Also, per
/// unit: `(index, earliest finish, the dependency that released it last)`.
fn longest_chain(units: &[Unit], free: Option<usize>) -> (u64, Vec<(usize, u64, Option<usize>)>) {
    use std::collections::HashMap;
    let index: HashMap<usize, usize> = units.iter().enumerate().map(|(i, u)| (u.id, i)).collect();
    // (earliest finish, earliest metadata, releasing dependency) per unit.
    type Memo = Vec<Option<(u64, u64, Option<usize>)>>;
    fn visit(
        i: usize,
        units: &[Unit],
        index: &HashMap<usize, usize>,
        free: Option<usize>,
        memo: &mut Memo,
        depth: usize,
    ) -> (u64, u64, Option<usize>) {
        if let Some(done) = memo[i] {
            return done;
        }
        let unit = &units[i];
        let mut start = 0u64;
        let mut released_by = None;
        if depth < units.len() {
            for dep in &unit.deps {
                let Some(&j) = index.get(dep) else { continue };
                let (finish, meta, _) = visit(j, units, index, free, memo, depth + 1);
                let ready = if unit.rmeta_deps.contains(dep) {
                    meta
                } else {
                    finish
                };
                if ready > start || released_by.is_none() {
                    start = start.max(ready);
                    released_by = Some(j);
                }
            }
        }
        let duration = if free == Some(unit.id) {
            0
        } else {
            unit.duration_ns()
        };
        let meta_offset = unit
            .rmeta_ns
            .map(|m| m.saturating_sub(unit.start_ns).min(duration))
            .unwrap_or(duration);
        let result = (start + duration, start + meta_offset, released_by);
        memo[i] = Some(result);
        result
    }
    let mut memo: Memo = vec![None; units.len()];
    let per_unit: Vec<(usize, u64, Option<usize>)> = (0..units.len())
        .map(|i| {
            let (finish, _, released_by) = visit(i, units, &index, free, &mut memo, 0);
            (i, finish, released_by)
        })
        .collect();
    let longest = per_unit.iter().map(|p| p.1).max().unwrap_or(0);
    (longest, per_unit)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuildTotals {
    pub wall_ns: u64,
    /// Summed over units where the wrapper measured CPU time.
    pub cpu_ns: u64,
    /// Average number of units running at once: summed unit durations over wall time.
    pub average_parallelism: f64,
    /// The cores the build could use.
    pub cores: usize,
    /// Compiling and running build scripts, summed.
    pub build_script_compile_ns: u64,
    pub build_script_run_ns: u64,
    /// Compiling proc-macro crates, summed.
    pub proc_macro_ns: u64,
    /// Time in the linker, summed over units.
    pub link_ns: u64,
    /// The link of the unit that finished last (the final link), if measured.
    pub final_link_ns: Option<u64>,
    pub units: usize,
}

pub fn build_totals(units: &[Unit], wall_ns: u64, cores: usize) -> BuildTotals {
    let sum = |kind: UnitKind| -> u64 {
        units
            .iter()
            .filter(|u| u.kind == kind)
            .map(Unit::duration_ns)
            .sum()
    };
    let busy: u64 = units.iter().map(Unit::duration_ns).sum();
    BuildTotals {
        wall_ns,
        cpu_ns: units.iter().filter_map(|u| u.cpu_ns).sum(),
        average_parallelism: if wall_ns == 0 {
            0.0
        } else {
            busy as f64 / wall_ns as f64
        },
        cores,
        build_script_compile_ns: sum(UnitKind::BuildScriptCompile),
        build_script_run_ns: sum(UnitKind::BuildScriptRun),
        proc_macro_ns: sum(UnitKind::ProcMacro),
        link_ns: units.iter().filter_map(|u| u.link_ns).sum(),
        final_link_ns: units
            .iter()
            .max_by_key(|u| (u.end_ns, u.id))
            .and_then(|u| u.link_ns),
        units: units.len(),
    }
}

/// Units by duration, longest first.
pub fn slowest_units(units: &[Unit]) -> Vec<&Unit> {
    let mut sorted: Vec<&Unit> = units.iter().collect();
    sorted.sort_by(|a, b| {
        b.duration_ns()
            .cmp(&a.duration_ns())
            .then_with(|| a.id.cmp(&b.id))
    });
    sorted
}

/// One unit's time in two builds, paired by package, target and kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitChange {
    pub package: String,
    pub target: String,
    pub kind: UnitKind,
    /// Summed duration in each build; `None` where the unit did not run.
    pub base_ns: Option<u64>,
    pub new_ns: Option<u64>,
}

impl UnitChange {
    pub fn delta_ns(&self) -> i128 {
        self.new_ns.unwrap_or(0) as i128 - self.base_ns.unwrap_or(0) as i128
    }
}

/// Pairs the units of two builds (versions may differ: an upgrade is still the same
/// package) and sorts them by the size of their change, largest first.
pub fn compare_units(base: &[Unit], new: &[Unit]) -> Vec<UnitChange> {
    use std::collections::BTreeMap;
    let mut pairs: BTreeMap<(&str, &str, &'static str), UnitChange> = BTreeMap::new();
    for (units, is_new) in [(base, false), (new, true)] {
        for unit in units {
            let (package, target, kind) = unit.identity();
            let change = pairs
                .entry((package, target, kind.as_str()))
                .or_insert_with(|| UnitChange {
                    package: unit.package.clone(),
                    target: unit.target.clone(),
                    kind: unit.kind,
                    base_ns: None,
                    new_ns: None,
                });
            let side = if is_new {
                &mut change.new_ns
            } else {
                &mut change.base_ns
            };
            *side = Some(side.unwrap_or(0) + unit.duration_ns());
        }
    }
    let mut changes: Vec<UnitChange> = pairs.into_values().collect();
    changes.sort_by(|a, b| {
        b.delta_ns()
            .abs()
            .cmp(&a.delta_ns().abs())
            .then_with(|| a.package.cmp(&b.package))
    });
    changes
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A library unit `name` that ran from `start` to `end` (also the findings tests').
    pub(crate) fn unit(id: usize, name: &str, start: u64, end: u64, deps: &[usize]) -> Unit {
        Unit {
            linker: None,
            codegen_units: None,
            id,
            package: name.to_string(),
            version: "0.1.0".to_string(),
            target: name.to_string(),
            kind: UnitKind::Lib,
            start_ns: start,
            rmeta_ns: None,
            end_ns: end,
            cpu_ns: None,
            max_rss_bytes: None,
            exit_code: Some(0),
            link_ns: None,
            deps: deps.to_vec(),
            rmeta_deps: Vec::new(),
        }
    }

    #[test]
    fn the_chain_that_finished_last_is_the_critical_path() {
        // a (0-10) -> b (10-30) -> d (30-40); c (0-25) is independent, e (0-5) feeds d.
        let units = vec![
            unit(0, "a", 0, 10, &[]),
            unit(1, "b", 10, 30, &[0]),
            unit(2, "c", 0, 25, &[]),
            unit(3, "e", 0, 5, &[]),
            unit(4, "d", 30, 40, &[1, 3]),
        ];
        let path = critical_path(&units, 40);
        let ids: Vec<usize> = path.steps.iter().map(|s| s.unit).collect();
        assert_eq!(ids, vec![0, 1, 4]);
        assert_eq!(path.waiting_ns, 0);
        assert_eq!(path.longest_chain_ns, 40);
        let b = &path.steps[1];
        assert_eq!(b.on_path_ns, 20);
        assert_eq!(b.share_percent, 50.0);
        // Without b the longest chain is c -> nothing: max(a+d = 20, c = 25) = 25.
        assert_eq!(b.saving_if_free_ns, 15);
        let chain: Vec<usize> = path.longest_chain.iter().map(|s| s.unit).collect();
        assert_eq!(chain, vec![0, 1, 4]);
        assert_eq!(path.longest_chain[1].saving_if_free_ns, 15);
    }

    #[test]
    fn pipelined_dependencies_release_at_their_metadata() {
        let mut a = unit(0, "a", 0, 20, &[]);
        a.rmeta_ns = Some(8);
        let mut b = unit(1, "b", 8, 30, &[0]);
        b.rmeta_deps = vec![0];
        let path = critical_path(&[a, b], 30);
        assert_eq!(
            path.steps[0].on_path_ns, 8,
            "a is on the path until its rmeta"
        );
        assert_eq!(path.steps[1].on_path_ns, 22);
        assert_eq!(path.longest_chain_ns, 30);
    }

    #[test]
    fn waiting_for_a_job_slot_is_not_work() {
        // b could start at 10 but only got a slot at 15.
        let units = vec![unit(0, "a", 0, 10, &[]), unit(1, "b", 15, 25, &[0])];
        let path = critical_path(&units, 25);
        assert_eq!(path.waiting_ns, 5);
        assert_eq!(path.steps[1].on_path_ns, 10);
        // With unlimited cores the chain is 20 long.
        assert_eq!(path.longest_chain_ns, 20);
        let units = vec![unit(0, "a", 5, 10, &[])];
        assert_eq!(critical_path(&units, 10).waiting_ns, 5);
    }

    #[test]
    fn builds_are_compared_unit_by_unit() {
        let base = vec![unit(0, "a", 0, 10, &[]), unit(1, "b", 10, 30, &[0])];
        let mut upgraded = unit(0, "a", 0, 40, &[]);
        upgraded.version = "0.2.0".into();
        let new = vec![upgraded, unit(2, "c", 0, 5, &[])];
        let changes = compare_units(&base, &new);
        let names: Vec<(&str, i128)> = changes
            .iter()
            .map(|c| (c.package.as_str(), c.delta_ns()))
            .collect();
        assert_eq!(names, vec![("a", 30), ("b", -20), ("c", 5)]);
        assert_eq!(changes[1].new_ns, None);
    }

    #[test]
    fn cycles_in_bad_data_do_not_hang() {
        let units = vec![unit(0, "a", 0, 10, &[1]), unit(1, "b", 0, 10, &[0])];
        let path = critical_path(&units, 10);
        assert!(!path.steps.is_empty());
    }
}
