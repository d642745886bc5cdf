//! What the rustc wrapper records about one rustc process: one JSON file per process, so
//! concurrent rustc processes never write to the same file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitRecord {
    pub pid: u32,
    /// `CARGO_PKG_NAME` / `CARGO_PKG_VERSION` as cargo set them for this rustc.
    pub package: Option<String>,
    pub version: Option<String>,
    /// `--crate-name`.
    pub crate_name: Option<String>,
    /// `--crate-type` values (`lib`, `rlib`, `bin`, `proc-macro`, ...).
    pub crate_types: Vec<String>,
    /// Compiled with `--test`.
    pub test: bool,
    /// Wall-clock times, nanoseconds since the Unix epoch.
    pub start_ns: u64,
    /// When rustc reported its metadata (`.rmeta`) written, if it did.
    pub rmeta_ns: Option<u64>,
    pub end_ns: u64,
    /// User plus system CPU time of rustc and its children (the linker included).
    pub cpu_ns: Option<u64>,
    pub max_rss_bytes: Option<u64>,
    pub exit_code: Option<i32>,
    /// Whether the self-profiler was on for this rustc.
    pub self_profiled: bool,
    /// When rustc's linker ran (measured by buildscope standing in as the linker).
    #[serde(default)]
    pub link_start_ns: Option<u64>,
    #[serde(default)]
    pub link_end_ns: Option<u64>,
    /// Which linker did the work: `rust-lld`, `mold`, `GNU ld`, ...
    #[serde(default)]
    pub linker: Option<String>,
    /// The `-C`/`-Z` options cargo gave rustc (`-C debuginfo=2`), before buildscope added
    /// its own.
    #[serde(default)]
    pub codegen_flags: Vec<String>,
    /// The compiler cargo ran (`rustc`, or `RUSTC`'s path): proof of which toolchain
    /// built the unit.
    #[serde(default)]
    pub rustc: Option<String>,
}

/// Where the wrapper writes the record of process `pid` within a run folder.
pub fn record_path(run_dir: &Path, pid: u32) -> PathBuf {
    run_dir.join("units").join(format!("{pid}.json"))
}

/// Reads every record a run's wrappers wrote; unreadable files are skipped and counted.
pub fn read_records(run_dir: &Path) -> (Vec<UnitRecord>, usize) {
    let mut records = Vec::new();
    let mut unreadable = 0;
    let Ok(entries) = std::fs::read_dir(run_dir.join("units")) else {
        return (records, 0);
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        match std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<UnitRecord>(&bytes).ok())
        {
            Some(record) => records.push(record),
            None => unreadable += 1,
        }
    }
    records.sort_by_key(|r| (r.start_ns, r.pid));
    (records, unreadable)
}
