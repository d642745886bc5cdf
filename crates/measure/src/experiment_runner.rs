//! Running an experiment: one build plan per variant, each in its own target directory,
//! one unmeasured first build per variant in hot scenarios, then rounds in which the
//! variants take turns (A B C A B C ...) so that machine drift hits every variant alike;
//! `--run CMD` timed after each build; then each variant's figures, its ratio to the
//! baseline and the proof from the recorded rustc flags that its settings took effect,
//! as an [`ExperimentRecord`].

use std::collections::BTreeSet;
use std::path::Path;

use buildscope_analysis::{
    compare_samples, AppliedChange, ExperimentRecord, ExperimentVariant, Recommendation, RunRecord,
    Scenario, EXPERIMENT_SCHEMA,
};

use crate::{
    apply, binaries_size, failed_checks, has_dependencies, interrupted, parse_vary, preset, prime,
    read_records, slug, snippet, winning_settings, Available, BuildError, BuildPlan, UnitRecord,
    Variant, AS_IS,
};

/// An experiment ready to run: the variants and a build plan for each.
pub struct ExperimentPlan {
    pub base: BuildPlan,
    /// cargo's profile (`dev`, `release`, …) of every variant.
    pub profile: String,
    /// The baseline first.
    pub variants: Vec<Variant>,
    pub plans: Vec<BuildPlan>,
    /// Interleaved builds per variant.
    pub rounds: usize,
    /// `--run CMD`, timed after each build.
    pub run: Option<String>,
    /// Each variant changes one setting of the baseline (a preset, `--baseline-plus-one`).
    pub one_at_a_time: bool,
}

impl ExperimentPlan {
    pub fn new(
        base: BuildPlan,
        profile: String,
        variants: Vec<Variant>,
        rounds: usize,
        run: Option<String>,
        one_at_a_time: bool,
    ) -> ExperimentPlan {
        let plans = variant_plans(&base, &variants);
        ExperimentPlan {
            base,
            profile,
            variants,
            plans,
            rounds: rounds.max(1),
            run,
            one_at_a_time,
        }
    }

    /// Builds in all: one per variant and round.
    pub fn builds(&self) -> usize {
        self.rounds * self.plans.len()
    }
}

/// What the caller hears while an experiment runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExperimentProgress<'a> {
    /// The unmeasured first build of a variant (hot scenarios).
    FirstBuild { variant: &'a str },
    /// A measured build starts; the time left is estimated from each variant's first round.
    Build {
        round: usize,
        rounds: usize,
        variant: &'a str,
        time_left_ns: Option<u64>,
    },
    /// A measured build is done.
    Built,
}

/// Keys with the values each is tried at (`AS_IS` for the project as it is).
pub type Varies = Vec<(String, Vec<String>)>;

/// The keys and values to vary: `--vary`'s, or a preset's with `--vary`'s joined to them
/// (each value tried alone like the preset's own). Returns a note for the user when the
/// preset leaves something out.
pub fn keys_to_vary(
    vary: &[String],
    preset_name: Option<&str>,
    workspace_root: &Path,
    available: &Available,
) -> Result<(Varies, Option<String>), BuildError> {
    let varies = vary
        .iter()
        .map(|v| parse_vary(v))
        .collect::<Result<Vec<_>, _>>()?;
    let Some(name) = preset_name else {
        return Ok((varies, None));
    };
    let mut candidates = preset(name, available)
        .ok_or_else(|| BuildError::BadArgument(format!("--preset {name}: unknown preset")))?;
    let note = (!candidates.iter().any(|(key, _)| key == "linker")).then(|| {
        format!(
            "mold is not installed, so {name} tries no other linker \
             (rustc's default on x86_64 Linux is already rust-lld)"
        )
    });
    if !has_dependencies(workspace_root) {
        candidates.retain(|(key, _)| key != "deps-opt-level");
    }
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
    Ok((candidates, note))
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
                cargo_log: false,
                ..base.clone()
            }
        })
        .collect()
}

/// What the builds of one variant left.
#[derive(Default)]
pub struct VariantRuns {
    pub records: Vec<RunRecord>,
    /// The unit records of its first builds (see [`prime`]).
    primed: Vec<UnitRecord>,
    /// `--run CMD`'s wall times.
    command_ns: Vec<u64>,
    binaries_bytes: u64,
}

/// Builds every variant once unmeasured (hot scenarios), then round by round, the
/// variants interleaved; times `--run` after each build. `on_record` hears every measured
/// build's record as soon as it is made (the history keeps them even if a later one fails).
pub fn measure_variants(
    experiment: &ExperimentPlan,
    mut on_progress: impl FnMut(ExperimentProgress),
    mut on_record: impl FnMut(&RunRecord),
) -> Result<Vec<VariantRuns>, BuildError> {
    let rounds = experiment.rounds;
    let plans = &experiment.plans;
    let variants = &experiment.variants;
    let profile_dir = output_dir(&experiment.base.cargo_args, &experiment.profile);
    let mut runs: Vec<VariantRuns> = plans.iter().map(|_| VariantRuns::default()).collect();
    if experiment.base.scenario.is_hot() {
        for ((plan, variant), runs) in plans.iter().zip(variants).zip(&mut runs) {
            on_progress(ExperimentProgress::FirstBuild {
                variant: &variant.name,
            });
            runs.primed = prime(plan).map_err(|e| in_variant(variant, e))?;
        }
    }
    // Each variant's first round (warm-up and measured build) is what the rest will cost.
    let mut first_round_ns: Vec<Option<u64>> = vec![None; plans.len()];
    for round in 1..=rounds {
        for (i, (plan, variant)) in plans.iter().zip(variants).enumerate() {
            on_progress(ExperimentProgress::Build {
                round,
                rounds,
                variant: &variant.name,
                time_left_ns: time_left(&first_round_ns, round, i, rounds),
            });
            let started = std::time::Instant::now();
            let runs = &mut runs[i];
            // While the measured build's outputs are there (an edit's are cleaned after):
            // weigh the binaries, and time --run with them.
            let mut after_build = || -> Result<(), BuildError> {
                runs.binaries_bytes = binaries_size(&plan.target_dir, &profile_dir);
                if let Some(command) = &experiment.run {
                    if round == 1 {
                        // A first run builds what the command needs (tests, say) and
                        // warms caches; it is not measured.
                        run_command(command, plan, variant)?;
                    }
                    runs.command_ns.push(run_command(command, plan, variant)?);
                }
                Ok(())
            };
            let records = crate::execute_then(plan, |_| {}, |_| {}, &mut after_build)?;
            for record in &records {
                on_record(record);
                if !record.success {
                    return Err(BuildError::BuildFailed(format!(
                        "variant {}: the build failed: {}",
                        variant.name,
                        record.first_error()
                    )));
                }
            }
            runs.records.extend(records);
            if round == 1 {
                first_round_ns[i] = Some(started.elapsed().as_nanos() as u64);
            }
            on_progress(ExperimentProgress::Built);
        }
    }
    Ok(runs)
}

fn in_variant(variant: &Variant, e: BuildError) -> BuildError {
    e.within(&format!("variant {}", variant.name))
}

/// The experiment's record: each variant's figures, its ratio to the baseline, what did
/// not take effect, and the settings that won (written into the project with `apply`).
pub fn summarize_experiment(
    experiment: &ExperimentPlan,
    measured: Vec<VariantRuns>,
    members: &[String],
    host: &str,
    apply_winners: bool,
) -> Result<ExperimentRecord, BuildError> {
    let variants = summarize_variants(&experiment.variants, measured, members);
    // A variant not shown to take effect wins nothing: its speed is not its settings'.
    let comparisons: Vec<_> = variants
        .iter()
        .map(|r| r.vs_baseline.filter(|_| r.not_applied.is_empty()))
        .collect();
    let winners = winning_settings(&experiment.variants, &comparisons, experiment.one_at_a_time);
    let recommendation = recommendation(experiment, winners, host, apply_winners)?;
    let base = &experiment.base;
    Ok(ExperimentRecord {
        schema: EXPERIMENT_SCHEMA.into(),
        command: base.command.clone(),
        scenario: base.scenario.describe_in(&base.workspace_root),
        rounds: experiment.rounds,
        run: experiment.run.clone(),
        variants,
        recommendation,
    })
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
            let flags: BTreeSet<String> = unit_records
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
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect(),
                unstable: variant.unstable,
                command_ns: runs.command_ns,
                run_ids: records.iter().map(|r| r.id.clone()).collect(),
            }
        })
        .collect()
}

/// The winners as file text, and with `apply_winners` written into the project.
fn recommendation(
    experiment: &ExperimentPlan,
    settings: Vec<(String, String)>,
    host: &str,
    apply_winners: bool,
) -> Result<Recommendation, BuildError> {
    if settings.is_empty() {
        return Ok(Recommendation::default());
    }
    let (base, profile) = (&experiment.base, experiment.profile.as_str());
    let files = snippet(&settings, profile, host)
        .files()
        .into_iter()
        .map(|(file, text)| (file.to_string(), text.to_string()))
        .collect();
    let confirm_with = (experiment.one_at_a_time && settings.len() > 1).then(|| {
        let mut words = vec!["buildscope experiment".to_string(), scenario_args(base)];
        words.extend(base.cargo_args.iter().cloned());
        for (key, value) in &settings {
            words.push(format!("--vary {key}={AS_IS},{value}"));
        }
        words.retain(|w| !w.is_empty());
        words.join(" ")
    });
    let applied = if apply_winners {
        apply(&base.workspace_root, &settings, profile, host)?
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
        measured_one_at_a_time: experiment.one_at_a_time,
        files,
        confirm_with,
        applied,
    })
}

/// A unified diff of `before` → `after` for `path`.
pub fn unified_diff(path: &str, before: &str, after: &str) -> String {
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}

/// The scenario as `experiment` arguments (`--touch src/main.rs`).
fn scenario_args(base: &BuildPlan) -> String {
    let short = |p: &Path| p.strip_prefix(&base.cwd).unwrap_or(p).display().to_string();
    match &base.scenario {
        Scenario::Touch { path } => format!("--touch {}", short(path)),
        Scenario::Edit { path, functions: 1 } => format!("--edit {}", short(path)),
        Scenario::Edit { path, functions } => {
            format!("--edit {} --edit-size {functions}", short(path))
        }
        // A build plan is never a program's run; such a plan would be built as it comes.
        Scenario::Cold | Scenario::AsIs | Scenario::Program { .. } => "--cold".to_string(),
    }
}

/// Runs `--run CMD` with a variant's build: in the workspace, with the variant's target
/// directory, environment and cargo arguments (`$BUILDSCOPE_CARGO_ARGS`, for a `cargo test`
/// that must not rebuild under other settings). Returns its wall time.
fn run_command(command: &str, plan: &BuildPlan, variant: &Variant) -> Result<u64, BuildError> {
    let log = plan.state_dir.join("run-command.log");
    std::fs::create_dir_all(&plan.state_dir)
        .map_err(BuildError::io("creating", &plan.state_dir))?;
    let output = std::fs::File::create(&log).map_err(BuildError::io("creating", &log))?;
    let output_too = output
        .try_clone()
        .map_err(BuildError::io("opening", &log))?;
    use std::os::unix::process::CommandExt;
    let started = std::time::Instant::now();
    // A group of its own, so that Ctrl-C can end all of it at once: a shell that was
    // waiting for a child when the signal came goes on to its next command otherwise.
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(&plan.cwd)
        .env("CARGO_TARGET_DIR", &plan.target_dir)
        .env("BUILDSCOPE_VARIANT", &variant.name)
        .env("BUILDSCOPE_CARGO_ARGS", variant.cargo_args.join(" "))
        .envs(variant.env.iter().map(|(k, v)| (k, v)))
        .stdin(std::process::Stdio::null())
        .stdout(output_too)
        .stderr(output)
        .process_group(0)
        .spawn()
        .map_err(BuildError::io("running sh for --run in", &plan.cwd))?;
    let group = child.id() as i32;
    // Waited for on a thread of its own, so the time is the command's to the nanosecond
    // while this thread watches for Ctrl-C.
    let (done, finished) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let status = child.wait();
        let _ = done.send(started.elapsed().as_nanos() as u64);
        status
    });
    let elapsed = loop {
        match finished.recv_timeout(std::time::Duration::from_millis(25)) {
            Ok(elapsed) => break elapsed,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) if interrupted() => {
                // SAFETY: kill(2) on the command's own process group.
                unsafe { libc::kill(-group, libc::SIGKILL) };
                let _ = waiter.join();
                return Err(BuildError::Interrupted);
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break 0,
        }
    };
    let status = waiter
        .join()
        .expect("the waiting thread ends")
        .map_err(BuildError::io("waiting for sh for --run in", &plan.cwd))?;
    // Ctrl-C reached the command too: say what happened.
    if interrupted() {
        return Err(BuildError::Interrupted);
    }
    if !status.success() {
        return Err(BuildError::CommandFailed(format!(
            "--run {command:?} failed with variant {} ({status}); its output is in {}",
            variant.name,
            log.display()
        )));
    }
    Ok(elapsed)
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
