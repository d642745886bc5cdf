//! `buildscope experiment`: the same build under several settings, each variant in its own
//! target directory, runs interleaved (A B C A B C ...) so that machine drift hits every
//! variant alike; then medians, spread, ratios to the baseline with a confidence interval,
//! and proof from the recorded rustc flags that each variant took effect.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::{bail, Result};
use buildscope_analysis::compare_samples;
use buildscope_build::{
    binaries_size, execute_then, experiment_id, failed_checks, installed_toolchains, parse_vary,
    preset, prime, read_records, slug, snippet, variants, winning_settings, Available, BuildError,
    BuildPlan, RunRecord, Scenario, UnitRecord, Variant, AS_IS,
};
use buildscope_output::{
    human_duration, render_experiment, unified_diff, AppliedChange, ExperimentVariant,
    ExperimentView, Recommendation, Style, EXPERIMENT_SCHEMA,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::ExperimentArgs;
use crate::commands::print;

pub(crate) fn experiment(args: ExperimentArgs, style: &Style) -> Result<ExitCode> {
    if args.vary.is_empty() && args.preset.is_none() {
        bail!(
            "nothing to vary: give --vary KEY=V1,V2 or --preset fast-dev (see buildscope experiment --help)"
        );
    }
    if args.build.edit_each_member {
        bail!("--edit-each-member: an experiment measures one scenario; give --edit FILE");
    }
    let (mut base, metadata) = crate::build_command::plan_from(&args.build)?;
    if base.scenario == Scenario::AsIs {
        // "As the target directory happens to be" compares nothing: every build is cold.
        base.scenario = Scenario::Cold;
    }
    let profile = crate::report_command::cargo_profile(&base.cargo_args);
    let mut available = Available {
        linkers: crate::explain_command::installed_linkers(),
        toolchains: Vec::new(),
        rustflags_env: std::env::var("RUSTFLAGS")
            .ok()
            .filter(|f| !f.trim().is_empty()),
    };
    let varies = keys_to_vary(&args, &base, &available)?;
    if varies.iter().any(|(key, _)| key == "toolchain") {
        available.toolchains = installed_toolchains();
    }
    let one_at_a_time = args.baseline_plus_one || args.preset.is_some();
    let variants = variants(&varies, one_at_a_time, &profile, &available)?;
    let plans = variant_plans(&base, &variants);
    let started_at_ns = buildscope_build::now_ns();
    let measured = measure_variants(&args, &base, &profile, &variants, &plans)?;

    // From the metadata the plan was made from: no second `cargo metadata`.
    let members = crate::build_command::member_names(&metadata);
    let results = summarize_variants(&variants, measured, &members);
    // A variant not shown to take effect wins nothing: its speed is not its settings'.
    let comparisons: Vec<_> = results
        .iter()
        .map(|r| r.vs_baseline.filter(|_| r.not_applied.is_empty()))
        .collect();
    let winners = winning_settings(&variants, &comparisons, one_at_a_time);
    let recommendation = recommendation(&base, &profile, winners, one_at_a_time, args.apply)?;
    let view = ExperimentView {
        schema: EXPERIMENT_SCHEMA.into(),
        command: base.command.clone(),
        scenario: base.scenario.describe_in(&base.workspace_root),
        rounds: args.build.runs.max(1) as usize,
        run: args.run.clone(),
        variants: results,
        recommendation,
    };
    keep(&view, &args, &base, started_at_ns)?;
    let text = if args.build.json {
        serde_json::to_string_pretty(&view)? + "\n"
    } else {
        render_experiment(&view, args.markdown, style)
    };
    print(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// Where cargo puts the profile's binaries under the target directory: `debug` for dev,
/// the profile's name otherwise, under the triple when `--target` names one.
fn output_dir(cargo_args: &[String], profile: &str) -> String {
    let profile_dir = if profile == "dev" { "debug" } else { profile };
    let triple = cargo_args
        .iter()
        .position(|a| a == "--target")
        .and_then(|i| cargo_args.get(i + 1).cloned())
        .or_else(|| {
            cargo_args
                .iter()
                .find_map(|a| a.strip_prefix("--target=").map(str::to_string))
        });
    match triple {
        Some(triple) => format!("{triple}/{profile_dir}"),
        None => profile_dir.to_string(),
    }
}

/// The keys and values to vary: `--vary`'s, or a preset's with `--vary`'s joined to them.
fn keys_to_vary(
    args: &ExperimentArgs,
    base: &BuildPlan,
    available: &Available,
) -> Result<Vec<(String, Vec<String>)>> {
    let varies = args
        .vary
        .iter()
        .map(|v| parse_vary(v))
        .collect::<Result<Vec<_>, _>>()?;
    let Some(name) = &args.preset else {
        return Ok(varies);
    };
    let mut candidates = preset(name, available)
        .ok_or_else(|| anyhow::anyhow!("--preset {name}: unknown preset"))?;
    if !args.build.quiet && !candidates.iter().any(|(key, _)| key == "linker") {
        eprintln!(
            "buildscope: mold is not installed, so {name} tries no other linker \
             (rustc's default on x86_64 Linux is already rust-lld)"
        );
    }
    if !has_dependencies(&base.workspace_root) {
        candidates.retain(|(key, _)| key != "deps-opt-level");
    }
    // Values given with --vary join the preset's, each tried alone like its own.
    for (key, values) in varies {
        let index = match candidates.iter().position(|(k, _)| *k == key) {
            Some(index) => index,
            None => {
                candidates.push((key, vec![AS_IS.to_string()]));
                candidates.len() - 1
            }
        };
        for value in values {
            if !candidates[index].1.contains(&value) {
                candidates[index].1.push(value);
            }
        }
    }
    Ok(candidates)
}

/// One build plan per variant: the base plan with the variant's arguments, environment
/// and cargo, in a target directory of its own.
fn variant_plans(base: &BuildPlan, variants: &[Variant]) -> Vec<BuildPlan> {
    variants
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
                // The same warnings once per build and variant would bury the answer.
                show_diagnostics: false,
                // Closer to the build as the user runs it: cargo's report costs ~10 ms a
                // build (5% of a hot rebuild), and the comparison needs no build-script runs.
                cargo_timings: false,
                ..base.clone()
            }
        })
        .collect()
}

/// What the builds of one variant left.
#[derive(Default)]
struct VariantRuns {
    records: Vec<RunRecord>,
    /// The unit records of its first builds (see [`prime`]).
    primed: Vec<UnitRecord>,
    /// `--run CMD`'s wall times.
    command_ns: Vec<u64>,
    binaries_bytes: u64,
}

/// Builds every variant once unmeasured (hot scenarios), then round by round, the
/// variants interleaved; times `--run` after each build.
fn measure_variants(
    args: &ExperimentArgs,
    base: &BuildPlan,
    profile: &str,
    variants: &[Variant],
    plans: &[BuildPlan],
) -> Result<Vec<VariantRuns>> {
    let rounds = args.build.runs.max(1) as usize;
    let bar = bar(
        args.build.quiet || args.build.json || args.markdown,
        (rounds * plans.len()) as u64,
    );
    let profile_dir = output_dir(&base.cargo_args, profile);
    let mut runs: Vec<VariantRuns> = plans.iter().map(|_| VariantRuns::default()).collect();
    if base.scenario.is_hot() {
        for ((plan, variant), runs) in plans.iter().zip(variants).zip(&mut runs) {
            bar.set_message(format!("first build: {}", variant.name));
            runs.primed =
                prime(plan).map_err(|e| anyhow::anyhow!("variant {}: {e}", variant.name))?;
        }
    }
    // Each variant's first round (warm-up and measured build) is what the rest will cost.
    let mut first_round_ns: Vec<Option<u64>> = vec![None; plans.len()];
    for round in 1..=rounds {
        for (i, (plan, variant)) in plans.iter().zip(variants).enumerate() {
            // The estimate first: a long variant name is what the terminal cuts.
            let left = time_left(&first_round_ns, round, i, rounds)
                .map(|ns| format!("about {} left, ", human_duration(ns)))
                .unwrap_or_default();
            bar.set_message(format!("{left}round {round}/{rounds}: {}", variant.name));
            let started = std::time::Instant::now();
            let runs = &mut runs[i];
            // While the measured build's outputs are there (an edit's are cleaned after):
            // weigh the binaries, and time --run with them.
            let mut after_build = || -> Result<(), BuildError> {
                runs.binaries_bytes = binaries_size(&plan.target_dir, &profile_dir);
                if let Some(command) = &args.run {
                    let run = || {
                        run_command(command, plan, variant).map_err(|e| {
                            // Ctrl-C reached the command too: say what happened.
                            if buildscope_build::interrupted() {
                                BuildError::Interrupted
                            } else {
                                BuildError::CargoOutput(e.to_string())
                            }
                        })
                    };
                    if round == 1 {
                        // A first run builds what the command needs (tests, say) and
                        // warms caches; it is not measured.
                        run()?;
                    }
                    runs.command_ns.push(run()?);
                }
                Ok(())
            };
            let records = execute_then(plan, |_| {}, |_| {}, &mut after_build)?;
            for record in &records {
                crate::history_command::record(&args.build.history, record);
                if !record.success {
                    bail!(
                        "variant {}: the build failed: {}",
                        variant.name,
                        record.cargo_output_tail.last().cloned().unwrap_or_default()
                    );
                }
            }
            runs.records.extend(records);
            if round == 1 {
                first_round_ns[i] = Some(started.elapsed().as_nanos() as u64);
            }
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    Ok(runs)
}

/// The experiment as one entity in the history, and in its folder
/// (`experiment-runs/<id>/`): its JSON and a page with its chart over the baseline's
/// timeline.
fn keep(
    view: &ExperimentView,
    args: &ExperimentArgs,
    base: &BuildPlan,
    started_at_ns: u64,
) -> Result<()> {
    let id = experiment_id();
    crate::history_command::record_experiment(
        &args.build.history,
        &id,
        &base.workspace_root,
        started_at_ns,
        view,
    );
    let folder = base.state_dir.join("experiment-runs").join(&id);
    std::fs::create_dir_all(&folder)?;
    std::fs::write(
        folder.join("experiment.json"),
        serde_json::to_string_pretty(view)? + "\n",
    )?;
    let page = folder.join("report.html");
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    match crate::report_command::write_experiment_report(view, &args.build.history, &page, threads)
    {
        Err(e) => eprintln!("warning: no report of the experiment: {e:#}"),
        Ok(()) if !args.build.quiet && !args.build.json && !args.markdown => {
            eprintln!("report: {}", page.display())
        }
        Ok(()) => {}
    }
    Ok(())
}

fn summarize_variants(
    variants: &[Variant],
    measured: Vec<VariantRuns>,
    members: &[String],
) -> Vec<ExperimentVariant> {
    let walls: Vec<Vec<f64>> = measured
        .iter()
        .map(|runs| {
            runs.records
                .iter()
                .map(|r| r.totals.wall_ns as f64)
                .collect()
        })
        .collect();
    variants
        .iter()
        .zip(measured)
        .enumerate()
        .map(|(i, (variant, runs))| {
            let records = &runs.records;
            // The first build counts as proof too: in a hot scenario it is the one that
            // compiled the dependencies.
            let unit_records: Vec<_> = runs
                .primed
                .into_iter()
                .chain(records.iter().flat_map(|r| read_records(&r.run_dir).0))
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
                binaries_bytes: runs.binaries_bytes,
                vs_baseline: (i > 0)
                    .then(|| compare_samples(&walls[0], &walls[i]))
                    .flatten(),
                not_applied: failed_checks(&unit_records, &variant.checks, members),
                rustc_flags: flags.into_iter().collect(),
                compilers: unit_records
                    .iter()
                    .filter_map(|r| r.rustc.clone())
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect(),
                unstable: variant.unstable,
                command_ns: runs.command_ns,
                run_ids: records.iter().map(|r| r.id.clone()).collect(),
            }
        })
        .collect()
}

/// Whether the workspace uses any package from outside it: without one, `deps-opt-level`
/// has nothing to change. When cargo cannot say, it is assumed to.
fn has_dependencies(workspace_root: &std::path::Path) -> bool {
    cargo_metadata::MetadataCommand::new()
        .manifest_path(workspace_root.join("Cargo.toml"))
        .exec()
        .map(|m| m.packages.len() > m.workspace_members.len())
        .unwrap_or(true)
}

/// The winners as file text, and with `apply` written into the project.
fn recommendation(
    base: &BuildPlan,
    profile: &str,
    settings: Vec<(String, String)>,
    one_at_a_time: bool,
    apply: bool,
) -> Result<Recommendation> {
    if settings.is_empty() {
        return Ok(Recommendation::default());
    }
    let (_, host) = crate::report_command::rustc_version();
    let files = snippet(&settings, profile, &host)
        .files()
        .into_iter()
        .map(|(file, text)| (file.to_string(), text.to_string()))
        .collect();
    let confirm_with = (one_at_a_time && settings.len() > 1).then(|| {
        let mut words = vec!["buildscope experiment".to_string(), scenario_args(base)];
        words.extend(base.cargo_args.iter().cloned());
        for (key, value) in &settings {
            words.push(format!("--vary {key}={AS_IS},{value}"));
        }
        words.retain(|w| !w.is_empty());
        words.join(" ")
    });
    let applied = if apply {
        buildscope_build::apply(&base.workspace_root, &settings, profile, &host)?
            .into_iter()
            .map(|file| {
                let relative = file
                    .path
                    .strip_prefix(&base.workspace_root)
                    .unwrap_or(&file.path)
                    .display()
                    .to_string();
                AppliedChange {
                    diff: unified_diff(&relative, &file.before, &file.after),
                    path: file.path.display().to_string(),
                    backup: file.backup.map(|b| b.display().to_string()),
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(Recommendation {
        settings,
        measured_one_at_a_time: one_at_a_time,
        files,
        confirm_with,
        applied,
    })
}

/// The scenario as `experiment` arguments (`--touch src/main.rs`).
fn scenario_args(base: &BuildPlan) -> String {
    let short = |p: &std::path::Path| p.strip_prefix(&base.cwd).unwrap_or(p).display().to_string();
    match &base.scenario {
        Scenario::Touch { path } => format!("--touch {}", short(path)),
        Scenario::Edit { path } => format!("--edit {}", short(path)),
        Scenario::Cold | Scenario::AsIs => "--cold".to_string(),
    }
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

/// The time the builds from variant `index` of `round` on will take, from each variant's
/// first round (a variant not yet measured counts as the mean of those that are); `None`
/// before any was.
fn time_left(
    first_round_ns: &[Option<u64>],
    round: usize,
    index: usize,
    rounds: usize,
) -> Option<u64> {
    let known: Vec<u64> = first_round_ns.iter().flatten().copied().collect();
    if known.is_empty() {
        return None;
    }
    let mean = known.iter().sum::<u64>() / known.len() as u64;
    let cost = |i: usize| first_round_ns[i].unwrap_or(mean);
    let this_round: u64 = (index..first_round_ns.len()).map(cost).sum();
    let later_rounds: u64 =
        (0..first_round_ns.len()).map(cost).sum::<u64>() * (rounds - round) as u64;
    Some(this_round + later_rounds)
}

fn bar(hidden: bool, total: u64) -> ProgressBar {
    if hidden || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} builds  {wide_msg}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

#[cfg(test)]
mod tests {
    use super::{output_dir, time_left};

    #[test]
    fn binaries_are_looked_for_where_cargo_puts_them() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(output_dir(&args(&[]), "dev"), "debug");
        assert_eq!(output_dir(&args(&["--release"]), "release"), "release");
        assert_eq!(
            output_dir(&args(&["--target", "x86_64-unknown-linux-musl"]), "dev"),
            "x86_64-unknown-linux-musl/debug"
        );
        assert_eq!(
            output_dir(
                &args(&["--target=wasm32-wasip1", "--profile", "fast"]),
                "fast"
            ),
            "wasm32-wasip1/fast"
        );
    }

    #[test]
    fn the_time_left_comes_from_each_variants_first_round() {
        // Nothing measured yet: no estimate.
        assert_eq!(time_left(&[None, None], 1, 0, 3), None);
        // Round 1, variant 0 measured at 10 s: variant 1 counts as 10 s too; two more
        // rounds of both follow.
        assert_eq!(time_left(&[Some(10), None], 1, 1, 3), Some(10 + 2 * 20));
        // Round 2 starting: variants cost 10 and 30, this round and one more.
        assert_eq!(time_left(&[Some(10), Some(30)], 2, 0, 3), Some(40 + 40));
        // The last build of the last round.
        assert_eq!(time_left(&[Some(10), Some(30)], 3, 1, 3), Some(30));
    }
}
