//! Sampling inside rustc and LLVM: the selected crates' rustc processes run under
//! `perf record` (call graphs from frame pointers, on the realtime clock), and their samples
//! are symbolised by `perf script`, joined to the self-profile (`sample_join`) and folded
//! into stacks — where self-profiles stop at labels such as `LLVM_passes` or `typeck`, the
//! samples show the functions beneath.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The folded stacks of a run: `frame;frame;… count` per line.
pub const SAMPLES_FILE: &str = "samples.folded";

/// `perf` on PATH, or the sentence saying it is not installed.
pub(crate) fn sampler_path() -> Result<PathBuf, String> {
    crate::workspace::on_path("perf")
        .ok_or_else(|| "perf is not installed (Debian: apt-get install linux-perf)".to_string())
}

/// `perf`, when it may sample here; else why not, in one sentence.
pub fn sampler() -> Result<PathBuf, String> {
    let perf = sampler_path()?;
    let probe = tempfile::tempdir().map_err(|e| format!("a scratch folder for perf: {e}"))?;
    let output = Command::new(&perf)
        .args(["record", "-q", "-g", "-o"])
        .arg(probe.path().join("probe.data"))
        .args(["--", "true"])
        .stdout(Stdio::null())
        .output()
        .map_err(|e| format!("running {}: {e}", perf.display()))?;
    if output.status.success() {
        return Ok(perf);
    }
    let paranoid = std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    let said = String::from_utf8_lossy(&output.stderr)
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("no reason given")
        .to_string();
    Err(format!(
        "`perf record` is not permitted here ({said}); /proc/sys/kernel/perf_event_paranoid is {paranoid}: sampling needs 1 or less, or root"
    ))
}

/// Folds every `*.perf.data` under `dir` into `out`: stacks merged over the processes,
/// each rooted at its process (or thread) name, then the self-profile activities running on
/// that thread at that instant where `profiles` has the process's profile, then the
/// sampled functions; weighted by the samples' periods (CPU nanoseconds for perf's default
/// clock event). Returns the total weight.
pub fn fold_samples(
    perf: &Path,
    dir: &Path,
    out: &Path,
    profiles: &[PathBuf],
) -> Result<u64, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".perf.data"))
        .collect();
    files.sort();
    let mut samples = Vec::new();
    for file in files {
        let script = Command::new(perf)
            .args([
                "script",
                "--ns",
                "-F",
                "comm,pid,tid,time,period,ip,sym",
                "-i",
            ])
            .arg(&file)
            .stderr(Stdio::null())
            .output()
            .map_err(|e| format!("perf script {}: {e}", file.display()))?;
        if !script.status.success() {
            return Err(format!("perf script {}: {}", file.display(), script.status));
        }
        samples.extend(crate::sample_join::parse_script(&String::from_utf8_lossy(
            &script.stdout,
        )));
    }
    let merged: BTreeMap<String, u64> = crate::sample_join::join_samples(&samples, profiles)
        .into_iter()
        .collect();
    let text: String = merged
        .iter()
        .map(|(stack, count)| format!("{stack} {count}\n"))
        .collect();
    std::fs::write(out, text).map_err(|e| format!("{}: {e}", out.display()))?;
    Ok(merged.values().sum())
}

/// The folded stacks of a file written by [`fold_samples`].
pub fn read_folded(path: &Path) -> std::io::Result<Vec<(String, u64)>> {
    Ok(std::fs::read_to_string(path)?
        .lines()
        .filter_map(|l| {
            let (stack, count) = l.rsplit_once(' ')?;
            Some((stack.to_string(), count.parse().ok()?))
        })
        .collect())
}
