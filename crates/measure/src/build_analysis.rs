//! cargo's unstable build-analysis log (`-Zbuild-analysis`): JSON lines under
//! `$CARGO_HOME/log`, one file per cargo invocation. Its `unit-fingerprint` records say why
//! each unit was not fresh in structured form (the old and new value of a changed
//! environment variable, the exact dependency unit that was rebuilt), which cargo's `-v`
//! text does not. When the log of a build exists, its reasons are preferred.
//!
//! The format is unstable: a record this reader does not understand becomes an `other`
//! reason with cargo's words, never an error and never dropped.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use buildscope_analysis::{RebuildReason, Unit, UnitKind, UnitReason};
use serde_json::Value;

use crate::cargo_data::{package_name_version, unit_kind};

/// The log cargo wrote for the build into `target_dir` that started at `started_at_ns`
/// (nanoseconds since the Unix epoch): the newest `.jsonl` file in `log_dir` written
/// since, whose first record names that target directory.
pub fn find_log(log_dir: &Path, target_dir: &Path, started_at_ns: u64) -> Option<PathBuf> {
    let started = std::time::UNIX_EPOCH + std::time::Duration::from_nanos(started_at_ns);
    let mut candidates: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(log_dir)
        .ok()?
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "jsonl"))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .filter(|(modified, _)| *modified >= started)
        .collect();
    candidates.sort_by_key(|c| std::cmp::Reverse(c.0));
    candidates.into_iter().map(|(_, p)| p).find(|path| {
        let first = std::fs::read_to_string(path)
            .ok()
            .and_then(|text| text.lines().next().map(str::to_string));
        first
            .and_then(|line| serde_json::from_str::<Value>(&line).ok())
            .and_then(|v| v.get("target_dir")?.as_str().map(PathBuf::from))
            .is_some_and(|dir| dir == target_dir)
    })
}

/// Where cargo keeps the log: `$CARGO_HOME/log`, `~/.cargo/log` by default.
pub fn log_dir() -> Option<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
    Some(home.join("log"))
}

/// A unit as the log registers it.
struct LogUnit {
    package: String,
    version: String,
    target: String,
    kind: UnitKind,
}

/// The reasons of the units that ran, from the text of a log; `None` when the log has no
/// fingerprint records (an older or newer cargo that writes none).
pub fn reasons_from_log(
    text: &str,
    units: &[Unit],
    workspace_root: &Path,
) -> Option<Vec<UnitReason>> {
    let mut registered: HashMap<u64, LogUnit> = HashMap::new();
    let mut fingerprints: Vec<(u64, Value)> = Vec::new();
    for line in text.lines() {
        let Ok(record) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let Some(index) = record.get("index").and_then(Value::as_u64) else {
            continue;
        };
        match record.get("reason").and_then(Value::as_str) {
            Some("unit-registered") => {
                if let Some(unit) = log_unit(&record) {
                    registered.insert(index, unit);
                }
            }
            Some("unit-fingerprint") => fingerprints.push((index, record)),
            _ => {}
        }
    }
    if fingerprints.is_empty() {
        return None;
    }
    // The log's units matched to the build's by what they are; cargo numbers them alike,
    // but nothing promises that.
    let mut taken = vec![false; units.len()];
    let mut ours = |log: &LogUnit| -> Option<usize> {
        let i = units.iter().enumerate().position(|(i, u)| {
            !taken[i]
                && u.package == log.package
                && u.version == log.version
                && u.kind == log.kind
                && u.target.replace('-', "_") == log.target.replace('-', "_")
        })?;
        taken[i] = true;
        Some(units[i].id)
    };
    let mut reasons = Vec::new();
    for (index, record) in &fingerprints {
        let Some(log) = registered.get(index) else {
            continue;
        };
        let reason = match record.get("status").and_then(Value::as_str) {
            Some("fresh") => continue,
            Some("new") => RebuildReason::NotBuiltBefore,
            _ => reason_of(record.get("cause"), &registered, workspace_root),
        };
        if let Some(unit) = ours(log) {
            reasons.push(UnitReason { unit, reason });
        }
    }
    Some(reasons)
}

fn log_unit(record: &Value) -> Option<LogUnit> {
    let (package, version) = package_name_version(record.get("package_id")?.as_str()?);
    let target = record.get("target")?;
    let target_kind = match target.get("kind")? {
        Value::String(k) => k.clone(),
        Value::Array(kinds) => kinds.first()?.as_str()?.to_string(),
        _ => return None,
    };
    let mode = record.get("mode").and_then(Value::as_str).unwrap_or("");
    let kind = unit_kind(mode, &target_kind);
    Some(LogUnit {
        package,
        version,
        target: target.get("name")?.as_str()?.to_string(),
        kind,
    })
}

/// A `cause` object as a reason.
fn reason_of(
    cause: Option<&Value>,
    registered: &HashMap<u64, LogUnit>,
    workspace_root: &Path,
) -> RebuildReason {
    let Some(cause) = cause else {
        return RebuildReason::Other {
            text: "dirty, cargo gave no cause".to_string(),
        };
    };
    let text = |key: &str| cause.get(key).and_then(Value::as_str).map(str::to_string);
    let relative = |path: String| {
        Path::new(&path)
            .strip_prefix(workspace_root)
            .map(|p| p.display().to_string())
            .unwrap_or(path)
    };
    let dependency = |index: Option<u64>| {
        index
            .and_then(|i| registered.get(&i))
            .map(|u| RebuildReason::DependencyRebuilt {
                dependency: u.target.clone(),
            })
    };
    let other = || RebuildReason::Other {
        text: cause.to_string(),
    };
    let old_new = |what: &str| {
        let value = |key: &str| match cause.get(key) {
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => "?".to_string(),
        };
        format!("{what} changed from {} to {}", value("old"), value("new"))
    };
    match text("dirty_reason").as_deref() {
        Some("fs-status-outdated") => match text("fs_status").as_deref() {
            Some("stale-dep-fingerprint") | Some("stale-dependency") => {
                dependency(cause.get("unit").and_then(Value::as_u64)).unwrap_or_else(other)
            }
            Some("stale-item") => match text("stale_item").as_deref() {
                Some("missing-file") => text("missing")
                    .map(|f| RebuildReason::FileMissing { file: relative(f) })
                    .unwrap_or_else(other),
                Some("changed-file") | Some("changed-checksum") => text("stale")
                    .or_else(|| text("source"))
                    .map(|f| RebuildReason::FileChanged { file: relative(f) })
                    .unwrap_or_else(other),
                Some("changed-env") => text("var")
                    .map(|variable| RebuildReason::EnvChanged {
                        variable,
                        before: text("previous"),
                        after: text("current"),
                    })
                    .unwrap_or_else(other),
                _ => other(),
            },
            _ => other(),
        },
        Some("unit-dependency-info-changed") | Some("unit-dependency-name-changed") => {
            dependency(cause.get("unit").and_then(Value::as_u64)).unwrap_or_else(other)
        }
        Some("env-var-changed") => text("name")
            .map(|variable| RebuildReason::EnvChanged {
                variable,
                before: text("old_value"),
                after: text("new_value"),
            })
            .unwrap_or_else(other),
        Some("precalculated-components-changed") => RebuildReason::PackageChanged,
        Some("rustc-changed") => RebuildReason::ToolchainChanged,
        Some(r @ ("features-changed" | "declared-features-changed")) => {
            RebuildReason::FeaturesChanged {
                detail: old_new(&r.replace('-', " ").replace(" changed", "")),
            }
        }
        Some("rustflags-changed") => RebuildReason::FlagsChanged {
            detail: old_new("the rustflags"),
        },
        Some(
            r @ ("profile-configuration-changed"
            | "target-configuration-changed"
            | "config-settings-changed"
            | "compile-kind-changed"
            | "metadata-changed"),
        ) => RebuildReason::FlagsChanged {
            detail: format!("the {}", r.replace('-', " ")),
        },
        _ => other(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use buildscope_analysis::Unit;

    fn unit(id: usize, package: &str, target: &str, kind: UnitKind) -> Unit {
        Unit {
            linker: None,
            codegen_units: None,
            id,
            package: package.into(),
            version: "0.1.0".into(),
            target: target.into(),
            kind,
            start_ns: 0,
            rmeta_ns: None,
            end_ns: 1,
            cpu_ns: None,
            max_rss_bytes: None,
            exit_code: None,
            link_ns: None,
            deps: vec![],
            rmeta_deps: vec![],
        }
    }

    // Records as cargo 1.95 wrote them for a build script watching GEN_SEED.
    const LOG: &str = r#"{"reason":"build-started","target_dir":"/w/target"}
{"reason":"unit-registered","package_id":"path+file:///w/app#0.1.0","target":{"name":"app","kind":"bin"},"mode":"build","index":0,"dependencies":[1]}
{"reason":"unit-registered","package_id":"path+file:///w/base#0.1.0","target":{"name":"base","kind":"lib"},"mode":"build","index":1,"features":["extra"]}
{"reason":"unit-registered","package_id":"path+file:///w/base#0.1.0","target":{"name":"build-script-build","kind":"custom-build"},"mode":"run-custom-build","index":3}
{"reason":"unit-registered","package_id":"registry+https://github.com/rust-lang/crates.io-index#memchr@2.7.4","target":{"name":"memchr","kind":"lib"},"mode":"build","index":4}
{"reason":"unit-fingerprint","index":0,"status":"dirty","cause":{"dirty_reason":"unit-dependency-info-changed","unit":1}}
{"reason":"unit-fingerprint","index":1,"status":"dirty","cause":{"dirty_reason":"unit-dependency-info-changed","unit":3}}
{"reason":"unit-fingerprint","index":3,"status":"dirty","cause":{"dirty_reason":"env-var-changed","name":"GEN_SEED","old_value":null,"new_value":"1"}}
{"reason":"unit-fingerprint","index":4,"status":"fresh"}
{"reason":"unit-fingerprint","index":5,"status":"dirty","cause":{"dirty_reason":"something-new"}}
"#;

    #[test]
    fn structured_reasons_are_read_and_matched_to_the_builds_units() {
        let units = vec![
            unit(10, "base", "build-script-build", UnitKind::BuildScriptRun),
            unit(11, "base", "base", UnitKind::Lib),
            unit(12, "app", "app", UnitKind::Bin),
        ];
        let reasons = reasons_from_log(LOG, &units, Path::new("/w")).unwrap();
        let of = |id| &reasons.iter().find(|r| r.unit == id).unwrap().reason;
        assert_eq!(
            of(10),
            &RebuildReason::EnvChanged {
                variable: "GEN_SEED".into(),
                before: None,
                after: Some("1".into())
            }
        );
        assert_eq!(
            of(12),
            &RebuildReason::DependencyRebuilt {
                dependency: "base".into()
            }
        );
        assert_eq!(reasons.len(), 3, "fresh and unregistered units have none");
        assert_eq!(
            reasons_from_log("{}\nnot json\n", &units, Path::new("/w")),
            None
        );
    }

    #[test]
    fn an_unknown_cause_is_kept_in_cargos_words() {
        let registered = HashMap::new();
        let cause: Value = serde_json::from_str(r#"{"dirty_reason":"something-new"}"#).unwrap();
        assert!(matches!(
            reason_of(Some(&cause), &registered, Path::new("/")),
            RebuildReason::Other { text } if text.contains("something-new")
        ));
    }
}
