//! Arguments resolved into what the libraries take: a build plan, the workspace here, the
//! history store, the run or profiles a command names. Every command that resolves a
//! workspace goes through here, so every one of them first undoes an edit that a killed
//! run left behind, and none of them does it under a live run.

use crate::terminal::say;
use buildscope_output::Status;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use buildscope_analysis::{RunRecord, Scenario};
use buildscope_measure::{
    cargo, load_run_dir, lock_workspace, recover_if_idle, BuildPlan, LockWait, SelfProfile,
    Workspace, WorkspaceLock,
};
use buildscope_store::{default_database_path, Location, Store};

use crate::cli::{BuildArgs, CargoCommand, HistoryArgs, ScenarioSpec};
use crate::terminal::cores;

/// The plan a `build` (or `experiment`) command line describes, and its workspace.
pub(crate) fn build_plan(args: &BuildArgs) -> Result<(BuildPlan, Workspace)> {
    let cargo = cargo();
    let workspace = Workspace::load(&cargo, args.manifest_path.as_deref())?;
    let state_dir = workspace.state_dir();
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let absolute = |p: &Path| -> Result<PathBuf> {
        std::fs::canonicalize(p).with_context(|| format!("{}", p.display()))
    };
    let scenario = match args.scenario_spec() {
        Some(ScenarioSpec::Cold) => Scenario::Cold,
        Some(ScenarioSpec::Touch(path)) => Scenario::Touch {
            path: absolute(&path)?,
        },
        Some(ScenarioSpec::Edit(path)) => Scenario::Edit {
            path: absolute(&path)?,
            functions: args.edit_size,
        },
        None => Scenario::AsIs,
    };
    if args.edit_size > 1 && !args.edit_each_member && !matches!(scenario, Scenario::Edit { .. }) {
        bail!("--edit-size: changes function bodies of the file --edit PATH names; give --edit");
    }
    let edited_package = workspace.edited_package(&scenario);
    let self_profile = match (&args.self_profile, &args.self_profile_crates) {
        (true, _) => Some(vec!["*".to_string()]),
        (false, Some(list)) if list.trim().is_empty() => Some(workspace.member_names()),
        (false, Some(list)) => Some(list.split(',').map(|s| s.trim().to_string()).collect()),
        // --sample samples the crates selected for self-profiling: the members by default.
        (false, None) if args.sample => Some(workspace.member_names()),
        (false, None) => None,
    }
    .map(|crates| SelfProfile {
        crates,
        events: args.self_profile_events.clone(),
    });
    let plan = BuildPlan {
        cargo,
        command: match args.command {
            CargoCommand::Build => "build".into(),
            CargoCommand::Check => "check".into(),
        },
        cargo_args: args.cargo_args(),
        cwd,
        workspace_root: workspace.root.clone(),
        target_dir: args
            .target_dir
            .clone()
            .unwrap_or_else(|| state_dir.join("target")),
        state_dir,
        scenario,
        runs: args.runs as usize,
        self_profile,
        packages: args.packages.clone(),
        env: Vec::new(),
        show_diagnostics: true,
        cargo_timings: true,
        cargo_log: args.cargo_log,
        sample: args.sample,
        edited_package,
        cores: args.jobs.map(|j| j as usize).unwrap_or_else(cores),
        journal_dir: None,
    };
    Ok((plan, workspace))
}

/// A plan that measures again what a recorded run measured (its command, cargo arguments
/// and scenario; an as-is run becomes cold), `runs` times, quietly: for `explain --verify`.
pub(crate) fn plan_for_run(record: &RunRecord, runs: u32) -> Result<(BuildPlan, Workspace)> {
    let cargo = cargo();
    let workspace = Workspace::load(&cargo, Some(&record.workspace_root.join("Cargo.toml")))?;
    let state_dir = workspace.state_dir();
    let scenario = match &record.scenario {
        Scenario::AsIs => Scenario::Cold,
        other => other.clone(),
    };
    let edited_package = workspace.edited_package(&scenario);
    let plan = BuildPlan {
        cargo,
        command: record.command.clone(),
        cargo_args: record.cargo_args.clone(),
        cwd: record.workspace_root.clone(),
        workspace_root: workspace.root.clone(),
        target_dir: state_dir.join("target"),
        state_dir,
        scenario,
        runs: runs.max(1) as usize,
        self_profile: None,
        packages: Vec::new(),
        env: Vec::new(),
        show_diagnostics: false,
        cargo_timings: false,
        cargo_log: false,
        sample: false,
        edited_package,
        cores: record.totals.cores.max(1),
        journal_dir: None,
    };
    Ok((plan, workspace))
}

/// The workspace for a run that measures: waits for (or, with `no_wait`, refuses) another
/// run measuring there, then undoes an edit a killed run left behind.
pub(crate) fn lock_for_measuring(plan: &BuildPlan, no_wait: bool) -> Result<WorkspaceLock> {
    let (lock, restored) = lock_workspace(&plan.state_dir, !no_wait, |busy| {
        let LockWait::Busy { pid } = busy;
        say(Status::WaitingForLock(*pid));
    })?;
    say_restored(restored);
    Ok(lock)
}

/// The workspace around `manifest_path` or the current directory, if there is one, with
/// an edit that a killed run left there undone (unless a live run is measuring it).
pub(crate) fn workspace_here(manifest_path: Option<&Path>) -> Option<Workspace> {
    let workspace = Workspace::here(manifest_path)?;
    restore_interrupted(&workspace.state_dir());
    Some(workspace)
}

/// Undoes an interrupted edit under `state_dir` when no run is measuring; a failure to is
/// a warning (the next measuring run retries and fails loudly).
fn restore_interrupted(state_dir: &Path) {
    match recover_if_idle(state_dir) {
        Ok(restored) => say_restored(restored),
        Err(e) => say(Status::Warning(&e.to_string())),
    }
}

fn say_restored(restored: Option<PathBuf>) {
    if let Some(path) = restored {
        say(Status::Restored(&path));
    }
}

/// The history: `--db`, `$BUILDSCOPE_DB` (a SQLite file's path or a `postgres://` URL), or
/// the default file.
pub(crate) fn open_store(history: &HistoryArgs) -> Result<Store> {
    Ok(Store::open(&history_location(history)?)?)
}

/// Where the history is, without opening it.
pub(crate) fn history_location(history: &HistoryArgs) -> Result<Location> {
    let path = history
        .db
        .clone()
        .or_else(default_database_path)
        .context("no history database: set --db, BUILDSCOPE_DB or HOME")?;
    let text = path
        .to_str()
        .with_context(|| format!("{}: the history's location is not UTF-8", path.display()))?;
    Ok(Location::parse(text)?)
}

/// The run record and profile paths the arguments name: a run folder, profile files and
/// directories, or a run of the history (`latest` when nothing is named).
pub(crate) fn resolve_target(
    target: &[String],
    history: &HistoryArgs,
    manifest_path: Option<&Path>,
) -> Result<(Option<RunRecord>, Vec<PathBuf>)> {
    let named: Vec<PathBuf> = target.iter().map(PathBuf::from).collect();
    let run_dir = |dir: &Path| -> Result<(Option<RunRecord>, Vec<PathBuf>)> {
        let (record, profiles) = load_run_dir(dir)?;
        // The run's workspace, restored first like any other the command resolves.
        workspace_here(Some(&record.workspace_root.join("Cargo.toml")));
        Ok((Some(record), profiles))
    };
    if named.len() == 1 && named[0].join("run.json").is_file() {
        return run_dir(&named[0]);
    }
    if named.len() == 1 && named[0].file_name().is_some_and(|n| n == "run.json") {
        return run_dir(named[0].parent().unwrap_or(Path::new(".")));
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
    let store = open_store(history)?;
    let workspace = workspace_here(manifest_path).map(|w| w.root);
    let (run, _) = store.run(name, workspace.as_deref()).with_context(|| {
        if target.is_empty() {
            "nothing to explain: measure a build first (`buildscope build --self-profile-crates`), or name profiles".to_string()
        } else {
            format!("{name}: not a path, and not a run in the history")
        }
    })?;
    if !run.run_dir.join("run.json").is_file() {
        bail!(
            "run {}: its folder {} is gone (deleted, e.g. by `cargo clean`); the history keeps its totals and units: `buildscope runs` and `compare` still show it, and `check` still counts it in a baseline",
            run.id,
            run.run_dir.display()
        );
    }
    let (record, profiles) = load_run_dir(&run.run_dir)?;
    Ok((Some(record), profiles))
}
