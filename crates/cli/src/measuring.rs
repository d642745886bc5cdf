//! Measuring under a progress bar: a build plan (`build`, `check`), and an experiment with
//! each measured build recorded in the history as soon as it is made (`experiment`,
//! `explain --verify`).

use crate::terminal::say;
use buildscope_output::{Activity, Status};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Result;
use buildscope_analysis::RunRecord;
use buildscope_measure::{
    compiling_now, execute, measure_variants, BuildPlan, ExperimentPlan, ExperimentProgress, Phase,
    Progress, VariantRuns,
};
use buildscope_store::Store;
use indicatif::ProgressBar;

use crate::terminal::progress_bar;
use buildscope_workflow::record_run;

/// The runner under a progress bar; every measured build goes into the history at once.
pub(crate) fn measure_with_progress(
    plan: &ExperimentPlan,
    quiet: bool,
    history: Option<&Store>,
) -> Result<Vec<VariantRuns>> {
    let bar = progress_bar(
        quiet,
        plan.builds() as u64,
        "{spinner} [{bar:30}] {pos}/{len} builds  {wide_msg}",
    );
    let measured = measure_variants(
        plan,
        |progress| match progress {
            ExperimentProgress::FirstBuild { variant } => {
                bar.set_message(Activity::FirstBuild(variant).to_string())
            }
            ExperimentProgress::Build {
                round,
                rounds,
                variant,
                time_left_ns,
            } => {
                let message = Activity::Round {
                    round,
                    rounds,
                    variant,
                    time_left_ns,
                };
                bar.set_message(message.to_string());
            }
            ExperimentProgress::Built => bar.inc(1),
        },
        |record| {
            if let Some(store) = history {
                if let Err(e) = record_run(store, record) {
                    say(Status::RunNotRecorded {
                        error: &format!("{e:#}"),
                        run_dir: &record.run_dir,
                    });
                }
            }
        },
    );
    bar.finish_and_clear();
    Ok(measured?)
}

/// Runs a plan under a progress bar that says what is compiling now.
pub(crate) fn run_plan(
    plan: &BuildPlan,
    quiet: bool,
) -> Result<Vec<RunRecord>, buildscope_measure::BuildError> {
    let bar = units_bar(quiet);
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
                        bar.set_message(Activity::Compiling(&now).to_string());
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
            let doing = match phase {
                Phase::Cleaning => Activity::Cleaning,
                Phase::WarmUp { run } => Activity::WarmUp(*run),
                Phase::Measuring { run, of } if *of > 1 => Activity::Run { run: *run, of: *of },
                Phase::Measuring { .. } => Activity::Building,
            };
            bar.set_prefix(doing.to_string());
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

fn units_bar(quiet: bool) -> ProgressBar {
    progress_bar(
        quiet,
        0,
        "{prefix:>10.cyan.bold} [{bar:30}] {pos}/{len} units  {wide_msg}",
    )
}
