//! The dependency graph: a dependency compiled more than once, dependencies only one
//! member needs.

use super::*;

/// A package compiled more than once.
pub(super) fn duplicate_dependencies(build: BuildEvidence) -> Vec<Finding> {
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
        let facts = Facts::DuplicateDependency {
            package: package.to_string(),
            versions: versions.iter().map(|v| v.to_string()).collect(),
            copies: units
                .iter()
                .map(|u| Timed::new(u.display_name(), u.duration_ns()))
                .collect(),
        };
        out.push(Finding::new(facts, Some(package.to_string()), extra));
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
    Some(Finding::new(facts, Some(member.to_string()), exclusive))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::timeline::tests::unit as lib_unit;

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
            path_dependencies: &[],
            rebuild_reasons: None,
            setting_changes: &[],
            warm_up: None,
            cached_units: &[],
            manifests: None,
        })
        .expect("a finding");
        assert_eq!(finding.crate_name.as_deref(), Some("cli"));
        assert_eq!(finding.estimate_ns, 1_600_000_000);
        let Facts::DependencyOfOneMember { dependencies, .. } = &finding.facts else {
            panic!("{finding:?}")
        };
        let names: Vec<&str> = dependencies.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["clap_derive", "clap"]);
    }
}
