//! `buildscope runs` and `buildscope compare`: the history, listed and compared.

use crate::terminal::say;
use buildscope_output::{Contents, Status};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use buildscope_analysis::{compare_units, largest_measures, measure_unit, series_verdicts};
use buildscope_measure::{
    explain_run, folder_state, load_run_dir, rustc_version, this_machine, ExplainExtras,
};
use buildscope_output::{
    export_history, machines_differ, render_experiments, render_trend, trend_json, trend_title,
    CompareResult, ExperimentLine, ExperimentsDocument, ExportedRun, RunsResult, Style, TrendRow,
    TrendView,
};
use buildscope_store::{RunRow, Store};

use crate::cli::{CompareArgs, RunsArgs};
use crate::resolve::{open_store, workspace_here};
use crate::terminal::{cores, print, print_document, row_limit};
use buildscope_workflow::{comparable_series, diff_programs};

pub(crate) fn runs(args: RunsArgs, style: &Style) -> Result<ExitCode> {
    let store = open_store(&args.history)?;
    // Resolved with --all too: an edit a killed run left here is undone either way.
    let here = workspace_here(args.manifest_path.as_deref()).map(|w| w.root);
    let workspace = if args.all { None } else { here };
    if args.experiments {
        return experiments(&store, workspace.as_deref(), &args, style);
    }
    if args.trend {
        return trend(&store, workspace.as_deref(), &args, style);
    }
    let runs = match machine_filter(&args) {
        Some(machine) => store.runs_on(workspace.as_deref(), &machine, args.limit)?,
        None => store.runs(workspace.as_deref(), args.limit)?,
    };
    if let Some(output) = &args.output {
        return export(&store, &runs, output);
    }
    let machine = machine_filter(&args);
    let folders: Vec<_> = runs.iter().map(|r| folder_state(&r.run_dir)).collect();
    let result = RunsResult {
        runs: &runs,
        folders: &folders,
        machine: machine.as_deref(),
    };
    print_document(&result, args.format(), style)?;
    Ok(ExitCode::SUCCESS)
}

/// `runs --export parquet -o FILE`: the runs listed, their units, and — from each run's
/// folder while it is there — its phases per crate and its findings.
fn export(store: &Store, runs: &[RunRow], output: &Path) -> Result<ExitCode> {
    let exported = runs
        .iter()
        .map(|row| {
            let (_, units) = store.run(&row.id, None)?;
            let explained = load_run_dir(&row.run_dir)
                .ok()
                .and_then(|(record, profiles)| {
                    explain_run(Some(&record), &profiles, cores(), ExplainExtras::default()).ok()
                });
            Ok(ExportedRun {
                row: row.clone(),
                units,
                phases: explained.as_ref().map(|e| e.explanation.crates.clone()),
                findings: explained.map(|e| e.explanation.findings),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    for (path, rows) in export_history(&exported, output)? {
        say(Status::WroteWith(&path, Contents::Rows(rows)));
    }
    Ok(ExitCode::SUCCESS)
}

/// `--machine TEXT`, or this machine's description for `--machine` alone.
fn machine_filter(args: &RunsArgs) -> Option<String> {
    match args.machine.as_deref()? {
        "" => Some(this_machine(&rustc_version().release).key()),
        text => Some(text.to_string()),
    }
}

/// Measures a trend shows beyond the build-wide ones: the largest units.
const TREND_UNITS: usize = 5;

/// `runs --trend`: each measure of the latest run's comparable runs, oldest to newest.
fn trend(
    store: &Store,
    workspace: Option<&Path>,
    args: &RunsArgs,
    style: &Style,
) -> Result<ExitCode> {
    let latest = store
        .runs(workspace, 1)?
        .into_iter()
        .next()
        .context("no runs here yet: measure one with `buildscope build`")?;
    let series = comparable_series(store, &latest, args.limit.max(1))?;
    let values = |name: &str| -> Vec<f64> {
        series
            .iter()
            .map(|(_, m)| m.get(name).copied().unwrap_or(f64::NAN))
            .collect()
    };
    let mut names: Vec<String> = ["wall", "cpu", "rss", "binary-size"]
        .iter()
        .filter(|n| series.iter().any(|(_, m)| m.contains_key(**n)))
        .map(|n| n.to_string())
        .collect();
    if let Some((_, latest)) = series.last() {
        names.extend(largest_measures(latest, "unit:", TREND_UNITS));
    }
    let rows: Vec<TrendRow> = names
        .iter()
        .map(|name| {
            let values = values(name);
            let present: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
            TrendRow {
                measure: name.clone(),
                unit: measure_unit(name),
                verdicts: series_verdicts(&present, name, 20),
                values,
            }
        })
        .collect();
    let view = TrendView {
        title: trend_title(&latest),
        run_ids: series.iter().map(|(r, _)| r.id.clone()).collect(),
        rows,
    };
    if args.format().is_for_machines() {
        print(&(serde_json::to_string_pretty(&trend_json(&view))? + "\n"))?;
    } else {
        print(&render_trend(&view, style))?;
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
    if args.format().is_for_machines() {
        let documents: Vec<serde_json::Value> = experiments
            .iter()
            .map(|e| {
                let mut doc: serde_json::Value =
                    serde_json::from_str(&e.document).unwrap_or_default();
                doc["id"] = e.id.clone().into();
                doc["workspace_root"] = e.workspace_root.display().to_string().into();
                doc["started_at_ns"] = e.started_at_ns.into();
                doc
            })
            .collect();
        let doc = ExperimentsDocument::new(documents);
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
    if let Some(warning) = machines_differ(&a, &b) {
        eprint!("{warning}");
    }
    // Two runs of a program: their profiles compared, function by function.
    if a.is_program() && b.is_program() {
        let record = |row: &RunRow| {
            load_run_dir(&row.run_dir)
                .map(|(record, _)| record)
                .with_context(|| format!("run {}: its folder", row.id))
        };
        let view = diff_programs(&record(&a)?, &record(&b)?, None)?;
        print_document(&view, args.format(), style)?;
        return Ok(ExitCode::SUCCESS);
    }
    let changes = compare_units(&a_units, &b_units);
    let format = args.format();
    let result = CompareResult {
        a: &a,
        b: &b,
        changes: &changes,
        top: row_limit(args.top, format.is_for_machines()),
    };
    print_document(&result, format, style)?;
    Ok(ExitCode::SUCCESS)
}
