//! The run model: one measured build as every crate sees it. `buildscope-measure` makes a
//! [`RunRecord`], `buildscope-store` keeps it, `buildscope-output` draws it; it lives here,
//! below all three, so that none of them needs another to know what a run is.
//!
//! A record is written once (`run.json` in its folder, `build --json`) and read back by
//! every command; what a view needs beyond it (a listing's row, a page's data) borrows
//! from it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{BuildSettings, BuildTotals, CriticalPath, Unit, UnitReason, WarmUp};

pub const RUN_SCHEMA: &str = "buildscope.run/1";

/// Everything one measured build left: the document `--json` prints and `run.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub schema: String,
    pub id: String,
    pub workspace_root: PathBuf,
    pub command: String,
    pub cargo_args: Vec<String>,
    pub scenario: Scenario,
    /// 1-based index among `--runs`.
    pub run: usize,
    pub started_at_ns: u64,
    pub success: bool,
    pub exit_code: Option<i32>,
    pub totals: BuildTotals,
    pub critical_path: CriticalPath,
    pub units: Vec<Unit>,
    pub fresh_units: usize,
    pub exact_dependencies: bool,
    pub notes: Vec<String>,
    pub run_dir: PathBuf,
    /// Self-profiles of this build, one per crate, when profiling was on.
    pub profile_dir: Option<PathBuf>,
    pub cargo_output_tail: Vec<String>,
    /// What failed, for a build that did: the crate and the compiler's first error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<BuildFailure>,
    /// Why each unit that ran was not fresh (cargo's reasons); `None` in a record made
    /// before buildscope recorded them.
    #[serde(default)]
    pub rebuild_reasons: Option<Vec<UnitReason>>,
    /// Where the reasons came from (`cargo -v`, `cargo build-analysis log`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasons_from: Option<String>,
    /// The flags, selection and features this build was made with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<BuildSettings>,
    /// The settings of the build before this one into the same target directory, when they
    /// differ from this one's: cargo then builds another copy of what they reach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_settings: Option<BuildSettings>,
    /// The unmeasured build before a hot run's measured one, when it compiled anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warm_up: Option<WarmUp>,
    /// Where it was measured: runs compare only with runs of the same machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<Machine>,
    /// The executables in the profile's output folder after the build, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_size_bytes: Option<u64>,
    /// The user's rustc wrappers the build went through (sccache, ...), as cargo would
    /// have run them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wrappers: Vec<WrapperUse>,
    /// Units served by a compiler cache rather than compiled (by id).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cached_units: Vec<usize>,
    /// The sampled stacks of the selected crates' rustc processes (`samples.folded` in the
    /// run folder), when the build was sampled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples: Option<PathBuf>,
    /// Each self-profiled crate's phase times (`phase:<crate>:<phase>`, ns), summed from
    /// its profiles when the build ended: what the history keeps of a profiled run,
    /// whichever command recorded it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phase_measures: Vec<(String, f64)>,
    /// A run of the user's own program (`buildscope profile`, command `program`) rather
    /// than a build: its arguments, exit, peak memory and functions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<crate::ProgramRun>,
}

impl RunRecord {
    /// `cargo build --release`: what the run measured, as the user would type it.
    pub fn command_line(&self) -> String {
        match &self.program {
            Some(program) => program.command_line(),
            None => command_line(&self.command, &self.cargo_args),
        }
    }

    /// The run's self-profile folder, if it was profiled and the folder is still there.
    pub fn profile_dirs(&self) -> Vec<PathBuf> {
        self.profile_dir
            .iter()
            .filter(|p| p.is_dir())
            .cloned()
            .collect()
    }

    /// The scenario's stable key (`cold`, `touch:src/main.rs`): runs compare only with
    /// runs of the same key.
    pub fn scenario_key(&self) -> String {
        self.scenario.key_in(&self.workspace_root)
    }

    /// What runs must share to compare beyond their workspace, command and scenario: the
    /// machine and toolchain, and the flags and variables that change build times.
    pub fn comparability(&self) -> String {
        let machine = self.machine.as_ref().map(|m| m.key()).unwrap_or_default();
        match self.settings.as_ref().map(|s| s.comparability()) {
            Some(settings) if !settings.is_empty() => format!("{machine} · {settings}"),
            _ => machine,
        }
    }

    /// The measures a run holds beyond its units and times: the binary's size and each
    /// profiled crate's phases. The history keeps exactly these, whoever recorded the run.
    pub fn extra_measures(&self) -> Vec<(String, f64)> {
        self.binary_size_bytes
            .map(|bytes| ("binary-size".to_string(), bytes as f64))
            .into_iter()
            .chain(self.phase_measures.iter().cloned())
            .chain(self.program.iter().flat_map(|p| p.measures()))
            .collect()
    }

    /// The compiler's first error, else cargo's own (`failed to run custom build
    /// command`), else cargo's last line: what a one-line failure quotes.
    pub fn first_error(&self) -> String {
        first_error(self.failure.as_ref(), &self.cargo_output_tail)
    }
}

/// The compiler's first error, else cargo's own first `error…` line, else cargo's last
/// line: what a one-line failure quotes.
pub fn first_error(failure: Option<&BuildFailure>, cargo_output_tail: &[String]) -> String {
    if let Some(error) = failure.and_then(|f| f.first_error.clone()) {
        return error;
    }
    cargo_output_tail
        .iter()
        .map(|l| l.trim())
        .find(|l| l.starts_with("error"))
        .or(cargo_output_tail.last().map(|l| l.trim()))
        .unwrap_or("cargo said nothing")
        .to_string()
}

/// One run as the history lists it: the record's few columns a listing, a comparison
/// and a trend need, without its units (what `runs --json` prints).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRow {
    pub id: String,
    pub workspace_root: PathBuf,
    pub started_at_ns: u64,
    /// `build` or `check`, with cargo's arguments.
    pub command: String,
    pub cargo_args: Vec<String>,
    /// The scenario's key (`cold`, `touch:src/main.rs`): runs compare only with runs of
    /// the same key. [`RunRow::scenario`] reads it back. `scenario_key` in JSON.
    #[serde(rename = "scenario_key")]
    pub scenario: String,
    /// How the scenario reads (`hot: touch src/main.rs`): `scenario` in JSON, as before
    /// keys were kept.
    #[serde(rename = "scenario")]
    pub scenario_text: String,
    pub success: bool,
    pub wall_ns: u64,
    pub cpu_ns: u64,
    pub units: usize,
    pub fresh_units: usize,
    pub critical_chain_ns: u64,
    pub run_dir: PathBuf,
    /// The machine, toolchain and settings it was measured with (runs compare only when
    /// this is the same); empty for runs recorded before buildscope kept it.
    pub machine: String,
}

impl RunRow {
    /// Whether the row is a run of the user's own program (`buildscope profile`), not a
    /// build: its scenario key says so.
    pub fn is_program(&self) -> bool {
        matches!(
            Scenario::from_key(&self.scenario),
            Some(Scenario::Program { .. })
        )
    }

    /// A run's row: what the history lists it by and compares it on.
    pub fn of(record: &RunRecord) -> RunRow {
        RunRow {
            id: record.id.clone(),
            workspace_root: record.workspace_root.clone(),
            started_at_ns: record.started_at_ns,
            command: record.command_line(),
            cargo_args: record.cargo_args.clone(),
            scenario: record.scenario_key(),
            scenario_text: record.scenario.describe_in(&record.workspace_root),
            success: record.success,
            wall_ns: record.totals.wall_ns,
            cpu_ns: record.totals.cpu_ns,
            units: record.units.len(),
            fresh_units: record.fresh_units,
            critical_chain_ns: record.critical_path.longest_chain_ns,
            run_dir: record.run_dir.clone(),
            machine: record.comparability(),
        }
    }

    /// The scenario its key names (a key this buildscope does not know reads as cold).
    pub fn scenario(&self) -> Scenario {
        Scenario::from_key(&self.scenario).unwrap_or(Scenario::Cold)
    }
}

/// How a scenario key reads (`touch:src/main.rs` → `hot: touch src/main.rs`); a key this
/// buildscope does not know reads as itself.
pub fn scenario_text_of(key: &str) -> String {
    Scenario::from_key(key)
        .map(|s| s.describe_in(Path::new("")))
        .unwrap_or_else(|| key.to_string())
}

/// `cargo build --release`: a command and its arguments as the user would type them.
pub fn command_line(command: &str, args: &[String]) -> String {
    let mut line = format!("cargo {command}");
    for arg in args {
        line.push(' ');
        line.push_str(arg);
    }
    line
}

/// What a failed build failed on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildFailure {
    /// The package whose compilation failed first (`name`), when a compiler error said.
    pub package: Option<String>,
    /// Its target as cargo names it (`lib`, `bin "app"`, `build script`).
    pub target: Option<String>,
    /// The compiler's first error, one line (`error[E0308]: mismatched types`).
    pub first_error: Option<String>,
}

/// How the measured build differs from the one before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Scenario {
    /// The build as it comes (whatever the profiling target directory holds).
    AsIs,
    /// From a clean state.
    Cold,
    /// After a warm-up build and a new mtime on `path`.
    Touch { path: PathBuf },
    /// After a warm-up build and a one-line change inside each of the first `functions`
    /// function bodies of `path` (one in a record made before edit sizes).
    Edit {
        path: PathBuf,
        #[serde(default = "one_function", skip_serializing_if = "is_one_function")]
        functions: u32,
    },
    /// A run of the user's own program (`buildscope profile`): its command line, paths
    /// inside the workspace relative to it. Runs compare only with runs of the same one.
    Program { command_line: String },
}

fn one_function() -> u32 {
    1
}

fn is_one_function(functions: &u32) -> bool {
    *functions == 1
}

impl Scenario {
    /// The key runs are compared by: `as-is`, `cold`, `touch:PATH`, `edit:PATH` (one
    /// function) or `edit-N:PATH` (N functions), the path relative to `root` where it is
    /// inside it. Never reworded: the history matches it.
    pub fn key_in(&self, root: &Path) -> String {
        let short = |p: &Path| p.strip_prefix(root).unwrap_or(p).display().to_string();
        match self {
            Scenario::AsIs => "as-is".to_string(),
            Scenario::Cold => "cold".to_string(),
            Scenario::Touch { path } => format!("touch:{}", short(path)),
            Scenario::Edit { path, functions: 1 } => format!("edit:{}", short(path)),
            Scenario::Edit { path, functions } => format!("edit-{functions}:{}", short(path)),
            Scenario::Program { command_line } => format!("program:{command_line}"),
        }
    }

    /// The scenario a key names (paths as the key holds them).
    pub fn from_key(key: &str) -> Option<Scenario> {
        match key.split_once(':') {
            None if key == "as-is" => Some(Scenario::AsIs),
            None if key == "cold" => Some(Scenario::Cold),
            Some(("touch", path)) => Some(Scenario::Touch { path: path.into() }),
            Some(("program", command_line)) => Some(Scenario::Program {
                command_line: command_line.to_string(),
            }),
            Some(("edit", path)) => Some(Scenario::Edit {
                path: path.into(),
                functions: 1,
            }),
            Some((edit, path)) => {
                let functions = edit.strip_prefix("edit-")?.parse().ok()?;
                Some(Scenario::Edit {
                    path: path.into(),
                    functions,
                })
            }
            _ => None,
        }
    }

    /// How it reads, paths relative to `root` where they are inside it (`hot: touch
    /// src/main.rs`): for display only, never compared.
    pub fn describe_in(&self, root: &Path) -> String {
        let short = |p: &Path| p.strip_prefix(root).unwrap_or(p).display().to_string();
        match self {
            Scenario::AsIs => "as is".to_string(),
            Scenario::Cold => "cold".to_string(),
            Scenario::Touch { path } => format!("hot: touch {}", short(path)),
            Scenario::Edit { path, functions: 1 } => format!("hot: edit {}", short(path)),
            Scenario::Edit { path, functions } => {
                format!("hot: edit {functions} functions of {}", short(path))
            }
            Scenario::Program { command_line } => format!("program: {command_line}"),
        }
    }

    /// Whether it needs a warm-up build first.
    pub fn is_hot(&self) -> bool {
        matches!(self, Scenario::Touch { .. } | Scenario::Edit { .. })
    }
}

/// The machine a build was measured on. Build times compare only between runs of the same
/// machine and toolchain: a regression check that mixed a laptop's runs with a CI
/// runner's would see noise that is not there, or hide a regression that is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    /// The CPU model (`/proc/cpuinfo`'s model name).
    pub cpu: String,
    /// Cores the OS offers.
    pub cores: usize,
    /// Total memory, bytes.
    pub memory_bytes: u64,
    /// The OS and kernel release.
    pub os: String,
    /// `rustc -vV`'s first line.
    pub rustc: String,
}

impl Machine {
    /// What runs must share to be compared: one line, memory in whole GiB (the kernel's
    /// total moves by a few kB between boots).
    pub fn key(&self) -> String {
        format!(
            "{} · {} cores · {} GiB · {} · {}",
            self.cpu,
            self.cores,
            (self.memory_bytes as f64 / (1u64 << 30) as f64).round() as u64,
            self.os,
            self.rustc
        )
    }
}

/// One rustc wrapper of the user's a build went through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrapperUse {
    /// `rustc-wrapper` (every rustc) or `rustc-workspace-wrapper` (workspace members').
    pub role: String,
    pub program: String,
    /// Where cargo would have taken it from: `RUSTC_WRAPPER`, a config file's path, or
    /// ``environment variable `CARGO_BUILD_RUSTC_WRAPPER` ``.
    pub source: String,
}

impl WrapperUse {
    /// A compiler cache whose hits buildscope can count.
    pub fn is_sccache(&self) -> bool {
        Path::new(&self.program)
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("sccache"))
    }
}

/// Run and experiment ids: `<date>-<time>-<machine>-<pid>[-<n>]`, made and read here
/// only. Ids sort by time; the machine and process tell one `buildscope build --runs N`'s
/// runs from another's.
pub mod ids {
    /// The id of the `n`th run a process made, `secs` after the Unix epoch.
    pub fn run_id(secs: u64, machine: &str, pid: u32, n: usize) -> String {
        format!("{}-{n}", experiment_id(secs, machine, pid))
    }

    /// The id of an experiment: a run's without the run number.
    pub fn experiment_id(secs: u64, machine: &str, pid: u32) -> String {
        let (y, m, d) = civil_from_days((secs / 86_400) as i64);
        let rem = secs % 86_400;
        format!(
            "{y:04}{m:02}{d:02}-{:02}{:02}{:02}-{machine}-{pid}",
            rem / 3600,
            rem / 60 % 60,
            rem % 60,
        )
    }

    /// The process that made a run, as one key (`<date>-<machine>-<pid>`; for ids made
    /// before machines were named, `<date>-<pid>`): runs of one plan share it.
    pub fn maker_of(id: &str) -> Option<String> {
        let parts: Vec<&str> = id.split('-').collect();
        match parts.len() {
            5 => Some(format!("{}-{}-{}", parts[0], parts[2], parts[3])),
            4 => Some(format!("{}-{}", parts[0], parts[2])),
            _ => None,
        }
    }

    /// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
    /// algorithm).
    fn civil_from_days(days: i64) -> (i64, u32, u32) {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let y = yoe + era * 400;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        (if m <= 2 { y + 1 } else { y }, m, d)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn ids_are_made_and_read_here() {
            // 2024-02-29 12:34:56 UTC.
            let id = run_id(1_709_210_096, "abc123", 42, 3);
            assert_eq!(id, "20240229-123456-abc123-42-3");
            assert_eq!(maker_of(&id).as_deref(), Some("20240229-abc123-42"));
            assert_eq!(
                maker_of("20240229-123456-42-3").as_deref(),
                Some("20240229-42")
            );
            assert_eq!(maker_of("nonsense"), None);
            assert_eq!(civil_from_days(0), (1970, 1, 1));
            assert_eq!(civil_from_days(20_781), (2026, 11, 24));
            assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        }
    }
}

/// What is left of a run's folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum FolderState {
    /// Its raw profiles are there (`raw_bytes`, 0 for a run made without them).
    Whole { raw_bytes: u64, kept_bytes: u64 },
    /// Its raw profiles were pruned; the record and derived data remain.
    Pruned { kept_bytes: u64 },
    /// The folder is gone (`cargo clean`, or deleted by hand): the history keeps its row.
    Gone,
}

impl FolderState {
    /// Its raw profiles and trace (none once pruned or gone).
    pub fn raw_bytes(self) -> u64 {
        match self {
            FolderState::Whole { raw_bytes, .. } => raw_bytes,
            _ => 0,
        }
    }

    pub fn bytes(self) -> u64 {
        match self {
            FolderState::Whole {
                raw_bytes,
                kept_bytes,
            } => raw_bytes + kept_bytes,
            FolderState::Pruned { kept_bytes } => kept_bytes,
            FolderState::Gone => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_keys_round_trip_and_never_read_as_prose() {
        let root = Path::new("/w");
        for (scenario, key) in [
            (Scenario::AsIs, "as-is"),
            (Scenario::Cold, "cold"),
            (
                Scenario::Touch {
                    path: "/w/src/main.rs".into(),
                },
                "touch:src/main.rs",
            ),
            (
                Scenario::Edit {
                    path: "/elsewhere/lib.rs".into(),
                    functions: 1,
                },
                "edit:/elsewhere/lib.rs",
            ),
            (
                Scenario::Edit {
                    path: "/w/src/lib.rs".into(),
                    functions: 8,
                },
                "edit-8:src/lib.rs",
            ),
        ] {
            assert_eq!(scenario.key_in(root), key);
            let back = Scenario::from_key(key).unwrap();
            assert_eq!(back.key_in(root), key);
        }
        assert_eq!(Scenario::from_key("hot: touch src/main.rs"), None);
        assert_eq!(Scenario::from_key("edit-x:src/lib.rs"), None);
        // A record from before edit sizes reads as an edit of one function.
        let old: Scenario = serde_json::from_str(r#"{"kind":"edit","path":"src/lib.rs"}"#).unwrap();
        assert_eq!(old.key_in(root), "edit:src/lib.rs");
    }

    #[test]
    fn command_lines_read_as_typed() {
        assert_eq!(command_line("build", &[]), "cargo build");
        assert_eq!(
            command_line("check", &["--release".into(), "-p".into(), "a".into()]),
            "cargo check --release -p a"
        );
    }

    #[test]
    fn machines_compare_by_one_line() {
        let machine = Machine {
            cpu: "cpu".into(),
            cores: 2,
            memory_bytes: 8148128 * 1024,
            os: "linux 6.1".into(),
            rustc: "rustc 1.95.0".into(),
        };
        assert_eq!(
            machine.key(),
            "cpu · 2 cores · 8 GiB · linux 6.1 · rustc 1.95.0"
        );
    }
}
