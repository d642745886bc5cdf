//! Why a unit rebuilt: the reasons cargo gives with `-v` (`Dirty geometry v0.1.0 (…): the
//! file `geometry/src/lib.rs` has changed (…)`), classified, and the cascades they start:
//! the units dirty for a reason of their own (the roots) and the units that rebuilt only
//! because a root did.
//!
//! cargo's wording is not a stable format: a reason buildscope does not recognise is kept
//! verbatim as `other`, never dropped.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::schedule::wall_saving_without;
use crate::timeline::{Unit, UnitKind};

/// Why one unit was not fresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum RebuildReason {
    /// A source file (or another input it tracks) changed.
    FileChanged { file: String },
    /// Something in the package changed, and cargo watches the package as a whole (its
    /// "precalculated" fingerprint: a build script with no `rerun-if-changed` line, which
    /// then reruns whenever any file of the package changes).
    PackageChanged,
    /// A dependency was rebuilt (named as cargo names it: its crate name).
    DependencyRebuilt { dependency: String },
    /// A tracked input is missing (a `rerun-if-changed` path that does not exist reruns
    /// every build).
    FileMissing { file: String },
    /// An environment variable the unit depends on changed (its values, when cargo's
    /// build-analysis log gave them).
    EnvChanged {
        variable: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<String>,
    },
    /// Compiler flags, profile or configuration changed (`RUSTFLAGS`, `[profile]`,
    /// `--config`, the target).
    FlagsChanged { detail: String },
    /// The enabled features changed.
    FeaturesChanged { detail: String },
    /// Another compiler.
    ToolchainChanged,
    /// Cargo gave no reason: the unit had not been built into this target directory.
    NotBuiltBefore,
    /// A reason buildscope does not know, as cargo worded it.
    Other { text: String },
}

impl RebuildReason {
    /// A dirty unit's own reason (a root), rather than a dependency's.
    pub fn is_root(&self) -> bool {
        !matches!(self, RebuildReason::DependencyRebuilt { .. })
    }
}

/// The reason recorded for one unit (by id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitReason {
    pub unit: usize,
    #[serde(flatten)]
    pub reason: RebuildReason,
}

/// `Dirty geometry v0.1.0 (/w/geometry): <reason>` → (package, version, reason).
pub fn parse_dirty_line(line: &str) -> Option<(String, String, RebuildReason)> {
    let rest = line.trim_start().strip_prefix("Dirty ")?;
    let (name, rest) = rest.split_once(' ')?;
    let rest = rest.strip_prefix('v')?;
    let (version, rest) = rest.split_once([' ', ':'])?;
    // The source in parentheses, if any, then `: ` and the reason.
    let reason = rest.split_once("): ").map_or_else(
        || rest.trim_start_matches(':').trim(),
        |(_, reason)| reason.trim(),
    );
    Some((name.to_string(), version.to_string(), classify(reason)))
}

/// The text between the first pair of backticks.
fn quoted(text: &str) -> Option<&str> {
    let start = text.find('`')? + 1;
    let end = start + text[start..].find('`')?;
    Some(&text[start..end])
}

/// cargo's reason text as a kind.
pub fn classify(reason: &str) -> RebuildReason {
    let other = || RebuildReason::Other {
        text: reason.to_string(),
    };
    let lower = reason.to_ascii_lowercase();
    if lower.starts_with("the file") && lower.contains("has changed") {
        return quoted(reason).map_or_else(other, |f| RebuildReason::FileChanged {
            file: f.to_string(),
        });
    }
    if lower.starts_with("the file") && lower.contains("missing") {
        return quoted(reason).map_or_else(other, |f| RebuildReason::FileMissing {
            file: f.to_string(),
        });
    }
    if lower.contains("precalculated") {
        return RebuildReason::PackageChanged;
    }
    // "the dependency `x` was rebuilt", "info of dependency `x` changed".
    if lower.contains("dependency `") && (lower.contains("rebuilt") || lower.contains("changed")) {
        return quoted(reason).map_or_else(other, |d| RebuildReason::DependencyRebuilt {
            dependency: d.to_string(),
        });
    }
    // "the env variable GEN_SEED changed" (cargo 1.95), or with the name quoted.
    if lower.contains("environment variable") || lower.contains("env variable") {
        let named = quoted(reason).map(str::to_string).or_else(|| {
            let after = &reason[lower.find("variable")? + "variable".len()..];
            after.split_whitespace().next().map(str::to_string)
        });
        return named.map_or_else(other, |variable| RebuildReason::EnvChanged {
            variable,
            before: None,
            after: None,
        });
    }
    if lower.contains("feature") {
        return RebuildReason::FeaturesChanged {
            detail: reason.to_string(),
        };
    }
    if lower.contains("toolchain") || lower.contains("rustc changed") {
        return RebuildReason::ToolchainChanged;
    }
    if [
        "rustflags",
        "profile",
        "config",
        "target configuration",
        "compile kind",
    ]
    .iter()
    .any(|w| lower.contains(w))
    {
        return RebuildReason::FlagsChanged {
            detail: reason.to_string(),
        };
    }
    other()
}

/// Gives every unit that ran its reason: cargo's `Dirty` lines, by package and version, to
/// that package's units in the order they started (cargo names the package, not the
/// target), one line per unit. cargo prints one line per package: a package's further
/// units that rebuilt are given the unit of theirs that rebuilt before them (their build
/// script's run, say: as cargo's build-analysis log names it), else the package's line. A
/// package with no line at all was not built before.
pub fn assign_reasons(
    units: &[Unit],
    dirty: &[(String, String, RebuildReason)],
) -> Vec<UnitReason> {
    let mut by_package: HashMap<(&str, &str), Vec<&RebuildReason>> = HashMap::new();
    for (name, version, reason) in dirty {
        by_package
            .entry((name.as_str(), version.as_str()))
            .or_default()
            .push(reason);
    }
    let mut order: Vec<&Unit> = units.iter().collect();
    order.sort_by_key(|u| (u.start_ns, u.id));
    let ran: HashMap<usize, &Unit> = units.iter().map(|u| (u.id, u)).collect();
    let mut taken: HashMap<(&str, &str), usize> = HashMap::new();
    order
        .into_iter()
        .map(|u| {
            let key = (u.package.as_str(), u.version.as_str());
            let next = taken.entry(key).or_default();
            let own = by_package.get(&key).and_then(|r| r.get(*next)).copied();
            *next += 1;
            let lines = by_package.get(&key);
            let reason = match (own, lines) {
                (Some(reason), _) => reason.clone(),
                (None, Some(lines)) => {
                    let rebuilt_dep = u.deps.iter().filter_map(|d| ran.get(d)).min_by_key(|dep| {
                        // Its own package's unit (the build script's run) first.
                        (dep.package != u.package, dep.id)
                    });
                    match rebuilt_dep {
                        Some(dep) => RebuildReason::DependencyRebuilt {
                            dependency: dep.target.clone(),
                        },
                        None => (*lines.last().expect("a package with lines")).clone(),
                    }
                }
                (None, None) => RebuildReason::NotBuiltBefore,
            };
            UnitReason { unit: u.id, reason }
        })
        .collect()
}

/// A unit dirty for a reason of its own, and what rebuilt because of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RebuildRoot {
    pub unit: usize,
    pub package: String,
    pub reason: RebuildReason,
    /// Units that rebuilt only because this one did (directly or through others).
    pub cascade: Vec<usize>,
    /// The unit time of the root and its cascade.
    pub unit_ns: u64,
    /// The wall time they cost: the run's schedule replayed without them.
    pub wall_ns: u64,
}

/// The unit a `dependency was rebuilt` reason points at: a rebuilt unit of that crate that
/// `unit` depends on.
fn rebuilt_dependency(
    units: &[Unit],
    index: &HashMap<usize, usize>,
    reason_of: &HashMap<usize, &RebuildReason>,
    unit: &Unit,
) -> Option<usize> {
    let RebuildReason::DependencyRebuilt { dependency } = reason_of.get(&unit.id)? else {
        return None;
    };
    let name = dependency.replace('-', "_");
    let named: Vec<usize> = unit
        .deps
        .iter()
        .copied()
        .filter(|d| {
            index.get(d).is_some_and(|&i| {
                let dep = &units[i];
                dep.target.replace('-', "_") == name || dep.package.replace('-', "_") == name
            })
        })
        .collect();
    // A package's name also fits its build script's run; the library is meant, unless the
    // reason names the build script (`build-script-build`, as cargo's log does).
    let is_run = |d: &usize| units[index[d]].kind == UnitKind::BuildScriptRun;
    named
        .iter()
        .copied()
        .find(|d| !is_run(d))
        .or_else(|| named.iter().copied().find(is_run))
}

/// Why `unit` rebuilt, step by step: the unit and its reason, then the dependency that
/// reason names and its reason, and so on to the root.
pub fn reason_chain(
    units: &[Unit],
    reasons: &[UnitReason],
    unit: usize,
) -> Vec<(usize, RebuildReason)> {
    let reason_of: HashMap<usize, &RebuildReason> =
        reasons.iter().map(|r| (r.unit, &r.reason)).collect();
    let index: HashMap<usize, usize> = units.iter().enumerate().map(|(i, u)| (u.id, i)).collect();
    let mut chain: Vec<(usize, RebuildReason)> = Vec::new();
    let mut current = Some(unit);
    while let Some(id) = current {
        let (Some(&i), Some(reason)) = (index.get(&id), reason_of.get(&id)) else {
            break;
        };
        if chain.iter().any(|(seen, _)| *seen == id) {
            break;
        }
        chain.push((id, (*reason).clone()));
        current = rebuilt_dependency(units, &index, &reason_of, &units[i]);
    }
    chain
}

/// The roots of a rebuild, most wall time first.
pub fn rebuild_roots(units: &[Unit], reasons: &[UnitReason], cores: usize) -> Vec<RebuildRoot> {
    let reason_of: HashMap<usize, &RebuildReason> =
        reasons.iter().map(|r| (r.unit, &r.reason)).collect();
    let index: HashMap<usize, usize> = units.iter().enumerate().map(|(i, u)| (u.id, i)).collect();
    let parent = |u: &Unit| rebuilt_dependency(units, &index, &reason_of, u);
    let root_of = |u: &Unit| -> Option<usize> {
        let mut current = u;
        for _ in 0..=units.len() {
            match parent(current) {
                Some(p) => current = &units[*index.get(&p)?],
                None => {
                    return reason_of
                        .get(&current.id)
                        .filter(|r| r.is_root())
                        .map(|_| current.id)
                }
            }
        }
        None
    };
    // Each unit's root, found once.
    let root_of_unit: Vec<Option<usize>> = units.iter().map(root_of).collect();
    let mut roots: Vec<RebuildRoot> = Vec::new();
    for unit in units {
        let Some(reason) = reason_of.get(&unit.id).filter(|r| r.is_root()) else {
            continue;
        };
        if matches!(reason, RebuildReason::NotBuiltBefore) {
            continue;
        }
        let cascade: Vec<usize> = units
            .iter()
            .zip(&root_of_unit)
            .filter(|(u, root)| u.id != unit.id && **root == Some(unit.id))
            .map(|(u, _)| u.id)
            .collect();
        let members: Vec<usize> = std::iter::once(unit.id)
            .chain(cascade.iter().copied())
            .collect();
        let unit_ns = members
            .iter()
            .filter_map(|id| index.get(id).map(|&i| units[i].duration_ns()))
            .sum();
        roots.push(RebuildRoot {
            unit: unit.id,
            package: unit.package.clone(),
            reason: (*reason).clone(),
            cascade,
            unit_ns,
            wall_ns: wall_saving_without(units, &members, cores),
        });
    }
    roots.sort_by(|a, b| b.wall_ns.cmp(&a.wall_ns).then(a.unit.cmp(&b.unit)));
    roots
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::tests::unit;

    const MS: u64 = 1_000_000;

    #[test]
    fn cargo_reasons_are_parsed_and_unknown_ones_kept() {
        let (name, version, reason) = parse_dirty_line(
            "       Dirty geometry v0.1.0 (/tmp/ex/geometry): the file `geometry/src/lib.rs` has changed (1796004793.855287522s, 419158284ns after last build at 1796004793.436129238s)",
        )
        .unwrap();
        assert_eq!((name.as_str(), version.as_str()), ("geometry", "0.1.0"));
        assert_eq!(
            reason,
            RebuildReason::FileChanged {
                file: "geometry/src/lib.rs".into()
            }
        );
        let (_, _, reason) = parse_dirty_line(
            "       Dirty report v0.1.0 (/tmp/ex/report): the dependency `geometry` was rebuilt",
        )
        .unwrap();
        assert_eq!(
            reason,
            RebuildReason::DependencyRebuilt {
                dependency: "geometry".into()
            }
        );
        assert_eq!(
            classify("the environment variable `GIT_HASH` changed"),
            RebuildReason::EnvChanged {
                variable: "GIT_HASH".into(),
                before: None,
                after: None,
            }
        );
        assert!(matches!(
            classify("the rustflags changed"),
            RebuildReason::FlagsChanged { .. }
        ));
        assert!(matches!(
            classify("the list of features changed"),
            RebuildReason::FeaturesChanged { .. }
        ));
        assert_eq!(
            classify("something cargo says one day"),
            RebuildReason::Other {
                text: "something cargo says one day".into()
            }
        );
        // A registry package has no source in parentheses.
        let (name, _, _) =
            parse_dirty_line("Dirty memchr v2.7.4: the file `src/lib.rs` has changed").unwrap();
        assert_eq!(name, "memchr");
        assert_eq!(parse_dirty_line("   Compiling geometry v0.1.0"), None);
    }

    #[test]
    fn a_packages_second_unit_rebuilt_for_its_build_script_as_cargos_log_says() {
        // cargo -v prints one Dirty line for the package (its build script's run).
        let mut units = vec![
            unit(0, "tool", 0, 10 * MS, &[]),
            unit(1, "tool", 10 * MS, 90 * MS, &[0]),
        ];
        units[0].kind = UnitKind::BuildScriptRun;
        units[0].target = "build-script-build".into();
        units[1].kind = UnitKind::Bin;
        let dirty = vec![(
            "tool".to_string(),
            "0.1.0".to_string(),
            RebuildReason::PackageChanged,
        )];
        let reasons = assign_reasons(&units, &dirty);
        assert_eq!(reasons[0].reason, RebuildReason::PackageChanged);
        assert_eq!(
            reasons[1].reason,
            RebuildReason::DependencyRebuilt {
                dependency: "build-script-build".into()
            }
        );
        let chain = reason_chain(&units, &reasons, 1);
        assert_eq!(chain.len(), 2, "bin → its build script's run: {chain:?}");
    }

    #[test]
    fn roots_own_the_units_that_rebuilt_because_of_them() {
        // base changed → middle and app rebuilt for it; tool never built before.
        let mut units = vec![
            unit(0, "base", 0, 100 * MS, &[]),
            unit(1, "middle", 100 * MS, 300 * MS, &[0]),
            unit(2, "app", 300 * MS, 400 * MS, &[1]),
            unit(3, "tool", 0, 50 * MS, &[]),
        ];
        units[2].kind = UnitKind::Bin;
        let dirty = vec![
            (
                "base".to_string(),
                "0.1.0".to_string(),
                RebuildReason::FileChanged {
                    file: "base/src/lib.rs".into(),
                },
            ),
            (
                "middle".to_string(),
                "0.1.0".to_string(),
                RebuildReason::DependencyRebuilt {
                    dependency: "base".into(),
                },
            ),
            (
                "app".to_string(),
                "0.1.0".to_string(),
                RebuildReason::DependencyRebuilt {
                    dependency: "middle".into(),
                },
            ),
        ];
        let reasons = assign_reasons(&units, &dirty);
        assert_eq!(
            reasons.iter().find(|r| r.unit == 3).unwrap().reason,
            RebuildReason::NotBuiltBefore
        );
        let roots = rebuild_roots(&units, &reasons, 2);
        assert_eq!(roots.len(), 1, "{roots:?}");
        assert_eq!(roots[0].package, "base");
        assert_eq!(roots[0].cascade, vec![1, 2]);
        assert_eq!(roots[0].unit_ns, 400 * MS);
        assert_eq!(
            roots[0].wall_ns,
            350 * MS,
            "the chain goes; tool's 50 ms remains"
        );
    }
}
