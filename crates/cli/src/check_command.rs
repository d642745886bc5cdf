//! `buildscope check`: a run (measured now, or named) against a baseline (the history's
//! comparable runs, a named run, or a saved record), judged by the noise of the baseline
//! and the thresholds given; the formats CI systems read; exit 1 on a regression.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use buildscope_analysis::{what_grew, RunRecord};
use buildscope_output::{
    check_bmf, check_junit, check_markdown, CheckResult, CheckView, OutputFile, Style,
    STEP_SUMMARY_LIMIT,
};
use buildscope_workflow::{
    baseline_from_file, baseline_from_history, baseline_from_run, confirm, parse_thresholds,
    record_runs, thresholds_or_defaults, write_run_report, Baseline,
};

use crate::budget::apply_budget;
use crate::cli::CheckArgs;
use crate::measuring::run_plan;
use crate::resolve::{build_plan, lock_for_measuring, open_store, resolve_target};
use crate::terminal::{print_document, threads};

/// Exit status of a check that found a regression.
const EXIT_REGRESSION: u8 = 1;

pub(crate) fn check(args: CheckArgs, style: &Style) -> Result<ExitCode> {
    // Bad thresholds and a bad baseline file fail before anything is built.
    let thresholds = parse_thresholds(&args.fail_if, args.fail_if_slower.as_deref())?;
    let saved = saved_baseline(&args)?;
    let records = current_runs(&args)?;
    let last = records.last().expect("at least one run");
    if !last.success {
        let what = if last.program.is_some() {
            "program"
        } else {
            "build"
        };
        bail!(
            "the {what} failed: {}; nothing to check",
            last.first_error()
        );
    }
    let thresholds = thresholds_or_defaults(thresholds, &records);
    let baseline = match saved {
        Some(saved) => saved,
        None => history_baseline(&args, &records)?,
    };
    let confirm_runs = if args.run.is_none() {
        args.confirm as usize
    } else {
        0
    };
    let (records, current, outcome, confirmation) = confirm(
        records,
        &baseline,
        &thresholds,
        args.strict,
        confirm_runs,
        || measure_again(&args),
    )?;
    let last = records.last().expect("at least one run");
    let grew = what_grew(&outcome, last);
    let view = CheckView::new(
        &records,
        &baseline.source,
        &outcome,
        confirmation,
        &grew,
        current,
    );
    write_outputs(&args, &view, last)?;
    let result = CheckResult {
        view: &view,
        runs: &records,
    };
    print_document(&result, args.format(), style)?;
    Ok(match outcome.failed {
        true => ExitCode::from(EXIT_REGRESSION),
        false => ExitCode::SUCCESS,
    })
}

/// The runs to judge: the one named, or a new measurement (recorded in the history).
fn current_runs(args: &CheckArgs) -> Result<Vec<RunRecord>> {
    if let Some(name) = &args.run {
        let (record, _) = resolve_target(
            std::slice::from_ref(name),
            &args.build.history,
            args.build.manifest_path.as_deref(),
        )?;
        return record
            .map(|r| vec![r])
            .with_context(|| format!("{name}: profiles are not a run to check"));
    }
    measure(args, None)
}

/// One more measurement of the check's build, to confirm a crossing.
fn measure_again(args: &CheckArgs) -> Result<Vec<RunRecord>> {
    let records = measure(args, Some(1))?;
    if let Some(failed) = records.iter().find(|r| !r.success) {
        bail!(
            "the build failed when measured again to confirm a regression: {}",
            failed.first_error()
        );
    }
    Ok(records)
}

/// The check's build measured (`runs` times, else as asked) and recorded in the history.
fn measure(args: &CheckArgs, runs: Option<usize>) -> Result<Vec<RunRecord>> {
    let (mut plan, _) = build_plan(&args.build)?;
    if let Some(runs) = runs {
        plan.runs = runs;
    }
    let store = open_store(&args.build.history)?;
    let _lock = lock_for_measuring(&plan, args.build.no_wait)?;
    let records = run_plan(&plan, args.build.quiet)?;
    record_runs(&store, &records)?;
    apply_budget(&plan.state_dir, &args.build, &records)?;
    Ok(records)
}

/// A baseline kept in a file (read before anything is measured: bad input fails first).
fn saved_baseline(args: &CheckArgs) -> Result<Option<Baseline>> {
    let path = Path::new(&args.baseline);
    if args.baseline == "history" || !(path.is_file() || args.baseline.ends_with(".json")) {
        return Ok(None);
    }
    Ok(Some(baseline_from_file(path)?))
}

/// The history's comparable runs, or the run `--baseline` names.
fn history_baseline(args: &CheckArgs, records: &[RunRecord]) -> Result<Baseline> {
    let store = open_store(&args.build.history)?;
    if args.baseline == "history" {
        return Ok(baseline_from_history(
            &store,
            records,
            args.history_size as usize,
        )?);
    }
    let workspace = records.first().map(|r| r.workspace_root.as_path());
    Ok(baseline_from_run(&store, &args.baseline, workspace)?)
}

/// The files asked for, and the step summary when CI provides one.
fn write_outputs(args: &CheckArgs, view: &CheckView, run: &RunRecord) -> Result<()> {
    let write = |path: &Path, bytes: &[u8]| -> Result<()> {
        let mut file = OutputFile::create(path)?;
        file.file()
            .write_all(bytes)
            .with_context(|| format!("{}: writing", path.display()))?;
        file.commit()?;
        Ok(())
    };
    if let Some(path) = &args.bmf {
        write(path, &serde_json::to_vec_pretty(&check_bmf(view))?)?;
    }
    if let Some(path) = &args.junit {
        write(path, check_junit(view).as_bytes())?;
    }
    if let Some(path) = &args.report {
        let store = open_store(&args.build.history).ok();
        write_run_report(
            Some(run),
            &run.profile_dirs(),
            None,
            None,
            store.as_ref(),
            path,
            threads(None),
        )?;
    }
    if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|s| !s.is_empty()) {
        let path = std::path::PathBuf::from(summary);
        // GitHub keeps 1 MiB of a step's summary, earlier steps' text included.
        let used = std::fs::metadata(&path)
            .map(|m| m.len() as usize)
            .unwrap_or(0);
        let room = STEP_SUMMARY_LIMIT.saturating_sub(used);
        if room > 200 {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .with_context(|| format!("GITHUB_STEP_SUMMARY {}", path.display()))?;
            file.write_all(check_markdown(view, room).as_bytes())
                .with_context(|| format!("GITHUB_STEP_SUMMARY {}", path.display()))?;
        }
    }
    Ok(())
}
