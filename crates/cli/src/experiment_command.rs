//! `buildscope experiment`: the same build under several settings, each variant in its own
//! target directory, runs interleaved (A B C A B C ...) so that machine drift hits every
//! variant alike; then medians, spread, ratios to the baseline with a confidence interval,
//! and proof from the recorded rustc flags that each variant took effect.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::{bail, Result};
use buildscope_analysis::{compare_samples, median, Comparison};
use buildscope_build::{
    binaries_size, execute, failed_checks, parse_vary, read_records, slug, variants, BuildPlan,
    RunRecord, Variant,
};
use buildscope_output::{human_bytes, human_duration, Align, Style, Table};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::cli::ExperimentArgs;
use crate::commands::print;

/// What one variant measured.
#[derive(Debug, Serialize)]
struct VariantResult {
    name: String,
    settings: Vec<(String, String)>,
    cargo_args: Vec<String>,
    wall_ns: Vec<u64>,
    cpu_ns: Vec<u64>,
    peak_rss_bytes: Option<u64>,
    binaries_bytes: u64,
    /// Against the first variant (the baseline); `None` for the baseline itself.
    vs_baseline: Option<Comparison>,
    /// Empty when every setting reached rustc.
    not_applied: Vec<String>,
    /// The -C/-Z flags rustc got, as recorded (deduplicated).
    rustc_flags: Vec<String>,
    run_ids: Vec<String>,
}

pub(crate) fn experiment(args: ExperimentArgs, style: &Style) -> Result<ExitCode> {
    if args.vary.is_empty() {
        bail!("nothing to vary: give --vary KEY=V1,V2 (see buildscope experiment --help)");
    }
    let varies = args
        .vary
        .iter()
        .map(|v| parse_vary(v))
        .collect::<Result<Vec<_>, _>>()?;
    let (base, _) = crate::build_command::plan_from(&args.build)?;
    let profile = crate::report_command::cargo_profile(&base.cargo_args);
    let linkers = crate::explain_command::installed_linkers();
    let variants = variants(&varies, args.baseline_plus_one, &profile, &linkers)?;
    let plans: Vec<BuildPlan> = variants
        .iter()
        .map(|v| {
            let state_dir = base.state_dir.join("experiments").join(slug(v));
            let mut cargo_args = base.cargo_args.clone();
            cargo_args.extend(v.cargo_args.iter().cloned());
            BuildPlan {
                cargo_args,
                target_dir: state_dir.join("target"),
                state_dir,
                runs: 1,
                // An interrupted edit is found where every run looks for one.
                journal_dir: Some(base.journal_dir()),
                ..base.clone()
            }
        })
        .collect();
    let rounds = args.build.runs.max(1) as usize;
    let bar = bar(
        args.build.quiet || args.build.json || args.markdown,
        (rounds * plans.len()) as u64,
    );
    let mut measured: Vec<Vec<RunRecord>> = vec![Vec::new(); plans.len()];
    for round in 1..=rounds {
        for (i, plan) in plans.iter().enumerate() {
            bar.set_message(format!("round {round}/{rounds}: {}", variants[i].name));
            let records = execute(plan, |_| {}, |_| {})?;
            for record in &records {
                crate::history_command::record(&args.build.history, record);
                if !record.success {
                    bail!(
                        "variant {}: the build failed: {}",
                        variants[i].name,
                        record.cargo_output_tail.last().cloned().unwrap_or_default()
                    );
                }
            }
            measured[i].extend(records);
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    let profile_dir = if profile == "dev" {
        "debug".to_string()
    } else {
        profile.clone()
    };
    let results = summarize_variants(&variants, &plans, &measured, &profile_dir);
    let text = if args.build.json {
        let doc = serde_json::json!({
            "schema": "buildscope.experiment/1",
            "scenario": base.scenario.describe_in(&base.workspace_root),
            "rounds": rounds,
            "variants": results,
        });
        serde_json::to_string_pretty(&doc)? + "\n"
    } else {
        render(&results, &base, rounds, args.markdown, style)
    };
    print(&text)?;
    Ok(ExitCode::SUCCESS)
}

fn summarize_variants(
    variants: &[Variant],
    plans: &[BuildPlan],
    measured: &[Vec<RunRecord>],
    profile_dir: &str,
) -> Vec<VariantResult> {
    let walls: Vec<Vec<f64>> = measured
        .iter()
        .map(|rs| rs.iter().map(|r| r.totals.wall_ns as f64).collect())
        .collect();
    variants
        .iter()
        .zip(plans)
        .zip(measured)
        .enumerate()
        .map(|(i, ((variant, plan), records))| {
            let unit_records: Vec<_> = records
                .iter()
                .flat_map(|r| read_records(&r.run_dir).0)
                .collect();
            // Each distinct flag once, sorted; the incremental folder is a path: say only
            // that it was on.
            let flags: std::collections::BTreeSet<String> = unit_records
                .iter()
                .flat_map(|r| r.codegen_flags.iter())
                .filter(|f| !f.contains("incremental=") || f.starts_with("-C incremental"))
                .map(|f| {
                    if f.starts_with("-C incremental=") {
                        "-C incremental=…".to_string()
                    } else {
                        f.clone()
                    }
                })
                .collect();
            VariantResult {
                name: variant.name.clone(),
                settings: variant.settings.clone(),
                cargo_args: variant.cargo_args.clone(),
                wall_ns: records.iter().map(|r| r.totals.wall_ns).collect(),
                cpu_ns: records.iter().map(|r| r.totals.cpu_ns).collect(),
                peak_rss_bytes: records
                    .iter()
                    .flat_map(|r| r.units.iter().filter_map(|u| u.max_rss_bytes))
                    .max(),
                binaries_bytes: binaries_size(&plan.target_dir, profile_dir),
                vs_baseline: (i > 0)
                    .then(|| compare_samples(&walls[0], &walls[i]))
                    .flatten(),
                not_applied: failed_checks(&unit_records, &variant.checks),
                rustc_flags: flags.into_iter().collect(),
                run_ids: records.iter().map(|r| r.id.clone()).collect(),
            }
        })
        .collect()
}

fn render(
    results: &[VariantResult],
    base: &BuildPlan,
    rounds: usize,
    markdown: bool,
    style: &Style,
) -> String {
    let headers = [
        "Variant",
        "Median",
        "Min–max",
        "vs baseline [95% CI]",
        "Binaries",
        "Peak RSS",
        "Took effect",
    ];
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|r| {
            let walls: Vec<f64> = r.wall_ns.iter().map(|&w| w as f64).collect();
            vec![
                r.name.clone(),
                human_duration(median(&walls).unwrap_or(0.0) as u64),
                format!(
                    "{}–{}",
                    human_duration(*r.wall_ns.iter().min().unwrap_or(&0)),
                    human_duration(*r.wall_ns.iter().max().unwrap_or(&0))
                ),
                match &r.vs_baseline {
                    None => "baseline".to_string(),
                    Some(c) => format!(
                        "{:.2}x [{:.2}–{:.2}]{}",
                        c.ratio,
                        c.low,
                        c.high,
                        if c.significant { "" } else { " n.s." }
                    ),
                },
                human_bytes(r.binaries_bytes),
                r.peak_rss_bytes
                    .map(human_bytes)
                    .unwrap_or_else(|| "–".into()),
                if r.not_applied.is_empty() {
                    "yes".to_string()
                } else {
                    format!("NO: {}", r.not_applied.join("; "))
                },
            ]
        })
        .collect();
    let title = format!(
        "Experiment: cargo {} ({}), {} variants × {} interleaved run{}",
        base.command,
        base.scenario.describe_in(&base.workspace_root),
        results.len(),
        rounds,
        if rounds == 1 { "" } else { "s" }
    );
    if markdown {
        let mut out = format!(
            "## {title}\n\n| {} |\n|{}|\n",
            headers.join(" | "),
            "---|".repeat(headers.len())
        );
        for row in &rows {
            out.push_str(&format!("| {} |\n", row.join(" | ").replace('<', "&lt;")));
        }
        return out;
    }
    let aligns: Vec<(&str, Align)> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            (
                *h,
                if matches!(i, 1 | 2 | 4 | 5) {
                    Align::Right
                } else {
                    Align::Left
                },
            )
        })
        .collect();
    // The variant names are what the table is about: the last column gives way.
    let mut table = Table::new(&aligns).shrink_column(headers.len() - 1);
    for row in rows {
        table.push(row);
    }
    let mut out = format!("{title}\n");
    out.push_str(&table.render(style));
    out.push_str("Ratios are of median wall time to the baseline's; n.s.: no significant difference (the interval includes 1).\n");
    if rounds < 3 {
        out.push_str("With fewer than 3 runs a variant's spread is a guess: --runs 5 gives intervals worth reading.\n");
    }
    out
}

fn bar(hidden: bool, total: u64) -> ProgressBar {
    if hidden || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{bar:30}] {pos}/{len} builds, {eta} left  {wide_msg}",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}
