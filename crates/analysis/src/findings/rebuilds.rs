//! Findings only rebuild reasons make possible: why a unit was not fresh, not how long it
//! took. A build script that reruns on every build, an environment variable that changes
//! between builds, one edited crate that many depend on, and two settings that take turns
//! in one target directory.

use super::*;
use crate::rebuild::{rebuild_roots, value_change, RebuildReason, RebuildRoot};
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

/// Units of the cascade, with the root, described for evidence.
fn cascade_line(build: BuildEvidence, root: &RebuildRoot) -> String {
    let mut packages: Vec<&str> = root
        .cascade
        .iter()
        .filter_map(|id| build.units.iter().find(|u| u.id == *id))
        .map(|u| u.package.as_str())
        .filter(|p| *p != root.package)
        .collect();
    packages.sort();
    packages.dedup();
    let shown: Vec<String> = packages.iter().take(6).map(|p| format!("`{p}`")).collect();
    let more = packages.len().saturating_sub(shown.len());
    format!(
        "{} unit(s) rebuilt after it{}; {} of unit time, {} of wall time in all",
        root.cascade.len(),
        if shown.is_empty() {
            String::new()
        } else {
            format!(
                " ({}{})",
                shown.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            )
        },
        secs(root.unit_ns),
        secs(root.wall_ns)
    )
}

/// What a rerun build script costs: its own run, which what depends on it waits for (they
/// rebuild for the edit anyway, so their time is not the script's).
fn script_line(build: BuildEvidence, root: &RebuildRoot) -> String {
    let ran = build
        .units
        .iter()
        .find(|u| u.id == root.unit)
        .map_or(0, |u| u.duration_ns());
    let waiting = root.cascade.len();
    format!(
        "the script ran for {}{}",
        secs(ran),
        if waiting > 0 {
            format!(
                ", and the {waiting} unit(s) rebuilt after it waited for it (they would rebuild \
                 for the edit anyway: only the script's run is saved)"
            )
        } else {
            String::new()
        }
    )
}

fn build_script_reruns(build: BuildEvidence, root: &RebuildRoot) -> Option<Finding> {
    let (why, fix) = match &root.reason {
        RebuildReason::PackageChanged => (
            "its build script prints no `cargo:rerun-if-changed` line, so cargo reruns it \
             whenever any file of the package changes"
                .to_string(),
            "Print `cargo:rerun-if-changed=build.rs` from build.rs, plus one \
             `cargo:rerun-if-changed=<path>` per file or folder the script reads: cargo then \
             reruns it only when those change, and an edit of the package's code no longer \
             reruns the script."
                .to_string(),
        ),
        RebuildReason::FileMissing { file } => (
            format!(
                "its build script watches `{file}`, which does not exist, so cargo reruns it on \
                 every build"
            ),
            format!(
                "Point `cargo:rerun-if-changed` at a file that exists (or create `{file}`), or \
                 drop that line: a missing path is always out of date."
            ),
        ),
        RebuildReason::FileChanged { file } => (
            format!(
                "its build script watches `{file}`, a file the build itself writes, so every \
                 build makes the next one rerun it"
            ),
            "Watch the inputs the script reads, not a file it or the build generates; write \
             generated files to `OUT_DIR` and only when their content changes."
                .to_string(),
        ),
        _ => return None,
    };
    let owner = Owner::of_package(Some(build), &root.package);
    // What rebuilt after the script may have rebuilt anyway (an edit of the package's own
    // code rebuilds its crates, script or no script): the saving is the script's run.
    let saving = wall_saving_without(build.units, &[root.unit], build.totals.cores);
    Some(Finding {
        cause: Cause::BuildScriptReruns,
        title: format!("`{}`'s build script reruns on every rebuild", root.package),
        crate_name: Some(root.package.clone()),
        evidence: vec![
            format!("`{}` was rebuilt because {why}", root.package),
            script_line(build, root),
        ],
        fix: owner.fix_for_code(fix),
        estimate_ns: saving,
        cpu_ns: None,
        estimate_basis: "wall time: the run's schedule replayed without the build script's \
                         run (what rebuilt after it may have rebuilt for the edit anyway)"
            .to_string(),
    })
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
    let values = value_change(before.as_deref(), after.as_deref())
        .map(|change| format!(" ({change})"))
        .unwrap_or_default();
    let kind = after
        .as_deref()
        .and_then(looks_volatile)
        .map(|k| format!(" Its value looks like {k}, which is new on every build."))
        .unwrap_or_default();
    Some(Finding {
        cause: Cause::ChangingEnvironmentVariable,
        title: format!(
            "`{variable}` changed between builds and rebuilt `{}`",
            root.package
        ),
        crate_name: Some(root.package.clone()),
        evidence: vec![
            format!(
                "`{}` depends on the environment variable `{variable}` (a build script's \
                 `cargo:rerun-if-env-changed`, or `env!`/`option_env!`), which changed{values}",
                root.package
            ),
            cascade_line(build, root),
        ],
        fix: format!(
            "Keep `{variable}` the same from build to build during development: set it once in \
             `.cargo/config.toml` (`[env]`), or have the build script read it only for release \
             or CI builds (a fixed placeholder otherwise), or read it at run time with \
             `std::env::var` if the program can.{kind}"
        ),
        estimate_ns: root.wall_ns,
        cpu_ns: None,
        estimate_basis: "wall time: the run's schedule replayed without the units the change \
                         rebuilt"
            .to_string(),
    })
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
    let mut packages: Vec<&str> = dependents.iter().map(|u| u.package.as_str()).collect();
    packages.sort();
    packages.dedup();
    Some(Finding {
        cause: Cause::EditCascade,
        title: format!(
            "An edit of `{}` rebuilds {} crates that depend on it",
            root.package,
            packages.len()
        ),
        crate_name: Some(root.package.clone()),
        evidence: vec![
            format!(
                "`{file}` changed; {} unit(s) of {} other package(s) rebuilt only because \
                 `{}` did: {} of unit time",
                dependents.len(),
                packages.len(),
                root.package,
                secs(unit_ns)
            ),
            format!(
                "rebuilt for it: {}",
                packages
                    .iter()
                    .take(8)
                    .map(|p| format!("`{p}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ],
        fix: format!(
            "Every change to `{}` recompiles everything that depends on it. If the code you \
             edit most is in it, move that code into a crate near the top of the graph (one \
             few crates depend on, such as the binary's own), or have the dependents use it \
             through a trait object or a small interface crate, so that edits behind the \
             interface recompile only the crate that holds them.",
            root.package
        ),
        estimate_ns: saving,
        cpu_ns: None,
        estimate_basis: "wall time: the run's schedule replayed without the other crates that \
                         rebuilt for the edit (at most: moving the code saves part of it)"
            .to_string(),
    })
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
    let (count, unit_ns, estimate_ns, basis) = match build.warm_up {
        Some(warm) if warm.not_built_before > 0 || rebuilt.is_empty() => (
            warm.not_built_before.max(warm.units),
            warm.unit_ns,
            warm.wall_ns,
            "wall time of the warm-up build that compiled them (before the measured rebuild)",
        ),
        _ if !rebuilt.is_empty() => {
            let ids: Vec<usize> = rebuilt.iter().map(|u| u.id).collect();
            (
                rebuilt.len(),
                rebuilt.iter().map(|u| u.duration_ns()).sum(),
                wall_saving_without(build.units, &ids, build.totals.cores),
                "wall time: the run's schedule replayed without the units built for the \
                 changed settings",
            )
        }
        _ => return None,
    };
    let mut fixes: Vec<String> = Vec::new();
    for change in build.setting_changes {
        let fix = change.fix();
        if !fixes.contains(&fix) {
            fixes.push(fix);
        }
    }
    let mut evidence: Vec<String> = build
        .setting_changes
        .iter()
        .take(6)
        .map(|c| {
            format!(
                "differs from the previous build into this target directory: {}",
                c.describe()
            )
        })
        .collect();
    evidence.push(format!(
        "{count} unit(s) compiled again for it ({} of unit time): cargo keeps a copy of each \
         unit per setting, so builds that alternate between the two compile both copies after \
         every edit",
        secs(unit_ns)
    ));
    let first = &build.setting_changes[0];
    Some(Finding {
        cause: Cause::SettingsThrash,
        title: format!(
            "Builds into one target directory with different settings ({})",
            match first {
                SettingDifference::Rustflags { variable, .. } => variable.clone(),
                SettingDifference::Selection { .. } => "the package selection".to_string(),
                SettingDifference::Features { package, .. } => format!("features of {package}"),
            }
        ),
        crate_name: None,
        evidence,
        fix: fixes.join(" "),
        estimate_ns,
        cpu_ns: None,
        estimate_basis: basis.to_string(),
    })
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
