//! `explain`: the run or profiles named, explained (buildscope-measure gathers the evidence,
//! buildscope-analysis finds the causes), as text, Markdown or JSON.

use std::process::ExitCode;

use anyhow::Result;
use buildscope_measure::explain_run;
use buildscope_output::{explanation_markdown, render_explanation, Style};

use crate::cli::ExplainArgs;
use crate::resolve::resolve_target;
use crate::terminal::print;

pub(crate) fn explain(args: ExplainArgs, threads: usize, style: &Style) -> Result<ExitCode> {
    let (record, profile_paths) =
        resolve_target(&args.target, &args.history, args.manifest_path.as_deref())?;
    let explanation =
        explain_run(record.as_ref(), &profile_paths, threads, args.llvm_lines)?.explanation;
    let text = if args.json {
        serde_json::to_string_pretty(&explanation)? + "\n"
    } else if args.markdown {
        explanation_markdown(&explanation, args.top)
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
