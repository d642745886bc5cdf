//! What measuring a build can fail on.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{what} {path}: {source}")]
    Io {
        what: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// cargo's own output (its unit graph, its timings report) could not be read.
    #[error("{0}")]
    CargoOutput(String),
    /// An argument that cannot be measured as given (`--vary`, `--preset`, `--llvm-lines`).
    #[error("{0}")]
    BadArgument(String),
    /// A build did not compile: the message quotes the compiler's first error.
    #[error("{0}")]
    BuildFailed(String),
    /// A command buildscope ran besides the measured build failed (`cargo clean`, `--run`,
    /// `cargo rustc --emit=llvm-ir`).
    #[error("{0}")]
    CommandFailed(String),
    /// A file of the user's that buildscope was to edit is not what it expects.
    #[error("{0}")]
    UserFile(String),
    #[error("{0}")]
    Edit(String),
    /// Another run holds the workspace.
    #[error("{0}")]
    Busy(String),
    #[error("interrupted; the sources are restored")]
    Interrupted,
}

impl BuildError {
    /// For `map_err`: an I/O failure while `what`-ing `path` (`"writing"`, `"creating"`).
    pub(crate) fn io(what: &str, path: &Path) -> impl FnOnce(std::io::Error) -> BuildError {
        let (what, path) = (what.to_string(), path.to_path_buf());
        move |source| BuildError::Io { what, path, source }
    }

    /// The same error, its message led by `context` (`variant debug=0`): its kind kept.
    pub fn within(self, context: &str) -> BuildError {
        let lead = |message: String| format!("{context}: {message}");
        match self {
            BuildError::CargoOutput(m) => BuildError::CargoOutput(lead(m)),
            BuildError::BadArgument(m) => BuildError::BadArgument(lead(m)),
            BuildError::BuildFailed(m) => BuildError::BuildFailed(lead(m)),
            BuildError::CommandFailed(m) => BuildError::CommandFailed(lead(m)),
            BuildError::UserFile(m) => BuildError::UserFile(lead(m)),
            BuildError::Edit(m) => BuildError::Edit(lead(m)),
            other => other,
        }
    }
}
