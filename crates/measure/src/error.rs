//! What measuring a build can fail on.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{what} {path}: {source}")]
    Io {
        what: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    CargoOutput(String),
    #[error("{0}")]
    Edit(String),
    /// Another run holds the workspace.
    #[error("{0}")]
    Busy(String),
    #[error("interrupted; the sources are restored")]
    Interrupted,
}
