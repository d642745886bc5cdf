//! `buildscope gc`: the workspace's run folders within their budget now.

use std::process::ExitCode;

use anyhow::{Context, Result};
use buildscope_measure::{lock_workspace, Budget, LockWait};
use buildscope_output::{Status, Style};
use buildscope_workflow::collect;

use crate::budget::retention_of;
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
