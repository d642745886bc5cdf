//! Explaining a measured build: the one place that gathers what the findings need (the
//! run record, its self-profiles' summaries, the longest item-level queries, proc-macro
//! expansions and monomorphized instances, the linkers installed, the workspace members)
//! and hands it to `buildscope_analysis::explain`. `explain`, `build` and `report` all go
//! through [`explain_run`]; the report keeps the [`Evidence`] to show the same summaries
//! without reading the profiles again.

use std::path::{Path, PathBuf};

use buildscope_analysis::{
    evidence_needed, explain, is_item_query, map_profiles, setting_differences,
    summarize_with_invocations, BuildEvidence, Cause, ExplainInput, Explanation, Invocation,
    LabelFilter, Manifests, ProfileSummary, RankBy, RunRecord, SettingDifference, Unprofiled,
    UnusedDependency,
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

/// Beside a run's record: what its raw profiles gave explain, so that explain and the
/// report work after the raw profiles are pruned (`buildscope gc`).
pub const SAVED_EVIDENCE: &str = "evidence.json";

/// Where a build's profile evidence came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvidenceSource {
    /// The raw self-profiles.
    RawProfiles,
    /// The summaries saved before the raw profiles were pruned.
    Saved,
    /// No profiles: the run record alone.
    None,
}

/// The part of [`Evidence`] read from the raw profiles, as saved.
#[derive(serde::Serialize, serde::Deserialize)]
struct SavedEvidence {
    schema: String,
    /// The profile files' names.
    files: Vec<String>,
    summaries: Vec<ProfileSummary>,
    items: Vec<Invocation>,
    macros: Vec<Invocation>,
    instances: Vec<Invocation>,
}

const SAVED_SCHEMA: &str = "buildscope.evidence/1";

/// Saves what the profiles gave explain beside the run's record (once: a saved file is
/// left as it is). Returns its size.
pub fn save_evidence(run_dir: &Path, evidence: &Evidence) -> Result<u64, BuildError> {
    let path = run_dir.join(SAVED_EVIDENCE);
    if evidence.source != EvidenceSource::RawProfiles {
        return Ok(0);
    }
    if let Ok(meta) = std::fs::metadata(&path) {
        return Ok(meta.len());
    }
    let saved = SavedEvidence {
        schema: SAVED_SCHEMA.into(),
        files: evidence
            .files
            .iter()
            .map(|f| {
                f.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect(),
        summaries: evidence.summaries.clone(),
        items: evidence.items.clone(),
        macros: evidence.macros.clone(),
        instances: evidence.instances.clone(),
    };
    let text = serde_json::to_string(&saved).map_err(|e| BuildError::CargoOutput(e.to_string()))?;
    // Written whole or not at all: a reader never sees half a file.
    let partial = run_dir.join(format!("{SAVED_EVIDENCE}.partial"));
    std::fs::write(&partial, &text).map_err(BuildError::io("writing", &partial))?;
    std::fs::rename(&partial, &path).map_err(BuildError::io("writing", &path))?;
    Ok(text.len() as u64)
}

/// Saves a run's evidence from its raw profiles if it is not saved yet (a run made before
/// builds saved it): what pruning needs first.
pub fn ensure_saved_evidence(run_dir: &Path, threads: usize) -> Result<(), ExplainError> {
    if run_dir.join(SAVED_EVIDENCE).is_file() {
        return Ok(());
    }
    let (record, profiles) = load_run_dir(run_dir)?;
    if profiles.is_empty() {
        return Ok(());
    }
    let evidence = gather(Some(&record), &profiles, threads, false)?;
    save_evidence(run_dir, &evidence)?;
    Ok(())
}

fn load_saved(run_dir: &Path) -> Option<SavedEvidence> {
    let text = std::fs::read_to_string(run_dir.join(SAVED_EVIDENCE)).ok()?;
    let saved: SavedEvidence = serde_json::from_str(&text).ok()?;
    (saved.schema == SAVED_SCHEMA).then_some(saved)
}

/// What explaining a build read from its profiles and the machine.
pub struct Evidence {
    /// Where the profile evidence came from.
    pub source: EvidenceSource,
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
#[derive(Debug, Clone, Default)]
pub struct ExplainExtras {
    /// Build the crates a monomorphization finding names once more for their LLVM IR lines.
    pub llvm_lines: bool,
    /// A `cargo check` of the workspace with rustc's `unused_crate_dependencies` lint.
    pub unused: bool,
    /// A run of the same scenario without the profiler, to scale the estimates to.
    pub unprofiled: Option<RunRecord>,
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
    let mut evidence = gather(record, profile_paths, threads, true)?;
    if let (true, Some(record), Some(manifests)) = (extras.unused, record, &evidence.manifests) {
        evidence.unused = Some(unused_dependencies(&record.workspace_root, manifests)?);
    }
    let explanation = explain_from(
        record,
        &evidence,
        extras.llvm_lines,
        extras.unprofiled.as_ref(),
    )?;
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
    ask_cargo: bool,
) -> Result<Evidence, ExplainError> {
    // The bill is a cold build's: a rebuild does not ask cargo about the manifests.
    let ask_cargo = || {
        record
            .filter(|_| ask_cargo)
            .map(|r| local_packages(&r.workspace_root, !r.scenario.is_hot()))
            .unwrap_or_default()
    };
    // A run whose raw profiles were pruned: what they gave, as saved.
    let pruned = record.filter(|r| {
        r.profile_dir.as_ref().is_some_and(|d| !d.exists())
            && profile_paths.iter().all(|p| !p.exists())
    });
    if let Some(saved) = pruned.and_then(|r| load_saved(&r.run_dir)) {
        let (local, manifests) = ask_cargo();
        return Ok(Evidence {
            source: EvidenceSource::Saved,
            files: saved.files.iter().map(PathBuf::from).collect(),
            summaries: saved.summaries,
            items: saved.items,
            macros: saved.macros,
            instances: saved.instances,
            linkers: installed_linkers(),
            local,
            setting_changes: setting_changes_of(record),
            manifests,
            unused: None,
        });
    }
    let files = if profile_paths.is_empty() {
        Vec::new()
    } else {
        buildscope_profile::find_profiles(profile_paths)?.files
    };
    // Cargo answers (`cargo metadata`) while the profiles are read.
    // One walk over each profile for its summary and its evidence together (the events
    // decoded once); the evidence a finding could use is kept, the rest dropped before its
    // arguments are decoded.
    let is_macro = |l: &str| l == "expand_proc_macro";
    let is_instance = |l: &str| l == "symbol_name";
    let walk = || {
        map_profiles(&files, threads, |profile| {
            let lists: [(LabelFilter, usize); 3] = [
                (&is_item_query, ITEMS_PER_PROFILE),
                (&is_macro, usize::MAX),
                (&is_instance, usize::MAX),
            ];
            summarize_with_invocations(profile, RankBy::Duration, &lists, |summary| {
                let need = evidence_needed(summary);
                vec![need.items, need.proc_macros, need.instances]
            })
        })
    };
    let (walked, (local, manifests)) = std::thread::scope(|scope| {
        let cargo = scope.spawn(ask_cargo);
        let walked = walk();
        (walked, cargo.join().unwrap_or_default())
    });
    let walked = walked?;
    let (mut items, mut macros, mut instances) = (Vec::new(), Vec::new(), Vec::new());
    let mut summaries = Vec::with_capacity(walked.len());
    for (summary, mut found) in walked {
        instances.append(&mut found[2]);
        macros.append(&mut found[1]);
        items.append(&mut found[0]);
        summaries.push(summary);
    }
    Ok(Evidence {
        source: if files.is_empty() {
            EvidenceSource::None
        } else {
            EvidenceSource::RawProfiles
        },
        files,
        summaries,
        items,
        macros,
        instances,
        linkers: installed_linkers(),
        local,
        setting_changes: setting_changes_of(record),
        manifests,
        unused: None,
    })
}

fn setting_changes_of(record: Option<&RunRecord>) -> Vec<SettingDifference> {
    record
        .and_then(|r| {
            Some(setting_differences(
                r.previous_settings.as_ref()?,
                r.settings.as_ref()?,
            ))
        })
        .unwrap_or_default()
}

fn explain_from(
    record: Option<&RunRecord>,
    evidence: &Evidence,
    with_llvm_lines: bool,
    unprofiled: Option<&RunRecord>,
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
        unprofiled: unprofiled.map(|u| Unprofiled {
            run_id: &u.id,
            units: &u.units,
            wall_ns: u.totals.wall_ns,
        }),
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
