//! `buildscope runs` and `buildscope compare`: the history, listed and compared.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use buildscope_analysis::compare_units;
use buildscope_output::{
    render_compare, render_experiments, render_runs, ExperimentLine, RunLine, Style,
};
use buildscope_store::{RunRow, Store};
use serde_json::json;

use crate::cli::{CompareArgs, RunsArgs};
use crate::resolve::{open_store, workspace_here};
use crate::terminal::{print, row_limit};

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

pub(crate) fn runs(args: RunsArgs, style: &Style) -> Result<ExitCode> {
    let store = open_store(&args.history)?;
    // Resolved with --all too: an edit a killed run left here is undone either way.
    let here = workspace_here(args.manifest_path.as_deref()).map(|w| w.root);
    let workspace = if args.all { None } else { here };
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

pub(crate) fn compare(args: CompareArgs, style: &Style) -> Result<ExitCode> {
    let store = open_store(&args.history)?;
    let workspace = workspace_here(args.manifest_path.as_deref()).map(|w| w.root);
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
