//! `buildscope build`: wires cargo metadata, the build plan, progress and the report.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use buildscope_analysis::Explanation;
use buildscope_build::{
    compiling_now, execute, recover, BuildPlan, Phase, Progress, RunRecord, Scenario, SelfProfile,
};
use buildscope_output::{render_build, render_member_edits, BuildView, MemberEdit, Style};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use crate::cli::{BuildArgs, CargoCommand, ScenarioSpec};
use crate::commands::{cores, print};

/// Units in the report's slowest-units table.
const SLOWEST_SHOWN: usize = 10;

/// The plan a `build` command line describes, and the workspace's metadata.
pub(crate) fn plan_from(args: &BuildArgs) -> Result<(BuildPlan, cargo_metadata::Metadata)> {
    let cargo = std::env::var_os("CARGO")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("cargo"));
    let mut metadata_command = cargo_metadata::MetadataCommand::new();
    metadata_command.cargo_path(&cargo).no_deps();
    if let Some(manifest) = &args.manifest_path {
        metadata_command.manifest_path(manifest);
    }
    let metadata = metadata_command
        .exec()
        .map_err(|e| anyhow::anyhow!("cargo metadata: {}", first_line(&e.to_string())))?;
    let workspace_root: PathBuf = metadata.workspace_root.clone().into();
    let state_dir = PathBuf::from(metadata.target_directory.clone()).join("buildscope");

    // A run killed in the middle of an --edit left it in place: undo it before anything.
    if let Some(restored) = recover(&state_dir)? {
        eprintln!(
            "buildscope: restored {} (an earlier run was interrupted during its --edit)",
            restored.display()
        );
    }

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
        },
        None => Scenario::AsIs,
    };
    let members = member_names(&metadata);
    let self_profile = match (&args.self_profile, &args.self_profile_crates) {
        (true, _) => Some(vec!["*".to_string()]),
        (false, Some(list)) if list.trim().is_empty() => Some(members.clone()),
        (false, Some(list)) => Some(list.split(',').map(|s| s.trim().to_string()).collect()),
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
        workspace_root: workspace_root.clone(),
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
        edited_package: match args.scenario_spec() {
            Some(ScenarioSpec::Edit(path)) => package_of(&metadata, &absolute(&path)?),
            _ => None,
        },
        cores: args.jobs.map(|j| j as usize).unwrap_or_else(cores),
        journal_dir: None,
    };
    Ok((plan, metadata))
}

pub fn build(args: BuildArgs, style: &Style) -> Result<ExitCode> {
    let (plan, metadata) = plan_from(&args)?;
    let workspace_root = plan.workspace_root.clone();

    if args.edit_each_member {
        return each_member(&args, plan, &metadata, style);
    }
    let records = run_plan(&plan, args.quiet);
    let records = records?;
    for record in &records {
        crate::history_command::record(&args.history, record);
    }
    let explanations = write_reports(&records, args.quiet || args.json);
    let last = records.last().expect("a plan measures at least once");
    let failed = !last.success;

    if args.json {
        let walls: Vec<u64> = records.iter().map(|r| r.totals.wall_ns).collect();
        let (min, median, max) = spread(&walls);
        let doc = json!({
            "schema": "buildscope.build/1",
            "runs": records,
            "wall_ns": { "min": min, "median": median, "max": max },
        });
        print(&(serde_json::to_string_pretty(&doc)? + "\n"))?;
    } else {
        print(&report(
            &plan,
            &records,
            &explanations,
            &workspace_root,
            style,
        ))?;
    }
    if failed {
        if !args.json {
            eprintln!("error: the build failed; cargo said:");
            for line in &last.cargo_output_tail {
                eprintln!("  {line}");
            }
        }
        return Ok(ExitCode::from(
            last.exit_code.unwrap_or(101).clamp(1, 255) as u8
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs a plan under a progress bar that says what is compiling now.
fn run_plan(plan: &BuildPlan, quiet: bool) -> Result<Vec<RunRecord>, buildscope_build::BuildError> {
    let bar = progress_bar(quiet);
    let watched: Arc<Mutex<Option<PathBuf>>> = Arc::default();
    let done = Arc::new(AtomicBool::new(false));
    let watcher = (!bar.is_hidden()).then(|| {
        let (bar, watched, done) = (bar.clone(), watched.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                let dir = watched.lock().expect("not poisoned").clone();
                if let Some(dir) = dir {
                    let now = compiling_now(&dir);
                    if !now.is_empty() {
                        bar.set_message(format!("compiling {}", now.join(", ")));
                    }
                }
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
        })
    });
    let records = execute(
        plan,
        |phase| {
            bar.reset();
            bar.set_length(0);
            bar.set_message("");
            bar.set_prefix(match phase {
                Phase::Cleaning => "cleaning".to_string(),
                Phase::WarmUp { run } => format!("warm-up {run}"),
                Phase::Measuring { run, of } if *of > 1 => format!("run {run}/{of}"),
                Phase::Measuring { .. } => "building".to_string(),
            });
        },
        |progress| match progress {
            Progress::Started { total, run_dir } => {
                bar.set_length(total.unwrap_or(0) as u64);
                *watched.lock().expect("not poisoned") = Some(run_dir);
            }
            Progress::UnitDone { .. } => bar.inc(1),
        },
    );
    done.store(true, Ordering::Relaxed);
    if let Some(watcher) = watcher {
        let _ = watcher.join();
    }
    bar.finish_and_clear();
    records
}

/// `--edit-each-member`: the rebuild cost of an edit in each workspace member in turn.
fn each_member(
    args: &BuildArgs,
    plan: BuildPlan,
    metadata: &cargo_metadata::Metadata,
    style: &Style,
) -> Result<ExitCode> {
    let mut members = Vec::new();
    for package in metadata.workspace_packages() {
        // The library's root if there is one, else the first binary's.
        let target = package
            .targets
            .iter()
            .find(|t| {
                t.kind
                    .iter()
                    .any(|k| k.to_string().ends_with("lib") || k.to_string() == "proc-macro")
            })
            .or_else(|| {
                package
                    .targets
                    .iter()
                    .find(|t| t.kind.iter().any(|k| k.to_string() == "bin"))
            });
        let Some(target) = target else { continue };
        let path: PathBuf = target.src_path.clone().into();
        let plan = BuildPlan {
            scenario: Scenario::Edit { path: path.clone() },
            edited_package: Some(package.name.to_string()),
            ..plan.clone()
        };
        eprintln!(
            "buildscope: measuring an edit in {} ({})",
            package.name,
            path.display()
        );
        let records = run_plan(&plan, args.quiet)?;
        for record in &records {
            crate::history_command::record(&args.history, record);
        }
        if let Some(failed) = records.iter().find(|r| !r.success) {
            anyhow::bail!(
                "the build failed after editing {}: {}",
                path.display(),
                failed.cargo_output_tail.last().cloned().unwrap_or_default()
            );
        }
        members.push((package.name.to_string(), path, records));
    }
    if args.json {
        let doc = json!({
            "schema": "buildscope.edit-each-member/1",
            "members": members.iter().map(|(name, path, records)| {
                let walls: Vec<u64> = records.iter().map(|r| r.totals.wall_ns).collect();
                let (min, median, max) = spread(&walls);
                json!({
                    "package": name,
                    "path": path,
                    "runs": records,
                    "wall_ns": { "min": min, "median": median, "max": max },
                })
            }).collect::<Vec<_>>(),
        });
        print(&(serde_json::to_string_pretty(&doc)? + "\n"))?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<MemberEdit> = members
        .iter()
        .map(|(name, path, records)| {
            let walls: Vec<u64> = records.iter().map(|r| r.totals.wall_ns).collect();
            let (min, median, max) = spread(&walls);
            let shown = records
                .iter()
                .find(|r| r.totals.wall_ns == median)
                .unwrap_or(&records[0]);
            MemberEdit {
                package: name.clone(),
                file: path
                    .strip_prefix(&plan.workspace_root)
                    .unwrap_or(path)
                    .display()
                    .to_string(),
                wall_min_ns: min,
                wall_median_ns: median,
                wall_max_ns: max,
                rebuilt: shown
                    .units
                    .iter()
                    .map(|u| u.package.clone())
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect(),
                link_ns: shown.totals.link_ns,
            }
        })
        .collect();
    print(&render_member_edits(&rows, args.runs as usize, style))?;
    Ok(ExitCode::SUCCESS)
}

/// The workspace package whose directory holds `file` (the innermost one).
/// The names of the workspace's packages.
pub(crate) fn member_names(metadata: &cargo_metadata::Metadata) -> Vec<String> {
    metadata
        .workspace_packages()
        .iter()
        .map(|p| p.name.to_string())
        .collect()
}

fn package_of(metadata: &cargo_metadata::Metadata, file: &Path) -> Option<String> {
    metadata
        .workspace_packages()
        .into_iter()
        .filter_map(|p| {
            let dir = PathBuf::from(p.manifest_path.clone());
            let dir = dir.parent()?.to_path_buf();
            file.starts_with(&dir)
                .then(|| (dir.components().count(), p.name.to_string()))
        })
        .max()
        .map(|(_, name)| name)
}

fn first_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .to_string()
}

fn progress_bar(quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:>10.cyan.bold} [{bar:30}] {pos}/{len} units  {wide_msg}",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// (min, median, max).
fn spread(values: &[u64]) -> (u64, u64, u64) {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    (
        sorted.first().copied().unwrap_or(0),
        sorted.get(sorted.len() / 2).copied().unwrap_or(0),
        sorted.last().copied().unwrap_or(0),
    )
}

/// `explanations[i]` is `records[i]`'s, when its report could be written.
fn report(
    plan: &BuildPlan,
    records: &[RunRecord],
    explanations: &[Option<Explanation>],
    workspace_root: &Path,
    style: &Style,
) -> String {
    let walls: Vec<u64> = records.iter().map(|r| r.totals.wall_ns).collect();
    let (min, median, max) = spread(&walls);
    // The run whose wall time is the median speaks for all.
    let shown_index = records
        .iter()
        .position(|r| r.totals.wall_ns == median)
        .unwrap_or(records.len() - 1);
    let shown = &records[shown_index];
    let name = workspace_root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| workspace_root.display().to_string());
    let title = format!(
        "{name}: cargo {}{}{} ({})",
        plan.command,
        if plan.cargo_args.is_empty() { "" } else { " " },
        plan.cargo_args.join(" "),
        plan.scenario.describe_in(workspace_root)
    );
    let mut text = render_build(
        &BuildView {
            title,
            totals: &shown.totals,
            critical_path: &shown.critical_path,
            units: &shown.units,
            fresh_units: shown.fresh_units,
            notes: &shown.notes,
            wall_spread: (records.len() > 1).then_some((min, median, max, records.len())),
            top: SLOWEST_SHOWN,
        },
        style,
    );
    text.push_str(&format!("\nRun folder: {}\n", shown.run_dir.display()));
    if let Some(profiles) = &shown.profile_dir {
        text.push_str(&format!(
            "Self-profiles: {0}  (buildscope summarize --per-crate {0})\n",
            profiles.display()
        ));
    }
    text.push_str(&top_findings(
        shown,
        explanations[shown_index].as_ref(),
        style,
    ));
    text
}

/// Writes each run's report into its folder and returns each run's explanation (the
/// report has it); a report that cannot be written costs a warning, not the build.
fn write_reports(records: &[RunRecord], quiet: bool) -> Vec<Option<Explanation>> {
    records
        .iter()
        .map(
            |record| match crate::report_command::report_for_run(record, cores()) {
                Ok((path, explanation)) => {
                    if !quiet {
                        eprintln!("Report: {}", path.display());
                    }
                    Some(explanation)
                }
                Err(e) => {
                    eprintln!("warning: no report for run {}: {e:#}", record.id);
                    None
                }
            },
        )
        .collect()
}

/// Findings shown at the end of a build.
const FINDINGS_SHOWN: usize = 3;

/// The build's top findings, as `buildscope explain` would give them (from its report's
/// explanation when there is one); a build whose explanation fails still reports itself.
fn top_findings(record: &RunRecord, explained: Option<&Explanation>, style: &Style) -> String {
    if let Some(e) = explained {
        return buildscope_output::render_top_findings(e, FINDINGS_SHOWN, style);
    }
    let profiles = crate::explain_command::profile_dirs(record);
    match crate::explain_command::explain_inputs(Some(record), &profiles, cores(), false) {
        Ok(e) => buildscope_output::render_top_findings(&e, FINDINGS_SHOWN, style),
        Err(e) => format!("\n(no findings: {e:#})\n"),
    }
}
