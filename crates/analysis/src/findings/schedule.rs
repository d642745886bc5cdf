//! The build's schedule: where its wall time went, the crate that compiles alone, and
//! the units on the critical path.

use super::*;

/// Walks a build's timeline from one unit start or end to the next, calling `visit` with
/// each span's length and the units running during it.
pub(super) fn sweep(units: &[Unit], mut visit: impl FnMut(u64, &[usize])) -> u64 {
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
pub(super) fn alone_time(units: &[Unit]) -> Vec<(usize, u64)> {
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
                for p in c.phases.phases.iter().filter(|p| p.phase.is_work()) {
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
pub(super) fn profile_of<'a>(unit: &Unit, crates: &'a [CratePhases]) -> Option<&'a CratePhases> {
    let name = match unit.kind {
        UnitKind::BuildScriptCompile => format!("build_script_build({})", unit.package),
        _ => unit.target.replace('-', "_"),
    };
    crates.iter().find(|c| c.crate_name == name)
}

/// Each unit's share of the wall time (a second shared by n running units gives each
/// 1/n), the time no unit ran, and the time fewer units ran than cores.
pub(super) fn wall_shares(
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
pub(super) fn serializing_crate(build: BuildEvidence, crates: &[CratePhases]) -> Option<Finding> {
    let cores = build.totals.cores.max(1) as u64;
    if cores < 2 {
        return None;
    }
    let on_path: Vec<usize> = build.critical_path.steps.iter().map(|s| s.unit).collect();
    // Build scripts on the path have a finding of their own (and no crate to split).
    let compiles_a_crate = |id: &usize| {
        !build.cached_units.contains(id)
            && build.units.iter().any(|u| {
                u.id == *id
                    && !matches!(
                        u.kind,
                        UnitKind::BuildScriptCompile | UnitKind::BuildScriptRun
                    )
            })
    };
    let (id, alone) = alone_time(build.units)
        .into_iter()
        .filter(|(id, _)| on_path.contains(id) && compiles_a_crate(id))
        .max_by_key(|(_, ns)| *ns)?;
    let unit = build.units.iter().find(|u| u.id == id)?;
    // A project of one crate of its own: no work of its own would overlap a split.
    if build.members.len() == 1 && build.members.contains(&unit.package) {
        return None;
    }
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
                + c.phases.llvm_ns()
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
    let facts = Facts::SerializingCrate {
        target: unit.target.clone(),
        unit: unit.display_name(),
        unit_ns: unit.duration_ns(),
        alone_ns: alone,
        wall_ns: wall,
        cores: cores as usize,
        dependents,
        front_end_share: front_end,
    };
    // A split over the cores parallelizes the front end; LLVM already spreads code
    // generation over codegen units.
    let estimate = (alone as f64 * (cores - 1) as f64 / cores as f64 * front_end) as u64;
    let owner = Owner::of_package(Some(build), &unit.package);
    Some(Finding::new(facts, Some(unit.target.clone()), estimate).owned_by(owner))
}

/// Build scripts and proc-macro crates on the critical path.
pub(super) fn critical_path_units(build: BuildEvidence) -> Vec<Finding> {
    let mut out = Vec::new();
    for kind in [UnitKind::BuildScriptCompile, UnitKind::ProcMacro] {
        let steps: Vec<(&Unit, u64, u64)> = build
            .critical_path
            .steps
            .iter()
            .filter_map(|s| {
                let u = build.units.iter().find(|u| u.id == s.unit)?;
                if build.cached_units.contains(&u.id) {
                    return None;
                }
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
        let worst = steps.iter().max_by_key(|s| s.1).expect("non-empty");
        let package = worst.0.package.clone();
        let timed = steps
            .iter()
            .map(|(u, ns, _)| Timed::new(u.display_name(), *ns))
            .collect();
        let path = super::dependencies::path_from_members(build, worst.0.id);
        let facts = if kind == UnitKind::ProcMacro {
            Facts::ProcMacroCrateOnCriticalPath {
                package: package.clone(),
                on_path_ns: on_path,
                steps: timed,
                path,
                brought_in_by: None,
            }
        } else {
            Facts::BuildScriptOnCriticalPath {
                package: package.clone(),
                on_path_ns: on_path,
                steps: timed,
                path,
                brought_in_by: None,
            }
        };
        // How much shorter the longest chain gets if the slowest of them took no time.
        let owner = Owner::of_package(Some(build), &package);
        let finding = Finding::new(facts, Some(package.clone()), saving);
        // A `-sys` crate's fix names what its user controls (the line that brings it in,
        // the system's library, a cache) whoever owns it.
        out.push(if package.ends_with("-sys") {
            finding
        } else {
            finding.owned_by(owner)
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::timeline::tests::unit as lib_unit;

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
}
