//! The rustc wrapper: cargo runs `buildscope <rustc> <args>` for every rustc invocation
//! (`RUSTC_WRAPPER`). It is transparent: rustc's exit status, stdout and stderr pass through
//! byte for byte. Around it, it records the unit (times, CPU, peak memory) and, when asked,
//! turns the self-profiler on for the crates selected.

use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::record::{record_path, UnitRecord};

/// Set by buildscope for cargo, so that `buildscope` started as `RUSTC_WRAPPER` knows.
pub const ENV_WRAPPER: &str = "BUILDSCOPE_WRAPPER";
/// The run folder records go to.
pub const ENV_RUN_DIR: &str = "BUILDSCOPE_RUN_DIR";
/// Where self-profiles go (absolute); unset: no profiling.
pub const ENV_PROFILE_DIR: &str = "BUILDSCOPE_PROFILE_DIR";
/// Comma-separated package or crate names to profile, or `*` for all.
pub const ENV_PROFILE_CRATES: &str = "BUILDSCOPE_PROFILE_CRATES";
/// Passed through as `-Zself-profile-events=`.
pub const ENV_PROFILE_EVENTS: &str = "BUILDSCOPE_PROFILE_EVENTS";
/// The user's own `RUSTC_WRAPPER` (e.g. sccache), run inside ours.
pub const ENV_INNER_WRAPPER: &str = "BUILDSCOPE_INNER_WRAPPER";
/// Set to `0` to leave the linker alone (no link times then).
pub const ENV_LINK_SHIM: &str = "BUILDSCOPE_LINK_SHIM";
/// Where the selected crates' rustc samples go (`perf record` runs rustc), and the perf.
pub const ENV_SAMPLE_DIR: &str = "BUILDSCOPE_SAMPLE_DIR";
pub const ENV_PERF: &str = "BUILDSCOPE_PERF";
/// Set (to 1) by the unused-dependency pass: the workspace's own crates are compiled with
/// rustc's `unused_crate_dependencies` lint on.
pub const ENV_LINT_UNUSED: &str = "BUILDSCOPE_LINT_UNUSED";
/// For `buildscope` started by rustc as the linker: the real linker to run.
const ENV_LINKER_REAL: &str = "BUILDSCOPE_LINKER_REAL";
/// For `buildscope` started by rustc as the linker: where to write the link's times.
const ENV_LINK_RECORD: &str = "BUILDSCOPE_LINK_RECORD";

/// Whether this process was started by rustc as the linker (see [`run_linker_shim`]).
pub fn invoked_as_linker() -> bool {
    std::env::var_os(ENV_LINK_RECORD).is_some() && std::env::var_os(ENV_LINKER_REAL).is_some()
}

/// The times of one link, written by the linker shim for its wrapper.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct LinkTimes {
    start_ns: u64,
    end_ns: u64,
    /// Which linker did the work (see [`linker_in_use`]).
    #[serde(default)]
    linker: Option<String>,
}

/// Started by rustc as `-C linker`: runs the real linker with the same arguments and
/// environment, passes its output and exit status through, and notes how long it took.
pub fn run_linker_shim(args: &[OsString]) -> i32 {
    let real = std::env::var_os(ENV_LINKER_REAL).unwrap_or_else(|| "cc".into());
    let record = std::env::var_os(ENV_LINK_RECORD).map(PathBuf::from);
    let mut command = Command::new(&real);
    command
        .args(args)
        .env_remove(ENV_LINKER_REAL)
        .env_remove(ENV_LINK_RECORD);
    let start_ns = now_ns();
    let status = command.status();
    let end_ns = now_ns();
    match status {
        Ok(status) => {
            if let Some(path) = record {
                let times = LinkTimes {
                    start_ns,
                    end_ns,
                    linker: Some(linker_in_use(&real, args)),
                };
                let _ = std::fs::write(&path, serde_json::to_vec(&times).unwrap_or_default());
            }
            exit_code_of(status)
        }
        Err(e) => {
            eprintln!(
                "buildscope: could not run the linker {}: {e}",
                Path::new(&real).display()
            );
            101
        }
    }
}

/// The linker that did the work, from the driver rustc ran and the arguments it gave it:
/// `rust-lld` (rustc's bundled lld, the default on x86_64 Linux since Rust 1.90), `lld`,
/// `mold`, `gold`, `GNU ld` (a C compiler driver's default), or the program's own name when
/// rustc ran a linker directly. The linking finding's levers depend on it.
fn linker_in_use(real: &OsStr, args: &[OsString]) -> String {
    let mut fuse_ld: Option<String> = None;
    let mut bundled = false;
    for arg in args {
        let arg = arg.to_string_lossy();
        if let Some(ld) = arg.strip_prefix("-fuse-ld=") {
            fuse_ld = Some(ld.to_string());
        } else if let Some(path) = arg.strip_prefix("--ld-path=") {
            fuse_ld = Some(path.to_string());
        } else if arg.starts_with("-B") && arg.contains("gcc-ld") {
            bundled = true;
        }
    }
    let program = |path: &str| {
        Path::new(path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.to_string())
    };
    match fuse_ld.as_deref() {
        Some("lld") if bundled => "rust-lld".to_string(),
        Some("bfd") => "GNU ld".to_string(),
        Some(ld) => {
            let name = program(ld);
            name.strip_prefix("ld.").unwrap_or(&name).to_string()
        }
        None => {
            let name = program(&real.to_string_lossy());
            let driver = ["cc", "gcc", "c++", "g++", "clang", "clang++"]
                .iter()
                .any(|d| name == *d || name.ends_with(&format!("-{d}")));
            if driver {
                "GNU ld".to_string()
            } else {
                name
            }
        }
    }
}

/// Takes `-C linker=X` out of rustc's arguments, returning X.
fn take_linker_arg(args: &mut Vec<OsString>) -> Option<OsString> {
    let mut i = 0;
    while i < args.len() {
        let word = args[i].to_string_lossy().into_owned();
        let value = if word == "-C" || word == "--codegen" {
            match args.get(i + 1).map(|v| v.to_string_lossy().into_owned()) {
                Some(next) if next.starts_with("linker=") => {
                    args.remove(i);
                    Some(args.remove(i))
                }
                _ => None,
            }
        } else if word.starts_with("-Clinker=") || word.starts_with("--codegen=linker=") {
            Some(args.remove(i))
        } else {
            None
        };
        match value {
            Some(v) => {
                let v = v.to_string_lossy().into_owned();
                let linker = v
                    .rsplit_once("linker=")
                    .map(|(_, l)| l.to_string())
                    .unwrap_or(v);
                return Some(linker.into());
            }
            None => i += 1,
        }
    }
    None
}

/// Whether rustc will run a linker for these arguments that buildscope can stand in for:
/// linked crate types, built for the host (another target may have another default
/// linker, which buildscope cannot know).
fn links_for_host(invocation: &Invocation, args: &[OsString]) -> bool {
    let linked = invocation.test
        || invocation
            .crate_types
            .iter()
            .any(|t| matches!(t.as_str(), "bin" | "dylib" | "cdylib" | "proc-macro"));
    let cross = args.iter().any(|a| {
        let a = a.to_string_lossy();
        a == "--target" || a.starts_with("--target=")
    });
    linked && !cross && cfg!(target_os = "linux")
}

/// Whether this process was started by cargo as the rustc wrapper.
pub fn invoked_as_wrapper() -> bool {
    std::env::var_os(ENV_WRAPPER).is_some_and(|v| v == "1")
}

/// Nanoseconds since the Unix epoch.
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// What the arguments say about the unit.
#[derive(Debug, Default, PartialEq, Eq)]
struct Invocation {
    crate_name: Option<String>,
    crate_types: Vec<String>,
    test: bool,
    /// `-vV`, `--print`, or reading from stdin: cargo asking rustc about itself.
    query: bool,
    /// The `-C` and `-Z` options cargo passed (`debuginfo=2`, `linker-features=-lld`), as
    /// given: proof of which settings reached rustc.
    codegen_flags: Vec<String>,
}

fn inspect(args: &[OsString]) -> Invocation {
    let mut inv = Invocation::default();
    let mut words = args.iter().map(|a| a.to_string_lossy());
    while let Some(word) = words.next() {
        match word.as_ref() {
            "--crate-name" => inv.crate_name = words.next().map(|w| w.into_owned()),
            "--crate-type" => inv.crate_types.extend(words.next().map(|w| w.into_owned())),
            "--test" => inv.test = true,
            "-C" | "-Z" => {
                if let Some(value) = words.next() {
                    inv.codegen_flags.push(format!("{word} {value}"));
                }
            }
            "-vV" | "-V" | "--version" | "-" => inv.query = true,
            w if w.starts_with("--print") => inv.query = true,
            w => {
                if (w.starts_with("-C") || w.starts_with("-Z")) && w.len() > 2 {
                    inv.codegen_flags.push(format!("{} {}", &w[..2], &w[2..]));
                } else if let Some(name) = w.strip_prefix("--crate-name=") {
                    inv.crate_name = Some(name.to_string());
                } else if let Some(kind) = w.strip_prefix("--crate-type=") {
                    inv.crate_types.push(kind.to_string());
                }
            }
        }
    }
    if inv.crate_name.is_none() {
        inv.query = true;
    }
    inv
}

fn selected_for_profiling(selection: &str, package: Option<&str>, crate_name: &str) -> bool {
    selection.split(',').map(str::trim).any(|s| {
        s == "*" || Some(s) == package || s == crate_name || s.replace('-', "_") == crate_name
    })
}

/// Runs rustc (`args[0]`) with the rest of `args`, recording the unit. Returns the exit
/// code to exit with.
pub fn run_wrapper(args: &[OsString]) -> i32 {
    let Some((rustc, rustc_args)) = args.split_first() else {
        eprintln!("buildscope: started as RUSTC_WRAPPER without a compiler to run");
        return 101;
    };
    let invocation = inspect(rustc_args);
    let run_dir = std::env::var_os(ENV_RUN_DIR).map(PathBuf::from);
    let package = std::env::var("CARGO_PKG_NAME").ok();

    let mut rustc_args = rustc_args.to_vec();
    // Time the link: rustc runs buildscope as its linker, which runs the real one. The
    // linker is an untracked option for rustc's incremental cache, and every build of a
    // plan does the same, so hot builds stay hot.
    let link_record = match (&run_dir, invocation.query) {
        (Some(run_dir), false)
            if links_for_host(&invocation, &rustc_args)
                && std::env::var_os(ENV_LINK_SHIM).is_none_or(|v| v != "0") =>
        {
            match wrapper_program() {
                Ok(shim) => {
                    let real = take_linker_arg(&mut rustc_args).unwrap_or_else(|| "cc".into());
                    let mut flag = OsString::from("linker=");
                    flag.push(shim.as_os_str());
                    rustc_args.push("-C".into());
                    rustc_args.push(flag);
                    Some((
                        real,
                        run_dir
                            .join("units")
                            .join(format!("{}.link", std::process::id())),
                    ))
                }
                Err(_) => None,
            }
        }
        _ => None,
    };
    // The program and its first arguments: rustc, inside the user's wrapper if any, under
    // perf when this crate is sampled.
    let mut program: Vec<OsString> = Vec::new();
    if let (false, Some(crate_name), Some(dir), Some(perf), Ok(selection)) = (
        invocation.query,
        invocation.crate_name.as_deref(),
        std::env::var_os(ENV_SAMPLE_DIR),
        std::env::var_os(ENV_PERF),
        std::env::var(ENV_PROFILE_CRATES),
    ) {
        if selected_for_profiling(&selection, package.as_deref(), crate_name) {
            let file =
                PathBuf::from(dir).join(format!("{crate_name}-{}.perf.data", std::process::id()));
            // The realtime clock: a self-profile's start is in Unix time.
            program.extend([
                perf,
                "record".into(),
                "-q".into(),
                "-g".into(),
                "-k".into(),
                "realtime".into(),
                "-o".into(),
            ]);
            program.push(file.into_os_string());
            program.push("--".into());
        }
    }
    if let Some(inner) = std::env::var_os(ENV_INNER_WRAPPER).filter(|w| !w.is_empty()) {
        program.push(inner);
    }
    program.push(rustc.clone());
    let mut command = Command::new(&program[0]);
    command.args(&program[1..]);
    command.args(&rustc_args);
    if let Some((real, record)) = &link_record {
        command
            .env(ENV_LINKER_REAL, real)
            .env(ENV_LINK_RECORD, record);
    }
    // The unused-dependency pass: the lint on for the workspace's own crates (cargo caps
    // lints of dependencies anyway).
    if std::env::var_os(ENV_LINT_UNUSED).is_some_and(|v| v == "1")
        && std::env::var_os("CARGO_PRIMARY_PACKAGE").is_some()
        && !invocation.query
    {
        command.args(["-W", "unused-crate-dependencies"]);
    }
    // Our own variables stay out of rustc's environment (build scripts run by cargo never
    // see them either: cargo sets them only for the wrapper).
    for var in [
        ENV_WRAPPER,
        ENV_RUN_DIR,
        ENV_PROFILE_DIR,
        ENV_PROFILE_CRATES,
        ENV_PROFILE_EVENTS,
        ENV_INNER_WRAPPER,
        ENV_SAMPLE_DIR,
        ENV_PERF,
        ENV_LINT_UNUSED,
    ] {
        command.env_remove(var);
    }
    let mut self_profiled = false;
    if let (false, Some(crate_name), Some(dir), Some(selection)) = (
        invocation.query,
        invocation.crate_name.as_deref(),
        std::env::var_os(ENV_PROFILE_DIR),
        std::env::var(ENV_PROFILE_CRATES).ok(),
    ) {
        if selected_for_profiling(&selection, package.as_deref(), crate_name) {
            let mut flag = OsString::from("-Zself-profile=");
            flag.push(&dir);
            command.arg(flag);
            if let Ok(events) = std::env::var(ENV_PROFILE_EVENTS) {
                command.arg(format!("-Zself-profile-events={events}"));
            }
            // Allows -Z on stable for this rustc alone.
            command.env("RUSTC_BOOTSTRAP", "1");
            self_profiled = true;
        }
    }

    if invocation.query || run_dir.is_none() {
        return exec_plain(command);
    }
    let run_dir = run_dir.expect("checked above");
    // Lets the progress display say what is compiling now.
    let active = active_marker(&run_dir);
    if let Some(name) = &invocation.crate_name {
        let _ = std::fs::write(&active, package.as_deref().unwrap_or(name));
    }
    let start_ns = now_ns();
    command.stderr(Stdio::piped());
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            eprintln!(
                "buildscope: could not run {}: {e}",
                Path::new(rustc).display()
            );
            return 101;
        }
    };
    let stderr = child.stderr.take().expect("stderr is piped");
    let forwarder = std::thread::spawn(move || forward_stderr(stderr, std::io::stderr()));
    let status = child.wait();
    let rmeta_ns = forwarder.join().unwrap_or(None);
    let end_ns = now_ns();
    let _ = std::fs::remove_file(&active);
    let status = match status {
        Ok(status) => status,
        Err(e) => {
            eprintln!("buildscope: waiting for rustc failed: {e}");
            return 101;
        }
    };
    let (cpu_ns, max_rss_bytes) = children_usage();
    let link = link_record.and_then(|(_, path)| {
        let times = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<LinkTimes>(&bytes).ok());
        let _ = std::fs::remove_file(&path);
        times
    });
    let record = UnitRecord {
        pid: std::process::id(),
        package,
        version: std::env::var("CARGO_PKG_VERSION").ok(),
        crate_name: invocation.crate_name,
        crate_types: invocation.crate_types,
        test: invocation.test,
        start_ns,
        rmeta_ns,
        end_ns,
        cpu_ns,
        max_rss_bytes,
        exit_code: status.code(),
        self_profiled,
        link_start_ns: link.as_ref().map(|l| l.start_ns),
        link_end_ns: link.as_ref().map(|l| l.end_ns),
        linker: link.as_ref().and_then(|l| l.linker.clone()),
        codegen_flags: invocation.codegen_flags,
        rustc: Some(rustc.to_string_lossy().into_owned()),
    };
    if let Err(e) = write_record(&run_dir, &record) {
        warn_once(&run_dir, &format!("buildscope: could not record a unit ({e}); the build goes on, its report will miss units"));
    }
    exit_code_of(status)
}

/// The file that says this process is compiling, under `<run>/active/`.
fn active_marker(run_dir: &Path) -> PathBuf {
    run_dir.join("active").join(std::process::id().to_string())
}

/// The packages compiling at this moment in a run.
pub fn compiling_now(run_dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(run_dir.join("active"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Runs without recording, passing everything through.
fn exec_plain(mut command: Command) -> i32 {
    match command.status() {
        Ok(status) => exit_code_of(status),
        Err(e) => {
            eprintln!("buildscope: could not run the compiler: {e}");
            101
        }
    }
}

fn exit_code_of(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(signal)) => 128 + signal,
        _ => 101,
    }
}

/// Copies rustc's stderr to ours unchanged, chunk by chunk, and notes when rustc announced
/// its metadata (`{"$message_type":"artifact",...,"emit":"metadata"}` with cargo's
/// `--json=artifacts`).
fn forward_stderr(mut from: impl Read, mut out: impl Write) -> Option<u64> {
    const NEEDLE: &[u8] = br#""emit":"metadata""#;
    let mut rmeta_ns = None;
    let mut buffer = vec![0u8; 64 * 1024];
    // The end of the previous chunk, so a needle split across two reads is still found.
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let n = match from.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        let chunk = &buffer[..n];
        let _ = out.write_all(chunk);
        let _ = out.flush();
        if rmeta_ns.is_none() {
            carry.extend_from_slice(chunk);
            if carry.windows(NEEDLE.len()).any(|w| w == NEEDLE) {
                rmeta_ns = Some(now_ns());
            }
            let keep = carry.len().saturating_sub(NEEDLE.len());
            carry.drain(..keep);
        }
    }
    rmeta_ns
}

/// CPU time and peak memory of this process's waited-for children (rustc, and what rustc
/// ran: the linker). The wrapper has one child, so this is that unit.
fn children_usage() -> (Option<u64>, Option<u64>) {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given; RUSAGE_CHILDREN is a valid `who`.
    let ok = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr()) } == 0;
    if !ok {
        return (None, None);
    }
    // SAFETY: getrusage succeeded, so the struct is initialized.
    let usage = unsafe { usage.assume_init() };
    let tv = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1_000;
    let cpu = tv(usage.ru_utime) + tv(usage.ru_stime);
    // Linux reports ru_maxrss in KiB.
    let rss = usage.ru_maxrss as u64 * 1024;
    (Some(cpu), Some(rss))
}

fn write_record(run_dir: &Path, record: &UnitRecord) -> std::io::Result<()> {
    let path = record_path(run_dir, record.pid);
    let tmp = path.with_extension("tmp");
    std::fs::create_dir_all(path.parent().expect("records live in a folder"))?;
    std::fs::write(&tmp, serde_json::to_vec(record)?)?;
    // Rename is atomic: a reader sees a whole record or none.
    std::fs::rename(&tmp, &path)
}

/// Prints a warning the first time any wrapper of this run hits a problem.
fn warn_once(run_dir: &Path, message: &str) {
    let marker = run_dir.join("wrapper-warned");
    let first = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&marker)
        .is_ok()
        || !run_dir.is_dir();
    if first {
        eprintln!("{message}");
    }
}

/// The program cargo should use as `RUSTC_WRAPPER` (and rustc as its linker): this
/// executable. (A separate small wrapper binary was measured: it starts ~0.25 ms sooner,
/// which no hot rebuild showed above noise; see bench/RESULTS.md.)
pub fn wrapper_program() -> std::io::Result<PathBuf> {
    std::env::current_exe()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn reads_the_unit_from_rustc_arguments() {
        let inv = inspect(&os(&[
            "--crate-name",
            "geometry",
            "--edition=2021",
            "src/lib.rs",
            "--crate-type",
            "lib",
            "--emit=dep-info,metadata,link",
        ]));
        assert_eq!(inv.crate_name.as_deref(), Some("geometry"));
        assert_eq!(inv.crate_types, vec!["lib"]);
        assert!(!inv.query && !inv.test);
        assert!(inspect(&os(&["-vV"])).query);
        assert!(inspect(&os(&["-", "--crate-name", "___", "--print=file-names"])).query);
        assert!(inspect(&os(&["--crate-name", "t", "--test", "src/lib.rs"])).test);
    }

    #[test]
    fn the_linker_in_use_is_read_from_the_driver_and_its_arguments() {
        let cc = OsStr::new("cc");
        let bundled = os(&[
            "-fuse-ld=lld",
            "-B/home/u/.rustup/toolchains/x/lib/rustlib/x86_64-unknown-linux-gnu/bin/gcc-ld",
            "-o",
            "app",
        ]);
        assert_eq!(linker_in_use(cc, &bundled), "rust-lld");
        assert_eq!(linker_in_use(cc, &os(&["-fuse-ld=lld"])), "lld");
        assert_eq!(linker_in_use(cc, &os(&["-fuse-ld=mold"])), "mold");
        assert_eq!(
            linker_in_use(cc, &os(&["--ld-path=/usr/bin/ld.mold"])),
            "mold"
        );
        assert_eq!(linker_in_use(cc, &os(&["-fuse-ld=bfd"])), "GNU ld");
        assert_eq!(linker_in_use(cc, &os(&["-o", "app"])), "GNU ld");
        assert_eq!(
            linker_in_use(OsStr::new("/usr/bin/x86_64-linux-gnu-gcc"), &[]),
            "GNU ld"
        );
        assert_eq!(linker_in_use(OsStr::new("/opt/ld.lld"), &[]), "ld.lld");
    }

    #[test]
    fn a_linker_argument_is_taken_out_in_every_spelling() {
        for spelling in [
            vec!["a", "-C", "linker=/usr/bin/clang", "b"],
            vec!["a", "-Clinker=/usr/bin/clang", "b"],
            vec!["a", "--codegen", "linker=/usr/bin/clang", "b"],
        ] {
            let mut args = os(&spelling);
            assert_eq!(take_linker_arg(&mut args), Some("/usr/bin/clang".into()));
            assert_eq!(args, os(&["a", "b"]));
        }
        let mut args = os(&["-C", "opt-level=3"]);
        assert_eq!(take_linker_arg(&mut args), None);
        assert_eq!(args.len(), 2);
    }

    #[test]
    fn profiling_selection_matches_packages_and_crates() {
        assert!(selected_for_profiling("*", Some("serde"), "serde"));
        assert!(selected_for_profiling(
            "a, shapes-derive",
            Some("shapes-derive"),
            "shapes_derive"
        ));
        assert!(selected_for_profiling(
            "shapes-derive",
            None,
            "shapes_derive"
        ));
        assert!(!selected_for_profiling("a,b", Some("c"), "c"));
    }

    #[test]
    fn metadata_notices_are_found_across_reads() {
        struct Chunks(Vec<&'static [u8]>);
        impl Read for Chunks {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                if self.0.is_empty() {
                    return Ok(0);
                }
                let chunk = self.0.remove(0);
                buf[..chunk.len()].copy_from_slice(chunk);
                Ok(chunk.len())
            }
        }
        let mut copied = Vec::new();
        let found = forward_stderr(
            Chunks(vec![
                br#"{"$message_type":"artifact","artifact":"/t/libg.rmeta","emit":"meta"#,
                br#"data"}"#,
            ]),
            &mut copied,
        );
        assert!(found.is_some());
        assert_eq!(
            copied,
            br#"{"$message_type":"artifact","artifact":"/t/libg.rmeta","emit":"metadata"}"#
        );
        assert!(forward_stderr(Chunks(vec![b"warning: unused\n"]), std::io::sink()).is_none());
    }
}
