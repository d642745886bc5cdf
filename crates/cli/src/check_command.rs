//! `buildscope check`: a run (measured now, or named) against a baseline (the history's
//! comparable runs, a named run, or a saved record), judged by the noise of the baseline
//! and the thresholds given; the formats CI systems read; exit 1 on a regression.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use buildscope_analysis::{
    check_regressions, phase_measures, run_measures, unit_measure_name, BaselineKind, CheckOutcome,
    Measures, Threshold, Verdict, CHECK_SCHEMA, DEFAULT_THRESHOLDS,
};
use buildscope_measure::{explain_run, RunRecord};
use buildscope_output::{
    check_bmf, check_junit, check_markdown, render_check, CheckView, OutputFile, Style,
    STEP_SUMMARY_LIMIT,
};
use buildscope_store::{RunRow, Store};
use serde_json::json;

use crate::cli::CheckArgs;
use crate::history::{extra_measures, record_runs, run_row};
use crate::measuring::run_plan;
use crate::reports::write_run_report;
use crate::resolve::{build_plan, lock_for_measuring, open_store, resolve_target};
use crate::terminal::{cores, print, threads};

/// Exit status of a check that found a regression.
const EXIT_REGRESSION: u8 = 1;

pub(crate) fn check(args: CheckArgs, style: &Style) -> Result<ExitCode> {
    // Bad thresholds fail before anything is built.
    let thresholds = thresholds(&args)?;
    let saved = saved_baseline(&args)?;
    let mut records = current_runs(&args)?;
    let last = records.last().expect("at least one run");
    if !last.success {
        bail!(
            "the build failed (cargo: {}); nothing to check",
            last.cargo_output_tail.last().cloned().unwrap_or_default()
        );
    }
    let (baseline, kind, described) = match saved {
        Some(saved) => saved,
        None => baseline(&args, &records)?,
    };
    let mut current: Vec<Measures> = records.iter().map(measures_of_record).collect();
    let mut outcome = check_regressions(&current, &baseline, &thresholds, kind, args.strict);
    // A build can be slow once (a neighbour on the machine, a cold cache): before failing,
    // measure again and judge the median of all.
    let mut confirmation = None;
    if outcome.failed && args.run.is_none() && args.confirm > 0 {
        let first = records.len();
        while outcome.failed && records.len() - first < args.confirm as usize {
            // The new runs' measures only: the earlier ones' (their profiles read) stand.
            let more = measure_again(&args)?;
            current.extend(more.iter().map(measures_of_record));
            records.extend(more);
            outcome = check_regressions(&current, &baseline, &thresholds, kind, args.strict);
        }
        let again = records.len() - first;
        confirmation = Some(if outcome.failed {
            format!(
                "confirmed: measured {again} more time(s), and the median of all {} runs still crosses",
                records.len()
            )
        } else {
            format!(
                "not reproduced: a first run crossed a threshold, {again} more put the median of {} runs within them",
                records.len()
            )
        });
    }
    let last = records.last().expect("at least one run");
    let mut explanation: Vec<String> = confirmation.into_iter().collect();
    explanation.extend(explain(&outcome, last));
    let view = CheckView {
        scenario: last.scenario.describe_in(&last.workspace_root),
        command: last.command_line(),
        project: last
            .workspace_root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "workspace".into()),
        baseline: described,
        outcome: &outcome,
        explanation,
        current_runs: current.clone(),
    };
    write_outputs(&args, &view, last)?;
    if args.build.json {
        let doc = json!({
            "schema": CHECK_SCHEMA,
            "run": last.id,
            "runs": records.iter().map(|r| &r.id).collect::<Vec<_>>(),
            "scenario": view.scenario,
            "command": view.command,
            "baseline": view.baseline,
            "explanation": view.explanation,
            "outcome": outcome,
        });
        print(&(serde_json::to_string_pretty(&doc)? + "\n"))?;
    } else if args.markdown {
        print(&check_markdown(&view, usize::MAX))?;
    } else {
        print(&render_check(&view, style))?;
    }
    Ok(if outcome.failed {
        ExitCode::from(EXIT_REGRESSION)
    } else {
        ExitCode::SUCCESS
    })
}

fn thresholds(args: &CheckArgs) -> Result<Vec<Threshold>> {
    let mut thresholds: Vec<Threshold> = args
        .fail_if
        .iter()
        .map(|t| Threshold::parse(t))
        .collect::<Result<_, _>>()?;
    if let Some(limit) = &args.fail_if_slower {
        thresholds.push(Threshold::slower(limit).map_err(|e| {
            anyhow::anyhow!(
                "--fail-if-slower {limit}: {}",
                e.to_string().split(": ").last().unwrap_or_default()
            )
        })?);
    }
    if thresholds.is_empty() {
        thresholds = DEFAULT_THRESHOLDS
            .iter()
            .map(|t| Threshold::parse(t).expect("the defaults parse"))
            .collect();
    }
    Ok(thresholds)
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
    let (plan, _) = build_plan(&args.build)?;
    let store = open_store(&args.build.history)?;
    let _lock = lock_for_measuring(&plan, args.build.no_wait)?;
    let records = run_plan(&plan, args.build.quiet)?;
    if let Some(line) = record_runs(&store, &records) {
        bail!("{line}");
    }
    Ok(records)
}

/// One more measurement of the check's build, recorded in the history.
fn measure_again(args: &CheckArgs) -> Result<Vec<RunRecord>> {
    let (mut plan, _) = build_plan(&args.build)?;
    plan.runs = 1;
    let store = open_store(&args.build.history)?;
    let _lock = lock_for_measuring(&plan, args.build.no_wait)?;
    let records = run_plan(&plan, args.build.quiet)?;
    if let Some(line) = record_runs(&store, &records) {
        bail!("{line}");
    }
    if records.iter().any(|r| !r.success) {
        bail!("the build failed when measured again to confirm a regression");
    }
    Ok(records)
}

/// A run's measures, its profiled crates' phases among them when its profiles are there.
fn measures_of_record(record: &RunRecord) -> Measures {
    let mut extra = extra_measures(record);
    let profiles = record.profile_dirs();
    if !profiles.is_empty() {
        if let Ok(explained) = explain_run(Some(record), &profiles, cores(), false) {
            extra.extend(phase_measures(&explained.explanation.crates));
        }
    }
    run_measures(
        &record.units,
        record.totals.wall_ns,
        record.totals.cpu_ns,
        &extra,
    )
}

type Baseline = (Vec<Measures>, BaselineKind, String);

/// A baseline kept in a file (read before anything is measured: bad input fails first).
fn saved_baseline(args: &CheckArgs) -> Result<Option<Baseline>> {
    let path = Path::new(&args.baseline);
    if args.baseline == "history" || !(path.is_file() || args.baseline.ends_with(".json")) {
        return Ok(None);
    }
    let runs = records_in_file(path)?;
    let n = runs.len();
    Ok(Some((
        runs.iter().map(measures_of_record).collect(),
        BaselineKind::Named,
        format!(
            "{} ({n} run{})",
            path.display(),
            if n == 1 { "" } else { "s" }
        ),
    )))
}

/// The baseline's measures in the history (one set per run), how to judge them, and how
/// to name them.
fn baseline(args: &CheckArgs, records: &[RunRecord]) -> Result<Baseline> {
    let store = open_store(&args.build.history)?;
    if args.baseline == "history" {
        let first = records.first().expect("at least one run");
        // The runs this check made are not their own baseline.
        let mine: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
        let rows: Vec<RunRow> = store
            .comparable_runs(&run_row(first), args.history_size as usize + mine.len())?
            .into_iter()
            .filter(|r| !mine.contains(&r.id.as_str()))
            .take(args.history_size as usize)
            .collect();
        let measures = rows
            .iter()
            .map(|row| stored_measures(&store, row))
            .collect::<Result<Vec<_>>>()?;
        let n = measures.len();
        return Ok((
            measures,
            BaselineKind::History,
            format!(
                "{n} comparable run{} of the history",
                if n == 1 { "" } else { "s" }
            ),
        ));
    }
    let workspace = records.first().map(|r| r.workspace_root.clone());
    let (row, _) = store
        .run(&args.baseline, workspace.as_deref())
        .with_context(|| {
            format!(
                "--baseline {}: not a file, and not a run in the history",
                args.baseline
            )
        })?;
    Ok((
        vec![stored_measures(&store, &row)?],
        BaselineKind::Named,
        format!("run {}", row.id),
    ))
}

fn stored_measures(store: &Store, row: &RunRow) -> Result<Measures> {
    let (_, units) = store.run(&row.id, None)?;
    let extra = store.measures(&row.id)?;
    Ok(run_measures(&units, row.wall_ns, row.cpu_ns, &extra))
}

/// The run records of a file: a run.json, or `buildscope build --json` output.
fn records_in_file(path: &Path) -> Result<Vec<RunRecord>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--baseline {}: cannot read it", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("--baseline {}: not JSON", path.display()))?;
    let runs = match value.get("runs") {
        Some(runs) => serde_json::from_value::<Vec<RunRecord>>(runs.clone()),
        None => serde_json::from_value::<RunRecord>(value).map(|r| vec![r]),
    }
    .with_context(|| {
        format!(
            "--baseline {}: not a run record (run.json) nor `buildscope build --json` output",
            path.display()
        )
    })?;
    if runs.is_empty() {
        bail!("--baseline {}: holds no runs", path.display());
    }
    Ok(runs)
}

/// What grew, in units and their rebuild reasons: the regressed units first, then units
/// that rebuilt now and not in the baseline.
fn explain(outcome: &CheckOutcome, run: &RunRecord) -> Vec<String> {
    let reason_of = |measure: &str| -> Option<String> {
        let reasons = run.rebuild_reasons.as_ref()?;
        let unit = run.units.iter().find(|u| unit_measure_name(u) == measure)?;
        reasons
            .iter()
            .find(|r| r.unit == unit.id)
            .map(|r| r.reason.describe())
    };
    let mut grew: Vec<_> = outcome
        .measures
        .iter()
        .filter(|m| m.measure.starts_with("unit:") && m.verdict == Verdict::Regressed)
        .collect();
    grew.sort_by(|a, b| {
        (b.current - b.baseline.unwrap_or(0.0)).total_cmp(&(a.current - a.baseline.unwrap_or(0.0)))
    });
    let mut lines: Vec<String> = grew
        .iter()
        .take(5)
        .map(|m| {
            let base = m.baseline.unwrap_or(0.0);
            format!(
                "{} took {} more ({:+.0}%){}",
                m.measure.trim_start_matches("unit:"),
                buildscope_output::human_duration((m.current - base).max(0.0) as u64),
                m.change.unwrap_or(0.0) * 100.0,
                reason_of(&m.measure)
                    .map(|r| format!("; rebuilt because {r}"))
                    .unwrap_or_default()
            )
        })
        .collect();
    let new: Vec<String> = outcome
        .measures
        .iter()
        .filter(|m| m.verdict == Verdict::New && m.measure.starts_with("unit:"))
        .map(|m| {
            format!(
                "{}{}",
                m.measure.trim_start_matches("unit:"),
                reason_of(&m.measure)
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            )
        })
        .collect();
    // Against nothing, everything is new: that says nothing.
    if !new.is_empty() && outcome.baseline_runs > 0 {
        lines.push(format!(
            "rebuilt now but not in the baseline: {}",
            new.into_iter().take(8).collect::<Vec<_>>().join(", ")
        ));
    }
    lines
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
        write_run_report(
            Some(run),
            &run.profile_dirs(),
            None,
            None,
            &args.build.history,
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
