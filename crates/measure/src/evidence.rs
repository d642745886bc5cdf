//! Explaining a measured build: the one place that gathers what the findings need (the
//! run record, its self-profiles' summaries, the longest item-level queries, proc-macro
//! expansions and monomorphized instances, the linkers installed, the workspace members)
//! and hands it to `buildscope_analysis::explain`. `explain`, `build` and `report` all go
//! through [`explain_run`]; the report keeps the [`Evidence`] to show the same summaries
//! without reading the profiles again.

use std::path::{Path, PathBuf};

use buildscope_analysis::{
    evidence_needed, explain, is_item_query, map_profiles, summarize_files, top_invocations_where,
    BuildEvidence, Cause, EvidenceNeeded, ExplainInput, Explanation, Invocation, ProfileSummary,
    RankBy, UnitKind,
};
use buildscope_profile::ProfileError;

use crate::{installed_linkers, llvm_lines, workspace_members, BuildError, RunRecord, Scenario};

/// Item-level invocations kept per profile: enough to find the one that dominates.
const ITEMS_PER_PROFILE: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error("{}: {reason}", path.display())]
    RunRecord { path: PathBuf, reason: String },
}

/// What explaining a build read from its profiles and the machine.
pub struct Evidence {
    /// The profile files found under the paths given.
    pub files: Vec<PathBuf>,
    /// One per file, in the same order.
    pub summaries: Vec<ProfileSummary>,
    items: Vec<Invocation>,
    macros: Vec<Invocation>,
    instances: Vec<Invocation>,
    linkers: Vec<String>,
    members: Vec<String>,
}

/// A build explained, and the evidence it was explained from.
pub struct Explained {
    pub evidence: Evidence,
    pub explanation: Explanation,
}

/// Explains a build from its record (if any) and its profiles (if any); with
/// `with_llvm_lines`, the crates a monomorphization finding names are built once more for
/// their LLVM IR lines.
pub fn explain_run(
    record: Option<&RunRecord>,
    profile_paths: &[PathBuf],
    threads: usize,
    with_llvm_lines: bool,
) -> Result<Explained, ExplainError> {
    let evidence = gather(record, profile_paths, threads)?;
    let explanation = explain_from(record, &evidence, with_llvm_lines)?;
    Ok(Explained {
        evidence,
        explanation,
    })
}

/// A run folder's record and its self-profile folder (if still there).
pub fn load_run_dir(dir: &Path) -> Result<(RunRecord, Vec<PathBuf>), ExplainError> {
    let path = dir.join("run.json");
    let text = std::fs::read_to_string(&path).map_err(|e| ExplainError::RunRecord {
        path: path.clone(),
        reason: format!("cannot read the run record: {e}"),
    })?;
    let record: RunRecord = serde_json::from_str(&text).map_err(|e| ExplainError::RunRecord {
        path: path.clone(),
        reason: format!("not a buildscope run record: {e}"),
    })?;
    let profiles = record.profile_dirs();
    Ok((record, profiles))
}

impl RunRecord {
    /// The run's self-profile folder, if it was profiled and the folder is still there.
    pub fn profile_dirs(&self) -> Vec<PathBuf> {
        self.profile_dir
            .iter()
            .filter(|p| p.is_dir())
            .cloned()
            .collect()
    }
}

fn gather(
    record: Option<&RunRecord>,
    profile_paths: &[PathBuf],
    threads: usize,
) -> Result<Evidence, ExplainError> {
    let files = if profile_paths.is_empty() {
        Vec::new()
    } else {
        buildscope_profile::find_profiles(profile_paths)?.files
    };
    let summaries = summarize_files(&files, threads)?;
    // Each kind of evidence only from the profiles a finding could come from.
    let needed: Vec<_> = summaries.iter().map(evidence_needed).collect();
    let files_where = |want: fn(&EvidenceNeeded) -> bool| -> Vec<PathBuf> {
        files
            .iter()
            .zip(&needed)
            .filter(|(_, n)| want(n))
            .map(|(f, _)| f.clone())
            .collect()
    };
    let items = invocations(
        &files_where(|n| n.items),
        threads,
        ITEMS_PER_PROFILE,
        &is_item_query,
    )?;
    let macros = invocations(
        &files_where(|n| n.proc_macros),
        threads,
        usize::MAX,
        &|l: &str| l == "expand_proc_macro",
    )?;
    let instances = invocations(
        &files_where(|n| n.instances),
        threads,
        usize::MAX,
        &|l: &str| l == "symbol_name",
    )?;
    Ok(Evidence {
        files,
        summaries,
        items,
        macros,
        instances,
        linkers: installed_linkers(),
        members: record
            .map(|r| workspace_members(&r.workspace_root))
            .unwrap_or_default(),
    })
}

fn explain_from(
    record: Option<&RunRecord>,
    evidence: &Evidence,
    with_llvm_lines: bool,
) -> Result<Explanation, ExplainError> {
    let build = record.map(|r| BuildEvidence {
        units: &r.units,
        totals: &r.totals,
        critical_path: &r.critical_path,
        hot: matches!(r.scenario, Scenario::Touch { .. } | Scenario::Edit { .. }),
        installed_linkers: &evidence.linkers,
        members: &evidence.members,
    });
    let mut input = ExplainInput {
        profiles: &evidence.summaries,
        item_invocations: &evidence.items,
        proc_macro_invocations: &evidence.macros,
        instance_invocations: &evidence.instances,
        llvm_lines: &[],
        build,
    };
    let explanation = explain(&input);
    let Some(record) = record.filter(|_| with_llvm_lines) else {
        return Ok(explanation);
    };
    // The crates a monomorphization finding names, built once more for their IR.
    let mut lines = Vec::new();
    for finding in explanation
        .findings
        .iter()
        .filter(|f| f.cause == Cause::Monomorphization)
    {
        let Some(krate) = &finding.crate_name else {
            continue;
        };
        let Some(unit) = record
            .units
            .iter()
            .find(|u| u.kind == UnitKind::Lib && u.target.replace('-', "_") == *krate)
        else {
            continue;
        };
        let target_dir = record
            .run_dir
            .parent()
            .and_then(Path::parent)
            .unwrap_or(&record.workspace_root)
            .join("llvm-lines");
        let release = record.cargo_args.iter().any(|a| a == "--release");
        eprintln!(
            "building {} with --emit=llvm-ir for its lines per function…",
            unit.package
        );
        lines.push((
            krate.clone(),
            llvm_lines(&record.workspace_root, &unit.package, release, &target_dir)?,
        ));
    }
    input.llvm_lines = &lines;
    Ok(explain(&input))
}

fn invocations(
    files: &[PathBuf],
    threads: usize,
    per_profile: usize,
    keep: &(dyn Fn(&str) -> bool + Sync),
) -> Result<Vec<Invocation>, ProfileError> {
    let per_file = map_profiles(files, threads, |profile| {
        top_invocations_where(profile, per_profile, RankBy::Duration, Some(keep))
    })?;
    Ok(per_file.into_iter().flatten().collect())
}
