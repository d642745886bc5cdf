//! `buildscope build`: wires cargo metadata, the build plan, progress and the report.

use crate::terminal::say;
use buildscope_output::Status;
use std::process::ExitCode;

use anyhow::Result;
use buildscope_analysis::{Explanation, RunRecord, Scenario};
use buildscope_measure::{explain_run, BuildPlan, ExplainExtras, Workspace};
use buildscope_output::{
    build_failure_line, render_build_summary, render_member_edits, BuildDocument,
    EditEachMemberDocument, EditedMember, MemberEdit, Style,
};
use buildscope_store::Store;
use buildscope_workflow::{record_runs, share_run_folders};

use crate::budget::apply_budget;
use crate::cli::{BuildArgs, HistoryArgs};
use crate::measuring::run_plan;
use crate::pages::report_for_run;
use crate::resolve::{build_plan, lock_for_measuring, open_store};
use crate::terminal::{cores, print};

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
        if args.format().is_for_machines() {
            print(&(serde_json::to_string_pretty(&BuildDocument::new(&records))? + "\n"))?;
        }
        say(Status::Error(&build_failure_line(last, &workspace_root)));
        return Ok(ExitCode::from(
            last.exit_code.unwrap_or(101).clamp(1, 255) as u8
        ));
    }
    let reported = write_reports(
        &records,
        &args.history,
        args.quiet || args.format().is_for_machines(),
    );
    let text = match args.format().is_for_machines() {
        true => serde_json::to_string_pretty(&BuildDocument::new(&records))? + "\n",
        false => render_build_summary(&records, &explanations_of(&records, reported), style),
    };
    print(&text)?;
    apply_budget(&plan.state_dir, &args, &records)?;
    if let Err(not_recorded) = recorded {
        say(Status::Error(&not_recorded.to_string()));
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
            scenario: Scenario::Edit {
                path: path.clone(),
                functions: args.edit_size,
            },
            edited_package: Some(member.name.clone()),
            ..plan.clone()
        };
        say(Status::MeasuringEdit {
            member: &member.name,
            path: &path,
        });
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
    if args.format().is_for_machines() {
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
        .map(|(name, path, records)| MemberEdit::of(name, path, &plan.workspace_root, records))
        .collect();
    print(&render_member_edits(&rows, args.runs as usize, style))?;
    Ok(ExitCode::SUCCESS)
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
                    say(Status::Report(&path));
                }
                Some(explanation)
            }
            Err(e) => {
                say(Status::NoReport {
                    run: &record.id,
                    error: &format!("{e:#}"),
                });
                None
            }
        })
        .collect()
}

/// Each run's explanation: its report's when the report was written, else explained
/// again (a build whose explanation fails still reports itself, saying why).
fn explanations_of(
    records: &[RunRecord],
    reported: Vec<Option<Explanation>>,
) -> Vec<Result<Explanation, String>> {
    records
        .iter()
        .zip(reported)
        .map(|(record, reported)| match reported {
            Some(e) => Ok(e),
            None => explain_run(
                Some(record),
                &record.profile_dirs(),
                cores(),
                ExplainExtras::default(),
            )
            .map(|e| e.explanation)
            .map_err(|e| e.to_string()),
        })
        .collect()
}
