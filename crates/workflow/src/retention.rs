//! Keeping a workspace's run folders within their budget: `buildscope gc`, and the same
//! rule at the end of every measuring command. The caller holds the workspace's lock, so a
//! build and a prune never meet in one folder.

use std::path::Path;

use buildscope_measure::{
    ensure_saved_evidence, now_ns, plan_pruning, prune, run_folders, Budget, Pruning, RunFolder,
};

use crate::WorkflowError;

/// What applying a budget did (or, in a dry run, would do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collected {
    pub budget: Budget,
    pub dry_run: bool,
    /// The runs that keep their raw profiles, and those pruned.
    pub pruning: Pruning,
    /// Runs left whole because their evidence could not be saved first: (run, why).
    pub skipped: Vec<(RunFolder, String)>,
    /// Every run folder's bytes after the prune (records, reports and the raw profiles
    /// kept).
    pub total_bytes: u64,
}

impl Collected {
    pub fn freed_bytes(&self) -> u64 {
        self.pruning.freed_bytes()
    }
}

/// Prunes the raw profiles of the runs under `runs_dir` beyond `budget` (never those of
/// `protected`, the runs a command just made), each run's evidence saved first so that
/// explain and the report still work on it.
pub fn collect(
    runs_dir: &Path,
    budget: Budget,
    protected: &[String],
    dry_run: bool,
    threads: usize,
) -> Result<Collected, WorkflowError> {
    let folders = run_folders(runs_dir)?;
    let mut pruning = plan_pruning(&folders, budget, protected);
    let mut skipped = Vec::new();
    if !dry_run {
        let mut pruned = Vec::new();
        for folder in std::mem::take(&mut pruning.pruned) {
            if let Err(e) = ensure_saved_evidence(&folder.dir, threads) {
                skipped.push((folder, e.to_string()));
                continue;
            }
            prune(&folder, now_ns())?;
            pruned.push(folder);
        }
        pruning.pruned = pruned;
    }
    let total_bytes = folders.iter().map(|f| f.state.bytes()).sum::<u64>()
        - if dry_run { 0 } else { pruning.freed_bytes() };
    Ok(Collected {
        budget,
        dry_run,
        pruning,
        skipped,
        total_bytes,
    })
}
