use std::path::PathBuf;

/// Everything that can go wrong while reading a profile. Every variant names the file, so
/// the CLI can print it as one line.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: empty file, not a self-profile")]
    Empty { path: PathBuf },
    #[error("{path}: not a rustc self-profile (expected magic `MMPD`, found {found:?})")]
    BadMagic { path: PathBuf, found: String },
    #[error(
        "{path}: unsupported self-profile format version {version} (buildscope reads version {supported})"
    )]
    UnsupportedVersion {
        path: PathBuf,
        version: u32,
        supported: u32,
    },
    #[error("{path}: truncated: {detail}")]
    Truncated { path: PathBuf, detail: String },
    #[error("{path}: corrupt profile: {detail}")]
    Corrupt { path: PathBuf, detail: String },
    #[error("{path}: the profile has no {stream} (was rustc killed before it finished writing?)")]
    MissingStream { path: PathBuf, stream: &'static str },
    #[error("{path}: no .mm_profdata files in this directory")]
    NoProfiles { path: PathBuf },
    /// A run's raw profiles, pruned by the retention budget.
    #[error("{path}: this run's raw profiles were pruned by the retention budget (`buildscope gc --help`); explain and report still work on the run")]
    Pruned { path: PathBuf },
}

impl ProfileError {
    pub(crate) fn corrupt(path: &std::path::Path, detail: impl Into<String>) -> Self {
        ProfileError::Corrupt {
            path: path.to_path_buf(),
            detail: detail.into(),
        }
    }

    pub(crate) fn truncated(path: &std::path::Path, detail: impl Into<String>) -> Self {
        ProfileError::Truncated {
            path: path.to_path_buf(),
            detail: detail.into(),
        }
    }

    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        ProfileError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
