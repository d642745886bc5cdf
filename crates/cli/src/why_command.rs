//! `buildscope why [RUN] [PACKAGE]`: the rebuild reasons a run recorded, as a chain from a
//! package back to its root cause, or every unit's with the roots.

use std::process::ExitCode;

use anyhow::{bail, Result};
use buildscope_analysis::{reason_chain, rebuild_roots, Unit};
use buildscope_output::{render_rebuild_roots, Style};
use serde_json::json;

use crate::cli::WhyArgs;
use crate::resolve::resolve_target;
use crate::terminal::print;

pub(crate) fn why(args: WhyArgs, style: &Style) -> Result<ExitCode> {
    let is_run = |w: &str| {
        w == "latest"
            || w.starts_with("latest~")
            || std::path::Path::new(w).join("run.json").is_file()
    };
    let (run, package) = match args.words.as_slice() {
        [] => (None, None),
        [one] if is_run(one) => (Some(one.clone()), None),
        [one] => (None, Some(one.clone())),
        [run, package, ..] => (Some(run.clone()), Some(package.clone())),
    };
    let target: Vec<String> = run.into_iter().collect();
    let (record, _) = resolve_target(&target, &args.history, args.manifest_path.as_deref())?;
    let Some(record) = record else {
        bail!("why needs a run measured by `buildscope build`, not profiles");
    };
    let Some(reasons) = &record.rebuild_reasons else {
        bail!(
            "run {}: reasons not recorded (measured before buildscope kept cargo's rebuild reasons); measure again with `buildscope build`",
            record.id
        );
    };
    let name = |u: &Unit| format!("{} v{} ({})", u.package, u.version, u.kind.as_str());
    let units: Vec<&Unit> = record
        .units
        .iter()
        .filter(|u| {
            package
                .as_ref()
                .is_none_or(|p| &u.package == p || &u.target == p)
        })
        .collect();
    if let Some(package) = &package {
        if units.is_empty() {
            bail!(
                "`{package}` did not rebuild in run {} (it was fresh, or is not part of the build)",
                record.id
            );
        }
    }
    let chains: Vec<(&Unit, Vec<(usize, buildscope_analysis::RebuildReason)>)> = units
        .iter()
        .map(|u| (*u, reason_chain(&record.units, reasons, u.id)))
        .collect();
    let by_id = |id: usize| record.units.iter().find(|u| u.id == id);
    if args.json {
        let doc = json!({
            "schema": "buildscope.why/1",
            "run": record.id,
            "units": chains.iter().map(|(u, chain)| json!({
                "unit": u.id,
                "package": u.package,
                "kind": u.kind.as_str(),
                "chain": chain.iter().map(|(id, reason)| json!({
                    "unit": id,
                    "package": by_id(*id).map(|u| u.package.clone()),
                    "reason": reason,
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "roots": rebuild_roots(&record.units, reasons, record.totals.cores),
        });
        print(&(serde_json::to_string_pretty(&doc)? + "\n"))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut text = format!(
        "{}: {} ({})\n\n",
        record.workspace_root.display(),
        record.command_line(),
        record.scenario.describe_in(&record.workspace_root)
    );
    for (unit, chain) in &chains {
        text.push_str(&format!("{}\n", style.bold(&name(unit))));
        for (depth, (id, reason)) in chain.iter().enumerate() {
            let who = by_id(*id).map(name).unwrap_or_default();
            let line = if depth == 0 {
                format!("  rebuilt because {}\n", reason.describe())
            } else {
                format!(
                    "  {}← {who}: {}\n",
                    "  ".repeat(depth - 1),
                    reason.describe()
                )
            };
            text.push_str(&line);
        }
    }
    if package.is_none() {
        let roots = rebuild_roots(&record.units, reasons, record.totals.cores);
        text.push_str(&render_rebuild_roots(Some(&roots), &record.units, style));
    }
    print(&text)?;
    Ok(ExitCode::SUCCESS)
}
