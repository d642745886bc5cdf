//! Findings only rebuild reasons make possible: why a unit was not fresh, not how long it
//! took. A build script that reruns on every build, an environment variable that changes
//! between builds, one edited crate that many depend on, and two settings that take turns
//! in one target directory.

use super::*;
use crate::rebuild::{rebuild_roots, RebuildReason, RebuildRoot};
use crate::schedule::wall_saving_without;

/// A cascade is worth a finding from this many units rebuilt for one edited crate.
const CASCADE_UNITS: usize = 3;

/// A rebuild finding below this share of the wall time (or [`MIN_SAVING_NS`]) is true and
/// worthless: a build script of 2 ms that reruns is not worth a maintainer's change.
const MIN_SHARE_OF_WALL: f64 = 0.02;
const MIN_SAVING_NS: u64 = 20_000_000;

pub(super) fn rebuild_findings(build: BuildEvidence) -> Vec<Finding> {
    let floor = MIN_SAVING_NS.max((build.totals.wall_ns as f64 * MIN_SHARE_OF_WALL) as u64);
    let mut findings = all_rebuild_findings(build);
    findings.retain(|f| f.estimate_ns >= floor);
    findings
}

fn all_rebuild_findings(build: BuildEvidence) -> Vec<Finding> {
    let mut findings = Vec::new();
    findings.extend(settings_thrash(build));
    let Some(reasons) = build.rebuild_reasons else {
        return findings;
    };
    let roots = rebuild_roots(build.units, reasons, build.totals.cores);
    for root in &roots {
        let Some(unit) = build.units.iter().find(|u| u.id == root.unit) else {
            continue;
        };
        findings.extend(match &root.reason {
            RebuildReason::PackageChanged | RebuildReason::FileMissing { .. }
                if unit.kind == UnitKind::BuildScriptRun =>
            {
                build_script_reruns(build, root)
            }
            RebuildReason::FileChanged { file }
                if unit.kind == UnitKind::BuildScriptRun && is_generated(file) =>
            {
                build_script_reruns(build, root)
            }
            RebuildReason::EnvChanged { .. } => changing_variable(build, root),
            RebuildReason::FileChanged { file } if build.hot => edit_cascade(build, root, file),
            _ => None,
        });
    }
    findings
}

/// A path a build writes rather than a person: in a target directory or a build's `OUT_DIR`.
fn is_generated(file: &str) -> bool {
    let file = file.replace('\\', "/");
    file.starts_with("target/") || file.contains("/target/") || file.contains("/out/")
}

/// The units rebuilt after a root, for evidence.
fn cascade_of(build: BuildEvidence, root: &RebuildRoot) -> Cascade {
    let mut packages: Vec<String> = root
        .cascade
        .iter()
        .filter_map(|id| build.units.iter().find(|u| u.id == *id))
        .map(|u| u.package.clone())
        .filter(|p| *p != root.package)
        .collect();
    packages.sort();
    packages.dedup();
    Cascade {
        units: root.cascade.len(),
        packages,
        unit_ns: root.unit_ns,
        wall_ns: root.wall_ns,
    }
}

fn build_script_reruns(build: BuildEvidence, root: &RebuildRoot) -> Option<Finding> {
    let cause = match &root.reason {
        RebuildReason::PackageChanged => RerunCause::NoRerunIfChanged,
        RebuildReason::FileMissing { file } => {
            RerunCause::WatchesMissingFile { file: file.clone() }
        }
        RebuildReason::FileChanged { file } => {
            RerunCause::WatchesGeneratedFile { file: file.clone() }
        }
        _ => return None,
    };
    // What the script costs is its own run, which the units after it waited for (they
    // rebuild for the edit anyway, so their time is not the script's).
    let ran_ns = build
        .units
        .iter()
        .find(|u| u.id == root.unit)
        .map_or(0, |u| u.duration_ns());
    let owner = Owner::of_package(Some(build), &root.package);
    let saving = wall_saving_without(build.units, &[root.unit], build.totals.cores);
    let facts = Facts::BuildScriptReruns {
        package: root.package.clone(),
        cause,
        ran_ns,
        waiting: root.cascade.len(),
    };
    Some(Finding::new(facts, Some(root.package.clone()), saving).owned_by(owner))
}

/// A value that changes by itself: a Unix time or a commit hash.
fn looks_volatile(value: &str) -> Option<&'static str> {
    let v = value.trim();
    if v.len() >= 9 && v.chars().all(|c| c.is_ascii_digit()) {
        return Some("a timestamp");
    }
    if (7..=40).contains(&v.len())
        && v.chars().all(|c| c.is_ascii_hexdigit())
        && v.chars().any(|c| c.is_ascii_digit())
    {
        return Some("a commit hash");
    }
    if v.contains(':') && v.chars().filter(|c| c.is_ascii_digit()).count() >= 6 {
        return Some("a date and time");
    }
    None
}

fn changing_variable(build: BuildEvidence, root: &RebuildRoot) -> Option<Finding> {
    let RebuildReason::EnvChanged {
        variable,
        before,
        after,
    } = &root.reason
    else {
        return None;
    };
    let facts = Facts::ChangingEnvironmentVariable {
        package: root.package.clone(),
        variable: variable.clone(),
        before: before.clone(),
        after: after.clone(),
        volatile: after.as_deref().and_then(looks_volatile),
        cascade: cascade_of(build, root),
    };
    // Wall time: the run's schedule replayed without the units the change rebuilt.
    Some(Finding::new(
        facts,
        Some(root.package.clone()),
        root.wall_ns,
    ))
}

fn edit_cascade(build: BuildEvidence, root: &RebuildRoot, file: &str) -> Option<Finding> {
    let units_of = |id: &usize| build.units.iter().find(|u| u.id == *id);
    // Only other crates rebuilt for the edit are the cascade: the edited package's own
    // binaries and tests would rebuild wherever the code lives.
    let dependents: Vec<&Unit> = root
        .cascade
        .iter()
        .filter_map(units_of)
        .filter(|u| u.package != root.package)
        .collect();
    if dependents.len() < CASCADE_UNITS {
        return None;
    }
    let owner = Owner::of_package(Some(build), &root.package);
    if matches!(owner, Owner::Dependency { path: false, .. }) {
        return None;
    }
    let ids: Vec<usize> = dependents.iter().map(|u| u.id).collect();
    let saving = wall_saving_without(build.units, &ids, build.totals.cores);
    let unit_ns: u64 = dependents.iter().map(|u| u.duration_ns()).sum();
    let mut packages: Vec<String> = dependents.iter().map(|u| u.package.clone()).collect();
    packages.sort();
    packages.dedup();
    let facts = Facts::EditCascade {
        package: root.package.clone(),
        file: file.to_string(),
        units: dependents.len(),
        packages,
        unit_ns,
    };
    // At most: moving the code saves part of it.
    Some(Finding::new(facts, Some(root.package.clone()), saving))
}

fn settings_thrash(build: BuildEvidence) -> Option<Finding> {
    if build.setting_changes.is_empty() {
        return None;
    }
    let rebuilt: Vec<&Unit> = match build.rebuild_reasons {
        Some(reasons) => build
            .units
            .iter()
            .filter(|u| {
                reasons
                    .iter()
                    .any(|r| r.unit == u.id && r.reason == RebuildReason::NotBuiltBefore)
            })
            .collect(),
        None => Vec::new(),
    };
    // In a hot run the warm-up build compiled the other copies; in an as-is run, this one.
    let (units, unit_ns, estimate_ns, from_warm_up) = match build.warm_up {
        Some(warm) if warm.not_built_before > 0 || rebuilt.is_empty() => (
            warm.not_built_before.max(warm.units),
            warm.unit_ns,
            warm.wall_ns,
            true,
        ),
        _ if !rebuilt.is_empty() => {
            let ids: Vec<usize> = rebuilt.iter().map(|u| u.id).collect();
            (
                rebuilt.len(),
                rebuilt.iter().map(|u| u.duration_ns()).sum(),
                wall_saving_without(build.units, &ids, build.totals.cores),
                false,
            )
        }
        _ => return None,
    };
    let facts = Facts::SettingsThrash {
        changes: build.setting_changes.to_vec(),
        units,
        unit_ns,
        from_warm_up,
    };
    Some(Finding::new(facts, None, estimate_ns))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_that_change_by_themselves_are_recognised() {
        assert_eq!(looks_volatile("1796007740"), Some("a timestamp"));
        assert_eq!(looks_volatile("8654f7a"), Some("a commit hash"));
        assert_eq!(
            looks_volatile("2026-11-30T03:02:21Z"),
            Some("a date and time")
        );
        assert_eq!(looks_volatile("release"), None);
        assert_eq!(looks_volatile("42"), None);
        assert_eq!(looks_volatile("deadbeef"), None, "no digit: a word");
    }

    #[test]
    fn generated_paths_are_told_from_sources() {
        assert!(is_generated("target/debug/build/x/out/gen.rs"));
        assert!(is_generated("/home/u/p/target/x"));
        assert!(!is_generated("src/lib.rs"));
    }
}
