//! Two profiles of a program compared (`profile --diff`, and `compare` on two program
//! runs): each side's runs, the functions that changed, a differential flamegraph.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use buildscope_analysis::run::ids;
use buildscope_analysis::{FoldedStacks, RunRecord};
use buildscope_measure::{load_run_dir, read_folded};
use buildscope_output::{write_differential_flamegraph, OutputFile, ProgramDiff};

use crate::WorkflowError;

/// The two profiles `before` and `after` belong to, compared; the differential flamegraph
/// written to `svg`, else `diff-flamegraph.svg` in `after`'s last run folder (none when a
/// side was not sampled).
pub fn diff_programs(
    before: &RunRecord,
    after: &RunRecord,
    svg: Option<&Path>,
) -> Result<ProgramDiff, WorkflowError> {
    for record in [before, after] {
        if record.program.is_none() {
            return Err(WorkflowError::BadArgument(format!(
                "run {} is a build, not a program's run (`buildscope compare` compares builds)",
                record.id
            )));
        }
    }
    let (old, new) = (
        runs_of_the_same_profile(before),
        runs_of_the_same_profile(after),
    );
    let (a, b) = (summed_stacks(&old)?, summed_stacks(&new)?);
    let last = new.last().expect("a side has a run");
    let flamegraph = match a.stacks.is_empty() || b.stacks.is_empty() {
        true => None,
        false => {
            let path = svg.map_or_else(
                || last.run_dir.join("diff-flamegraph.svg"),
                Path::to_path_buf,
            );
            let title = format!(
                "buildscope profile --diff: {} ({} → {})",
                last.command_line(),
                old[0].id,
                new[0].id
            );
            let failed = |e: &dyn std::fmt::Display| {
                WorkflowError::BadArgument(format!("{}: {e}", path.display()))
            };
            let mut output = OutputFile::create(&path).map_err(|e| failed(&e))?;
            write_differential_flamegraph(&a, &b, &title, output.file()).map_err(|e| failed(&e))?;
            output.commit().map_err(|e| failed(&e))?;
            Some(path)
        }
    };
    Ok(ProgramDiff::of(&old, &new, flamegraph))
}

/// The runs one `profile --runs N` made with `record`: the folders beside its own whose
/// ids share its maker (`<date>-<time>-<machine>-<pid>-<n>`: the same date, machine and
/// process; the time moves from run to run), in order; `record` alone when none is found.
pub fn runs_of_the_same_profile(record: &RunRecord) -> Vec<RunRecord> {
    let (Some(maker), Some(parent)) = (ids::maker_of(&record.id), record.run_dir.parent()) else {
        return vec![record.clone()];
    };
    let mut names: Vec<String> = std::fs::read_dir(parent)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| ids::maker_of(name).as_ref() == Some(&maker))
                .collect()
        })
        .unwrap_or_default();
    names.sort_by_key(|id| id.rsplit_once('-').and_then(|(_, n)| n.parse::<u32>().ok()));
    let runs: Vec<RunRecord> = names
        .iter()
        .filter_map(|id| load_run_dir(&parent.join(id)).ok().map(|(r, _)| r))
        .filter(|r| r.program.is_some() && r.success)
        .collect();
    match runs.is_empty() {
        true => vec![record.clone()],
        false => runs,
    }
}

/// The runs' folded stacks summed (each run's `samples.folded`).
pub fn summed_stacks(runs: &[RunRecord]) -> Result<FoldedStacks, WorkflowError> {
    let mut summed: BTreeMap<String, u64> = BTreeMap::new();
    for path in runs.iter().filter_map(|r| r.samples.as_ref()) {
        let folded = read_folded(path).map_err(|e| WorkflowError::BadFile {
            argument: "folded stacks",
            path: PathBuf::from(path),
            reason: e.to_string(),
        })?;
        for (stack, weight) in folded {
            *summed.entry(stack).or_default() += weight;
        }
    }
    Ok(FoldedStacks {
        stacks: summed.into_iter().collect(),
    })
}
