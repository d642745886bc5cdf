//! Turns what the user named into one [`Summary`]: profile files, directories of them, or
//! a `summarize --json` output saved earlier (so CI can keep small summaries instead of
//! large profiles).

use std::io::Read;
use std::path::{Path, PathBuf};

use buildscope_profile::{find_profiles, ProfileError};

use crate::summary::{merge, summarize_files, Summary, SUMMARY_SCHEMA};

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error("{path}: not a buildscope summary: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: summary schema {found:?} is not {SUMMARY_SCHEMA:?}")]
    Schema { path: PathBuf, found: String },
    #[error("{path}: a saved summary cannot be combined with other inputs")]
    MixedInputs { path: PathBuf },
}

/// Summarizes `paths` on up to `jobs` threads. A single path that holds a saved JSON
/// summary is read back instead.
pub fn summarize_inputs(paths: &[PathBuf], jobs: usize) -> Result<Summary, InputError> {
    for path in paths {
        if looks_like_json(path) {
            if paths.len() > 1 {
                return Err(InputError::MixedInputs { path: path.clone() });
            }
            return read_saved_summary(path);
        }
    }
    let set = find_profiles(paths)?;
    let profiles = summarize_files(&set.files, jobs)?;
    Ok(merge(&profiles))
}

/// Each crate's phase times (`phase:<crate>:<phase>`, ns) from the self-profiles under
/// `dirs`; a profile that cannot be read costs its phases, never the caller.
pub fn phase_measures_in(dirs: &[PathBuf], jobs: usize) -> Vec<(String, f64)> {
    let Ok(set) = find_profiles(dirs) else {
        return Vec::new();
    };
    summarize_files(&set.files, jobs.max(1))
        .map(|summaries| crate::profile_phase_measures(&summaries))
        .unwrap_or_default()
}

/// A saved summary is a file whose first non-blank byte is `{` (a profile starts `MMPD`).
fn looks_like_json(path: &Path) -> bool {
    if !path.is_file() {
        return false;
    }
    let mut head = [0u8; 64];
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    let n = file.read(&mut head).unwrap_or(0);
    head[..n]
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'{')
}

fn read_saved_summary(path: &Path) -> Result<Summary, InputError> {
    let text = std::fs::read_to_string(path).map_err(|e| ProfileError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    // Check the schema first, for a clearer error than a missing field.
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| InputError::Json {
        path: path.to_path_buf(),
        source: e,
    })?;
    let schema = value.get("schema").and_then(|s| s.as_str()).unwrap_or("");
    if schema != SUMMARY_SCHEMA {
        return Err(InputError::Schema {
            path: path.to_path_buf(),
            found: schema.to_string(),
        });
    }
    serde_json::from_value(value).map_err(|e| InputError::Json {
        path: path.to_path_buf(),
        source: e,
    })
}
