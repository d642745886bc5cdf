//! `buildscope runs` and `buildscope compare`, and recording a build into the history.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use buildscope_analysis::compare_units;
use buildscope_build::RunRecord;
use buildscope_output::{
    render_compare, render_experiments, render_runs, ExperimentLine, ExperimentView, RunLine, Style,
};
use buildscope_store::{default_database_path, ExperimentRow, RunRow, Store};
use serde_json::json;

use crate::cli::{CompareArgs, HistoryArgs, RunsArgs};
use crate::commands::{print, row_limit};

pub fn open_store(history: &HistoryArgs) -> Result<Store> {
    let path = history
        .db
        .clone()
        .or_else(default_database_path)
        .context("no history database: set --db, BUILDSCOPE_DB or HOME")?;
    Ok(Store::open(&path)?)
}

/// Records a measured build; a history that cannot be written costs a warning, not the
/// build.
pub fn record(history: &HistoryArgs, record: &RunRecord) {
    let result = open_store(history).and_then(|mut store| {
        let row = RunRow {
            id: record.id.clone(),
            workspace_root: record.workspace_root.clone(),
            started_at_ns: record.started_at_ns,
            command: command_line(&record.command, &record.cargo_args),
            cargo_args: record.cargo_args.clone(),
            scenario: record.scenario.describe_in(&record.workspace_root),
            success: record.success,
            wall_ns: record.totals.wall_ns,
            cpu_ns: record.totals.cpu_ns,
            units: record.units.len(),
            fresh_units: record.fresh_units,
            critical_chain_ns: record.critical_path.longest_chain_ns,
            run_dir: record.run_dir.clone(),
        };
        let critical: Vec<usize> = record.critical_path.steps.iter().map(|s| s.unit).collect();
        store.insert_run(&row, &record.units, &critical)?;
        Ok(())
    });
    if let Err(e) = result {
        eprintln!("warning: the run was not added to the history: {e:#}");
    }
}

/// Records an experiment as one entity (its variants' runs went in as runs already); as
/// with runs, a history that cannot be written costs a warning.
pub fn record_experiment(
    history: &HistoryArgs,
    id: &str,
    workspace_root: &Path,
    started_at_ns: u64,
    view: &ExperimentView,
) {
    let result = open_store(history).and_then(|mut store| {
        let recommendation: Vec<String> = view
            .recommendation
            .settings
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        store.insert_experiment(&ExperimentRow {
            id: id.to_string(),
            workspace_root: workspace_root.to_path_buf(),
            started_at_ns,
            scenario: view.scenario.clone(),
            variants: view.variants.len(),
            recommendation: recommendation.join(" "),
            document: serde_json::to_string(view)?,
        })?;
        Ok(())
    });
    if let Err(e) = result {
        eprintln!("warning: the experiment was not added to the history: {e:#}");
    }
}

fn command_line(command: &str, args: &[String]) -> String {
    if args.is_empty() {
        command.to_string()
    } else {
        format!("{command} {}", args.join(" "))
    }
}

/// The workspace around `manifest_path` or the current directory, if there is one.
pub(crate) fn workspace_here(manifest_path: Option<&Path>) -> Option<PathBuf> {
    let mut command = cargo_metadata::MetadataCommand::new();
    command.no_deps();
    if let Some(path) = manifest_path {
        command.manifest_path(path);
    }
    command.exec().ok().map(|m| m.workspace_root.into())
}

fn line(run: &RunRow) -> RunLine {
    RunLine {
        id: run.id.clone(),
        workspace: run.workspace_root.display().to_string(),
        command: run.command.clone(),
        scenario: run.scenario.clone(),
        success: run.success,
        wall_ns: run.wall_ns,
        cpu_ns: run.cpu_ns,
        units: run.units,
    }
}

fn run_json(run: &RunRow) -> serde_json::Value {
    json!({
        "id": run.id,
        "workspace_root": run.workspace_root,
        "started_at_ns": run.started_at_ns,
        "command": run.command,
        "cargo_args": run.cargo_args,
        "scenario": run.scenario,
        "success": run.success,
        "wall_ns": run.wall_ns,
        "cpu_ns": run.cpu_ns,
        "units": run.units,
        "fresh_units": run.fresh_units,
        "critical_chain_ns": run.critical_chain_ns,
        "run_dir": run.run_dir,
    })
}

pub fn runs(args: RunsArgs, style: &Style) -> Result<ExitCode> {
    let store = open_store(&args.history)?;
    let workspace = if args.all {
        None
    } else {
        workspace_here(args.manifest_path.as_deref())
    };
    if args.experiments {
        return experiments(&store, workspace.as_deref(), &args, style);
    }
    let runs = store.runs(workspace.as_deref(), args.limit)?;
    if args.json {
        let doc = json!({
            "schema": "buildscope.runs/1",
            "runs": runs.iter().map(run_json).collect::<Vec<_>>(),
        });
        print(&(serde_json::to_string_pretty(&doc)? + "\n"))?;
    } else {
        let lines: Vec<RunLine> = runs.iter().map(line).collect();
        print(&render_runs(&lines, style))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `runs --experiments`: the experiments, newest first.
fn experiments(
    store: &Store,
    workspace: Option<&Path>,
    args: &RunsArgs,
    style: &Style,
) -> Result<ExitCode> {
    let experiments = store.experiments(workspace, args.limit)?;
    if args.json {
        let documents: Vec<serde_json::Value> = experiments
            .iter()
            .map(|e| {
                let mut doc: serde_json::Value =
                    serde_json::from_str(&e.document).unwrap_or_default();
                doc["id"] = json!(e.id);
                doc["workspace_root"] = json!(e.workspace_root);
                doc["started_at_ns"] = json!(e.started_at_ns);
                doc
            })
            .collect();
        let doc = json!({ "schema": "buildscope.experiments/1", "experiments": documents });
        print(&(serde_json::to_string_pretty(&doc)? + "\n"))?;
        return Ok(ExitCode::SUCCESS);
    }
    let lines: Vec<ExperimentLine> = experiments
        .iter()
        .map(|e| ExperimentLine {
            id: e.id.clone(),
            scenario: e.scenario.clone(),
            variants: e.variants,
            recommendation: e.recommendation.clone(),
        })
        .collect();
    print(&render_experiments(&lines, style))?;
    Ok(ExitCode::SUCCESS)
}

pub fn compare(args: CompareArgs, style: &Style) -> Result<ExitCode> {
    let store = open_store(&args.history)?;
    let workspace = workspace_here(args.manifest_path.as_deref());
    let (a, a_units) = store.run(&args.a, workspace.as_deref())?;
    let (b, b_units) = store.run(&args.b, workspace.as_deref())?;
    let mut changes = compare_units(&a_units, &b_units);
    if args.json {
        if let Some(top) = row_limit(args.top, true) {
            changes.truncate(top);
        }
        let doc = json!({
            "schema": "buildscope.compare/1",
            "a": run_json(&a),
            "b": run_json(&b),
            "wall_ns": { "a": a.wall_ns, "b": b.wall_ns },
            "cpu_ns": { "a": a.cpu_ns, "b": b.cpu_ns },
            "units": changes,
        });
        print(&(serde_json::to_string_pretty(&doc)? + "\n"))?;
    } else {
        print(&render_compare(
            &line(&a),
            &line(&b),
            &changes,
            row_limit(args.top, false),
            style,
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}
