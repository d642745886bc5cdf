//! `buildscope report`: the page of a run (or profiles), optionally against another run,
//! or of an experiment from the history.

use crate::terminal::say;
use buildscope_output::Status;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use buildscope_analysis::ExperimentRecord;

use crate::cli::ReportArgs;
use crate::pages::write_experiment_report;
use crate::resolve::{open_store, resolve_target, workspace_here};
use buildscope_workflow::{plan_spread, write_run_report, ReportBaseline};

pub(crate) fn report(args: ReportArgs, threads: usize) -> Result<ExitCode> {
    if let Some(name) = &args.experiment {
        return experiment_report(&args, name, threads);
    }
    let (record, profiles) =
        resolve_target(&args.target, &args.history, args.manifest_path.as_deref())?;
    let base = match &args.compare {
        Some(other) => {
            let (base, _) = resolve_target(
                std::slice::from_ref(other),
                &args.history,
                args.manifest_path.as_deref(),
            )?;
            Some(base.with_context(|| format!("{other}: --compare needs a run, not profiles"))?)
        }
        None => None,
    };
    let output = args.output.clone().unwrap_or_else(|| match &record {
        Some(r) => r.run_dir.join("report.html"),
        None => PathBuf::from("buildscope-report.html"),
    });
    let store = open_store(&args.history).ok();
    let baseline = match (&record, &base) {
        (Some(new), Some(old)) => {
            let spread = |r| store.as_ref().and_then(|s| plan_spread(s, r));
            Some(ReportBaseline {
                run: old,
                spread: spread(old),
                new_spread: spread(new),
            })
        }
        _ => None,
    };
    write_run_report(
        record.as_ref(),
        &profiles,
        baseline,
        None,
        store.as_ref(),
        &output,
        threads,
    )?;
    say(Status::Wrote(&output));
    Ok(ExitCode::SUCCESS)
}

/// `report --experiment NAME`: an experiment from the history, drawn over its baseline's
/// last run.
fn experiment_report(args: &ReportArgs, name: &str, threads: usize) -> Result<ExitCode> {
    let store = open_store(&args.history)?;
    let workspace = workspace_here(args.manifest_path.as_deref()).map(|w| w.root);
    let row = store.experiment(name, workspace.as_deref())?;
    let experiment: ExperimentRecord = serde_json::from_str(&row.document).with_context(|| {
        format!(
            "experiment {}: its record in the history is unreadable",
            row.id
        )
    })?;
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("experiment-{}.html", row.id)));
    write_experiment_report(&experiment, &args.history, &output, threads)?;
    say(Status::Wrote(&output));
    Ok(ExitCode::SUCCESS)
}
