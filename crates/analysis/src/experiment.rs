//! What an experiment measured: the record `experiment --json` prints, the history keeps
//! and the report draws. Built by the experiment runner (buildscope-measure), rendered by
//! buildscope-output; it lives here because both read it and neither may know the other.

use serde::{Deserialize, Serialize};

use crate::stats::Comparison;

/// Everything an experiment measured: what `--json` prints and the run history keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentRecord {
    /// `buildscope.experiment/1`.
    pub schema: String,
    /// `build` or `check`.
    pub command: String,
    /// The scenario, described (`hot: touch src/main.rs`).
    pub scenario: String,
    /// Interleaved runs per variant.
    pub rounds: usize,
    /// `--run CMD`, if given.
    pub run: Option<String>,
    /// The baseline first.
    pub variants: Vec<ExperimentVariant>,
    /// What to keep, from the variants that measured significantly faster.
    pub recommendation: Recommendation,
}

/// The settings that measured significantly faster than the baseline, as the text that
/// makes them permanent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// Empty when no variant was significantly faster.
    pub settings: Vec<(String, String)>,
    /// The settings were measured one at a time, not together.
    pub measured_one_at_a_time: bool,
    /// (file relative to the workspace root, text to put in it).
    pub files: Vec<(String, String)>,
    /// A command that measures them together, when they were measured one at a time.
    pub confirm_with: Option<String>,
    /// What `--apply` wrote.
    pub applied: Vec<AppliedChange>,
}

/// One file `--apply` changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppliedChange {
    pub path: String,
    /// Where the previous file was copied; `None` when there was none.
    pub backup: Option<String>,
    /// A unified diff of the change.
    pub diff: String,
}

pub const EXPERIMENT_SCHEMA: &str = "buildscope.experiment/1";

/// What one variant measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentVariant {
    pub name: String,
    pub settings: Vec<(String, String)>,
    pub cargo_args: Vec<String>,
    pub wall_ns: Vec<u64>,
    pub cpu_ns: Vec<u64>,
    pub peak_rss_bytes: Option<u64>,
    pub binaries_bytes: u64,
    /// Against the first variant (the baseline); `None` for the baseline itself.
    pub vs_baseline: Option<Comparison>,
    /// Empty when every setting reached rustc.
    pub not_applied: Vec<String>,
    /// The -C/-Z flags rustc got, as recorded (deduplicated).
    pub rustc_flags: Vec<String>,
    /// The compilers that ran (more than one only if something went wrong).
    pub compilers: Vec<String>,
    /// Uses unstable (-Z) options, allowed by RUSTC_BOOTSTRAP=1 for this variant alone.
    pub unstable: bool,
    /// Wall times of `--run CMD` after each build of this variant.
    pub command_ns: Vec<u64>,
    pub run_ids: Vec<String>,
}
