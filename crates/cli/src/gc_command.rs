//! `buildscope gc`: the workspace's run folders within their budget now; and the same
//! budget applied at the end of every measuring command, in one line.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use buildscope_measure::{lock_workspace, Budget, LockWait};
use buildscope_output::{PrunedRun, Retention, Status, Style};
use buildscope_workflow::{collect, Collected};

use crate::cli::GcArgs;
use crate::resolve::workspace_here;
use crate::terminal::{cores, print_document, say};

pub(crate) fn gc(args: GcArgs, style: &Style) -> Result<ExitCode> {
    let budget = Budget::from(args.budget.keep, args.budget.max_size.as_deref())?;
    let workspace = workspace_here(args.manifest_path.as_deref())
        .context("gc: not in a cargo workspace (give --manifest-path)")?;
    let state_dir = workspace.state_dir();
    // A build measuring here writes its run folder: wait for it (or, --no-wait, refuse).
    let _lock = lock_workspace(&state_dir, !args.no_wait, |busy| {
        let LockWait::Busy { pid } = busy;
        say(Status::WaitingForLock(*pid));
    })?;
    let collected = collect(&state_dir.join("runs"), budget, &[], args.dry_run, cores())?;
    print_document(&retention_of(&collected), args.format(), style)?;
    Ok(ExitCode::SUCCESS)
}

/// At the end of a measuring command (the workspace's lock held): the budget applied, the
/// runs it just made kept whatever their size, and one line said.
pub(crate) fn apply_budget(
    state_dir: &Path,
    keep: Option<usize>,
    max_size: Option<&str>,
    made: &[String],
) -> Result<()> {
    let budget = Budget::from(keep, max_size)?;
    let collected = collect(&state_dir.join("runs"), budget, made, false, cores())?;
    let retention = retention_of(&collected);
    for (id, why) in &retention.skipped {
        say(Status::Warning(&format!(
            "run {id}: kept whole, its summaries could not be saved first ({why})"
        )));
    }
    // A workspace measured without profiles has nothing to say here.
    if retention.kept_runs > 0 || !retention.pruned.is_empty() {
        say(Status::Note(&retention.line()));
    }
    Ok(())
}

fn retention_of(c: &Collected) -> Retention {
    Retention {
        schema: Retention::SCHEMA,
        dry_run: c.dry_run,
        keep: c.budget.keep,
        max_bytes: c.budget.max_bytes,
        kept_runs: c.pruning.kept.len(),
        kept_bytes: c.pruning.kept_bytes(),
        pruned: c
            .pruning
            .pruned
            .iter()
            .map(|f| PrunedRun {
                id: f.id.clone(),
                freed_bytes: f.raw_bytes(),
            })
            .collect(),
        skipped: c
            .skipped
            .iter()
            .map(|(f, why)| (f.id.clone(), why.clone()))
            .collect(),
        total_bytes: c.total_bytes,
    }
}
