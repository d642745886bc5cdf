//! `buildscope experiment`: the same build under several settings, each variant in its own
//! target directory, runs interleaved (A B C A B C ...) so that machine drift hits every
//! variant alike; then medians, spread, ratios to the baseline with a confidence interval,
//! and proof from the recorded rustc flags that each variant took effect.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::{bail, Result};
use buildscope_analysis::compare_samples;
use buildscope_build::{
    binaries_size, execute, failed_checks, installed_toolchains, parse_vary, read_records, slug,
    variants, Available, BuildPlan, RunRecord, Variant,
};
use buildscope_output::{
    render_experiment, ExperimentVariant, ExperimentView, Style, EXPERIMENT_SCHEMA,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::ExperimentArgs;
use crate::commands::print;

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
    let available = Available {
        linkers: crate::explain_command::installed_linkers(),
        toolchains: if varies.iter().any(|(key, _)| key == "toolchain") {
            installed_toolchains()
        } else {
            Vec::new()
        },
    };
    let variants = variants(&varies, args.baseline_plus_one, &profile, &available)?;
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
                cargo: v.cargo.clone().unwrap_or_else(|| base.cargo.clone()),
                env: v.env.clone(),
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
    let mut command_ns: Vec<Vec<u64>> = vec![Vec::new(); plans.len()];
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
            if let Some(command) = &args.run {
                bar.set_message(format!(
                    "round {round}/{rounds}: {}: --run",
                    variants[i].name
                ));
                if round == 1 {
                    // A first run builds what the command needs (tests, say) and warms
                    // caches; it is not measured.
                    run_command(command, plan, &variants[i])?;
                }
                command_ns[i].push(run_command(command, plan, &variants[i])?);
            }
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    let profile_dir = if profile == "dev" {
        "debug".to_string()
    } else {
        profile.clone()
    };
    let results = summarize_variants(&variants, &plans, &measured, command_ns, &profile_dir);
    let view = ExperimentView {
        schema: EXPERIMENT_SCHEMA.into(),
        command: base.command.clone(),
        scenario: base.scenario.describe_in(&base.workspace_root),
        rounds,
        run: args.run.clone(),
        variants: results,
    };
    let text = if args.build.json {
        serde_json::to_string_pretty(&view)? + "\n"
    } else {
        render_experiment(&view, args.markdown, style)
    };
    print(&text)?;
    Ok(ExitCode::SUCCESS)
}

fn summarize_variants(
    variants: &[Variant],
    plans: &[BuildPlan],
    measured: &[Vec<RunRecord>],
    command_ns: Vec<Vec<u64>>,
    profile_dir: &str,
) -> Vec<ExperimentVariant> {
    let walls: Vec<Vec<f64>> = measured
        .iter()
        .map(|rs| rs.iter().map(|r| r.totals.wall_ns as f64).collect())
        .collect();
    variants
        .iter()
        .zip(plans)
        .zip(measured)
        .zip(command_ns)
        .enumerate()
        .map(|(i, (((variant, plan), records), command_ns))| {
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
            ExperimentVariant {
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
                compilers: unit_records
                    .iter()
                    .filter_map(|r| r.rustc.clone())
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect(),
                unstable: variant.unstable,
                command_ns,
                run_ids: records.iter().map(|r| r.id.clone()).collect(),
            }
        })
        .collect()
}

/// Runs `--run CMD` with a variant's build: in the workspace, with the variant's target
/// directory, environment and cargo arguments (`$BUILDSCOPE_CARGO_ARGS`, for a `cargo test`
/// that must not rebuild under other settings). Returns its wall time.
fn run_command(command: &str, plan: &BuildPlan, variant: &Variant) -> Result<u64> {
    let log = plan.state_dir.join("run-command.log");
    std::fs::create_dir_all(&plan.state_dir)?;
    let output = std::fs::File::create(&log)?;
    let started = std::time::Instant::now();
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(&plan.cwd)
        .env("CARGO_TARGET_DIR", &plan.target_dir)
        .env("BUILDSCOPE_VARIANT", &variant.name)
        .env("BUILDSCOPE_CARGO_ARGS", variant.cargo_args.join(" "))
        .envs(variant.env.iter().map(|(k, v)| (k, v)))
        .stdin(std::process::Stdio::null())
        .stdout(output.try_clone()?)
        .stderr(output)
        .status()?;
    let elapsed = started.elapsed().as_nanos() as u64;
    if !status.success() {
        bail!(
            "--run {command:?} failed with variant {} ({status}); its output is in {}",
            variant.name,
            log.display()
        );
    }
    Ok(elapsed)
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
