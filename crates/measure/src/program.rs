//! Profiling the user's own program (`buildscope profile`): build it the way cargo would
//! (line tables and frame pointers for this build only, in a target directory of
//! buildscope's own), run it `--runs` times under `perf record` with call graphs, and keep
//! each run as a record of the history with its folded stacks (never the raw perf data).
//!
//! The program runs under a small timer, buildscope itself started with
//! [`TIMED_OUTPUT_VARIABLE`]: it starts the program, waits for it with `wait4` and writes
//! the program's own wall time, CPU time and peak memory, so that neither perf's work nor
//! the timer's counts in them. Its samples (the timer sleeping in `wait4`) are left out.

use std::ffi::OsString;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use buildscope_analysis::{
    function_times, BuildTotals, CriticalPath, ProgramRun, RunRecord, Scenario, KEPT_FUNCTIONS,
    PROGRAM_COMMAND, RUN_SCHEMA,
};
use serde::{Deserialize, Serialize};

use crate::sample_join::{parse_script, Sample};
use crate::BuildError;

/// Set (to a file path) when buildscope is started as the timer of a program run.
pub const TIMED_OUTPUT_VARIABLE: &str = "BUILDSCOPE_TIMED_OUTPUT";

/// The program's output, kept in each run folder (shown only with `--show-output`).
pub const STDOUT_FILE: &str = "stdout.txt";
pub const STDERR_FILE: &str = "stderr.txt";

/// What to build: cargo's selection and profile flags, passed as given.
#[derive(Debug, Clone)]
pub struct CargoTarget {
    /// The workspace (or package) folder cargo runs in.
    pub dir: PathBuf,
    /// `--bin tinyc --release --features x -p pkg`, as the user wrote them.
    pub cargo_args: Vec<String>,
    /// The cargo profile they select (`dev`, `release`, a custom one).
    pub profile: String,
    /// buildscope's own target directory for these builds.
    pub target_dir: PathBuf,
}

/// One `buildscope profile`.
#[derive(Debug, Clone)]
pub struct ProgramPlan {
    /// Where the runs are filed in the history (the workspace, or the current folder).
    pub workspace_root: PathBuf,
    /// The folder the run folders go in.
    pub runs_dir: PathBuf,
    /// The program: built by cargo first, or already built (`--command`).
    pub build: Option<CargoTarget>,
    /// `build` was done already (a check's confirming runs): the executable and the cargo
    /// command that made it.
    pub built: Option<(PathBuf, String)>,
    /// With `build`, the arguments after the executable; else the whole command line.
    pub argv: Vec<OsString>,
    pub runs: u32,
    /// Fed to every run's stdin (else the runs inherit buildscope's).
    pub stdin: Option<PathBuf>,
    /// Pass the program's output through instead of keeping it in the run folder.
    pub show_output: bool,
    /// Sample with perf (when it may).
    pub sample: bool,
    /// Samples per second (perf's default, 4000, when `None`): more samples make a short
    /// run's function times steadier.
    pub frequency: Option<u32>,
    /// The size of the input, in the user's unit (functions, lines, bytes), when known
    /// (`--input-size`, or the size `scale --run` measures): kept with each run, and runs
    /// compare only with runs of the same size.
    pub input_size: Option<u64>,
}

/// Where a profile is.
#[derive(Debug, Clone, PartialEq)]
pub enum ProgramPhase {
    Building,
    Running { run: u32, of: u32 },
    Folding { run: u32 },
}

/// What the timer writes of one run of the program.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Timed {
    /// The timer's own process, whose samples are not the program's.
    timer_pid: u32,
    wall_ns: u64,
    cpu_ns: u64,
    peak_rss_bytes: u64,
    exit_code: Option<i32>,
    signal: Option<i32>,
}

/// Whether this process was started as the timer of a program run.
pub fn invoked_as_timer() -> bool {
    std::env::var_os(TIMED_OUTPUT_VARIABLE).is_some()
}

/// The timer: runs `args` (the program and its arguments), waits for it, writes what it
/// measured to the file [`TIMED_OUTPUT_VARIABLE`] names, and exits as the program did.
pub fn run_timer(args: &[OsString]) -> i32 {
    let Some(out) = std::env::var_os(TIMED_OUTPUT_VARIABLE) else {
        return 2;
    };
    let Some((program, rest)) = args.split_first() else {
        eprintln!("buildscope: no program to time");
        return 2;
    };
    match time_child(
        Command::new(program)
            .args(rest)
            .env_remove(TIMED_OUTPUT_VARIABLE),
    ) {
        Ok(timed) => {
            let json = serde_json::to_vec(&timed).expect("a timing serializes");
            if let Err(e) = std::fs::write(&out, json) {
                eprintln!("buildscope: writing {}: {e}", Path::new(&out).display());
                return 2;
            }
            match (timed.exit_code, timed.signal) {
                (Some(code), _) => code,
                (None, Some(signal)) => 128 + signal,
                (None, None) => 1,
            }
        }
        Err(e) => {
            eprintln!("buildscope: {}: {e}", Path::new(program).display());
            127
        }
    }
}

/// Starts `command` and waits for it with `wait4`: its wall time from spawn to exit, and
/// the CPU time and peak memory of it and its children alone.
fn time_child(command: &mut Command) -> std::io::Result<Timed> {
    let started = Instant::now();
    let child = command.spawn()?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for the child we started and own.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = loop {
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == -1 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        break r;
    };
    let wall_ns = started.elapsed().as_nanos() as u64;
    if waited == -1 {
        return Err(std::io::Error::last_os_error());
    }
    let tv = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1_000;
    let (exit_code, signal) = if libc::WIFEXITED(status) {
        (Some(libc::WEXITSTATUS(status)), None)
    } else if libc::WIFSIGNALED(status) {
        (None, Some(libc::WTERMSIG(status)))
    } else {
        (None, None)
    };
    Ok(Timed {
        timer_pid: std::process::id(),
        wall_ns,
        cpu_ns: tv(usage.ru_utime) + tv(usage.ru_stime),
        peak_rss_bytes: usage.ru_maxrss as u64 * 1024,
        exit_code,
        signal,
    })
}

/// Builds the program as `target` says, with line tables, no stripping and frame pointers
/// for this build only; cargo's progress and diagnostics go to stderr as usual. Returns
/// the executable and the command line that built it.
pub fn build_program(target: &CargoTarget) -> Result<(PathBuf, String), BuildError> {
    let profile_var = target.profile.to_uppercase().replace('-', "_");
    let mut cargo = Command::new(crate::cargo());
    cargo
        .current_dir(&target.dir)
        .arg("build")
        .args(&target.cargo_args)
        .arg("--message-format=json-render-diagnostics")
        .env("CARGO_TARGET_DIR", &target.target_dir)
        .env(
            format!("CARGO_PROFILE_{profile_var}_DEBUG"),
            "line-tables-only",
        )
        .env(format!("CARGO_PROFILE_{profile_var}_STRIP"), "false")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    // Frame pointers make perf's call graphs whole. RUSTFLAGS, when set, wins over every
    // config file, so the flag joins it; else it joins the config's `build.rustflags`
    // (cargo concatenates arrays across config sources).
    match std::env::var("RUSTFLAGS") {
        Ok(flags) => {
            cargo.env("RUSTFLAGS", format!("{flags} -C force-frame-pointers=yes"));
        }
        Err(_) => {
            cargo.args([
                "--config",
                "build.rustflags=[\"-C\", \"force-frame-pointers=yes\"]",
            ]);
        }
    }
    let mut child = cargo
        .spawn()
        .map_err(|e| BuildError::CommandFailed(format!("running cargo: {e}")))?;
    let mut executables = Vec::new();
    let stdout = child.stdout.take().expect("piped");
    for line in std::io::BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        let Ok(message) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if message["reason"] == "compiler-artifact" {
            if let Some(exe) = message["executable"].as_str() {
                let name = message["target"]["name"]
                    .as_str()
                    .unwrap_or("?")
                    .to_string();
                executables.push((name, PathBuf::from(exe)));
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| BuildError::CommandFailed(format!("waiting for cargo: {e}")))?;
    let built_with = buildscope_analysis::command_line("build", &target.cargo_args);
    if !status.success() {
        return Err(BuildError::BuildFailed(format!(
            "`{built_with}` failed (its errors are above)"
        )));
    }
    match executables.len() {
        1 => Ok((executables.remove(0).1, built_with)),
        0 => Err(BuildError::BadArgument(format!(
            "`{built_with}` built no executable: name one with --bin NAME or --example NAME"
        ))),
        _ => {
            let names: Vec<String> = executables.into_iter().map(|(n, _)| n).collect();
            Err(BuildError::BadArgument(format!(
                "`{built_with}` built {} executables ({}): choose one with --bin NAME or --example NAME",
                names.len(),
                names.join(", ")
            )))
        }
    }
}

/// Runs the program `plan.runs` times (built first when the plan says so) and returns a
/// record per run, each written to its folder as `run.json` with its folded stacks
/// (`samples.folded`). A run that exits non-zero is recorded (`success: false`) and ends
/// the profile.
pub fn profile_program(
    plan: &ProgramPlan,
    mut on_phase: impl FnMut(&ProgramPhase),
) -> Result<Vec<RunRecord>, BuildError> {
    let (argv, built_with): (Vec<OsString>, Option<String>) = match &plan.build {
        Some(target) => {
            let (exe, built_with) = match &plan.built {
                Some(built) => built.clone(),
                None => {
                    on_phase(&ProgramPhase::Building);
                    build_program(target)?
                }
            };
            let argv = std::iter::once(exe.into_os_string())
                .chain(plan.argv.iter().cloned())
                .collect();
            (argv, Some(built_with))
        }
        None => (plan.argv.clone(), None),
    };
    let program = argv
        .first()
        .ok_or_else(|| BuildError::BadArgument("no program to run".into()))?;
    let program = resolve_program(Path::new(program))?;
    let (perf, not_sampled) = match plan.sample {
        false => (
            None,
            Some("sampling was turned off (--no-sample)".to_string()),
        ),
        true => match program_sampler() {
            Ok(perf) => (Some(perf), None),
            Err(why) => (None, Some(why)),
        },
    };
    if perf.is_some() && has_symbol_table(&program) == Some(false) {
        return Err(BuildError::BadArgument(format!(
            "{}: no symbol table (stripped), so its samples could not be named; rebuild it \
             with `strip = false` (`buildscope profile --bin NAME` does), or time it alone \
             with --no-sample",
            program.display()
        )));
    }
    let shown_argv = shown_argv(&argv, built_with.is_some(), &plan.workspace_root);
    // The input's size belongs to what the runs compare by: the same command line on a
    // bigger input (a file rewritten, another stdin) is not the same program run.
    let scenario = Scenario::Program {
        command_line: match plan.input_size {
            Some(size) => format!("{} (input size {size})", shown_argv.join(" ")),
            None => shown_argv.join(" "),
        },
    };
    let machine = crate::this_machine(&crate::workspace::rustc_version().release);
    let mut records = Vec::new();
    for run in 1..=plan.runs.max(1) {
        on_phase(&ProgramPhase::Running {
            run,
            of: plan.runs.max(1),
        });
        let id = crate::run::run_id();
        let run_dir = plan.runs_dir.join(&id);
        std::fs::create_dir_all(&run_dir).map_err(BuildError::io("creating", &run_dir))?;
        let started_at_ns = crate::now_ns();
        let timed = run_once(plan, &program, &argv[1..], &run_dir, perf.as_deref())?;
        let (functions, sampled_ns, samples) = match &perf {
            Some(perf) => {
                on_phase(&ProgramPhase::Folding { run });
                let folded = fold_run(perf, &run_dir, timed.timer_pid)?;
                let total: u64 = folded.iter().map(|(_, w)| w).sum();
                let path = run_dir.join(crate::SAMPLES_FILE);
                write_folded(&path, &folded)?;
                let _ = std::fs::remove_file(run_dir.join(PERF_DATA));
                let mut functions = function_times(&folded, timed.cpu_ns);
                functions.truncate(KEPT_FUNCTIONS);
                let sampled = if total > 0 { timed.cpu_ns } else { 0 };
                (functions, sampled, Some(path))
            }
            None => (Vec::new(), 0, None),
        };
        let success = timed.exit_code == Some(0);
        let record = RunRecord {
            schema: RUN_SCHEMA.to_string(),
            id,
            workspace_root: plan.workspace_root.clone(),
            command: PROGRAM_COMMAND.to_string(),
            cargo_args: shown_argv.clone(),
            scenario: scenario.clone(),
            run: run as usize,
            started_at_ns,
            success,
            exit_code: timed.exit_code,
            totals: BuildTotals {
                wall_ns: timed.wall_ns,
                cpu_ns: timed.cpu_ns,
                average_parallelism: timed.cpu_ns as f64 / timed.wall_ns.max(1) as f64,
                cores: machine.cores,
                build_script_compile_ns: 0,
                build_script_run_ns: 0,
                proc_macro_ns: 0,
                link_ns: 0,
                final_link_ns: None,
                units: 0,
            },
            critical_path: CriticalPath::default(),
            units: Vec::new(),
            fresh_units: 0,
            exact_dependencies: false,
            notes: Vec::new(),
            run_dir: run_dir.clone(),
            profile_dir: None,
            cargo_output_tail: if success {
                Vec::new()
            } else {
                last_lines(&run_dir.join(STDERR_FILE), 10)
            },
            failure: None,
            rebuild_reasons: None,
            reasons_from: None,
            settings: None,
            previous_settings: None,
            warm_up: None,
            machine: Some(machine.clone()),
            binary_size_bytes: None,
            wrappers: Vec::new(),
            cached_units: Vec::new(),
            samples,
            phase_measures: Vec::new(),
            program: Some(ProgramRun {
                argv: shown_argv.clone(),
                executable: program.clone(),
                built_with: built_with.clone(),
                signal: timed.signal,
                peak_rss_bytes: timed.peak_rss_bytes,
                sampled_ns,
                functions,
                not_sampled: not_sampled.clone(),
                input_size: plan.input_size,
            }),
        };
        let path = run_dir.join("run.json");
        let json = serde_json::to_vec_pretty(&record).expect("a run record serializes");
        std::fs::write(&path, json).map_err(BuildError::io("writing", &path))?;
        records.push(record);
        if !success {
            break;
        }
    }
    Ok(records)
}

const PERF_DATA: &str = "perf.data";

/// `perf record` without its side-band thread for BPF events, which a user program has
/// none of: that thread polls with a one-second timeout and perf waits for it at exit,
/// which made every recording a second longer (measured: `perf record -- true` 1.12 s,
/// 0.30 s with this flag).
const NO_BPF_EVENTS: &str = "--no-bpf-event";

/// perf, when it may sample here and knows [`NO_BPF_EVENTS`] (perf 5.1 and later); else
/// the general check, which says why not. Asked once per process: `scale --run` profiles
/// every size, `--check` runs again to confirm, and each probe is a perf recording.
fn program_sampler() -> Result<PathBuf, String> {
    static ANSWER: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    ANSWER.get_or_init(probe_program_sampler).clone()
}

fn probe_program_sampler() -> Result<PathBuf, String> {
    let perf = crate::sampling::sampler_path()?;
    let probe = tempfile::tempdir().map_err(|e| format!("a scratch folder for perf: {e}"))?;
    let quick = Command::new(&perf)
        .args(["record", "-q", NO_BPF_EVENTS, "-o"])
        .arg(probe.path().join("probe.data"))
        .args(["--", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match quick {
        Ok(status) if status.success() => Ok(perf),
        _ => crate::sampling::sampler().and_then(|_| {
            Err("this perf does not know --no-bpf-event (perf 5.1 or later does)".to_string())
        }),
    }
}

/// Whether an ELF executable has a symbol table (`.symtab`, which `strip` removes);
/// `None` for what is not a 64-bit little-endian ELF file (a script, another format), which
/// is not judged.
pub fn has_symbol_table(path: &Path) -> Option<bool> {
    use std::io::{Read, Seek, SeekFrom};
    const SHT_SYMTAB: u32 = 2;
    let mut file = std::fs::File::open(path).ok()?;
    let mut header = [0u8; 64];
    file.read_exact(&mut header).ok()?;
    if &header[..4] != b"\x7fELF" || header[4] != 2 || header[5] != 1 {
        return None;
    }
    let u16_at = |b: &[u8], at: usize| u16::from_le_bytes([b[at], b[at + 1]]) as usize;
    let section_offset = u64::from_le_bytes(header[0x28..0x30].try_into().ok()?);
    let (entry_size, count) = (u16_at(&header, 0x3a), u16_at(&header, 0x3c));
    if entry_size < 8 || count == 0 {
        return Some(false);
    }
    let mut sections = vec![0u8; entry_size * count];
    file.seek(SeekFrom::Start(section_offset)).ok()?;
    file.read_exact(&mut sections).ok()?;
    Some(sections.chunks(entry_size).any(|section| {
        u32::from_le_bytes([section[4], section[5], section[6], section[7]]) == SHT_SYMTAB
    }))
}

/// The program as a path that runs: a name without a `/` is looked up on PATH, as a shell
/// would, so that a missing program is one clear error before perf is involved.
fn resolve_program(program: &Path) -> Result<PathBuf, BuildError> {
    let found = if program.components().count() > 1 {
        program.is_file().then(|| program.to_path_buf())
    } else {
        crate::workspace::on_path(program)
    };
    found.ok_or_else(|| {
        BuildError::BadArgument(format!(
            "{}: no such program{}",
            program.display(),
            if program.components().count() > 1 {
                ""
            } else {
                " on PATH"
            }
        ))
    })
}

/// The command line as the history shows it: a program buildscope built is named by its
/// file name (its path is buildscope's target directory), and arguments inside the
/// workspace are written relative to it, so that the same profile run elsewhere compares.
fn shown_argv(argv: &[OsString], built: bool, root: &Path) -> Vec<String> {
    argv.iter()
        .enumerate()
        .map(|(i, arg)| {
            let path = Path::new(arg);
            if i == 0 && built {
                return path
                    .file_name()
                    .map_or_else(|| arg.to_string_lossy(), |n| n.to_string_lossy())
                    .into_owned();
            }
            match path.strip_prefix(root) {
                Ok(inside) if path.is_absolute() && !inside.as_os_str().is_empty() => {
                    inside.display().to_string()
                }
                _ => arg.to_string_lossy().into_owned(),
            }
        })
        .collect()
}

/// One run: the timer (under perf when sampling) running the program, its output kept in
/// the run folder (or shown), stdin from `plan.stdin` or inherited.
fn run_once(
    plan: &ProgramPlan,
    program: &Path,
    args: &[OsString],
    run_dir: &Path,
    perf: Option<&Path>,
) -> Result<Timed, BuildError> {
    let timing = run_dir.join("timing.json");
    let me = std::env::current_exe().map_err(|e| BuildError::Io {
        what: "finding".into(),
        path: PathBuf::from("buildscope's own executable"),
        source: e,
    })?;
    let mut command = match perf {
        Some(perf) => {
            let mut c = Command::new(perf);
            c.args(["record", "-q", "-g", NO_BPF_EVENTS, "-o"])
                .arg(run_dir.join(PERF_DATA));
            if let Some(hz) = plan.frequency {
                c.arg("-F").arg(hz.to_string());
            }
            c.arg("--").arg(&me);
            c
        }
        None => Command::new(&me),
    };
    command
        .arg(program)
        .args(args)
        .env(TIMED_OUTPUT_VARIABLE, &timing);
    if let Some(stdin) = &plan.stdin {
        let file = std::fs::File::open(stdin).map_err(BuildError::io("reading", stdin))?;
        command.stdin(file);
    }
    if !plan.show_output {
        let out = run_dir.join(STDOUT_FILE);
        let err = run_dir.join(STDERR_FILE);
        command
            .stdout(std::fs::File::create(&out).map_err(BuildError::io("creating", &out))?)
            .stderr(std::fs::File::create(&err).map_err(BuildError::io("creating", &err))?);
    }
    let status = command.status().map_err(|e| {
        BuildError::CommandFailed(format!("running {}: {e}", perf.unwrap_or(&me).display()))
    })?;
    match std::fs::read(&timing) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            BuildError::CommandFailed(format!("{}: unreadable timing: {e}", timing.display()))
        }),
        // The timer never ran the program (it could not start it, or perf stopped first).
        Err(_) => {
            let said = last_lines(&run_dir.join(STDERR_FILE), 3).join(" ");
            Err(BuildError::CommandFailed(format!(
                "{} did not run ({status}){}",
                program.display(),
                if said.is_empty() {
                    String::new()
                } else {
                    format!(": {said}")
                }
            )))
        }
    }
}

/// The run's samples folded: the program's processes only (not the timer), frames
/// demangled, outermost first, the unwinder's `[unknown]` roots dropped; kernel frames
/// marked `[kernel]`. Sorted by stack.
fn fold_run(perf: &Path, run_dir: &Path, timer_pid: u32) -> Result<Vec<(String, u64)>, BuildError> {
    let data = run_dir.join(PERF_DATA);
    let script = Command::new(perf)
        .args([
            "script",
            "--no-demangle",
            "--ns",
            "-F",
            "comm,pid,tid,time,period,ip,sym,dso",
            "-i",
        ])
        .arg(&data)
        .stderr(Stdio::null())
        .output()
        .map_err(|e| BuildError::CommandFailed(format!("perf script {}: {e}", data.display())))?;
    if !script.status.success() {
        return Err(BuildError::CommandFailed(format!(
            "perf script {}: {}",
            data.display(),
            script.status
        )));
    }
    let samples = parse_script(&String::from_utf8_lossy(&script.stdout));
    Ok(fold_samples(&samples, timer_pid))
}

/// Folds perf samples (frames as `symbol (dso)`) into `stack weight` pairs.
fn fold_samples(samples: &[Sample], timer_pid: u32) -> Vec<(String, u64)> {
    let mut folded: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    let mut demangled: std::collections::HashMap<&str, String> = std::collections::HashMap::new();
    for sample in samples.iter().filter(|s| s.pid != timer_pid) {
        let mut stack = String::new();
        let frames = sample
            .frames
            .iter()
            .skip_while(|f| f.starts_with("[unknown]"));
        for frame in frames {
            let name = demangled
                .entry(frame.as_str())
                .or_insert_with(|| frame_name(frame));
            if !stack.is_empty() {
                stack.push(';');
            }
            stack.push_str(name);
        }
        if stack.is_empty() {
            stack.push_str("[unknown]");
        }
        *folded.entry(stack).or_default() += sample.weight;
    }
    let mut out: Vec<(String, u64)> = folded.into_iter().collect();
    out.sort();
    out
}

/// `_ZN5tinyc7resolve6lookup17h…E (/path/tinyc)` → `tinyc::resolve::lookup`;
/// `exc_page_fault ([kernel.kallsyms])` → `exc_page_fault [kernel]`.
fn frame_name(frame: &str) -> String {
    let (symbol, dso) = match frame.rsplit_once(" (") {
        Some((symbol, dso)) if dso.ends_with(')') => (symbol.trim(), &dso[..dso.len() - 1]),
        _ => (frame.trim(), ""),
    };
    if dso.starts_with("[kernel") {
        return format!("{symbol} [kernel]");
    }
    if symbol == "[unknown]" {
        return match Path::new(dso).file_name() {
            Some(file) if !dso.starts_with('[') => {
                format!("[unknown in {}]", file.to_string_lossy())
            }
            _ => "[unknown]".into(),
        };
    }
    match rustc_demangle::try_demangle(symbol) {
        Ok(name) => format!("{name:#}").replace(';', ":"),
        Err(_) => symbol.replace(';', ":"),
    }
}

fn write_folded(path: &Path, folded: &[(String, u64)]) -> Result<(), BuildError> {
    use std::io::Write;
    let file = std::fs::File::create(path).map_err(BuildError::io("writing", path))?;
    let mut out = std::io::BufWriter::new(file);
    for (stack, weight) in folded {
        writeln!(out, "{stack} {weight}").map_err(BuildError::io("writing", path))?;
    }
    out.flush().map_err(BuildError::io("writing", path))
}

/// A command line split into words as a POSIX shell would for the simple cases: spaces
/// separate, single quotes keep everything, double quotes keep all but `\"` and `\\`, a
/// backslash outside quotes keeps the next character. No variables, globs or pipes (a
/// pipeline is run with `--command 'sh -c "…"'`). An unclosed quote is an error.
pub fn split_command_line(line: &str) -> Result<Vec<OsString>, BuildError> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if let Some(w) = word.take() {
                    words.push(OsString::from(w));
                }
            }
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => w.push(c),
                        None => return Err(unclosed(line, '\'')),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\')) => w.push(c),
                            Some(c) => {
                                w.push('\\');
                                w.push(c);
                            }
                            None => return Err(unclosed(line, '"')),
                        },
                        Some(c) => w.push(c),
                        None => return Err(unclosed(line, '"')),
                    }
                }
            }
            '\\' => {
                if let Some(next) = chars.next() {
                    word.get_or_insert_with(String::new).push(next);
                }
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word.map(OsString::from));
    if words.is_empty() {
        return Err(BuildError::BadArgument(
            "--command: empty command line".into(),
        ));
    }
    Ok(words)
}

fn unclosed(line: &str, quote: char) -> BuildError {
    BuildError::BadArgument(format!("--command: unclosed {quote} in `{line}`"))
}

/// The last `n` non-empty lines of a file (the program's stderr), for a failed run.
fn last_lines(path: &Path, n: usize) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    lines[lines.len().saturating_sub(n)..].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_split_like_a_shell() {
        let words = |l: &str| -> Vec<String> {
            split_command_line(l)
                .unwrap()
                .into_iter()
                .map(|w| w.into_string().unwrap())
                .collect()
        };
        assert_eq!(words("  ./cc  big.src -O2 "), ["./cc", "big.src", "-O2"]);
        assert_eq!(
            words("cc 'a b' \"c \\\"d\\\"\" e\\ f ''"),
            ["cc", "a b", "c \"d\"", "e f", ""]
        );
        assert!(split_command_line("cc 'open").is_err());
        assert!(split_command_line("   ").is_err());
    }

    #[test]
    fn a_stripped_executable_is_told_from_one_with_symbols() {
        let me = std::env::current_exe().unwrap();
        assert_eq!(has_symbol_table(&me), Some(true));
        let dir = tempfile::tempdir().unwrap();
        let stripped = dir.path().join("stripped");
        let status = Command::new("strip")
            .arg("-o")
            .arg(&stripped)
            .arg(&me)
            .status();
        if status.is_ok_and(|s| s.success()) {
            assert_eq!(has_symbol_table(&stripped), Some(false));
        }
        let script = dir.path().join("script.sh");
        std::fs::write(&script, "#!/bin/sh\n").unwrap();
        assert_eq!(has_symbol_table(&script), None);
    }

    #[test]
    fn frames_are_demangled_and_kernel_frames_marked() {
        assert_eq!(
            frame_name("_ZN5tinyc7resolve6lookup17h6d4c8a85f11211b2E (/x/tinyc)"),
            "tinyc::resolve::lookup"
        );
        assert_eq!(
            frame_name("_RNvNtCsjrHSEGnQ3l9_3std2rt19lang_start_internal (/x/tinyc)"),
            "std::rt::lang_start_internal"
        );
        assert_eq!(
            frame_name("exc_page_fault ([kernel.kallsyms])"),
            "exc_page_fault [kernel]"
        );
        assert_eq!(
            frame_name("__memcmp_evex_movbe (/usr/lib/libc.so.6)"),
            "__memcmp_evex_movbe"
        );
        assert_eq!(frame_name("[unknown] (/x/tinyc)"), "[unknown in tinyc]");
    }

    #[test]
    fn the_timers_samples_and_unknown_roots_are_left_out() {
        let sample = |pid, frames: &[&str], weight| Sample {
            comm: "p".into(),
            pid,
            tid: pid,
            time_ns: 0,
            weight,
            frames: frames.iter().map(|f| f.to_string()).collect(),
        };
        let folded = fold_samples(
            &[
                sample(1, &["wait4 ([kernel.kallsyms])"], 5),
                sample(2, &["[unknown] ([unknown])", "main (/x/p)", "f (/x/p)"], 3),
                sample(2, &["main (/x/p)", "f (/x/p)"], 2),
            ],
            1,
        );
        assert_eq!(folded, vec![("main;f".to_string(), 5)]);
    }
}
