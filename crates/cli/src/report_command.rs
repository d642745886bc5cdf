//! `buildscope report` (and the report `build` leaves in each run folder): gathers a run's
//! record, its self-profiles' summaries, stacks and heaviest invocations, and the
//! explanation, and hands them to the page.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use buildscope_analysis::{
    collapse_files, compare_units, map_profiles, merge, top_invocations, Explanation, RankBy,
    StackOptions,
};
use buildscope_build::RunRecord;
use buildscope_output::{
    crate_stacks, render_report, write_trace, ExperimentView, ReportCompare, ReportCrate,
    ReportData, ReportRun, TraceOptions, DEFAULT_SPLIT_PAGES, REPORT_ROWS, REPORT_SCHEMA,
};

use crate::cli::ReportArgs;
use crate::explain_command::{
    explain_inputs, explain_with, gather, load_run_dir, profile_dirs, resolve_target,
};
use crate::output_file::OutputFile;

/// Heaviest single invocations shown per crate.
const TOP_PER_CRATE: usize = 15;
/// Crates shown in full detail (by CPU time); the others get the brief limits below.
const DETAILED_CRATES: usize = 20;
const BRIEF_ROWS: usize = 30;
const BRIEF_STACKS: usize = 150;
const BRIEF_TOP: usize = 5;
/// The trace next to a run's report stays small enough for any viewer.
const RUN_TRACE_MAX_BYTES: u64 = 50_000_000;

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
    let spreads = match (&record, &base) {
        (Some(new), Some(old)) => {
            let store = crate::history_command::open_store(&args.history).ok();
            let spread = |r: &RunRecord| store.as_ref().and_then(|s| wall_spread(s, r));
            (spread(old), spread(new))
        }
        _ => (None, None),
    };
    write_report(
        record.as_ref(),
        &profiles,
        base.as_ref(),
        spreads,
        None,
        &output,
        threads,
    )?;
    eprintln!("wrote {}", output.display());
    Ok(ExitCode::SUCCESS)
}

/// `report --experiment NAME`: an experiment from the history, drawn over its baseline's
/// last run.
fn experiment_report(args: &ReportArgs, name: &str, threads: usize) -> Result<ExitCode> {
    let store = crate::history_command::open_store(&args.history)?;
    let workspace = crate::history_command::workspace_here(args.manifest_path.as_deref());
    let row = store.experiment(name, workspace.as_deref())?;
    let view: ExperimentView = serde_json::from_str(&row.document).with_context(|| {
        format!(
            "experiment {}: its record in the history is unreadable",
            row.id
        )
    })?;
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("experiment-{}.html", row.id)));
    write_experiment_report(&view, &args.history, &output, threads)?;
    eprintln!("wrote {}", output.display());
    Ok(ExitCode::SUCCESS)
}

/// The page of an experiment: its chart, over the timeline of the baseline's last run
/// (when that run is still in the history and on disk).
pub(crate) fn write_experiment_report(
    view: &ExperimentView,
    history: &crate::cli::HistoryArgs,
    output: &Path,
    threads: usize,
) -> Result<()> {
    let baseline_run = view
        .variants
        .first()
        .and_then(|v| v.run_ids.last())
        .and_then(|id| {
            resolve_target(std::slice::from_ref(id), history, None)
                .ok()
                .and_then(|(record, _)| record)
        });
    write_report(
        baseline_run.as_ref(),
        &[],
        None,
        (None, None),
        Some(view),
        output,
        threads,
    )?;
    Ok(())
}

/// Writes the report of a run (or of profiles alone) to `output`; returns the run's
/// explanation, which the report shows.
pub(crate) fn write_report(
    record: Option<&RunRecord>,
    profile_paths: &[PathBuf],
    base: Option<&RunRecord>,
    spreads: (Option<Spread>, Option<Spread>),
    experiment: Option<&ExperimentView>,
    output: &Path,
    threads: usize,
) -> Result<Explanation> {
    // One reading of the profiles serves the findings and the summarize tables.
    let evidence = gather(record, profile_paths, threads)?;
    let explanation = explain_with(record, &evidence, false)?;
    let files = &evidence.files;
    let summary = merge(&evidence.summaries);
    let stacks = collapse_files(files, threads, StackOptions::default())?;
    // The heaviest invocations of each profile (a crate's come from its profiles).
    let mut top: Vec<_> = map_profiles(files, threads, |profile| {
        top_invocations(profile, TOP_PER_CRATE, RankBy::Duration, None)
    })?
    .into_iter()
    .flatten()
    .collect();
    top.sort_by_key(|i| std::cmp::Reverse(i.duration_ns));
    let mut crates: Vec<ReportCrate> = summary
        .crates
        .iter()
        .map(|c| ReportCrate {
            name: c.crate_name.clone(),
            cpu_ns: c.total_cpu_time_ns,
            rows: c.rows.iter().take(REPORT_ROWS).cloned().collect(),
            rows_total: c.rows.len(),
            stacks: crate_stacks(&stacks, &c.crate_name),
            top: top
                .iter()
                .filter(|i| i.crate_name == c.crate_name)
                .take(TOP_PER_CRATE)
                .cloned()
                .collect(),
        })
        .collect();
    crates.sort_by(|a, b| b.cpu_ns.cmp(&a.cpu_ns).then(a.name.cmp(&b.name)));
    // The page stays small and quick with a whole build profiled: the heaviest crates in
    // full detail, the rest with their largest rows and stacks only.
    for krate in crates.iter_mut().skip(DETAILED_CRATES) {
        krate.rows.truncate(BRIEF_ROWS);
        krate.stacks.truncate(BRIEF_STACKS);
        krate.top.truncate(BRIEF_TOP);
    }

    let mut links = Vec::new();
    if let Some(r) = record {
        if !files.is_empty() {
            // A trace of the run next to its report, for Perfetto.
            let trace_path = r.run_dir.join("trace.json");
            if !trace_path.exists() {
                let mut out = OutputFile::create(&trace_path)?;
                let options = TraceOptions {
                    min_duration_ns: 0,
                    collapse_threads: false,
                    max_bytes: Some(RUN_TRACE_MAX_BYTES),
                    split_pages: DEFAULT_SPLIT_PAGES,
                };
                write_trace(files, out.file(), &options)
                    .with_context(|| format!("{}", trace_path.display()))?;
                out.commit()?;
            }
        }
        for (label, name) in [
            ("trace.json (open in https://ui.perfetto.dev)", "trace.json"),
            ("run.json (the run record)", "run.json"),
            ("profiles/ (self-profiles)", "profiles"),
            (
                "cargo-timing.html (cargo's own report)",
                "cargo-timing.html",
            ),
        ] {
            let path = r.run_dir.join(name);
            if path.exists() {
                links.push((label.to_string(), href(output, &path)));
            }
        }
    }
    let (toolchain, host) = rustc_version();
    let run = record.map(|r| ReportRun {
        id: r.id.clone(),
        command: if r.cargo_args.is_empty() {
            format!("cargo {}", r.command)
        } else {
            format!("cargo {} {}", r.command, r.cargo_args.join(" "))
        },
        scenario: r.scenario.describe_in(&r.workspace_root),
        profile: cargo_profile(&r.cargo_args),
        toolchain: toolchain.clone(),
        host: host.clone(),
        totals: &r.totals,
        fresh_units: r.fresh_units,
        units: &r.units,
        critical_path: &r.critical_path,
    });
    let compare = match (record, base) {
        (Some(new), Some(old)) => {
            let (_, old_profiles) = load_run_dir(&old.run_dir)?;
            let before = explain_inputs(Some(old), &old_profiles, threads, false)?;
            Some(ReportCompare {
                base_id: old.id.clone(),
                base_wall_ns: old.totals.wall_ns,
                new_wall_ns: new.totals.wall_ns,
                units: compare_units(&old.units, &new.units),
                phases: phase_deltas(before.phases.as_ref(), explanation.phases.as_ref()),
                base_spread: spreads.0,
                new_spread: spreads.1,
            })
        }
        _ => None,
    };
    let title = match (record, experiment) {
        (Some(r), _) => format!(
            "{}: {}{}",
            r.workspace_root
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            if experiment.is_some() {
                "experiment, "
            } else {
                ""
            },
            r.scenario.describe_in(&r.workspace_root)
        ),
        (None, Some(_)) => "experiment".to_string(),
        (None, None) => format!("{} self-profiles", files.len()),
    };
    let data = ReportData {
        schema: REPORT_SCHEMA,
        title,
        generated_by: format!("buildscope {}", env!("CARGO_PKG_VERSION")),
        run,
        explanation: &explanation,
        crates,
        compare,
        experiment,
        links,
    };
    let html = render_report(&data);
    let mut out = OutputFile::create(output)?;
    use std::io::Write;
    out.file()
        .write_all(html.as_bytes())
        .with_context(|| format!("{}: cannot write", output.display()))?;
    out.commit()?;
    Ok(explanation)
}

/// Wall time min, median, max over the runs of one `--runs N` plan, and N.
type Spread = (u64, u64, u64, usize);

/// The spread of a run's plan: the runs of the history made by the same `buildscope
/// build` (ids are `<date>-<time>-<pid>-<n>`: same date and process, same scenario), when
/// there were several.
fn wall_spread(store: &buildscope_store::Store, run: &RunRecord) -> Option<Spread> {
    let plan_of = |id: &str| {
        let parts: Vec<&str> = id.split('-').collect();
        (parts.len() == 4).then(|| (parts[0].to_string(), parts[2].to_string()))
    };
    let plan = plan_of(&run.id)?;
    let scenario = run.scenario.describe_in(&run.workspace_root);
    let mut walls: Vec<u64> = store
        .runs(Some(&run.workspace_root), 1000)
        .ok()?
        .into_iter()
        .filter(|r| plan_of(&r.id).as_ref() == Some(&plan) && r.scenario == scenario)
        .map(|r| r.wall_ns)
        .collect();
    if walls.len() < 2 {
        return None;
    }
    walls.sort_unstable();
    Some((
        walls[0],
        walls[walls.len() / 2],
        walls[walls.len() - 1],
        walls.len(),
    ))
}

/// CPU time per phase before and after, for every phase either run has.
fn phase_deltas(
    before: Option<&buildscope_analysis::PhaseTimes>,
    after: Option<&buildscope_analysis::PhaseTimes>,
) -> Vec<(String, u64, u64)> {
    let (Some(before), Some(after)) = (before, after) else {
        return Vec::new();
    };
    buildscope_analysis::Phase::ALL
        .iter()
        .filter(|&&p| p != buildscope_analysis::Phase::ProfilerOverhead)
        .map(|&p| (p.title().to_string(), before.of(p), after.of(p)))
        .filter(|(_, a, b)| *a > 0 || *b > 0)
        .collect()
}

/// A link from the report to a file: relative when they share a folder.
fn href(report: &Path, target: &Path) -> String {
    match (report.parent(), target.parent()) {
        (Some(a), Some(b)) if a == b => target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        _ => format!("file://{}", target.display()),
    }
}

/// cargo's profile name from its arguments: `dev`, `release` or `--profile`'s.
pub(crate) fn cargo_profile(args: &[String]) -> String {
    if args.iter().any(|a| a == "--release") {
        return "release".into();
    }
    args.iter()
        .position(|a| a == "--profile")
        .and_then(|i| args.get(i + 1))
        .cloned()
        .or_else(|| {
            args.iter()
                .find_map(|a| a.strip_prefix("--profile=").map(str::to_string))
        })
        .unwrap_or_else(|| "dev".into())
}

/// (`rustc 1.95.0 (…)`, `x86_64-unknown-linux-gnu`) from `rustc -vV`.
pub(crate) fn rustc_version() -> (String, String) {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = std::process::Command::new(rustc).arg("-vV").output();
    let text = out
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let first = text.lines().next().unwrap_or("rustc (unknown)").to_string();
    let host = text
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .unwrap_or("unknown")
        .to_string();
    (first, host)
}

/// The report of a run just measured by `build`, into its run folder; returns where it
/// went and the run's explanation.
pub(crate) fn report_for_run(record: &RunRecord, threads: usize) -> Result<(PathBuf, Explanation)> {
    let profiles = profile_dirs(record);
    let output = record.run_dir.join("report.html");
    let explanation = write_report(
        Some(record),
        &profiles,
        None,
        (None, None),
        None,
        &output,
        threads,
    )?;
    Ok((output, explanation))
}
