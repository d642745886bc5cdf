//! A whole `buildscope build`: the scenario (cold, touch, edit), warm-ups, repeated runs,
//! and the run record each measured build leaves in its folder.

use std::path::{Path, PathBuf};

use buildscope_analysis::run::{first_error, ids};
use buildscope_analysis::{
    build_totals, critical_path, phase_measures_in, rustflags_from_env, selection_of,
    timing_environment, BuildSettings, RebuildReason, RunRecord, Scenario, Unit, WarmUp,
    RUN_SCHEMA,
};

use crate::machine::this_machine;
use crate::measure::{measure, BuildRequest, Progress, SelfProfile};
use crate::scenario::{interrupted, Edit};
use crate::BuildError;

/// What to measure and where things go.
#[derive(Debug, Clone)]
pub struct BuildPlan {
    pub cargo: PathBuf,
    /// `build` or `check`.
    pub command: String,
    pub cargo_args: Vec<String>,
    pub cwd: PathBuf,
    pub workspace_root: PathBuf,
    /// The target directory of measured builds (not the user's).
    pub target_dir: PathBuf,
    /// buildscope's own folder: runs, the live profile folder, the edit journal.
    pub state_dir: PathBuf,
    pub scenario: Scenario,
    pub runs: usize,
    pub self_profile: Option<SelfProfile>,
    /// For a cold build with `-p`: only these packages are cleaned.
    pub packages: Vec<String>,
    /// The package of the file an `Edit` scenario changes.
    pub edited_package: Option<String>,
    /// Cores the build may use.
    pub cores: usize,
    /// Where an edit's journal goes, if not `state_dir`: experiments keep theirs in the
    /// workspace's buildscope folder, where the next run looks for an interrupted edit.
    pub journal_dir: Option<PathBuf>,
    /// Environment for cargo and everything it runs (an experiment's `RUSTC` for another
    /// toolchain, or `RUSTC_BOOTSTRAP=1` for a variant with unstable flags), on top of
    /// buildscope's own.
    pub env: Vec<(String, String)>,
    /// Pass rustc's warnings and errors on to stderr, as cargo would; an experiment
    /// repeating one build many times keeps them to itself.
    pub show_diagnostics: bool,
    /// Ask cargo for its `--timings` report: build-script runs on the timeline, for ~10 ms
    /// more per build, which an experiment comparing builds of a few hundred ms forgoes.
    pub cargo_timings: bool,
    /// Take rebuild reasons from cargo's unstable build-analysis log (`-Zbuild-analysis`).
    pub cargo_log: bool,
    /// Sample the self-profiled crates' rustc processes with `perf` (measured builds only).
    pub sample: bool,
}

/// What a warm-up build compiled, if anything.
fn warm_up_of(measurement: &crate::Measurement) -> Option<WarmUp> {
    (!measurement.units.is_empty()).then(|| WarmUp {
        wall_ns: measurement.wall_ns,
        units: measurement.units.len(),
        not_built_before: measurement
            .rebuild_reasons
            .iter()
            .filter(|r| r.reason == RebuildReason::NotBuiltBefore)
            .count(),
        unit_ns: measurement.units.iter().map(Unit::duration_ns).sum(),
    })
}

/// What the caller hears while a plan runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    Cleaning,
    WarmUp { run: usize },
    Measuring { run: usize, of: usize },
}

impl BuildPlan {
    pub fn runs_dir(&self) -> PathBuf {
        self.state_dir.join("runs")
    }

    /// Rustc writes self-profiles here in every build of a plan, warm-ups included: a
    /// different `-Zself-profile=` directory between a warm-up and the measured build would
    /// make rustc redo all codegen, and the hot build would not be hot.
    fn live_profile_dir(&self) -> PathBuf {
        self.state_dir.join("self-profile-live")
    }

    pub fn journal_dir(&self) -> PathBuf {
        self.journal_dir
            .clone()
            .unwrap_or_else(|| self.state_dir.clone())
    }

    /// `cargo build --release`: what the plan runs, as the user would type it.
    pub fn command_line(&self) -> String {
        buildscope_analysis::command_line(&self.command, &self.cargo_args)
    }
}

/// Runs the plan. Every measured build yields a record; a build that fails ends the plan
/// after its record (cargo's exit status is in it).
pub fn execute(
    plan: &BuildPlan,
    on_phase: impl FnMut(&Phase),
    on_progress: impl FnMut(Progress),
) -> Result<Vec<RunRecord>, BuildError> {
    execute_then(plan, on_phase, on_progress, || Ok(()))
}

/// As [`execute`], calling `after_build` after each successful measured build, while its
/// outputs are there: before a hot edit is undone and the edited package's outputs are
/// cleaned away (an experiment times a command with the binary, or weighs it). An error
/// from it ends the runs, after the sources are restored.
pub fn execute_then(
    plan: &BuildPlan,
    mut on_phase: impl FnMut(&Phase),
    mut on_progress: impl FnMut(Progress),
    mut after_build: impl FnMut() -> Result<(), BuildError>,
) -> Result<Vec<RunRecord>, BuildError> {
    let mut records = Vec::new();
    let machine = this_machine(&crate::workspace::rustc_version().release);
    // Whether perf may sample here is asked once; a build that may not is built unsampled.
    let (perf, not_sampled) = match plan.sample {
        false => (None, None),
        true => match crate::sampling::sampler() {
            Ok(perf) => (Some(perf), None),
            Err(why) => (None, Some(format!("not sampled: {why}"))),
        },
    };
    // A cold build starts from nothing: what was built before does not matter.
    let mut previous_settings = match plan.scenario {
        Scenario::Cold => None,
        _ => last_settings(plan),
    };
    for run in 1..=plan.runs.max(1) {
        let mut warm_up = None;
        match &plan.scenario {
            Scenario::AsIs | Scenario::Program { .. } => {}
            Scenario::Cold => {
                on_phase(&Phase::Cleaning);
                clean(plan, &plan.packages)?;
            }
            Scenario::Touch { path } | Scenario::Edit { path, .. } => {
                on_phase(&Phase::WarmUp { run });
                // The crates a hot build recompiles (the changed one and what depends on
                // it) must hold incremental state made with this plan's profiling flags,
                // which cargo's fingerprint does not see: rustc would throw state made
                // without them away and compile those crates whole. A new mtime makes the
                // warm-up rebuild them with these flags (the old mtime is put back).
                let stale = last_wrapper_flags(plan) != Some(wrapper_flags(plan));
                let touched = if stale {
                    Some(Edit::touch(path, &plan.journal_dir())?)
                } else {
                    None
                };
                let warm = one_build(plan, &scratch_dir(plan, "warm-up"), None, &mut |_| {});
                if let Some(touched) = touched {
                    touched.restore()?;
                }
                let warm = warm?;
                remove_dir(&scratch_dir(plan, "warm-up"));
                if !warm.success {
                    return Err(BuildError::BuildFailed(format!(
                        "the warm-up build failed: {}",
                        first_error(warm.failure.as_ref(), &warm.cargo_output_tail)
                    )));
                }
                remember_settings(plan, &settings_of(plan, &warm));
                remember_wrapper_flags(plan);
                warm_up = warm_up_of(&warm);
            }
        }
        check_interrupt()?;
        let id = run_id();
        let run_dir = plan.runs_dir().join(&id);
        on_phase(&Phase::Measuring {
            run,
            of: plan.runs.max(1),
        });
        let binary_size;
        let measurement = match &plan.scenario {
            Scenario::Touch { path } => {
                let touched = Edit::touch(path, &plan.journal_dir())?;
                let measured = one_build(plan, &run_dir, perf.as_deref(), &mut on_progress);
                binary_size = binary_size_of(plan);
                let after = after_successful(&measured, &mut after_build);
                touched.restore()?;
                after?;
                measured?
            }
            Scenario::Edit { path, functions } => {
                let edit = Edit::apply_to(path, *functions, &plan.journal_dir())?;
                let measured = one_build(plan, &run_dir, perf.as_deref(), &mut on_progress);
                binary_size = binary_size_of(plan);
                let after = after_successful(&measured, &mut after_build);
                edit.restore()?;
                // The file is back, with its old mtime, so cargo would take what it just
                // built from the edited text as up to date. Drop that from the measured
                // build's target directory: the next warm-up rebuilds the original.
                if let Some(package) = &plan.edited_package {
                    clean(plan, std::slice::from_ref(package))?;
                }
                after?;
                measured?
            }
            _ => {
                let measured = one_build(plan, &run_dir, perf.as_deref(), &mut on_progress)?;
                binary_size = binary_size_of(plan);
                if measured.success {
                    after_build()?;
                }
                measured
            }
        };
        check_interrupt()?;
        let profile_dir = match &plan.self_profile {
            Some(_) => Some(collect_profiles(plan, &run_dir)?),
            None => None,
        };
        let mut measurement = measurement;
        let samples = perf
            .as_deref()
            .and_then(|perf| fold_run_samples(perf, &run_dir, &mut measurement.notes));
        if let Some(why) = &not_sampled {
            measurement.notes.push(why.clone());
        }
        let settings = settings_of(plan, &measurement);
        if measurement.success {
            remember_settings(plan, &settings);
            remember_wrapper_flags(plan);
        }
        let previous = previous_settings.take().filter(|p| *p != settings);
        let reasons_from = Some(measurement.reasons_from.to_string());
        let measurement_success = measurement.success;
        let measurement_wrappers = measurement.wrappers.clone();
        let measurement_cached = measurement.cached_units.clone();
        let phase_measures = match &profile_dir {
            Some(dir) if measurement_success => {
                phase_measures_in(std::slice::from_ref(dir), plan.cores)
            }
            _ => Vec::new(),
        };
        let units = measurement.units;
        let record = RunRecord {
            schema: RUN_SCHEMA.to_string(),
            id,
            workspace_root: plan.workspace_root.clone(),
            command: plan.command.clone(),
            cargo_args: plan.cargo_args.clone(),
            scenario: plan.scenario.clone(),
            run,
            started_at_ns: measurement.started_at_ns,
            success: measurement.success,
            exit_code: measurement.exit_code,
            totals: build_totals(&units, measurement.wall_ns, plan.cores),
            critical_path: critical_path(&units, measurement.wall_ns),
            units,
            fresh_units: measurement.fresh_units,
            exact_dependencies: measurement.exact_dependencies,
            notes: measurement.notes,
            run_dir: run_dir.clone(),
            profile_dir,
            cargo_output_tail: measurement.cargo_output_tail,
            failure: measurement.failure,
            rebuild_reasons: Some(measurement.rebuild_reasons),
            reasons_from,
            settings: Some(settings),
            previous_settings: previous,
            warm_up,
            machine: Some(machine.clone()),
            wrappers: measurement_wrappers,
            cached_units: measurement_cached,
            samples,
            binary_size_bytes: binary_size.filter(|_| measurement_success),
            phase_measures,
            program: None,
        };
        let json = serde_json::to_vec_pretty(&record).expect("a run record serializes");
        let path = run_dir.join("run.json");
        std::fs::write(&path, json).map_err(|e| BuildError::Io {
            what: "writing".into(),
            path,
            source: e,
        })?;
        let failed = !record.success;
        records.push(record);
        if failed {
            break;
        }
    }
    Ok(records)
}

/// Builds once, unmeasured, so that a hot scenario's first warm-up is a rebuild like every
/// later one rather than a whole build from scratch (whose writes still being flushed
/// made the first measured run of each variant ~1.7x slower here). Returns what the
/// wrapper recorded of its rustc processes: in a hot scenario, the only build that
/// compiles the dependencies, and so the proof of settings that reach only them.
///
/// The records are kept, with those of earlier first builds, in `<state>/compiled/units`:
/// a target directory built by a plan holds what those builds compiled, so they prove its
/// settings even when this build found everything fresh.
pub fn prime(plan: &BuildPlan) -> Result<Vec<crate::UnitRecord>, BuildError> {
    let dir = scratch_dir(plan, "prime");
    let built = one_build(plan, &dir, None, &mut |_| {});
    let kept = plan.state_dir.join("compiled");
    let _ = std::fs::create_dir_all(kept.join("units"));
    if let Ok(entries) = std::fs::read_dir(dir.join("units")) {
        for entry in entries.flatten() {
            let _ = std::fs::rename(entry.path(), kept.join("units").join(entry.file_name()));
        }
    }
    remove_dir(&dir);
    let built = built?;
    if built.success {
        remember_wrapper_flags(plan);
        Ok(crate::read_records(&kept).0)
    } else {
        Err(BuildError::BuildFailed(format!(
            "the build failed: {}",
            first_error(built.failure.as_ref(), &built.cargo_output_tail)
        )))
    }
}

/// The settings a build of the plan was made with: the flags from the environment cargo
/// sees (the plan's own over buildscope's), the command line's selection, the features.
fn settings_of(plan: &BuildPlan, measurement: &crate::Measurement) -> BuildSettings {
    let (rustflags, rustflags_from) =
        rustflags_from_env(|name| crate::user_wrappers::build_var(&plan.env, name));
    let mut environment = timing_environment(std::env::vars());
    environment.extend(timing_environment(plan.env.iter().cloned()));
    BuildSettings {
        rustflags,
        rustflags_from,
        selection: selection_of(&plan.cargo_args),
        features: measurement.features.clone(),
        environment,
    }
}

/// The size of the executables the plan's build leaves in its profile's output folder
/// (`target/debug`, `target/<triple>/release`, ...); `None` when there are none.
fn binary_size_of(plan: &BuildPlan) -> Option<u64> {
    let profile = crate::workspace::cargo_profile(&plan.cargo_args);
    let folder = match profile.as_str() {
        "dev" | "test" => "debug".to_string(),
        "bench" => "release".to_string(),
        other => other.to_string(),
    };
    let target = plan
        .cargo_args
        .iter()
        .position(|a| a == "--target")
        .and_then(|i| plan.cargo_args.get(i + 1));
    let dir = match target {
        Some(triple) => plan.target_dir.join(triple),
        None => plan.target_dir.clone(),
    };
    Some(crate::experiment::binaries_size(&dir, &folder)).filter(|&bytes| bytes > 0)
}

/// Folds the measured build's samples into the run folder (the raw perf files, large,
/// removed); says how many in the notes.
fn fold_run_samples(perf: &Path, run_dir: &Path, notes: &mut Vec<String>) -> Option<PathBuf> {
    let dir = run_dir.join("samples");
    let out = run_dir.join(crate::sampling::SAMPLES_FILE);
    let profiles: Vec<PathBuf> = std::fs::read_dir(run_dir.join("profiles"))
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    let folded = crate::sampling::fold_samples(perf, &dir, &out, &profiles);
    remove_dir(&dir);
    match folded {
        Ok(0) => {
            notes.push("sampled, but perf recorded no samples of the selected crates".into());
            None
        }
        Ok(cpu_ns) => {
            notes.push(format!(
                "sampled with perf: {:.2} s of the selected crates' rustc CPU time, in {}",
                cpu_ns as f64 / 1e9,
                crate::sampling::SAMPLES_FILE
            ));
            Some(out)
        }
        Err(why) => {
            notes.push(format!("the samples could not be read: {why}"));
            None
        }
    }
}

/// Where the settings of the last build into the plan's target directory are kept.
fn settings_file(plan: &BuildPlan) -> PathBuf {
    // One file per target directory, named the same from run to run.
    let hash = crate::machine::stable_hash(&plan.target_dir.to_string_lossy());
    plan.state_dir
        .join("settings")
        .join(format!("{hash:016x}.json"))
}

/// What the wrapper adds to rustc's command lines in this plan's builds (self-profiling,
/// for which crates, which events): cargo's fingerprint does not see it.
fn wrapper_flags(plan: &BuildPlan) -> String {
    match &plan.self_profile {
        None => "none".to_string(),
        Some(p) => format!(
            "self-profile {} events {}",
            p.crates.join(","),
            p.events.as_deref().unwrap_or("default")
        ),
    }
}

fn wrapper_flags_file(plan: &BuildPlan) -> PathBuf {
    settings_file(plan).with_extension("wrapper")
}

/// The wrapper's flags of the last build into the plan's target directory (`None`: no build
/// recorded them).
fn last_wrapper_flags(plan: &BuildPlan) -> Option<String> {
    std::fs::read_to_string(wrapper_flags_file(plan)).ok()
}

/// Best effort: without it the next hot run's warm-up rebuilds the changed crate once more.
fn remember_wrapper_flags(plan: &BuildPlan) {
    remember(&wrapper_flags_file(plan), wrapper_flags(plan).as_bytes());
}

fn last_settings(plan: &BuildPlan) -> Option<BuildSettings> {
    let text = std::fs::read(settings_file(plan)).ok()?;
    serde_json::from_slice(&text).ok()
}

/// Best effort: without it a later run only misses naming a change of settings.
fn remember_settings(plan: &BuildPlan, settings: &BuildSettings) {
    if let Ok(json) = serde_json::to_vec_pretty(settings) {
        remember(&settings_file(plan), &json);
    }
}

/// Writes a file of the state folder, its folder made first; best effort (see the callers).
fn remember(path: &Path, contents: &[u8]) {
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = std::fs::write(path, contents);
}

fn after_successful(
    measured: &Result<crate::Measurement, BuildError>,
    after_build: &mut impl FnMut() -> Result<(), BuildError>,
) -> Result<(), BuildError> {
    match measured {
        Ok(m) if m.success => after_build(),
        _ => Ok(()),
    }
}

fn check_interrupt() -> Result<(), BuildError> {
    if interrupted() {
        Err(BuildError::Interrupted)
    } else {
        Ok(())
    }
}

fn one_build(
    plan: &BuildPlan,
    run_dir: &Path,
    perf: Option<&Path>,
    on_progress: &mut dyn FnMut(Progress),
) -> Result<crate::Measurement, BuildError> {
    let live = plan.live_profile_dir();
    if plan.self_profile.is_some() {
        // Profiles of earlier builds (a warm-up's) must not be taken for this one's.
        remove_dir(&live);
    }
    let request = BuildRequest {
        cargo: plan.cargo.clone(),
        command: plan.command.clone(),
        cargo_args: plan.cargo_args.clone(),
        cwd: plan.cwd.clone(),
        target_dir: plan.target_dir.clone(),
        run_dir: run_dir.to_path_buf(),
        self_profile: plan.self_profile.clone(),
        profile_dir: plan.self_profile.as_ref().map(|_| live),
        env: plan.env.clone(),
        show_diagnostics: plan.show_diagnostics,
        cargo_timings: plan.cargo_timings,
        cargo_log: plan.cargo_log,
        sample: perf.map(|p| (p.to_path_buf(), run_dir.join("samples"))),
        // What the explanation after the build asks (a rebuild's: no manifests).
        ask_packages_of: Some((plan.workspace_root.clone(), !plan.scenario.is_hot())),
    };
    measure(&request, on_progress)
}

/// Moves the profiles rustc wrote into the run's folder.
fn collect_profiles(plan: &BuildPlan, run_dir: &Path) -> Result<PathBuf, BuildError> {
    let target = run_dir.join("profiles");
    std::fs::create_dir_all(&target).map_err(|e| BuildError::Io {
        what: "creating".into(),
        path: target.clone(),
        source: e,
    })?;
    if let Ok(entries) = std::fs::read_dir(plan.live_profile_dir()) {
        for entry in entries.flatten() {
            let from = entry.path();
            if let Some(name) = from.file_name() {
                let to = target.join(name);
                std::fs::rename(&from, &to).map_err(|e| BuildError::Io {
                    what: "moving".into(),
                    path: from.clone(),
                    source: e,
                })?;
            }
        }
    }
    Ok(target)
}

fn scratch_dir(plan: &BuildPlan, name: &str) -> PathBuf {
    plan.state_dir.join("scratch").join(name)
}

fn remove_dir(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
}

/// A cold start: the selected packages (or everything) removed from the measured build's
/// target directory. The user's own target directory is never touched.
fn clean(plan: &BuildPlan, packages: &[String]) -> Result<(), BuildError> {
    if packages.is_empty() {
        remove_dir(&plan.target_dir);
        return Ok(());
    }
    let mut command = std::process::Command::new(&plan.cargo);
    command
        .arg("clean")
        .arg("--quiet")
        .current_dir(&plan.cwd)
        .env("CARGO_TARGET_DIR", &plan.target_dir)
        .envs(plan.env.iter().map(|(k, v)| (k, v)));
    for package in packages {
        command.arg("-p").arg(package);
    }
    // `--release`/`--profile`/`--target` decide which part of the target dir is cleaned.
    let mut args = plan.cargo_args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--release" | "-r" => {
                command.arg("--release");
            }
            "--profile" | "--target" | "--manifest-path" => {
                command.arg(arg);
                if let Some(value) = args.next() {
                    command.arg(value);
                }
            }
            a if a.starts_with("--profile=")
                || a.starts_with("--target=")
                || a.starts_with("--manifest-path=") =>
            {
                command.arg(a);
            }
            _ => {}
        }
    }
    let status = command.status().map_err(|e| BuildError::Io {
        what: "running".into(),
        path: plan.cargo.clone(),
        source: e,
    })?;
    if !status.success() {
        return Err(BuildError::CommandFailed(format!(
            "cargo clean failed ({status}) before the cold build"
        )));
    }
    Ok(())
}

/// `20261124-031502-3fa9c1-12345-1`: when, which machine, which process, which run; sorts
/// by time. `<date>-<time>-<machine>-<pid>-<n>`, n counting the runs of this process (an
/// experiment makes many runs a second); the machine because a team's history takes runs
/// from many machines whose process ids collide.
pub(crate) fn run_id() -> String {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
    ids::run_id(
        now_secs(),
        &crate::machine::machine_id(),
        std::process::id(),
        n,
    )
}

/// The id of an experiment: like its runs' without the run number.
pub fn experiment_id() -> String {
    ids::experiment_id(
        now_secs(),
        &crate::machine::machine_id(),
        std::process::id(),
    )
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
