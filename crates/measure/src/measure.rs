//! Runs one cargo build with the wrapper in place and turns what cargo and the wrapper
//! recorded into a timeline of units.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use buildscope_analysis::{
    assign_reasons, parse_dirty_line, BuildFailure, RebuildReason, Unit, UnitKind, UnitReason,
    WrapperUse,
};
use serde::{Deserialize, Serialize};

use crate::cargo_data::{
    package_name_version, parse_timings_html, parse_unit_graph, unit_kind, GraphUnit, TimingUnit,
    UnitGraph,
};
use crate::record::{read_records, UnitRecord};
use crate::user_wrappers::{sccache_hits, user_wrappers};
use crate::wrapper::{
    now_ns, wrapper_program, ENV_INNER_WRAPPER, ENV_PERF, ENV_PROFILE_CRATES, ENV_PROFILE_DIR,
    ENV_PROFILE_EVENTS, ENV_RUN_DIR, ENV_SAMPLE_DIR, ENV_WRAPPER,
};
use crate::BuildError;

/// Which crates to self-profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelfProfile {
    /// Package or crate names, or `*` for all.
    pub crates: Vec<String>,
    /// `-Zself-profile-events=` value, if any.
    pub events: Option<String>,
}

/// One cargo invocation to measure.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    /// The cargo executable.
    pub cargo: PathBuf,
    /// `build` or `check`.
    pub command: String,
    /// Arguments passed through to cargo (`--release`, `-p`, `--features`, ...).
    pub cargo_args: Vec<String>,
    /// The directory cargo runs in.
    pub cwd: PathBuf,
    /// The target directory the measured build uses.
    pub target_dir: PathBuf,
    /// Where records, profiles and logs of this measurement go.
    pub run_dir: PathBuf,
    pub self_profile: Option<SelfProfile>,
    /// Where rustc writes self-profiles (absolute), when `self_profile` is set.
    pub profile_dir: Option<PathBuf>,
    /// Extra environment for cargo (see [`crate::BuildPlan::env`]).
    pub env: Vec<(String, String)>,
    /// Pass rustc's rendered diagnostics on to stderr.
    pub show_diagnostics: bool,
    /// Ask cargo for its `--timings` report (build-script runs on the timeline; ~10 ms
    /// more per build).
    pub cargo_timings: bool,
    /// Ask cargo for its unstable build-analysis log too (`-Zbuild-analysis`, under
    /// `$CARGO_HOME/log`) and take the rebuild reasons from it.
    pub cargo_log: bool,
    /// `perf` and the folder its recordings go to: the self-profiled crates' rustc run
    /// under `perf record`.
    pub sample: Option<(PathBuf, PathBuf)>,
    /// A workspace root and whether its manifests are wanted: asked of cargo
    /// ([`crate::local_packages`]) while cargo lists the units, so that the explanation
    /// after the build finds the answer ready, and neither ever competes with the build.
    pub ask_packages_of: Option<(PathBuf, bool)>,
}

/// What a build reports while it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// The build started; `total` units if cargo's unit graph said. What is compiling at
    /// any moment can be read with [`crate::compiling_now`] on `run_dir`.
    Started {
        total: Option<usize>,
        run_dir: PathBuf,
    },
    /// A unit finished (or was found fresh).
    UnitDone { name: String, fresh: bool },
}

/// The measured build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// Nanoseconds since the Unix epoch when cargo was started.
    pub started_at_ns: u64,
    pub wall_ns: u64,
    pub success: bool,
    pub exit_code: Option<i32>,
    /// Units that ran, times from the start of the build.
    pub units: Vec<Unit>,
    /// Units cargo found up to date.
    pub fresh_units: usize,
    /// Whether the units' dependencies come from cargo's unit graph (else from the
    /// timing report's "unblocked" edges only).
    pub exact_dependencies: bool,
    /// Things worth knowing about the measurement itself.
    pub notes: Vec<String>,
    /// The last lines cargo printed, for a failed build.
    pub cargo_output_tail: Vec<String>,
    /// The first compiler error, for a failed build.
    pub failure: Option<BuildFailure>,
    /// Why each unit that ran was not fresh, as cargo said.
    pub rebuild_reasons: Vec<UnitReason>,
    /// Where the reasons came from: `cargo -v` or `cargo build-analysis log`.
    pub reasons_from: &'static str,
    /// The features each package was compiled with, by `name version` (from the unit
    /// graph; all of the package's units together).
    pub features: BTreeMap<String, Vec<String>>,
    /// The user's rustc wrappers the build went through.
    pub wrappers: Vec<WrapperUse>,
    /// Units a compiler cache served rather than rustc compiled (sccache's hits).
    pub cached_units: Vec<usize>,
}

/// Where rebuild reasons come from.
pub const REASONS_FROM_VERBOSE: &str = "cargo -v";
pub const REASONS_FROM_LOG: &str = "cargo build-analysis log";

/// Runs the build and measures it.
pub fn measure(
    request: &BuildRequest,
    mut progress: impl FnMut(Progress),
) -> Result<Measurement, BuildError> {
    for sub in ["units", "logs", "active"] {
        let dir = request.run_dir.join(sub);
        std::fs::create_dir_all(&dir).map_err(BuildError::io("creating", &dir))?;
    }
    let profile_dir = request
        .self_profile
        .as_ref()
        .and(request.profile_dir.clone());
    if let Some(dir) = &profile_dir {
        std::fs::create_dir_all(dir).map_err(BuildError::io("creating", dir))?;
    }

    let mut notes = Vec::new();
    let graph = std::thread::scope(|scope| {
        if let Some((root, with_manifests)) = &request.ask_packages_of {
            scope.spawn(move || crate::local_packages(root, *with_manifests));
        }
        unit_graph(request)
    });
    let graph = match graph {
        Ok(graph) => Some(graph),
        Err(e) => {
            notes.push(format!(
                "no unit graph from cargo ({e}); dependencies are approximate"
            ));
            None
        }
    };
    let buildable = graph.as_ref().map(|g| g.units.len());
    progress(Progress::Started {
        total: buildable,
        run_dir: request.run_dir.clone(),
    });

    let mut command = Command::new(&request.cargo);
    command
        .arg(&request.command)
        .args(request.cargo_timings.then_some("--timings"))
        .arg(diagnostics_format())
        // Verbose for the reasons (`Dirty <package>: <reason>`): cargo's stderr is read
        // here, never shown, so the user's terminal does not get the extra lines.
        .arg("-v")
        .args(&request.cargo_args)
        .current_dir(&request.cwd)
        .env("CARGO_TARGET_DIR", &request.target_dir)
        .envs(request.env.iter().map(|(k, v)| (k, v)))
        .env(ENV_WRAPPER, "1")
        .env(ENV_RUN_DIR, &request.run_dir)
        .env(
            "RUSTC_WRAPPER",
            wrapper_program().map_err(BuildError::io("locating", Path::new("buildscope")))?,
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if request.cargo_log {
        // Unstable: on stable cargo only with RUSTC_BOOTSTRAP, which the user asked for.
        command
            .args(["-Z", "build-analysis"])
            .env("CARGO_BUILD_ANALYSIS_ENABLED", "true")
            .env("RUSTC_BOOTSTRAP", "1");
    }
    // A wrapper the user's cargo would run (sccache, ...: from the environment or any
    // config file) runs inside ours; a workspace wrapper cargo still runs inside ours.
    let wrappers = user_wrappers(&request.cargo, &request.cwd, &request.env);
    match wrappers.iter().find(|w| w.role == "rustc-wrapper") {
        Some(inner) => command.env(ENV_INNER_WRAPPER, &inner.program),
        None => command.env_remove(ENV_INNER_WRAPPER),
    };
    let sccache = wrappers
        .iter()
        .find(|w| w.role == "rustc-wrapper" && w.is_sccache());
    let hits_before = sccache.and_then(|w| sccache_hits(&w.program));
    match (&request.self_profile, &profile_dir) {
        (Some(selection), Some(dir)) => {
            command
                .env(ENV_PROFILE_DIR, dir)
                .env(ENV_PROFILE_CRATES, selection.crates.join(","));
            if let Some(events) = &selection.events {
                command.env(ENV_PROFILE_EVENTS, events);
            }
        }
        _ => {
            command.env_remove(ENV_PROFILE_DIR);
        }
    }
    match (&request.sample, &request.self_profile) {
        (Some((perf, dir)), Some(_)) => {
            std::fs::create_dir_all(dir).map_err(BuildError::io("creating", dir))?;
            command.env(ENV_SAMPLE_DIR, dir).env(ENV_PERF, perf);
        }
        _ => {
            command.env_remove(ENV_SAMPLE_DIR).env_remove(ENV_PERF);
        }
    }

    let started_at_ns = now_ns();
    let mut child = command
        .spawn()
        .map_err(BuildError::io("running", &request.cargo))?;
    let stderr = child.stderr.take().expect("piped");
    let log_path = request.run_dir.join("logs").join("cargo.log");
    let log_for_thread = log_path.clone();
    let stderr_thread = std::thread::spawn(move || keep_cargo_stderr(stderr, &log_for_thread));

    let mut fresh_units = 0;
    let mut failure = None;
    let stdout = BufReader::new(child.stdout.take().expect("piped"));
    for line in stdout.lines() {
        let Ok(line) = line else { break };
        match serde_json::from_str::<CargoMessage>(&line) {
            Ok(CargoMessage::CompilerArtifact { target, fresh }) => {
                let target = target.name;
                if fresh {
                    fresh_units += 1;
                }
                progress(Progress::UnitDone {
                    name: target,
                    fresh,
                });
            }
            Ok(CargoMessage::BuildScriptExecuted { package_id }) => progress(Progress::UnitDone {
                name: format!("{} (build script)", package_name_version(&package_id).0),
                fresh: false,
            }),
            Ok(CargoMessage::CompilerMessage {
                message,
                package_id,
                target,
            }) => {
                if failure.is_none() && message.level.as_deref() == Some("error") {
                    failure = Some(failure_of(&package_id, &target, &message));
                }
                if let (true, Some(rendered)) = (request.show_diagnostics, message.rendered) {
                    // Warnings and errors reach the user as cargo would show them.
                    let _ = std::io::stderr().write_all(rendered.as_bytes());
                }
            }
            _ => {}
        }
    }
    let status = child
        .wait()
        .map_err(BuildError::io("waiting for", &request.cargo))?;
    let end_ns = now_ns();
    // Markers of rustc processes that died with the build.
    let _ = std::fs::remove_dir_all(request.run_dir.join("active"));
    let CargoStderr {
        tail: cargo_output_tail,
        dirty,
    } = stderr_thread.join().unwrap_or_default();

    let timings_path = request
        .target_dir
        .join("cargo-timings")
        .join("cargo-timing.html");
    let timings = match std::fs::read_to_string(&timings_path) {
        _ if !request.cargo_timings => Vec::new(),
        // A report older than this build is not this build's.
        Ok(html) if modified_after(&timings_path, started_at_ns) => match parse_timings_html(&html)
        {
            Ok(units) => units,
            Err(e) => {
                notes.push(e.to_string());
                Vec::new()
            }
        },
        _ => {
            if status.success() {
                notes.push("cargo wrote no --timings report; build-script runs are missing".into());
            }
            Vec::new()
        }
    };
    let (records, unreadable) = read_records(&request.run_dir);
    if unreadable > 0 {
        notes.push(format!("{unreadable} unit records could not be read"));
    }
    let units = join_units(graph.as_ref(), &timings, &records, started_at_ns);
    let mut rebuild_reasons = assign_reasons(&units, &dirty);
    let mut reasons_from = REASONS_FROM_VERBOSE;
    if request.cargo_log {
        let logged = crate::build_analysis::log_dir()
            .and_then(|dir| {
                crate::build_analysis::find_log(&dir, &request.target_dir, started_at_ns)
            })
            .and_then(|path| std::fs::read_to_string(path).ok())
            .and_then(|text| crate::build_analysis::reasons_from_log(&text, &units, &request.cwd));
        match logged {
            Some(reasons) => {
                // A unit the log does not mention keeps its reason from the text.
                for reason in &mut rebuild_reasons {
                    if let Some(logged) = reasons.iter().find(|r| r.unit == reason.unit) {
                        reason.reason = logged.reason.clone();
                    }
                }
                reasons_from = REASONS_FROM_LOG;
            }
            None => notes.push(
                "cargo wrote no build-analysis log for this build; reasons are from `cargo -v`"
                    .into(),
            ),
        }
    }
    let features = graph.as_ref().map(features_by_package).unwrap_or_default();
    let cached_units = match (sccache, hits_before) {
        (Some(w), Some(before)) => sccache_hits(&w.program)
            .map(|after| served_from_cache(&units, after.saturating_sub(before) as usize))
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    if let Some(graph) = &graph {
        // Every unit of the graph that did not run was up to date.
        fresh_units = graph.units.len().saturating_sub(units.len());
    }
    Ok(Measurement {
        started_at_ns,
        wall_ns: end_ns.saturating_sub(started_at_ns),
        success: status.success(),
        exit_code: status.code(),
        units,
        fresh_units,
        exact_dependencies: graph.is_some(),
        notes,
        cargo_output_tail,
        failure,
        rebuild_reasons,
        reasons_from,
        features,
        wrappers,
        cached_units,
    })
}

/// The units sccache served: it counts its hits, not which units they were, and a hit
/// takes milliseconds where compiling takes longer, so the `hits` quickest compiled units.
fn served_from_cache(units: &[Unit], hits: usize) -> Vec<usize> {
    let mut compiled: Vec<&Unit> = units
        .iter()
        .filter(|u| u.kind != UnitKind::BuildScriptRun)
        .collect();
    compiled.sort_by_key(|u| (u.duration_ns(), u.id));
    let mut ids: Vec<usize> = compiled.into_iter().take(hits).map(|u| u.id).collect();
    ids.sort_unstable();
    ids
}

/// The features each package of the graph is compiled with (its units' together).
fn features_by_package(graph: &UnitGraph) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for unit in &graph.units {
        let (name, version) = package_name_version(&unit.pkg_id);
        let features = out.entry(format!("{name} {version}")).or_default();
        for feature in &unit.features {
            if !features.contains(feature) {
                features.push(feature.clone());
            }
        }
        features.sort();
    }
    out
}

fn modified_after(path: &Path, epoch_ns: u64) -> bool {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .is_some_and(|d| d.as_nanos() as u64 + 1_000_000_000 >= epoch_ns)
}

/// What cargo's stderr said.
#[derive(Default)]
struct CargoStderr {
    /// Its last lines (without the verbose ones), for a failed build.
    tail: Vec<String>,
    /// Its `Dirty` lines: (package, version, reason).
    dirty: Vec<(String, String, RebuildReason)>,
}

/// Copies cargo's stderr to the run's log, keeps its last lines and its rebuild reasons.
fn keep_cargo_stderr(stderr: impl std::io::Read, log_path: &Path) -> CargoStderr {
    const TAIL: usize = 40;
    let mut log = std::fs::File::create(log_path).ok();
    let mut out = CargoStderr::default();
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        if let Some(log) = log.as_mut() {
            let _ = writeln!(log, "{line}");
        }
        let word = line.split_whitespace().next().unwrap_or("");
        if word == "Dirty" {
            if let Some(dirty) = parse_dirty_line(&line) {
                out.dirty.push(dirty);
            }
            continue;
        }
        // What `-v` adds is no part of what went wrong.
        if matches!(word, "Fresh" | "Running") {
            continue;
        }
        out.tail.push(line);
        if out.tail.len() > TAIL {
            out.tail.remove(0);
        }
    }
    out
}

#[derive(Deserialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
enum CargoMessage {
    CompilerArtifact {
        target: MessageTarget,
        fresh: bool,
    },
    BuildScriptExecuted {
        package_id: String,
    },
    CompilerMessage {
        message: RenderedMessage,
        #[serde(default)]
        package_id: String,
        target: Option<MessageTarget>,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct MessageTarget {
    name: String,
    #[serde(default)]
    kind: Vec<String>,
}

#[derive(Deserialize)]
struct RenderedMessage {
    rendered: Option<String>,
    level: Option<String>,
    /// The diagnostic's first line, without its `error[E…]:` head.
    message: Option<String>,
    code: Option<DiagnosticCode>,
}

#[derive(Deserialize)]
struct DiagnosticCode {
    code: String,
}

/// The crate a compiler error came from and the error as rustc's first line reads it
/// (`error[E0308]: mismatched types`).
fn failure_of(
    package_id: &str,
    target: &Option<MessageTarget>,
    message: &RenderedMessage,
) -> BuildFailure {
    let head = match &message.code {
        Some(code) => format!("error[{}]", code.code),
        None => "error".to_string(),
    };
    let first_error = message
        .message
        .as_deref()
        .and_then(|m| m.lines().next())
        .map(|line| format!("{head}: {line}"));
    let package = (!package_id.is_empty()).then(|| package_name_version(package_id).0);
    let target = target
        .as_ref()
        .map(|t| match t.kind.first().map(String::as_str) {
            Some("lib" | "rlib" | "dylib" | "cdylib" | "staticlib" | "proc-macro") => {
                "lib".to_string()
            }
            Some("custom-build") => "build script".to_string(),
            Some(kind) => format!("{kind} \"{}\"", t.name),
            None => t.name.clone(),
        });
    BuildFailure {
        package,
        target,
        first_error,
    }
}

/// Diagnostics rendered in colour only where they go to a terminal that wants colour,
/// as cargo itself would: a log or a pipe gets plain text.
fn diagnostics_format() -> &'static str {
    use std::io::IsTerminal;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    match std::io::stderr().is_terminal() && !no_color {
        true => "--message-format=json-diagnostic-rendered-ansi",
        false => "--message-format=json",
    }
}

/// `cargo <command> --unit-graph`: the units and their dependencies, without building.
fn unit_graph(request: &BuildRequest) -> Result<UnitGraph, BuildError> {
    let mut command = Command::new(&request.cargo);
    command
        .arg(&request.command)
        .args(["--unit-graph", "-Z", "unstable-options"])
        .args(&request.cargo_args)
        .current_dir(&request.cwd)
        .env("CARGO_TARGET_DIR", &request.target_dir)
        .envs(request.env.iter().map(|(k, v)| (k, v)))
        // Allows the unstable flag on stable for this query alone; it builds nothing.
        .env("RUSTC_BOOTSTRAP", "1");
    // The same wrapper as the build (here it records nothing: no run folder): cargo keeps
    // what `rustc -vV` and the target's `--print` queries said in the target directory,
    // keyed by rustc *and wrapper*, and a query without it made every measured build ask
    // rustc again (~10 ms of a hot rebuild).
    if let Ok(wrapper) = wrapper_program() {
        command.env("RUSTC_WRAPPER", wrapper).env(ENV_WRAPPER, "1");
        command.env_remove(ENV_RUN_DIR);
        if let Some(inner) = std::env::var_os("RUSTC_WRAPPER").filter(|w| !w.is_empty()) {
            command.env(ENV_INNER_WRAPPER, inner);
        }
    }
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| BuildError::Io {
            what: "running".into(),
            path: request.cargo.clone(),
            source: e,
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        return Err(BuildError::CargoOutput(format!(
            "cargo --unit-graph failed: {first}"
        )));
    }
    parse_unit_graph(&String::from_utf8_lossy(&output.stdout))
}

fn graph_kind(unit: &GraphUnit) -> UnitKind {
    let kind = unit.target.kind.first().map(String::as_str).unwrap_or("");
    unit_kind(&unit.mode, kind)
}

fn record_kind(record: &UnitRecord) -> UnitKind {
    let crate_name = record.crate_name.as_deref().unwrap_or("");
    if record.test {
        UnitKind::Test
    } else if crate_name.starts_with("build_script_") {
        UnitKind::BuildScriptCompile
    } else if record.crate_types.iter().any(|t| t == "proc-macro") {
        UnitKind::ProcMacro
    } else if record.crate_types.iter().any(|t| t == "bin") {
        UnitKind::Bin
    } else if record.crate_types.is_empty() || record.crate_types.iter().any(|t| t.ends_with("lib"))
    {
        UnitKind::Lib
    } else {
        UnitKind::Other
    }
}

/// Cargo's report lists up-to-date units too, at 0 s for 0 s; nothing ran for them.
fn looks_fresh(timing: &TimingUnit) -> bool {
    timing.start == 0.0 && timing.duration == 0.0
}

/// A key that a unit graph unit and a wrapper record of the same unit share.
fn record_key(package: &str, version: &str, kind: UnitKind, crate_name: &str) -> String {
    format!(
        "{package}\0{version}\0{}\0{}",
        kind.as_str(),
        crate_name.replace('-', "_")
    )
}

/// Joins the three views of a build into one timeline. Units run in this build are those
/// with a timing entry or a wrapper record; times come from the wrapper where it saw the
/// unit (nanoseconds), else from cargo's report (10 ms steps), shifted onto the same clock.
fn join_units(
    graph: Option<&UnitGraph>,
    timings: &[TimingUnit],
    records: &[UnitRecord],
    started_at_ns: u64,
) -> Vec<Unit> {
    let mut records_by_key: HashMap<String, Vec<&UnitRecord>> = HashMap::new();
    for record in records {
        let key = record_key(
            record.package.as_deref().unwrap_or(""),
            record.version.as_deref().unwrap_or(""),
            record_kind(record),
            record.crate_name.as_deref().unwrap_or(""),
        );
        records_by_key.entry(key).or_default().push(record);
    }
    let timing_by_index: HashMap<usize, &TimingUnit> = timings.iter().map(|t| (t.i, t)).collect();
    let rel = |epoch: u64| epoch.saturating_sub(started_at_ns);

    // Cargo's report counts from its own start: find the offset to ours from units both saw.
    let mut offsets: Vec<i128> = Vec::new();

    struct Draft<'a> {
        id: usize,
        package: String,
        version: String,
        target: String,
        kind: UnitKind,
        record: Option<&'a UnitRecord>,
        timing: Option<&'a TimingUnit>,
        deps: Vec<usize>,
    }
    let mut drafts: Vec<Draft> = Vec::new();
    match graph {
        Some(graph) => {
            for (index, unit) in graph.units.iter().enumerate() {
                let (package, version) = package_name_version(&unit.pkg_id);
                let kind = graph_kind(unit);
                // rustc's crate name is the target's with `_` for `-` (`build_script_build`).
                let crate_name = unit.target.name.clone();
                let record = records_by_key
                    .get_mut(&record_key(&package, &version, kind, &crate_name))
                    .and_then(|v| {
                        if v.is_empty() {
                            None
                        } else {
                            Some(v.remove(0))
                        }
                    });
                let timing = timing_by_index
                    .get(&index)
                    .copied()
                    .filter(|t| t.name == package && t.version == version)
                    .filter(|t| !looks_fresh(t));
                if record.is_none() && timing.is_none() {
                    continue; // fresh: nothing ran
                }
                drafts.push(Draft {
                    id: index,
                    package,
                    version,
                    target: unit.target.name.clone(),
                    kind,
                    record,
                    timing,
                    deps: unit.dependencies.iter().map(|d| d.index).collect(),
                });
            }
        }
        None => {
            // Without the graph: cargo's report is the unit list, its unblock edges the deps.
            for timing in timings.iter().filter(|t| !looks_fresh(t)) {
                let kind = if timing.is_build_script_run() {
                    UnitKind::BuildScriptRun
                } else if timing.target.contains("build-script") {
                    UnitKind::BuildScriptCompile
                } else if timing.target.contains("\"bin\"") {
                    UnitKind::Bin
                } else if timing.target.contains("test") {
                    UnitKind::Test
                } else {
                    UnitKind::Lib
                };
                let deps = timings
                    .iter()
                    .filter(|t| {
                        t.unblocked_units.contains(&timing.i)
                            || t.unblocked_rmeta_units.contains(&timing.i)
                    })
                    .map(|t| t.i)
                    .collect();
                let record = records_by_key
                    .iter_mut()
                    .find(|(key, v)| {
                        !v.is_empty()
                            && key.starts_with(&format!(
                                "{}\0{}\0{}\0",
                                timing.name,
                                timing.version,
                                kind.as_str()
                            ))
                    })
                    .map(|(_, v)| v.remove(0));
                drafts.push(Draft {
                    id: timing.i,
                    package: timing.name.clone(),
                    version: timing.version.clone(),
                    target: timing.target.trim().to_string(),
                    kind,
                    record,
                    timing: Some(timing),
                    deps,
                });
            }
        }
    }
    for draft in &drafts {
        if let (Some(record), Some(timing)) = (draft.record, draft.timing) {
            offsets.push(rel(record.start_ns) as i128 - (timing.start * 1e9) as i128);
        }
    }
    offsets.sort_unstable();
    let offset = offsets.get(offsets.len() / 2).copied().unwrap_or(0);
    let from_report = |seconds: f64| ((seconds * 1e9) as i128 + offset).max(0) as u64;

    let ran: std::collections::HashSet<usize> = drafts.iter().map(|d| d.id).collect();
    let kinds: HashMap<usize, UnitKind> = drafts.iter().map(|d| (d.id, d.kind)).collect();
    drafts
        .iter()
        .map(|d| {
            let (start_ns, end_ns, rmeta_ns) = match (d.record, d.timing) {
                (Some(r), _) => (rel(r.start_ns), rel(r.end_ns), r.rmeta_ns.map(rel)),
                (None, Some(t)) => (
                    from_report(t.start),
                    from_report(t.start + t.duration),
                    t.rmeta_offset().map(|m| from_report(t.start + m)),
                ),
                (None, None) => unreachable!("drafts ran"),
            };
            let deps: Vec<usize> = d
                .deps
                .iter()
                .copied()
                .filter(|id| ran.contains(id))
                .collect();
            // A library that only needs its dependencies' metadata starts on their .rmeta
            // (cargo's pipelining); binaries, tests and build scripts need them linked.
            let pipelined = matches!(d.kind, UnitKind::Lib);
            let rmeta_deps = deps
                .iter()
                .copied()
                .filter(|id| pipelined && kinds.get(id) == Some(&UnitKind::Lib))
                .collect();
            Unit {
                linker: d.record.and_then(|r| r.linker.clone()),
                codegen_units: d.record.and_then(|r| {
                    r.codegen_flags
                        .iter()
                        .find_map(|f| f.strip_prefix("-C codegen-units=")?.parse().ok())
                }),
                id: d.id,
                package: d.package.clone(),
                version: d.version.clone(),
                target: d.target.clone(),
                kind: d.kind,
                start_ns,
                rmeta_ns,
                end_ns,
                cpu_ns: d.record.and_then(|r| r.cpu_ns),
                max_rss_bytes: d.record.and_then(|r| r.max_rss_bytes),
                exit_code: d.record.and_then(|r| r.exit_code),
                link_ns: d
                    .record
                    .and_then(|r| Some(r.link_end_ns?.saturating_sub(r.link_start_ns?))),
                deps,
                rmeta_deps,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_ids_give_names_and_versions() {
        assert_eq!(
            package_name_version(
                "registry+https://github.com/rust-lang/crates.io-index#serde@1.0.219"
            ),
            ("serde".into(), "1.0.219".into())
        );
        assert_eq!(
            package_name_version("path+file:///work/ex/geometry#0.1.0"),
            ("geometry".into(), "0.1.0".into())
        );
        assert_eq!(
            package_name_version("path+file:///work/ex/dir#my-crate@0.2.0"),
            ("my-crate".into(), "0.2.0".into())
        );
    }
}
