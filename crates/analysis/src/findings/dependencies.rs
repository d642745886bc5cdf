//! The dependency graph: a dependency compiled more than once, dependencies only one
//! member needs.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::*;
use crate::schedule::wall_saving_without;

/// Crates compiled more than once, one finding per cause: older versions grouped by the
/// package that asks for them, and same-version copies made for build scripts and proc
/// macros grouped by what uses them. Each saves the wall time of the run replayed without
/// the extra copies.
pub(super) fn duplicate_dependencies(build: BuildEvidence) -> Vec<Finding> {
    let graph = DependencyGraph::new(build);
    let mut out = older_copies(build, &graph);
    out.extend(host_copies(build, &graph));
    out
}

/// The units as a graph both ways, and which are compiled for the host only.
struct DependencyGraph<'a> {
    by_id: HashMap<usize, &'a Unit>,
    dependents: HashMap<usize, Vec<usize>>,
    /// Units only build scripts and proc macros reach (not the members' own code).
    host_only: HashSet<usize>,
}

impl<'a> DependencyGraph<'a> {
    fn new(build: BuildEvidence<'a>) -> DependencyGraph<'a> {
        let by_id: HashMap<usize, &Unit> = build.units.iter().map(|u| (u.id, u)).collect();
        let mut dependents: HashMap<usize, Vec<usize>> = HashMap::new();
        for u in build.units {
            for d in &u.deps {
                dependents.entry(*d).or_default().push(u.id);
            }
        }
        // What the members' code reaches without going through a build script or a proc
        // macro; everything else a build script or proc macro uses is the host's.
        let is_host_root =
            |u: &Unit| matches!(u.kind, UnitKind::BuildScriptCompile | UnitKind::ProcMacro);
        let mut target: HashSet<usize> = HashSet::new();
        let mut stack: Vec<usize> = build
            .units
            .iter()
            .filter(|u| build.members.contains(&u.package) && !is_host_root(u))
            .map(|u| u.id)
            .collect();
        while let Some(id) = stack.pop() {
            let Some(u) = by_id.get(&id) else { continue };
            if is_host_root(u) || !target.insert(id) {
                continue;
            }
            stack.extend(u.deps.iter().copied());
        }
        let host_only = build
            .units
            .iter()
            .filter(|u| u.kind == UnitKind::Lib && !target.contains(&u.id))
            .map(|u| u.id)
            .collect();
        DependencyGraph {
            by_id,
            dependents,
            host_only,
        }
    }

    /// The units above `start` that are not in `within`, going up through those that are.
    fn first_outside(&self, start: usize, within: &HashSet<usize>) -> BTreeSet<usize> {
        let mut found = BTreeSet::new();
        let mut seen = HashSet::new();
        let mut stack = vec![start];
        while let Some(id) = stack.pop() {
            if !seen.insert(id) {
                continue;
            }
            for &up in self.dependents.get(&id).into_iter().flatten() {
                if within.contains(&up) {
                    stack.push(up);
                } else {
                    found.insert(up);
                }
            }
        }
        found
    }
}

/// Packages from a member's unit down to `to`, by the shortest chain of dependencies.
pub(super) fn path_from_members(build: BuildEvidence, to: usize) -> Vec<String> {
    let by_id: HashMap<usize, &Unit> = build.units.iter().map(|u| (u.id, u)).collect();
    let mut parent: HashMap<usize, usize> = HashMap::new();
    let mut queue: std::collections::VecDeque<usize> = build
        .units
        .iter()
        .filter(|u| build.members.contains(&u.package))
        .map(|u| u.id)
        .collect();
    let mut seen: HashSet<usize> = queue.iter().copied().collect();
    while let Some(id) = queue.pop_front() {
        if id == to {
            break;
        }
        for &d in by_id.get(&id).map(|u| u.deps.as_slice()).unwrap_or(&[]) {
            if seen.insert(d) {
                parent.insert(d, id);
                queue.push_back(d);
            }
        }
    }
    let mut chain = vec![to];
    while let Some(&p) = parent.get(chain.last().expect("non-empty")) {
        chain.push(p);
    }
    chain.reverse();
    let mut names: Vec<String> = Vec::new();
    for id in chain {
        let Some(u) = by_id.get(&id) else {
            continue;
        };
        // A member by its name; a dependency by name and version; a build script's run
        // or compile is its package's.
        let name = if build.members.contains(&u.package) {
            u.package.clone()
        } else {
            format!("{} {}", u.package, u.version)
        };
        if names.last() != Some(&name) {
            names.push(name);
        }
    }
    names
}

/// `1.10.2` above `1.9.0`: versions compared number by number.
fn version_key(version: &str) -> Vec<u64> {
    version
        .split(['.', '-', '+'])
        .map(|p| p.parse().unwrap_or(0))
        .collect()
}

fn older_copies(build: BuildEvidence, graph: &DependencyGraph) -> Vec<Finding> {
    let mut by_package: BTreeMap<&str, Vec<&Unit>> = BTreeMap::new();
    for u in build.units.iter().filter(|u| u.kind == UnitKind::Lib) {
        by_package.entry(u.package.as_str()).or_default().push(u);
    }
    // Every copy at a version below its package's newest.
    let mut newest_of: HashMap<usize, String> = HashMap::new();
    for units in by_package.values() {
        let newest = units
            .iter()
            .map(|u| u.version.as_str())
            .max_by_key(|v| version_key(v))
            .unwrap_or_default();
        for u in units.iter().filter(|u| u.version != newest) {
            newest_of.insert(u.id, newest.to_string());
        }
    }
    // An older copy's build script (compiled and run) goes with it.
    let older_versions: HashSet<(&str, &str)> = newest_of
        .keys()
        .filter_map(|id| graph.by_id.get(id))
        .map(|u| (u.package.as_str(), u.version.as_str()))
        .collect();
    let older: HashSet<usize> = build
        .units
        .iter()
        .filter(|u| older_versions.contains(&(u.package.as_str(), u.version.as_str())))
        .map(|u| u.id)
        .collect();
    // Grouped by the package that asks for them.
    let mut groups: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for &id in newest_of.keys() {
        for puller in graph.first_outside(id, &older) {
            let Some(p) = graph.by_id.get(&puller) else {
                continue;
            };
            groups
                .entry((p.package.clone(), p.version.clone()))
                .or_default()
                .push(id);
        }
    }
    let mut out = Vec::new();
    for ((puller, puller_version), mut ids) in groups {
        ids.sort_unstable();
        ids.dedup();
        // The older copies this puller brings in, and what only reaches them through it.
        let mut copies: Vec<OlderCopy> = ids
            .iter()
            .filter_map(|id| graph.by_id.get(id))
            .map(|u| OlderCopy {
                package: u.package.clone(),
                version: u.version.clone(),
                newest: newest_of[&u.id].clone(),
                ns: u.duration_ns(),
            })
            .collect();
        copies.sort_by(|a, b| b.ns.cmp(&a.ns).then(a.package.cmp(&b.package)));
        // The first older copy on the way down from the puller.
        let first = ids
            .iter()
            .copied()
            .find(|id| {
                graph.dependents.get(id).into_iter().flatten().any(|up| {
                    graph
                        .by_id
                        .get(up)
                        .is_some_and(|u| u.package == puller && u.version == puller_version)
                })
            })
            .unwrap_or(ids[0]);
        let versions: HashSet<(&str, &str)> = copies
            .iter()
            .map(|c| (c.package.as_str(), c.version.as_str()))
            .collect();
        let with_scripts: Vec<usize> = build
            .units
            .iter()
            .filter(|u| versions.contains(&(u.package.as_str(), u.version.as_str())))
            .map(|u| u.id)
            .collect();
        let saving = wall_saving_without(build.units, &with_scripts, build.totals.cores);
        let facts = Facts::DuplicateDependency {
            puller_is_member: build.members.contains(&puller),
            path: path_from_members(build, first),
            puller: puller.clone(),
            puller_version,
            copies,
            brought_in_by: None,
        };
        out.push(Finding::new(facts, Some(puller), saving));
    }
    out
}

fn host_copies(build: BuildEvidence, graph: &DependencyGraph) -> Vec<Finding> {
    // Same-version copies: a package and version with more than one library unit, of
    // which some are the host's.
    let mut by_version: BTreeMap<(&str, &str), Vec<&Unit>> = BTreeMap::new();
    for u in build.units.iter().filter(|u| u.kind == UnitKind::Lib) {
        by_version
            .entry((u.package.as_str(), u.version.as_str()))
            .or_default()
            .push(u);
    }
    let extra: HashSet<usize> = by_version
        .values()
        .filter(|units| units.len() > 1 && units.iter().any(|u| !graph.host_only.contains(&u.id)))
        .flat_map(|units| units.iter().filter(|u| graph.host_only.contains(&u.id)))
        .map(|u| u.id)
        .collect();
    // Grouped by what uses them: the build scripts and proc macros above them.
    let mut groups: BTreeMap<Vec<String>, Vec<usize>> = BTreeMap::new();
    for &id in &extra {
        let users: BTreeSet<String> = graph
            .first_outside(id, &graph.host_only)
            .into_iter()
            .filter_map(|up| graph.by_id.get(&up))
            .map(|u| match u.kind {
                UnitKind::BuildScriptCompile => format!("the build script of {}", u.package),
                UnitKind::ProcMacro => format!("the proc macro {}", u.package),
                _ => u.package.clone(),
            })
            .collect();
        groups
            .entry(users.into_iter().collect())
            .or_default()
            .push(id);
    }
    let mut out = Vec::new();
    for (users, mut ids) in groups {
        ids.sort_unstable();
        let mut copies: Vec<Timed> = ids
            .iter()
            .filter_map(|id| graph.by_id.get(id))
            .map(|u| Timed::new(format!("{} {}", u.package, u.version), u.duration_ns()))
            .collect();
        copies.sort_by(|a, b| b.ns.cmp(&a.ns).then(a.name.cmp(&b.name)));
        let saving = wall_saving_without(build.units, &ids, build.totals.cores);
        let first = copies.first().map(|c| c.name.clone());
        let facts = Facts::HostCopies { users, copies };
        out.push(Finding::new(facts, first, saving));
    }
    out
}

/// Dependencies (with their build scripts) that only one workspace member needs: every
/// build of the workspace pays for them.
pub(super) fn dependencies_of_one_member(build: BuildEvidence) -> Option<Finding> {
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
    let facts = Facts::DependencyOfOneMember {
        member: member.to_string(),
        dependencies: deps.iter().map(|(p, ns)| Timed::new(*p, *ns)).collect(),
        exclusive_ns: exclusive,
        total_ns: total,
    };
    // Wall time, like every other finding: the run replayed without those packages (what
    // builds that leave the member out no longer wait for).
    let ids: Vec<usize> = build
        .units
        .iter()
        .filter(|u| deps.iter().any(|(p, _)| *p == u.package))
        .map(|u| u.id)
        .collect();
    let saving = wall_saving_without(build.units, &ids, build.totals.cores);
    Some(Finding::new(facts, Some(member.to_string()), saving))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::findings::tests::Run;
    use crate::timeline::tests::unit as lib_unit;

    #[test]
    fn older_copies_are_one_finding_naming_the_package_that_asks_for_them() {
        const MS: u64 = 1_000_000;
        let unit = |id, package: &str, version: &str, deps: &[usize], ms: u64| {
            let mut u = lib_unit(id, package, 0, ms * MS, deps);
            u.version = version.into();
            u
        };
        // app → stat 1.0.0 → rand 0.6.0 → rand_core 0.3.0; app → rand 0.8.0 → rand_core 0.6.0.
        let mut units = vec![
            unit(0, "rand_core", "0.3.0", &[], 100),
            unit(1, "rand", "0.6.0", &[0], 300),
            unit(2, "stat", "1.0.0", &[1], 200),
            unit(3, "rand_core", "0.6.0", &[], 100),
            unit(4, "rand", "0.8.0", &[3], 300),
            unit(5, "app", "0.1.0", &[2, 4], 100),
        ];
        // Sequential on one core: every unit saved is wall time saved.
        let mut t = 0;
        for u in &mut units {
            let d = u.duration_ns();
            u.start_ns = t;
            u.end_ns = t + d;
            t += d;
        }
        let run = Run::of(units, 1);
        let members = vec!["app".to_string()];
        let build = run.evidence(&members);
        let found = duplicate_dependencies(build);
        assert_eq!(found.len(), 1, "{found:#?}");
        let Facts::DuplicateDependency {
            puller,
            path,
            copies,
            puller_is_member,
            ..
        } = &found[0].facts
        else {
            panic!("{found:?}")
        };
        assert_eq!(puller, "stat");
        assert!(!puller_is_member);
        assert_eq!(path, &["app", "stat 1.0.0", "rand 0.6.0"]);
        let names: Vec<(&str, &str, &str)> = copies
            .iter()
            .map(|c| (c.package.as_str(), c.version.as_str(), c.newest.as_str()))
            .collect();
        assert_eq!(
            names,
            [("rand", "0.6.0", "0.8.0"), ("rand_core", "0.3.0", "0.6.0")]
        );
        assert_eq!(
            found[0].estimate_ns,
            400 * MS,
            "both older copies, replayed"
        );
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
        let run = Run::of(units, 2);
        let members = vec!["cli".to_string(), "server".to_string()];
        let finding = dependencies_of_one_member(run.evidence(&members)).expect("a finding");
        assert_eq!(finding.crate_name.as_deref(), Some("cli"));
        let Facts::DependencyOfOneMember {
            dependencies,
            exclusive_ns,
            ..
        } = &finding.facts
        else {
            panic!("{finding:?}")
        };
        // clap and clap_derive: 1.6 s of unit time; the replay without them is the saving
        // (on 2 cores, from the units as they ran), never more.
        assert_eq!(*exclusive_ns, 1_600_000_000);
        assert!(
            (1..=1_600_000_000).contains(&finding.estimate_ns),
            "{}",
            finding.estimate_ns
        );
        let names: Vec<&str> = dependencies.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["clap_derive", "clap"]);
    }
}
