//! `buildscope experiment`: the same build under several settings. The runner
//! (buildscope-measure) measures the variants interleaved and proves each took effect; this
//! module wires the arguments, the progress bar, the history and the page.

use crate::terminal::say;
use buildscope_output::Status;
use std::process::ExitCode;

use anyhow::{bail, Result};
use buildscope_analysis::ExperimentRecord;
use buildscope_analysis::Scenario;
use buildscope_measure::{experiment_id, now_ns, rustc_version, summarize_experiment, BuildPlan};
use buildscope_output::{ExperimentResult, Style};
use buildscope_workflow::{experiment_plan, record_experiment, Varying};

use crate::cli::ExperimentArgs;
use crate::measuring::measure_with_progress;
use crate::pages::write_experiment_report;
use crate::resolve::{build_plan, lock_for_measuring, open_store};
use crate::terminal::{cores, print_document};

pub(crate) fn experiment(args: ExperimentArgs, style: &Style) -> Result<ExitCode> {
    if args.vary.is_empty() && args.preset.is_none() {
        bail!(
            "nothing to vary: give --vary KEY=V1,V2 or --preset fast-dev (see buildscope experiment --help)"
        );
    }
    if args.build.edit_each_member {
        bail!("--edit-each-member: an experiment measures one scenario; give --edit FILE");
    }
    let (mut base, workspace) = build_plan(&args.build)?;
    let _lock = lock_for_measuring(&base, args.build.no_wait)?;
    if base.scenario == Scenario::AsIs {
        // "As the target directory happens to be" compares nothing: every build is cold.
        base.scenario = Scenario::Cold;
    }
    let (plan, note) = experiment_plan(
        base,
        Varying {
            vary: &args.vary,
            preset: args.preset.as_deref(),
            one_at_a_time: args.baseline_plus_one || args.preset.is_some(),
            rounds: args.build.runs as usize,
            run: args.run.clone(),
        },
    )?;
    if let Some(note) = note.filter(|_| !args.build.quiet) {
        say(Status::Note(&note));
    }
    let started_at_ns = now_ns();
    let store = open_store(&args.build.history)?;
    let measured = measure_with_progress(
        &plan,
        args.build.quiet || args.format().is_for_machines(),
        Some(&store),
    )?;
    let host = rustc_version().host;
    let experiment = summarize_experiment(
        &plan,
        measured,
        &workspace.member_names(),
        &host,
        args.apply,
    )?;
    keep(&experiment, &args, &plan.base, started_at_ns)?;
    print_document(&ExperimentResult(&experiment), args.format(), style)?;
    Ok(ExitCode::SUCCESS)
}

/// The experiment as one entity in the history, and in its folder
/// (`experiment-runs/<id>/`): its JSON and a page with its chart over the baseline's
/// timeline.
fn keep(
    experiment: &ExperimentRecord,
    args: &ExperimentArgs,
    base: &BuildPlan,
    started_at_ns: u64,
) -> Result<()> {
    let id = experiment_id();
    let recorded = open_store(&args.build.history).and_then(|store| {
        Ok(record_experiment(
            &store,
            &id,
            &base.workspace_root,
            started_at_ns,
            experiment,
        )?)
    });
    if let Err(e) = recorded {
        say(Status::ExperimentNotRecorded(&format!("{e:#}")));
    }
    let folder = base.state_dir.join("experiment-runs").join(&id);
    std::fs::create_dir_all(&folder)?;
    std::fs::write(
        folder.join("experiment.json"),
        serde_json::to_string_pretty(experiment)? + "\n",
    )?;
    let page = folder.join("report.html");
    match write_experiment_report(experiment, &args.build.history, &page, cores()) {
        Err(e) => say(Status::NoExperimentReport(&format!("{e:#}"))),
        Ok(()) if !args.build.quiet && !args.format().is_for_machines() => {
            say(Status::ExperimentReport(&page))
        }
        Ok(()) => {}
    }
    Ok(())
}
