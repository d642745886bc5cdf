//! `explain`: gathers a run's record and self-profiles, and the evidence findings need
//! (the longest item-level queries, proc-macro expansions), then hands them to analysis.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use buildscope_analysis::{
    evidence_needed, explain as explain_build, is_item_query, summarize_files,
    top_invocations_where, BuildEvidence, Cause, EvidenceNeeded, ExplainInput, Explanation,
    Invocation, ProfileSummary, RankBy, UnitKind,
};
use buildscope_build::{llvm_lines, RunRecord, Scenario};
use buildscope_output::{explanation_markdown, render_explanation, Style};

use crate::cli::ExplainArgs;
use crate::commands::print;

/// Item-level invocations kept per profile: enough to find the one that dominates.
const ITEMS_PER_PROFILE: usize = 20;

pub(crate) fn explain(args: ExplainArgs, threads: usize, style: &Style) -> Result<ExitCode> {
    let (record, profile_paths) =
        resolve_target(&args.target, &args.history, args.manifest_path.as_deref())?;
    let explanation = explain_inputs(record.as_ref(), &profile_paths, threads, args.llvm_lines)?;
    let text = if args.json {
        serde_json::to_string_pretty(&explanation)? + "\n"
    } else if args.markdown {
        explanation_markdown(&explanation, args.top)
    } else {
        let mut text = String::new();
        if let Some(r) = &record {
            text.push_str(&format!(
                "{}: {} ({})\n\n",
                r.workspace_root.display(),
                r.command,
                r.scenario.describe_in(&r.workspace_root)
            ));
        }
        text + &render_explanation(&explanation, args.top, style)
    };
    print(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// Explains a build from its record (if any) and its profiles (if any).
pub(crate) fn explain_inputs(
    record: Option<&RunRecord>,
    profile_paths: &[PathBuf],
    threads: usize,
    with_llvm_lines: bool,
) -> Result<Explanation> {
    let evidence = gather(record, profile_paths, threads)?;
    explain_with(record, &evidence, with_llvm_lines)
}

/// What explain reads from a build's profiles and machine: gathered once, so that the
/// report can use the same profiles' summaries without reading them again.
pub(crate) struct Evidence {
    pub(crate) files: Vec<PathBuf>,
    pub(crate) summaries: Vec<ProfileSummary>,
    items: Vec<Invocation>,
    macros: Vec<Invocation>,
    instances: Vec<Invocation>,
    linkers: Vec<String>,
    members: Vec<String>,
}

pub(crate) fn gather(
    record: Option<&RunRecord>,
    profile_paths: &[PathBuf],
    threads: usize,
) -> Result<Evidence> {
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

/// The explanation of gathered evidence; with `with_llvm_lines`, the crates a
/// monomorphization finding names are built once more for their LLVM IR lines.
pub(crate) fn explain_with(
    record: Option<&RunRecord>,
    evidence: &Evidence,
    with_llvm_lines: bool,
) -> Result<Explanation> {
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
    let explanation = explain_build(&input);
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
    Ok(explain_build(&input))
}

fn invocations(
    files: &[PathBuf],
    threads: usize,
    per_profile: usize,
    keep: &(dyn Fn(&str) -> bool + Sync),
) -> Result<Vec<Invocation>> {
    let per_file = buildscope_analysis::map_profiles(files, threads, |profile| {
        top_invocations_where(profile, per_profile, RankBy::Duration, Some(keep))
    })?;
    Ok(per_file.into_iter().flatten().collect())
}

/// The run record and profile paths the arguments name: a run folder, profile files and
/// directories, or a run of the history (`latest` when nothing is named).
pub(crate) fn resolve_target(
    target: &[String],
    history: &crate::cli::HistoryArgs,
    manifest_path: Option<&Path>,
) -> Result<(Option<RunRecord>, Vec<PathBuf>)> {
    let named: Vec<PathBuf> = target.iter().map(PathBuf::from).collect();
    if named.len() == 1 && named[0].join("run.json").is_file() {
        return load_run_dir(&named[0]);
    }
    if named.len() == 1 && named[0].file_name().is_some_and(|n| n == "run.json") {
        return load_run_dir(named[0].parent().unwrap_or(Path::new(".")));
    }
    if !named.is_empty() && named.iter().all(|p| p.exists()) {
        return Ok((None, named));
    }
    if target.len() > 1 {
        bail!(
            "{}: no such file or directory (give one run, or profile files and directories)",
            named
                .iter()
                .find(|p| !p.exists())
                .unwrap_or(&named[0])
                .display()
        );
    }
    let name = target.first().map_or("latest", String::as_str);
    let store = crate::history_command::open_store(history)?;
    let workspace = crate::history_command::workspace_here(manifest_path);
    let (run, _) = store.run(name, workspace.as_deref()).with_context(|| {
        if target.is_empty() {
            "nothing to explain: measure a build first (`buildscope build --self-profile-crates`), or name profiles".to_string()
        } else {
            format!("{name}: not a path, and not a run in the history")
        }
    })?;
    load_run_dir(&run.run_dir)
}

pub(crate) fn load_run_dir(dir: &Path) -> Result<(Option<RunRecord>, Vec<PathBuf>)> {
    let path = dir.join("run.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{}: cannot read the run record", path.display()))?;
    let record: RunRecord = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a buildscope run record", path.display()))?;
    let profiles = profile_dirs(&record);
    Ok((Some(record), profiles))
}

/// A run's self-profile folder, if it was profiled and the folder is still there.
pub(crate) fn profile_dirs(record: &RunRecord) -> Vec<PathBuf> {
    record
        .profile_dir
        .iter()
        .filter(|p| p.is_dir())
        .cloned()
        .collect()
}

/// The workspace's member packages (none if cargo cannot say).
fn workspace_members(root: &Path) -> Vec<String> {
    let mut command = cargo_metadata::MetadataCommand::new();
    command.no_deps().manifest_path(root.join("Cargo.toml"));
    command
        .exec()
        .map(|m| crate::build_command::member_names(&m))
        .unwrap_or_default()
}

/// Linkers on PATH, for the linking finding.
pub(crate) fn installed_linkers() -> Vec<String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    ["mold", "ld.lld", "ld.gold", "ld.bfd", "wild"]
        .iter()
        .filter(|name| std::env::split_paths(&path).any(|dir| dir.join(name).is_file()))
        .map(|s| s.to_string())
        .collect()
}
