//! `buildscope why [RUN] [PACKAGE]`: the rebuild reasons a run recorded, as a chain from a
//! package back to its root cause, or every unit's with the roots.

use std::process::ExitCode;

use anyhow::{bail, Result};
use buildscope_analysis::{reason_chain, rebuild_roots, Unit};
use buildscope_output::{Style, WhyResult};

use crate::cli::WhyArgs;
use crate::resolve::resolve_target;
use crate::terminal::print_document;

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
    let roots = rebuild_roots(&record.units, reasons, record.totals.cores);
    let result = WhyResult {
        run: &record,
        chains: &chains,
        roots: &roots,
        show_roots: package.is_none(),
    };
    print_document(&result, args.format(), style)?;
    Ok(ExitCode::SUCCESS)
}
