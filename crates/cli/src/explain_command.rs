//! `explain`: the run or profiles named, explained (buildscope-measure gathers the evidence,
//! buildscope-analysis finds the causes), as text, Markdown or JSON.

use std::process::ExitCode;

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use buildscope_analysis::{settings_to_try, verifications, Explanation, RunRecord, Verification};
use buildscope_measure::{
    cargo_profile, explain_run, installed_linkers, rustc_version, summarize_experiment, variants,
    Available, ExperimentPlan, AS_IS,
};
use buildscope_output::{
    explanation_markdown, render_explanation, render_verification, verification_markdown, Style,
};

use crate::cli::ExplainArgs;
use crate::measuring::measure_with_progress;
use crate::resolve::{lock_for_measuring, plan_for_run, resolve_target};
use crate::terminal::print;

pub(crate) fn explain(args: ExplainArgs, threads: usize, style: &Style) -> Result<ExitCode> {
    let (record, profile_paths) =
        resolve_target(&args.target, &args.history, args.manifest_path.as_deref())?;
    let explanation =
        explain_run(record.as_ref(), &profile_paths, threads, args.llvm_lines)?.explanation;
    let verified = match (&record, args.verify) {
        (Some(record), true) => Some(verify(record, &explanation, &args)?),
        (None, true) => {
            bail!("--verify needs a run measured by `buildscope build`, not profiles alone")
        }
        (_, false) => None,
    };
    let text = if args.json {
        let mut doc = serde_json::to_value(&explanation)?;
        if let Some(verified) = &verified {
            doc["verification"] = serde_json::to_value(verified)?;
        }
        serde_json::to_string_pretty(&doc)? + "\n"
    } else if args.markdown {
        let mut text = explanation_markdown(&explanation, args.top);
        if let Some(verified) = &verified {
            text.push_str(&verification_markdown(verified));
        }
        text
    } else if let Some(verified) = &verified {
        render_explanation(&explanation, args.top, style) + &render_verification(verified, style)
    } else {
        let mut text = String::new();
        if let Some(r) = &record {
            text.push_str(&format!(
                "{}: {} ({})\n\n",
                r.workspace_root.display(),
                r.command,
                r.scenario.describe_in(&r.workspace_root)
            ));
        }
        text + &render_explanation(&explanation, args.top, style)
    };
    print(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// Measures the settings the findings' fixes name, one at a time against the project as
/// it is, on the run's own scenario.
fn verify(
    record: &RunRecord,
    explanation: &Explanation,
    args: &ExplainArgs,
) -> Result<Vec<Verification>> {
    let linkers = installed_linkers();
    // Each key with the values to try, the project as it is first.
    let mut keys: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for finding in &explanation.findings {
        for (key, value) in settings_to_try(finding, &linkers) {
            let values = keys.entry(key).or_insert_with(|| vec![AS_IS.to_string()]);
            if !values.contains(&value) {
                values.push(value);
            }
        }
    }
    if keys.is_empty() {
        return Ok(verifications(explanation, None, &linkers));
    }
    let (base, workspace) = plan_for_run(record, args.runs)?;
    let _lock = lock_for_measuring(&base, args.no_wait)?;
    let profile = cargo_profile(&base.cargo_args);
    let available = Available {
        linkers: linkers.clone(),
        toolchains: Vec::new(),
        rustflags_env: std::env::var("RUSTFLAGS")
            .ok()
            .filter(|f| !f.trim().is_empty()),
    };
    let varies: Vec<(String, Vec<String>)> = keys.into_iter().collect();
    let variants = variants(&varies, true, &profile, &available)?;
    if !args.json && !args.markdown {
        eprintln!(
            "buildscope: verifying with {} variants × {} rounds ({})…",
            variants.len(),
            args.runs,
            base.scenario.describe_in(&base.workspace_root)
        );
    }
    let plan = ExperimentPlan::new(base, profile, variants, args.runs as usize, None, true);
    // Not into the history: `latest` stays the run that was explained.
    let measured = measure_with_progress(&plan, args.json || args.markdown, None)?;
    let host = rustc_version().host;
    let experiment =
        summarize_experiment(&plan, measured, &workspace.member_names(), &host, false)?;
    Ok(verifications(explanation, Some(&experiment), &linkers))
}
