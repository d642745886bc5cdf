//! `buildscope profile`: the user's own program built, run under perf, recorded, shown.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use buildscope_analysis::{what_grew, RunRecord};
use buildscope_measure::{
    cargo, profile_program, split_command_line, CargoTarget, ProgramPhase, ProgramPlan, Workspace,
};
use buildscope_output::{
    write_flamegraph, Activity, CheckResult, CheckView, Document, FlamegraphOptions, Format,
    OutputFile, ProgramProfile, Status, Style,
};
use buildscope_store::{default_database_path, Store};
use buildscope_workflow::{
    baseline_from_history, confirm, diff_programs, parse_thresholds, record_runs, summed_stacks,
    thresholds_or_defaults,
};

use crate::cli::{ProfileArgs, DEFAULT_HISTORY_SIZE};
use crate::resolve::{open_store, resolve_target};
use crate::terminal::{print, print_document, progress_bar, say};

pub(crate) fn profile(args: ProfileArgs, style: &Style) -> Result<ExitCode> {
    let format = if args.json {
        Format::Json
    } else {
        Format::Text
    };
    if let [before, after] = args.diff.as_slice() {
        return diff_profiles(&args, before, after, format, style);
    }
    let plan = program_plan(&args)?;
    // A history that cannot be opened fails before anything is built or run.
    let store = open_store(&args.history)?;
    let bar = progress_bar(
        args.quiet || args.json,
        0,
        "{spinner} {prefix:>10.cyan.bold} {wide_msg}",
    );
    let records = profile_program(&plan, |phase| {
        let doing = match phase {
            ProgramPhase::Building => Activity::Building.to_string(),
            ProgramPhase::Running { run, of } => Activity::Run {
                run: *run as usize,
                of: *of as usize,
            }
            .to_string(),
            ProgramPhase::Folding { run } => format!("folding {run}"),
        };
        bar.set_prefix(doing);
    });
    bar.finish_and_clear();
    let records = records?;
    let recorded = record_runs(&store, &records);
    let flamegraph = draw_flamegraph(&args, &records)?;
    let view = ProgramProfile::of(&records, flamegraph, args.top);
    if args.check && view.succeeded() {
        // A baseline from a history that refused these runs would judge nothing true.
        recorded?;
        return check_program(&args, &plan, &store, view, records, style);
    }
    print_document(&view, format, style)?;
    if let Err(not_recorded) = recorded {
        say(Status::Error(&not_recorded.to_string()));
        return Ok(ExitCode::from(2));
    }
    // Asked for a profile and got timings only: said, and not a success for a script.
    if let (Some(why), false) = (&view.not_sampled, args.no_sample) {
        say(Status::Error(&format!(
            "not sampled: {why} (--no-sample times the program alone)"
        )));
        return Ok(ExitCode::from(2));
    }
    Ok(match (view.exit_code, view.signal) {
        (Some(0), _) => ExitCode::SUCCESS,
        (Some(code), _) => ExitCode::from(code.clamp(1, 255) as u8),
        (None, Some(signal)) => ExitCode::from((128 + signal).clamp(1, 255) as u8),
        (None, None) => ExitCode::FAILURE,
    })
}

/// `--check`: the runs judged against the history's earlier runs of the same command line,
/// a crossing confirmed by up to two more runs (each recorded), as `check` does for builds.
fn check_program(
    args: &ProfileArgs,
    plan: &ProgramPlan,
    store: &Store,
    view: ProgramProfile,
    records: Vec<RunRecord>,
    style: &Style,
) -> Result<ExitCode> {
    let thresholds = thresholds_or_defaults(parse_thresholds(&args.fail_if, None)?, &records);
    let baseline = baseline_from_history(store, &records, DEFAULT_HISTORY_SIZE as usize)?;
    // Again without building: the program is the one just built.
    let built = records
        .first()
        .and_then(|r| r.program.as_ref())
        .and_then(|p| Some((p.executable.clone(), p.built_with.clone()?)));
    let again = ProgramPlan {
        runs: 1,
        built,
        ..plan.clone()
    };
    let (records, current, outcome, confirmation) =
        confirm(records, &baseline, &thresholds, false, 2, || {
            let more = profile_program(&again, |_| {})?;
            record_runs(store, &more)?;
            Ok::<_, anyhow::Error>(more)
        })?;
    let last = records.last().expect("at least one run");
    let grew = what_grew(&outcome, last);
    let check = CheckView::new(
        &records,
        &baseline.source,
        &outcome,
        confirmation,
        &grew,
        current,
    );
    let result = CheckResult {
        view: &check,
        runs: &records,
    };
    if args.json {
        let both = serde_json::json!({
            "profile": serde_json::from_str::<serde_json::Value>(&view.json()?)?,
            "check": serde_json::from_str::<serde_json::Value>(&result.json()?)?,
        });
        print(&(serde_json::to_string_pretty(&both)? + "\n"))?;
    } else {
        print(&(view.text(style) + "\n" + &result.text(style)))?;
    }
    Ok(match outcome.failed {
        true => ExitCode::from(1),
        false => ExitCode::SUCCESS,
    })
}

/// `--diff A B`: the two profiles the runs belong to, compared.
fn diff_profiles(
    args: &ProfileArgs,
    before: &str,
    after: &str,
    format: Format,
    style: &Style,
) -> Result<ExitCode> {
    let record = |name: &str| -> Result<RunRecord> {
        let (record, _) = resolve_target(&[name.to_string()], &args.history, None)?;
        record.with_context(|| format!("{name}: profiles are not a program's run"))
    };
    let view = diff_programs(&record(before)?, &record(after)?, args.output.as_deref())?;
    print_document(&view, format, style)?;
    Ok(ExitCode::SUCCESS)
}

/// What to build (or the command to run) and where the runs go: the workspace's
/// target/buildscope when there is one, else beside the history.
fn program_plan(args: &ProfileArgs) -> Result<ProgramPlan> {
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let (build, argv, workspace) = match &args.command {
        Some(line) => {
            let mut argv = split_command_line(line)?;
            argv.extend(args.args.iter().cloned());
            // A program run outside any cargo workspace is filed under the current folder.
            let workspace = Workspace::load(&cargo(), None).ok();
            (None, argv, workspace)
        }
        None => {
            let workspace = Workspace::load(&cargo(), args.manifest_path.as_deref())?;
            let target = CargoTarget {
                dir: cwd.clone(),
                cargo_args: args.cargo_args(),
                profile: args.cargo_profile(),
                target_dir: workspace.state_dir().join("program"),
            };
            (Some(target), args.args.clone(), Some(workspace))
        }
    };
    let (workspace_root, runs_dir) = match workspace {
        Some(w) => (w.root.clone(), w.state_dir().join("runs")),
        None => {
            let data = default_database_path()
                .and_then(|p| p.parent().map(|d| d.join("programs")))
                .context("no folder for the runs: set HOME or XDG_DATA_HOME")?;
            (cwd.clone(), data)
        }
    };
    if let Some(stdin) = &args.stdin {
        std::fs::metadata(stdin).with_context(|| format!("--stdin {}", stdin.display()))?;
    }
    Ok(ProgramPlan {
        workspace_root,
        runs_dir,
        build,
        argv,
        runs: args.runs,
        built: None,
        stdin: args.stdin.clone(),
        show_output: args.show_output,
        sample: !args.no_sample,
        frequency: args.frequency,
        input_size: args.input_size,
    })
}

/// The runs' folded stacks summed into one flamegraph: `-o FILE`, or flamegraph.svg in the
/// last run's folder. `None` when nothing was sampled.
fn draw_flamegraph(args: &ProfileArgs, records: &[RunRecord]) -> Result<Option<PathBuf>> {
    let stacks = summed_stacks(records)?;
    let Some(last) = records.last() else {
        return Ok(None);
    };
    if stacks.stacks.is_empty() {
        return Ok(None);
    }
    let path = args
        .output
        .clone()
        .unwrap_or_else(|| last.run_dir.join("flamegraph.svg"));
    let options = FlamegraphOptions {
        title: format!("buildscope profile: {}", last.command_line()),
        icicle: false,
    };
    let mut output = OutputFile::create(&path)?;
    write_flamegraph(&stacks, &options, output.file())?;
    output.commit()?;
    Ok(Some(path))
}
