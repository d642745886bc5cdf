//! `explain`: the run or profiles named, explained (buildscope-measure gathers the evidence,
//! buildscope-analysis finds the causes), as text, Markdown or JSON.

use crate::terminal::say;
use buildscope_output::Status;
use std::process::ExitCode;

use anyhow::{bail, Result};
use buildscope_analysis::{verifications, Explanation, RunRecord, Verification};
use buildscope_measure::{
    explain_run, installed_linkers, rustc_version, summarize_experiment, EvidenceSource,
    ExplainExtras,
};
use buildscope_output::{ExplainResult, Style};
use buildscope_workflow::{
    levers_to_prove, plan_spread, prove_levers, settings_to_verify, unprofiled_twin,
    verification_plan,
};

use crate::cli::ExplainArgs;
use crate::measuring::measure_with_progress;
use crate::resolve::{lock_for_measuring, open_store, plan_for_run, resolve_target};
use crate::terminal::print_document;

pub(crate) fn explain(args: ExplainArgs, threads: usize, style: &Style) -> Result<ExitCode> {
    let (record, profile_paths) =
        resolve_target(&args.target, &args.history, args.manifest_path.as_deref())?;
    let store = record.as_ref().and_then(|_| open_store(&args.history).ok());
    let unprofiled = match (&store, &record) {
        (Some(store), Some(record)) => unprofiled_twin(store, record),
        _ => None,
    };
    let explained = explain_run(
        record.as_ref(),
        &profile_paths,
        threads,
        ExplainExtras {
            llvm_lines: args.llvm_lines,
            unused: args.unused,
            unprofiled,
        },
    )?;
    if explained.evidence.source == EvidenceSource::Saved {
        say(Status::Note(
            "this run's raw profiles were pruned by the retention budget (`buildscope gc --help`): explained from the summaries saved with it; trace, flamegraph, queries and top need the raw profiles",
        ));
    }
    let mut explanation = explained.explanation;
    explanation.runs_spread = match (&store, &record) {
        (Some(store), Some(record)) => plan_spread(store, record),
        _ => None,
    };
    let verified = match (&record, args.verify) {
        (Some(record), true) => Some(verify(record, &explanation, &args)?),
        (None, true) => {
            bail!("--verify needs a run measured by `buildscope build`, not profiles alone")
        }
        (_, false) => None,
    };
    let proofs = match (&record, args.verify) {
        (Some(record), true) => prove(record, &explanation, &args)?,
        _ => Vec::new(),
    };
    let result = ExplainResult {
        explanation: &explanation,
        verified: verified.as_deref(),
        run: record.as_ref(),
        top: args.top,
        whole_bill: args.bill,
        proofs: &proofs,
    };
    print_document(&result, args.format(), style)?;
    Ok(ExitCode::SUCCESS)
}

/// The bill's largest Cargo.toml changes, each tried by removal on scratch copies (a cold
/// run with a bill only).
fn prove(
    record: &RunRecord,
    explanation: &Explanation,
    args: &ExplainArgs,
) -> Result<Vec<buildscope_analysis::LeverProof>> {
    let levers = levers_to_prove(record, explanation);
    if levers.is_empty() {
        return Ok(Vec::new());
    }
    if !args.format().is_for_machines() {
        say(Status::ProvingLevers {
            levers: levers.len(),
            rounds: args.runs as usize,
        });
    }
    Ok(prove_levers(record, levers, args.runs as usize)?)
}

/// Measures the settings the findings' fixes name, one at a time against the project as
/// it is, on the run's own scenario.
fn verify(
    record: &RunRecord,
    explanation: &Explanation,
    args: &ExplainArgs,
) -> Result<Vec<Verification>> {
    let linkers = installed_linkers();
    let settings = settings_to_verify(explanation, &linkers);
    if settings.is_empty() {
        return Ok(verifications(explanation, None, &linkers));
    }
    let (base, workspace) = plan_for_run(record, args.runs)?;
    let scenario = base.scenario.describe_in(&base.workspace_root);
    let _lock = lock_for_measuring(&base, args.no_wait)?;
    let plan = verification_plan(base, &settings, &linkers, args.runs as usize)?;
    if !args.format().is_for_machines() {
        say(Status::Verifying {
            variants: plan.variants.len(),
            rounds: args.runs,
            scenario: &scenario,
        });
    }
    // Not into the history: `latest` stays the run that was explained.
    let measured = measure_with_progress(&plan, args.format().is_for_machines(), None)?;
    let host = rustc_version().host;
    let experiment =
        summarize_experiment(&plan, measured, &workspace.member_names(), &host, false)?;
    Ok(verifications(explanation, Some(&experiment), &linkers))
}
