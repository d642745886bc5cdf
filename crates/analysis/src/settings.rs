//! The settings a build was made with that decide which copy of each unit cargo builds:
//! compiler flags, the command line's package and feature selection, and the features each
//! package ended up with. Two tools building into one target directory with different
//! settings (an editor's `cargo check` with other `RUSTFLAGS`, `-p member` against the
//! whole workspace) make cargo compile a second copy of the units the settings reach, and
//! both copies again after every edit.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildSettings {
    /// Extra compiler flags from the environment: `CARGO_ENCODED_RUSTFLAGS`, else
    /// `RUSTFLAGS`, else `CARGO_BUILD_RUSTFLAGS`, split into flags.
    pub rustflags: Vec<String>,
    /// Where the flags came from (`RUSTFLAGS`, ...), when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rustflags_from: Option<String>,
    /// The command line's selection: `-p`, `--workspace`, `--features`, `--release`, ...
    pub selection: Vec<String>,
    /// The features each package was compiled with, by `name version`.
    pub features: BTreeMap<String, Vec<String>>,
    /// Variables that change how long the same units take without changing which are
    /// built (`CARGO_INCREMENTAL`, `CARGO_PROFILE_*`): runs compare only with runs alike.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, String>,
}

impl BuildSettings {
    /// What must be alike for two runs' times to compare, beyond the machine and the
    /// command line: the flags and the variables above, as one line (empty when none).
    pub fn comparability(&self) -> String {
        let mut parts = Vec::new();
        if !self.rustflags.is_empty() {
            parts.push(format!("rustflags: {}", self.rustflags.join(" ")));
        }
        parts.extend(self.environment.iter().map(|(k, v)| format!("{k}={v}")));
        parts.join(" · ")
    }
}

/// The variables of [`BuildSettings::environment`], from an environment.
pub fn timing_environment(
    vars: impl Iterator<Item = (String, String)>,
) -> BTreeMap<String, String> {
    vars.filter(|(k, _)| k == "CARGO_INCREMENTAL" || k.starts_with("CARGO_PROFILE_"))
        .collect()
}

/// What a hot run's warm-up build compiled: after a change of settings, the copies of the
/// units the new settings reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarmUp {
    pub wall_ns: u64,
    /// Units that ran.
    pub units: usize,
    /// Of them, units cargo had not built before in this target directory.
    pub not_built_before: usize,
    /// Their summed time.
    pub unit_ns: u64,
}

/// One setting that differs between two builds into one target directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "setting", rename_all = "kebab-case")]
pub enum SettingDifference {
    Rustflags {
        variable: String,
        before: Vec<String>,
        after: Vec<String>,
    },
    Selection {
        before: Vec<String>,
        after: Vec<String>,
    },
    Features {
        package: String,
        before: Vec<String>,
        after: Vec<String>,
    },
}

/// What differs between the settings of the previous build and this one. Features are
/// compared only for packages both builds compiled.
pub fn differences(before: &BuildSettings, after: &BuildSettings) -> Vec<SettingDifference> {
    let mut out = Vec::new();
    if before.rustflags != after.rustflags {
        out.push(SettingDifference::Rustflags {
            variable: after
                .rustflags_from
                .clone()
                .or_else(|| before.rustflags_from.clone())
                .unwrap_or_else(|| "RUSTFLAGS".to_string()),
            before: before.rustflags.clone(),
            after: after.rustflags.clone(),
        });
    }
    if before.selection != after.selection {
        out.push(SettingDifference::Selection {
            before: before.selection.clone(),
            after: after.selection.clone(),
        });
    }
    for (package, features) in &after.features {
        if let Some(previous) = before.features.get(package) {
            if previous != features {
                out.push(SettingDifference::Features {
                    package: package.clone(),
                    before: previous.clone(),
                    after: features.clone(),
                });
            }
        }
    }
    out
}

/// The arguments of a cargo command line that select packages, features and profile: the
/// ones that change which units and which copies of them cargo builds.
pub fn selection_of(cargo_args: &[String]) -> Vec<String> {
    const WITH_VALUE: [&str; 6] = [
        "-p",
        "--package",
        "--features",
        "-F",
        "--profile",
        "--target",
    ];
    const FLAGS: [&str; 7] = [
        "--workspace",
        "--all",
        "--all-features",
        "--no-default-features",
        "--release",
        "-r",
        "--lib",
    ];
    let mut out = Vec::new();
    let mut args = cargo_args.iter();
    while let Some(arg) = args.next() {
        if WITH_VALUE.contains(&arg.as_str()) {
            if let Some(value) = args.next() {
                out.push(format!("{arg} {value}"));
            }
        } else if FLAGS.contains(&arg.as_str())
            || WITH_VALUE
                .iter()
                .any(|w| w.starts_with("--") && arg.starts_with(&format!("{w}=")))
        {
            out.push(arg.clone());
        }
    }
    out
}

/// The flags cargo takes from the environment, as cargo reads them (the first set wins),
/// and the variable they came from.
pub fn rustflags_from_env(var: impl Fn(&str) -> Option<String>) -> (Vec<String>, Option<String>) {
    if let Some(encoded) = var("CARGO_ENCODED_RUSTFLAGS") {
        let flags = encoded
            .split('\u{1f}')
            .filter(|f| !f.is_empty())
            .map(str::to_string)
            .collect();
        return (flags, Some("CARGO_ENCODED_RUSTFLAGS".to_string()));
    }
    for name in ["RUSTFLAGS", "CARGO_BUILD_RUSTFLAGS"] {
        if let Some(value) = var(name) {
            let flags = value.split_whitespace().map(str::to_string).collect();
            return (flags, Some(name.to_string()));
        }
    }
    (Vec::new(), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differing_flags_selection_and_features_are_each_named() {
        let before = BuildSettings {
            rustflags: vec![],
            rustflags_from: None,
            selection: vec![],
            features: BTreeMap::from([("base 0.1.0".into(), vec!["extra".into()])]),
            environment: BTreeMap::new(),
        };
        let after = BuildSettings {
            rustflags: vec!["-Cdebug-assertions=off".into()],
            rustflags_from: Some("RUSTFLAGS".into()),
            selection: selection_of(&["-p".into(), "base".into(), "-v".into()]),
            features: BTreeMap::from([
                ("base 0.1.0".into(), vec![]),
                ("new 1.0.0".into(), vec!["std".into()]),
            ]),
            environment: timing_environment(
                [
                    ("CARGO_INCREMENTAL".to_string(), "0".to_string()),
                    ("HOME".to_string(), "/root".to_string()),
                ]
                .into_iter(),
            ),
        };
        assert_eq!(
            after.comparability(),
            "rustflags: -Cdebug-assertions=off · CARGO_INCREMENTAL=0"
        );
        let found = differences(&before, &after);
        assert_eq!(found.len(), 3, "{found:?}");
        assert_eq!(
            found[0],
            SettingDifference::Rustflags {
                variable: "RUSTFLAGS".into(),
                before: vec![],
                after: vec!["-Cdebug-assertions=off".into()]
            }
        );
        assert_eq!(
            found[1],
            SettingDifference::Selection {
                before: vec![],
                after: vec!["-p base".into()]
            }
        );
        assert_eq!(
            found[2],
            SettingDifference::Features {
                package: "base 0.1.0".into(),
                before: vec!["extra".into()],
                after: vec![]
            }
        );
        assert!(differences(&after, &after).is_empty());
    }

    #[test]
    fn rustflags_are_read_as_cargo_reads_them() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            rustflags_from_env(env(&[
                ("RUSTFLAGS", "-C opt-level=1"),
                ("CARGO_ENCODED_RUSTFLAGS", "-Cfoo\u{1f}-Cbar")
            ])),
            (
                vec!["-Cfoo".to_string(), "-Cbar".to_string()],
                Some("CARGO_ENCODED_RUSTFLAGS".to_string())
            )
        );
        assert_eq!(
            rustflags_from_env(env(&[("RUSTFLAGS", "-C  opt-level=1")])).0,
            vec!["-C", "opt-level=1"]
        );
        assert_eq!(rustflags_from_env(env(&[])), (vec![], None));
    }
}
