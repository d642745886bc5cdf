//! Explaining a measured build: the one place that gathers what the findings need (the
//! run record, its self-profiles' summaries, the longest item-level queries, proc-macro
//! expansions and monomorphized instances, the linkers installed, the workspace members)
//! and hands it to `buildscope_analysis::explain`. `explain`, `build` and `report` all go
//! through [`explain_run`]; the report keeps the [`Evidence`] to show the same summaries
//! without reading the profiles again.

use std::path::{Path, PathBuf};

use buildscope_analysis::{
    evidence_needed, explain, is_item_query, map_profiles, setting_differences, summarize_files,
    top_invocations_by, BuildEvidence, Cause, EvidenceNeeded, ExplainInput, Explanation,
    Invocation, Manifests, ProfileSummary, RankBy, RunRecord, SettingDifference, UnusedDependency,
};
use buildscope_profile::ProfileError;

use crate::{
    installed_linkers, llvm_lines, local_packages, target_selection, unused_dependencies,
    BuildError, LocalPackages,
};

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
    local: LocalPackages,
    /// How the run's settings differ from the build before it into its target directory.
    setting_changes: Vec<SettingDifference>,
    /// What the manifests declare, for the bill.
    manifests: Option<Manifests>,
    /// The members' dependency lines rustc found unused, when looked for.
    unused: Option<Vec<UnusedDependency>>,
}

/// Evidence that costs a build of its own, gathered only when asked.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExplainExtras {
    /// Build the crates a monomorphization finding names once more for their LLVM IR lines.
    pub llvm_lines: bool,
    /// A `cargo check` of the workspace with rustc's `unused_crate_dependencies` lint.
    pub unused: bool,
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
    extras: ExplainExtras,
) -> Result<Explained, ExplainError> {
    let mut evidence = gather(record, profile_paths, threads)?;
    if let (true, Some(record), Some(manifests)) = (extras.unused, record, &evidence.manifests) {
        evidence.unused = Some(unused_dependencies(&record.workspace_root, manifests)?);
    }
    let explanation = explain_from(record, &evidence, extras.llvm_lines)?;
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
    let mut record: RunRecord =
        serde_json::from_str(&text).map_err(|e| ExplainError::RunRecord {
            path: path.clone(),
            reason: format!("not a buildscope run record: {e}"),
        })?;
    // A run folder is whole in itself: copied to a shared directory (`--store-profiles`)
    // or another machine, its profiles are the ones beside its record.
    if record.run_dir != dir {
        record.run_dir = dir.to_path_buf();
        if record.profile_dir.is_some() {
            record.profile_dir = Some(dir.join("profiles"));
        }
    }
    let profiles = record.profile_dirs();
    Ok((record, profiles))
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
    let everything = EvidenceNeeded {
        items: true,
        proc_macros: true,
        instances: true,
    };
    // With cores to spare (fewer profiles than threads), the evidence walk runs beside the
    // summaries on the whole of each profile, and what no finding needs is dropped after;
    // otherwise the summaries first say which profiles need which evidence.
    let (summaries, per_file) = if files.len() < threads {
        let all: Vec<EvidenceNeeded> = files.iter().map(|_| everything).collect();
        let (summaries, per_file) = std::thread::scope(|scope| {
            let evidence = scope.spawn(|| invocation_lists(&files, &all, (threads / 2).max(1)));
            let summaries = summarize_files(&files, (threads / 2).max(1));
            (
                summaries,
                evidence.join().expect("the evidence walk panicked"),
            )
        });
        (summaries?, per_file?)
    } else {
        let summaries = summarize_files(&files, threads)?;
        let needed: Vec<_> = summaries.iter().map(evidence_needed).collect();
        let per_file = invocation_lists(&files, &needed, threads)?;
        (summaries, per_file)
    };
    let (mut items, mut macros, mut instances) = (Vec::new(), Vec::new(), Vec::new());
    for (mut lists, summary) in per_file.into_iter().zip(&summaries) {
        let need = evidence_needed(summary);
        if need.instances {
            instances.append(&mut lists[2]);
        }
        if need.proc_macros {
            macros.append(&mut lists[1]);
        }
        if need.items {
            items.append(&mut lists[0]);
        }
    }
    // The bill is a cold build's: a rebuild does not ask cargo about the manifests.
    let (local, manifests) = record
        .map(|r| local_packages(&r.workspace_root, !r.scenario.is_hot()))
        .unwrap_or_default();
    Ok(Evidence {
        files,
        summaries,
        items,
        macros,
        instances,
        linkers: installed_linkers(),
        local,
        setting_changes: record
            .and_then(|r| {
                Some(setting_differences(
                    r.previous_settings.as_ref()?,
                    r.settings.as_ref()?,
                ))
            })
            .unwrap_or_default(),
        manifests,
        unused: None,
    })
}

/// Per file, in one walk over it: its longest item-level invocations, its proc-macro
/// expansions and its `symbol_name` instances, each only where `needed` says (empty
/// lists otherwise, and no walk for a file that needs nothing).
fn invocation_lists(
    files: &[PathBuf],
    needed: &[EvidenceNeeded],
    threads: usize,
) -> Result<Vec<Vec<Vec<Invocation>>>, ProfileError> {
    let is_macro = |l: &str| l == "expand_proc_macro";
    let is_instance = |l: &str| l == "symbol_name";
    let limit = |wanted: bool, n: usize| if wanted { n } else { 0 };
    let work: Vec<(PathBuf, EvidenceNeeded)> =
        files.iter().cloned().zip(needed.iter().copied()).collect();
    let walked: Vec<PathBuf> = work
        .iter()
        .filter(|(_, n)| n.items || n.proc_macros || n.instances)
        .map(|(f, _)| f.clone())
        .collect();
    let mut lists = map_profiles(&walked, threads, |profile| {
        let need = work
            .iter()
            .find(|(f, _)| f.as_path() == profile.path())
            .map(|(_, n)| *n)
            .expect("a walked file was asked for");
        top_invocations_by(
            profile,
            RankBy::Duration,
            &[
                (&is_item_query, limit(need.items, ITEMS_PER_PROFILE)),
                (&is_macro, limit(need.proc_macros, usize::MAX)),
                (&is_instance, limit(need.instances, usize::MAX)),
            ],
        )
    })?
    .into_iter();
    Ok(work
        .iter()
        .map(|(_, n)| {
            if n.items || n.proc_macros || n.instances {
                lists.next().expect("one result per walked file")
            } else {
                vec![Vec::new(), Vec::new(), Vec::new()]
            }
        })
        .collect())
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
        hot: r.scenario.is_hot(),
        installed_linkers: &evidence.linkers,
        members: &evidence.local.members,
        path_dependencies: &evidence.local.path_dependencies,
        rebuild_reasons: r.rebuild_reasons.as_deref(),
        setting_changes: &evidence.setting_changes,
        warm_up: r.warm_up,
        cached_units: &r.cached_units,
        manifests: evidence.manifests.as_ref(),
        unused: evidence.unused.as_deref(),
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
        .filter(|f| f.cause() == Cause::Monomorphization)
    {
        let Some(krate) = &finding.crate_name else {
            continue;
        };
        // The crate's unit: the one rustc compiled (not a build script's run).
        let Some(unit) = record.units.iter().find(|u| u.compiles_crate(krate)) else {
            eprintln!("--llvm-lines: no unit of `{krate}` in this run to build again");
            continue;
        };
        let selection = match target_selection(unit.kind, &unit.target) {
            Ok(selection) => selection,
            Err(e) => {
                eprintln!("{e}");
                continue;
            }
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
            llvm_lines(
                &record.workspace_root,
                &unit.package,
                &selection,
                krate,
                release,
                &target_dir,
            )?,
        ));
    }
    input.llvm_lines = &lines;
    Ok(explain(&input))
}
