//! Bounded disk: a run folder's raw self-profiles (and the Chrome trace made from them) are
//! kept for the newest runs of a workspace within a budget; older runs keep their record,
//! report and the evidence explain needs ([`crate::SAVED_EVIDENCE`]), so the history's
//! commands still work on them.

use std::path::{Path, PathBuf};

use buildscope_analysis::FolderState;

use crate::BuildError;

/// Beside a pruned run's record: when its raw profiles went and how much that freed (the
/// profile reader names it when a view is pointed at a pruned run).
pub use buildscope_profile::PRUNED_MARK;

/// What a run folder holds that only views of the raw profiles need.
const RAW: [&str; 2] = ["profiles", "trace.json"];

/// How many profiled runs keep their raw profiles, and how much disk they may take
/// together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub keep: usize,
    pub max_bytes: u64,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget {
            keep: 10,
            max_bytes: 2 << 30,
        }
    }
}

/// Environment variables that set the budget (a flag overrides them).
pub const KEEP_VARIABLE: &str = "BUILDSCOPE_KEEP_PROFILES";
pub const MAX_SIZE_VARIABLE: &str = "BUILDSCOPE_MAX_PROFILE_SIZE";

impl Budget {
    /// The budget from the flags given, else the environment, else the defaults.
    pub fn from(keep: Option<usize>, max_size: Option<&str>) -> Result<Budget, BuildError> {
        let default = Budget::default();
        let keep = match keep {
            Some(n) => n,
            None => match std::env::var(KEEP_VARIABLE) {
                Ok(text) => text.trim().parse().map_err(|_| {
                    BuildError::BadArgument(format!("{KEEP_VARIABLE}={text}: not a number of runs"))
                })?,
                Err(_) => default.keep,
            },
        };
        let max_bytes = match max_size {
            Some(text) => parse_size(text)
                .map_err(|why| BuildError::BadArgument(format!("--max-size {text}: {why}")))?,
            None => match std::env::var(MAX_SIZE_VARIABLE) {
                Ok(text) => parse_size(&text).map_err(|why| {
                    BuildError::BadArgument(format!("{MAX_SIZE_VARIABLE}={text}: {why}"))
                })?,
                Err(_) => default.max_bytes,
            },
        };
        Ok(Budget { keep, max_bytes })
    }
}

/// `2GiB`, `500M`, `1.5 GB`, `300000` (bytes): powers of 1024 whatever the spelling, as
/// `du -h` counts.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let (number, unit) = buildscope_analysis::number_and_unit(text);
    let number: f64 = number
        .parse()
        .map_err(|_| "not a size (write it as 2GiB, 500MiB or a number of bytes)".to_string())?;
    let scale: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        other => return Err(format!("unknown unit `{other}` (B, KiB, MiB, GiB, TiB)")),
    };
    Ok((number * scale as f64) as u64)
}

/// What is left of the run folder `dir`.
pub fn folder_state(dir: &Path) -> FolderState {
    if !dir.join("run.json").is_file() {
        return FolderState::Gone;
    }
    // Each entry walked once: the raw profiles are most of the folder.
    let (mut raw_bytes, mut kept_bytes) = (0, 0);
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let bytes = size_of(&entry.path());
        if RAW.iter().any(|name| entry.file_name() == *name) {
            raw_bytes += bytes;
        } else {
            kept_bytes += bytes;
        }
    }
    if dir.join(PRUNED_MARK).is_file() {
        FolderState::Pruned { kept_bytes }
    } else {
        FolderState::Whole {
            raw_bytes,
            kept_bytes,
        }
    }
}

/// One run folder of a workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFolder {
    pub id: String,
    pub dir: PathBuf,
    pub state: FolderState,
}

impl RunFolder {
    pub fn raw_bytes(&self) -> u64 {
        self.state.raw_bytes()
    }
}

/// The run folders under `runs_dir`, newest first (a run's id starts with its time).
pub fn run_folders(runs_dir: &Path) -> Result<Vec<RunFolder>, BuildError> {
    let entries = match std::fs::read_dir(runs_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(BuildError::Io {
                what: "reading".into(),
                path: runs_dir.to_path_buf(),
                source,
            })
        }
    };
    let mut folders: Vec<RunFolder> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().join("run.json").is_file())
        .map(|e| RunFolder {
            id: e.file_name().to_string_lossy().into_owned(),
            state: folder_state(&e.path()),
            dir: e.path(),
        })
        .collect();
    folders.sort_by(|a, b| b.id.cmp(&a.id));
    Ok(folders)
}

/// Which runs keep their raw profiles under a budget: the newest profiled runs, at most
/// `keep` of them and `max_bytes` together. The runs in `protected` are always kept (the
/// runs a command just made are what the user asked for, however large) and counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pruning {
    pub kept: Vec<RunFolder>,
    pub pruned: Vec<RunFolder>,
}

impl Pruning {
    pub fn kept_bytes(&self) -> u64 {
        self.kept.iter().map(RunFolder::raw_bytes).sum()
    }

    pub fn freed_bytes(&self) -> u64 {
        self.pruned.iter().map(RunFolder::raw_bytes).sum()
    }
}

pub fn plan_pruning(folders: &[RunFolder], budget: Budget, protected: &[String]) -> Pruning {
    let mut pruning = Pruning::default();
    let mut used = 0u64;
    let profiled = || folders.iter().filter(|f| f.raw_bytes() > 0);
    for folder in profiled().filter(|f| protected.contains(&f.id)) {
        used += folder.raw_bytes();
        pruning.kept.push(folder.clone());
    }
    for folder in profiled().filter(|f| !protected.contains(&f.id)) {
        let fits =
            pruning.kept.len() < budget.keep && used + folder.raw_bytes() <= budget.max_bytes;
        if fits {
            used += folder.raw_bytes();
            pruning.kept.push(folder.clone());
        } else {
            pruning.pruned.push(folder.clone());
        }
    }
    pruning
}

/// Removes a run's raw profiles and trace, leaving a mark that says so. The caller saves
/// the derived evidence first.
pub fn prune(folder: &RunFolder, now_ns: u64) -> Result<u64, BuildError> {
    let freed = folder.raw_bytes();
    // The mark first: a prune interrupted half-way is still a pruned run, never a whole
    // one with profiles missing.
    let mark = folder.dir.join(PRUNED_MARK);
    let text = serde_json::json!({ "pruned_at_ns": now_ns, "freed_bytes": freed });
    std::fs::write(&mark, format!("{text:#}\n")).map_err(BuildError::io("writing", &mark))?;
    for name in RAW {
        let path = folder.dir.join(name);
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        match removed {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(BuildError::io("removing", &path)(e))
            }
            _ => {}
        }
    }
    Ok(freed)
}

/// Bytes under a path (files counted once; symbolic links not followed).
pub fn size_of(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if !meta.is_dir() {
        return meta.len();
    }
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| size_of(&e.path()))
                .sum()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(id: &str, raw_mib: u64) -> RunFolder {
        RunFolder {
            id: id.into(),
            dir: PathBuf::from(id),
            state: FolderState::Whole {
                raw_bytes: raw_mib << 20,
                kept_bytes: 1 << 10,
            },
        }
    }

    #[test]
    fn sizes_read_as_du_writes_them() {
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("500M"), Ok(500 << 20));
        assert_eq!(parse_size("1.5 GB"), Ok(3 << 29));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("3 parsecs")
            .unwrap_err()
            .contains("unknown unit"));
    }

    #[test]
    fn the_newest_runs_within_the_budget_keep_their_profiles() {
        // Newest first; a run without profiles is neither kept nor pruned.
        let folders = vec![
            folder("5", 300),
            folder("4", 0),
            folder("3", 300),
            folder("2", 300),
            folder("1", 300),
        ];
        let by_count = plan_pruning(
            &folders,
            Budget {
                keep: 2,
                max_bytes: u64::MAX,
            },
            &[],
        );
        let ids = |v: &[RunFolder]| v.iter().map(|f| f.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&by_count.kept), ["5", "3"]);
        assert_eq!(ids(&by_count.pruned), ["2", "1"]);
        assert_eq!(by_count.freed_bytes(), 600 << 20);
        let by_size = plan_pruning(
            &folders,
            Budget {
                keep: 10,
                max_bytes: 700 << 20,
            },
            &[],
        );
        assert_eq!(ids(&by_size.kept), ["5", "3"]);
        // Nothing kept at all: every run pruned...
        let none = Budget {
            keep: 0,
            max_bytes: 0,
        };
        assert!(plan_pruning(&folders, none, &[]).kept.is_empty());
        // ...but for the run a command just made, kept over any budget.
        let tiny = plan_pruning(&folders, none, &["5".to_string()]);
        assert_eq!(ids(&tiny.kept), ["5"]);
        assert_eq!(ids(&tiny.pruned), ["3", "2", "1"]);
    }
}
