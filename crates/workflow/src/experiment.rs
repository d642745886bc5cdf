//! Experiment set-up, shared by `buildscope experiment` and `explain --verify`: what this
//! machine offers (linkers, toolchains, `RUSTFLAGS`), the keys and values to vary, and the
//! plan of variants the runner measures.

use std::collections::BTreeMap;

use buildscope_analysis::{settings_to_try, Explanation};
use buildscope_measure::{
    cargo_profile, installed_linkers, installed_toolchains, keys_to_vary, variants, Available,
    BuildPlan, ExperimentPlan, AS_IS,
};

use crate::WorkflowError;

/// What the settings may use here: the linkers installed, and the user's `RUSTFLAGS` (a
/// linker variant must not drop them). Toolchains are listed only when asked for.
pub fn available_here(linkers: Vec<String>) -> Available {
    Available {
        linkers,
        toolchains: Vec::new(),
        rustflags_env: std::env::var("RUSTFLAGS")
            .ok()
            .filter(|f| !f.trim().is_empty()),
    }
}

/// How an experiment varies its build.
pub struct Varying<'a> {
    /// `--vary KEY=V1,V2`, as given.
    pub vary: &'a [String],
    /// `--preset NAME`.
    pub preset: Option<&'a str>,
    /// Each setting alone against the project as it is (else every combination).
    pub one_at_a_time: bool,
    /// Rounds: each variant is measured once per round.
    pub rounds: usize,
    /// `--run CMD`, timed after each build.
    pub run: Option<String>,
}

/// `buildscope experiment`'s plan: the keys of `--vary` and `--preset` (with the note a
/// preset may leave, such as a linker it skips), and one build plan per variant.
pub fn experiment_plan(
    base: BuildPlan,
    varying: Varying<'_>,
) -> Result<(ExperimentPlan, Option<String>), WorkflowError> {
    let profile = cargo_profile(&base.cargo_args);
    let mut available = available_here(installed_linkers());
    let (varies, note) = keys_to_vary(
        varying.vary,
        varying.preset,
        &base.workspace_root,
        &available,
    )?;
    if varies.iter().any(|(key, _)| key == "toolchain") {
        available.toolchains = installed_toolchains();
    }
    let variants = variants(&varies, varying.one_at_a_time, &profile, &available)?;
    let plan = ExperimentPlan::new(
        base,
        profile,
        variants,
        varying.rounds,
        varying.run,
        varying.one_at_a_time,
    );
    Ok((plan, note))
}

/// The settings the findings' fixes name, each key with the values to try, the project
/// as it is first: what `explain --verify` measures (empty when no fix is a setting).
pub fn settings_to_verify(
    explanation: &Explanation,
    linkers: &[String],
) -> Vec<(String, Vec<String>)> {
    let mut keys: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for finding in &explanation.findings {
        for (key, value) in settings_to_try(finding, linkers) {
            let values = keys.entry(key).or_insert_with(|| vec![AS_IS.to_string()]);
            if !values.contains(&value) {
                values.push(value);
            }
        }
    }
    keys.into_iter().collect()
}

/// `explain --verify`'s plan: each setting alone against the project as it is, on `base`,
/// the run's own scenario.
pub fn verification_plan(
    base: BuildPlan,
    settings: &[(String, Vec<String>)],
    linkers: &[String],
    rounds: usize,
) -> Result<ExperimentPlan, WorkflowError> {
    let profile = cargo_profile(&base.cargo_args);
    let available = available_here(linkers.to_vec());
    let variants = variants(settings, true, &profile, &available)?;
    Ok(ExperimentPlan::new(
        base, profile, variants, rounds, None, true,
    ))
}

/// The Cargo.toml changes `explain --verify` proves on a cold run: the bill's largest
/// levers (unused lines, features) worth the floor, at most three (each costs cold builds).
pub fn levers_to_prove(
    record: &buildscope_analysis::RunRecord,
    explanation: &Explanation,
) -> Vec<buildscope_analysis::Lever> {
    const AT_MOST: usize = 3;
    let floor = buildscope_analysis::floor_ns(record.totals.wall_ns);
    explanation.bill.as_ref().map_or_else(Vec::new, |bill| {
        buildscope_analysis::levers(bill, floor, AT_MOST)
    })
}

/// Proof by removal: each lever tried on scratch copies of the workspace (as it is, and
/// changed), built cold `rounds` times each, alternating. The user's files are only read.
pub fn prove_levers(
    record: &buildscope_analysis::RunRecord,
    levers: Vec<buildscope_analysis::Lever>,
    rounds: usize,
) -> Result<Vec<buildscope_analysis::LeverProof>, WorkflowError> {
    let workspace = buildscope_measure::Workspace::load(
        &buildscope_measure::cargo(),
        Some(&record.workspace_root.join("Cargo.toml")),
    )?;
    let scratch = workspace.state_dir().join("verify-manifest");
    let median = |walls: &[u64]| {
        let walls: Vec<f64> = walls.iter().map(|&w| w as f64).collect();
        buildscope_analysis::median(&walls).map(|m| m as u64)
    };
    let mut proofs = Vec::new();
    for lever in levers {
        let tried = buildscope_measure::prove_manifest_edit(
            &record.workspace_root,
            &record.command,
            &record.cargo_args,
            &lever.edit,
            rounds.max(1),
            &scratch,
        );
        let (runs, not_tried) = match tried {
            Ok(runs) => (runs, None),
            // The manifest is not as the bill read it: this change cannot be tried.
            Err(buildscope_measure::BuildError::UserFile(reason)) => {
                (Default::default(), Some(reason))
            }
            Err(e) => return Err(e.into()),
        };
        proofs.push(buildscope_analysis::LeverProof {
            baseline_ns: median(&runs.baseline_ns),
            with_change_ns: median(&runs.with_change_ns),
            failure: runs.failure,
            not_tried,
            lever,
        });
    }
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(proofs)
}
