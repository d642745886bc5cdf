//! The run folders' budget applied at the end of every measuring command (`build`,
//! `check`), in one line; and what `gc` prints of it.

use std::path::Path;

use anyhow::Result;
use buildscope_analysis::RunRecord;
use buildscope_measure::Budget;
use buildscope_output::{PrunedRun, Retention, Status};
use buildscope_workflow::{collect, Collected};

use crate::cli::BuildArgs;
use crate::terminal::{cores, say};

/// At the end of a measuring command (the workspace's lock held): the budget its flags
/// set applied, the runs it just `made` kept whatever their size, and one line said.
pub(crate) fn apply_budget(state_dir: &Path, args: &BuildArgs, made: &[RunRecord]) -> Result<()> {
    let budget = Budget::from(args.keep_profiles, args.max_profile_size.as_deref())?;
    let made: Vec<String> = made.iter().map(|r| r.id.clone()).collect();
    let collected = collect(&state_dir.join("runs"), budget, &made, false, cores())?;
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

pub(crate) fn retention_of(c: &Collected) -> Retention {
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
