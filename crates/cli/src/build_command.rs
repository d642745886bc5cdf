//! `buildscope build`: wires cargo metadata, the build plan, progress and the report.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use buildscope_analysis::{
    rebuild_roots, schedule_summary, Explanation, RunRecord, Scenario, Spread,
};
use buildscope_measure::{explain_run, BuildPlan, Workspace};
use buildscope_output::{
    build_failure_line, render_build, render_member_edits, render_rebuild_roots, render_run_footer,
    BuildDocument, BuildView, EditEachMemberDocument, EditedMember, MemberEdit, Style,
};
use buildscope_store::Store;
use buildscope_workflow::{record_runs, share_run_folders};

use crate::cli::{BuildArgs, HistoryArgs};
use crate::measuring::run_plan;
use crate::pages::report_for_run;
use crate::resolve::{build_plan, lock_for_measuring, open_store};
use crate::terminal::{cores, print};

/// Units in the report's slowest-units table.
const SLOWEST_SHOWN: usize = 10;

pub(crate) fn build(args: BuildArgs, style: &Style) -> Result<ExitCode> {
    let (plan, workspace) = build_plan(&args)?;
    // A history that cannot be opened (a wrong URL or password, a database that is not
    // buildscope's) fails before anything is built.
    let store = open_store(&args.history)?;
    let _lock = lock_for_measuring(&plan, args.no_wait)?;
    let workspace_root = plan.workspace_root.clone();

    if args.edit_each_member {
        return each_member(&args, plan, &store, &workspace, style);
    }
    let records = run_plan(&plan, args.quiet)?;
    let recorded = record_runs(&store, &records);
    if let (Some(shared), Ok(())) = (&args.store_profiles, &recorded) {
        share_run_folders(&store, &records, shared)?;
    }
    let last = records.last().expect("a plan measures at least once");
    if !last.success {
        // rustc's diagnostics went by as cargo shows them; a build that did not finish has
        // no schedule, critical path or verdict to tell.
        if args.json {
            print(&(serde_json::to_string_pretty(&BuildDocument::new(&records))? + "\n"))?;
        }
        eprintln!("error: {}", build_failure_line(last, &workspace_root));
        return Ok(ExitCode::from(
            last.exit_code.unwrap_or(101).clamp(1, 255) as u8
        ));
    }
    let explanations = write_reports(&records, &args.history, args.quiet || args.json);
    if args.json {
        let doc = BuildDocument::new(&records);
        print(&(serde_json::to_string_pretty(&doc)? + "\n"))?;
    } else {
        print(&report(
            &plan,
            &records,
            &explanations,
            &workspace_root,
            style,
        ))?;
    }
    if let Err(not_recorded) = recorded {
        eprintln!("error: {not_recorded}");
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

/// `--edit-each-member`: the rebuild cost of an edit in each workspace member in turn.
fn each_member(
    args: &BuildArgs,
    plan: BuildPlan,
    store: &Store,
    workspace: &Workspace,
    style: &Style,
) -> Result<ExitCode> {
    let mut members = Vec::new();
    for member in &workspace.members {
        let Some(path) = member.root_source.clone() else {
            continue;
        };
        let plan = BuildPlan {
            scenario: Scenario::Edit { path: path.clone() },
            edited_package: Some(member.name.clone()),
            ..plan.clone()
        };
        eprintln!(
            "buildscope: measuring an edit in {} ({})",
            member.name,
            path.display()
        );
        let records = run_plan(&plan, args.quiet)?;
        record_runs(store, &records)?;
        if let Some(failed) = records.iter().find(|r| !r.success) {
            anyhow::bail!(
                "the build failed after editing {}: {}",
                path.display(),
                failed.first_error()
            );
        }
        members.push((member.name.clone(), path, records));
    }
    if args.json {
        let members: Vec<EditedMember> = members
            .iter()
            .map(|(package, path, runs)| EditedMember::new(package, path, runs))
            .collect();
        let doc = EditEachMemberDocument::new(members);
        print(&(serde_json::to_string_pretty(&doc)? + "\n"))?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<MemberEdit> = members
        .iter()
        .map(|(name, path, records)| {
            let (wall, shown) = wall_spread(records);
            MemberEdit {
                package: name.clone(),
                file: path
                    .strip_prefix(&plan.workspace_root)
                    .unwrap_or(path)
                    .display()
                    .to_string(),
                wall,
                rebuilt: records[shown]
                    .units
                    .iter()
                    .map(|u| u.package.clone())
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect(),
                link_ns: records[shown].totals.link_ns,
            }
        })
        .collect();
    print(&render_member_edits(&rows, args.runs as usize, style))?;
    Ok(ExitCode::SUCCESS)
}

/// The wall-time spread of a plan's runs, and the index of the run nearest its median
/// (the one that speaks for all).
fn wall_spread(records: &[RunRecord]) -> (Spread, usize) {
    let walls: Vec<u64> = records.iter().map(|r| r.totals.wall_ns).collect();
    let spread = Spread::of(&walls).expect("a plan measures at least once");
    let shown = spread.nearest_to_median(&walls).unwrap_or(0);
    (spread, shown)
}

/// `explanations[i]` is `records[i]`'s, when its report could be written.
fn report(
    plan: &BuildPlan,
    records: &[RunRecord],
    explanations: &[Option<Explanation>],
    workspace_root: &Path,
    style: &Style,
) -> String {
    let (spread, shown_index) = wall_spread(records);
    let shown = &records[shown_index];
    let name = workspace_root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| workspace_root.display().to_string());
    let title = format!(
        "{name}: {} ({})",
        plan.command_line(),
        plan.scenario.describe_in(workspace_root)
    );
    let schedule = schedule_summary(&shown.units, shown.totals.wall_ns, shown.totals.cores);
    let mut text = render_build(
        &BuildView {
            title,
            totals: &shown.totals,
            critical_path: &shown.critical_path,
            units: &shown.units,
            fresh_units: shown.fresh_units,
            notes: &shown.notes,
            wall_spread: (records.len() > 1).then_some(spread),
            top: SLOWEST_SHOWN,
            schedule: Some(&schedule),
        },
        style,
    );
    if shown.scenario.is_hot() {
        let roots = shown
            .rebuild_reasons
            .as_ref()
            .map(|reasons| rebuild_roots(&shown.units, reasons, shown.totals.cores));
        text.push_str(&render_rebuild_roots(roots.as_deref(), &shown.units, style));
    }
    text.push_str(&render_run_footer(shown));
    text.push_str(&top_findings(
        shown,
        explanations[shown_index].as_ref(),
        style,
    ));
    text
}

/// Writes each run's report into its folder and returns each run's explanation (the
/// report has it); a report that cannot be written costs a warning, not the build.
fn write_reports(
    records: &[RunRecord],
    history: &HistoryArgs,
    quiet: bool,
) -> Vec<Option<Explanation>> {
    records
        .iter()
        .map(|record| match report_for_run(record, history, cores()) {
            Ok((path, explanation)) => {
                if !quiet {
                    eprintln!("Report: {}", path.display());
                }
                Some(explanation)
            }
            Err(e) => {
                eprintln!("warning: no report for run {}: {e:#}", record.id);
                None
            }
        })
        .collect()
}

/// Findings shown at the end of a build.
const FINDINGS_SHOWN: usize = 3;

/// The build's top findings, as `buildscope explain` would give them (from its report's
/// explanation when there is one); a build whose explanation fails still reports itself.
fn top_findings(record: &RunRecord, explained: Option<&Explanation>, style: &Style) -> String {
    if let Some(e) = explained {
        return buildscope_output::render_top_findings(e, FINDINGS_SHOWN, style);
    }
    match explain_run(Some(record), &record.profile_dirs(), cores(), false) {
        Ok(e) => buildscope_output::render_top_findings(&e.explanation, FINDINGS_SHOWN, style),
        Err(e) => format!("\n(no findings: {e:#})\n"),
    }
}
