//! `explain --verify`: the findings whose fix is a build setting, measured. Each such
//! finding names the settings that would apply its fix; an experiment on the run's own
//! scenario measures each against the project as it is, and the verification sets the
//! estimate beside the measured saving. Findings whose fix is a code change say so.

use serde::Serialize;

#[cfg(test)]
use super::Facts;
use super::{Cause, Explanation, Finding};
use crate::experiment::ExperimentRecord;
use crate::stats::{median, Comparison};

/// The experiment settings (`key`, `value`) that apply a finding's fix; empty when the fix
/// is a change to code or to the dependency graph, which no setting tries.
pub fn settings_to_try(finding: &Finding, installed_linkers: &[String]) -> Vec<(String, String)> {
    let pair = |k: &str, v: &str| (k.to_string(), v.to_string());
    match finding.cause() {
        Cause::LlvmDominates => vec![pair("debug", "line-tables-only"), pair("debug", "0")],
        Cause::IncrementalInColdBuild => vec![pair("incremental", "false")],
        Cause::FewCodegenUnits => vec![pair("codegen-units", "16")],
        Cause::Linking => {
            let mut settings = vec![pair("debug", "line-tables-only")];
            if installed_linkers.iter().any(|l| l == "mold") {
                settings.push(pair("linker", "mold"));
            }
            settings
        }
        _ => Vec::new(),
    }
}

/// One finding's estimate against what its setting measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verification {
    /// The finding's place in the explanation's findings.
    pub finding: usize,
    pub cause: Cause,
    /// The finding's estimate: wall time it could save.
    pub estimate_ns: u64,
    /// `key=value`; `None` for a fix that is a code change (not tried).
    pub setting: Option<String>,
    /// Median wall times of the project as it is and with the setting.
    pub baseline_ns: Option<u64>,
    pub with_setting_ns: Option<u64>,
    /// Baseline minus with-setting (negative: slower).
    pub saving_ns: Option<i64>,
    /// With-setting / baseline, with its 95% interval.
    pub comparison: Option<Comparison>,
    /// What the measurement says of the estimate.
    pub verdict: VerificationVerdict,
}

/// What a measurement says of a finding's estimate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum VerificationVerdict {
    /// The fix is a change to code: an experiment tries build settings only.
    CodeChange,
    NotMeasured,
    /// The setting never reached rustc.
    NotApplied,
    /// No significant difference.
    NoDifference,
    /// The setting made the build slower.
    Slower,
    /// The saving is within half to twice the estimate: `ratio` of it.
    Confirmed {
        ratio: f64,
    },
    /// More than twice the estimate.
    FasterThanEstimated {
        ratio: f64,
    },
    /// Less than half the estimate.
    SmallerThanEstimated {
        ratio: f64,
    },
}

/// The findings of `explanation` against the experiment that tried their settings
/// (variants named `key=value`, measured one at a time against the baseline).
pub fn verifications(
    explanation: &Explanation,
    experiment: Option<&ExperimentRecord>,
    installed_linkers: &[String],
) -> Vec<Verification> {
    let variants: &[crate::experiment::ExperimentVariant] =
        experiment.map_or(&[], |e| e.variants.as_slice());
    let baseline = variants.first();
    let median_of = |walls: &[u64]| {
        let walls: Vec<f64> = walls.iter().map(|&w| w as f64).collect();
        median(&walls).map(|m| m as u64)
    };
    let base_ns = baseline.and_then(|b| median_of(&b.wall_ns));
    let mut out = Vec::new();
    for (index, finding) in explanation.findings.iter().enumerate() {
        let settings = settings_to_try(finding, installed_linkers);
        if settings.is_empty() {
            out.push(Verification {
                finding: index,
                cause: finding.cause(),
                estimate_ns: finding.estimate_ns,
                setting: None,
                baseline_ns: None,
                with_setting_ns: None,
                saving_ns: None,
                comparison: None,
                verdict: VerificationVerdict::CodeChange,
            });
            continue;
        }
        for (key, value) in settings {
            let name = format!("{key}={value}");
            let variant = variants
                .iter()
                .skip(1)
                // Measured one at a time: the variant that sets this (the others as they are).
                .find(|v| v.settings.contains(&(key.clone(), value.clone())));
            let with_ns = variant.and_then(|v| median_of(&v.wall_ns));
            let comparison = variant.and_then(|v| v.vs_baseline);
            let not_applied = variant.is_some_and(|v| !v.not_applied.is_empty());
            let saving = match (base_ns, with_ns) {
                (Some(b), Some(w)) => Some(b as i64 - w as i64),
                _ => None,
            };
            let verdict = match (saving, comparison) {
                _ if variant.is_none() => VerificationVerdict::NotMeasured,
                _ if not_applied => VerificationVerdict::NotApplied,
                (Some(_), Some(c)) if !c.significant => VerificationVerdict::NoDifference,
                (Some(s), Some(_)) if s <= 0 => VerificationVerdict::Slower,
                (Some(s), Some(_)) => {
                    let ratio = s as f64 / finding.estimate_ns.max(1) as f64;
                    if (0.5..=2.0).contains(&ratio) {
                        VerificationVerdict::Confirmed { ratio }
                    } else if ratio > 2.0 {
                        VerificationVerdict::FasterThanEstimated { ratio }
                    } else {
                        VerificationVerdict::SmallerThanEstimated { ratio }
                    }
                }
                _ => VerificationVerdict::NotMeasured,
            };
            out.push(Verification {
                finding: index,
                cause: finding.cause(),
                estimate_ns: finding.estimate_ns,
                setting: Some(name),
                baseline_ns: base_ns,
                with_setting_ns: with_ns,
                saving_ns: saving,
                comparison,
                verdict,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::{ExperimentVariant, Recommendation};

    fn finding(facts: Facts, estimate_ms: u64) -> Finding {
        Finding::new(facts, None, estimate_ms * 1_000_000)
    }

    fn variant(
        settings: &[(&str, &str)],
        walls_ms: &[u64],
        vs: Option<Comparison>,
    ) -> ExperimentVariant {
        ExperimentVariant {
            name: "v".into(),
            settings: settings
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            cargo_args: Vec::new(),
            wall_ns: walls_ms.iter().map(|m| m * 1_000_000).collect(),
            cpu_ns: Vec::new(),
            peak_rss_bytes: None,
            binaries_bytes: 0,
            vs_baseline: vs,
            not_applied: Vec::new(),
            rustc_flags: Vec::new(),
            compilers: Vec::new(),
            unstable: false,
            command_ns: Vec::new(),
            run_ids: Vec::new(),
        }
    }

    #[test]
    fn estimates_meet_their_measurements() {
        let explanation = Explanation {
            schema: "x",
            phases: None,
            crates: Vec::new(),
            wall: None,
            schedule: None,
            bill: None,
            cost_centres: None,
            runs_spread: None,
            scaled_to: None,
            findings: vec![
                finding(
                    Facts::WholeCrateRework {
                        krate: "app".into(),
                        parts: Vec::new(),
                        crate_ns: 0,
                        claimed_by_macros_ns: 0,
                        total_ns: 0,
                    },
                    260,
                ),
                finding(
                    Facts::Linking {
                        unit: "bin \"app\"".into(),
                        link_ns: 0,
                        wall_ns: 0,
                        installed_linkers: Vec::new(),
                        linker: None,
                    },
                    110,
                ),
                finding(
                    Facts::DuplicateDependency {
                        puller: "statistical".into(),
                        puller_version: "1.0.0".into(),
                        puller_is_member: false,
                        path: Vec::new(),
                        copies: Vec::new(),
                        brought_in_by: None,
                    },
                    500,
                ),
            ],
        };
        let cmp = |ratio: f64, significant: bool| {
            Some(Comparison {
                ratio,
                low: ratio - 0.1,
                high: ratio + 0.1,
                significant,
            })
        };
        let experiment = ExperimentRecord {
            schema: "e".into(),
            command: "build".into(),
            scenario: "hot".into(),
            rounds: 3,
            run: None,
            variants: vec![
                variant(&[], &[1500, 1510, 1490], None),
                variant(&[("linker", "mold")], &[3290, 3300, 3280], cmp(2.18, true)),
                variant(
                    &[("debug", "line-tables-only")],
                    &[1430, 1420, 1440],
                    cmp(0.95, true),
                ),
            ],
            recommendation: Recommendation::default(),
        };
        let v = verifications(&explanation, Some(&experiment), &["mold".to_string()]);
        // A split is a code change: said to be one, not tried.
        assert_eq!(v[0].setting, None);
        assert_eq!(v[0].verdict, VerificationVerdict::CodeChange);
        // Less debug info for a link-heavy rebuild: 70 ms of an estimated 110 ms.
        assert_eq!(v[1].setting.as_deref(), Some("debug=line-tables-only"));
        let VerificationVerdict::Confirmed { ratio } = v[1].verdict else {
            panic!("{:?}", v[1].verdict)
        };
        assert!((ratio - 70.0 / 110.0).abs() < 0.01, "{ratio}");
        // mold measured 2.18x slower: the estimate did not hold.
        assert_eq!(v[2].setting.as_deref(), Some("linker=mold"));
        assert_eq!(v[2].verdict, VerificationVerdict::Slower);
        assert_eq!(v[2].saving_ns, Some(-1_790_000_000));
        // A change to the dependency graph is said to be one.
        assert_eq!(v[3].setting, None);
        assert_eq!(v[3].verdict, VerificationVerdict::CodeChange);
    }
}
