//! Files the CLI writes (`-o`): written next to their destination under a temporary name
//! and renamed into place only when complete, so a failure part-way never leaves a
//! truncated trace or clobbers the previous one.

use std::fs::File;
use std::path::{Path, PathBuf};

/// A file that could not be created or put in place; names it.
#[derive(Debug, thiserror::Error)]
#[error("{}: {what}: {source}", path.display())]
pub struct OutputFileError {
    pub path: PathBuf,
    pub what: &'static str,
    #[source]
    pub source: std::io::Error,
}

fn failed(path: &Path, what: &'static str) -> impl FnOnce(std::io::Error) -> OutputFileError {
    let path = path.to_path_buf();
    move |source| OutputFileError { path, what, source }
}

pub struct OutputFile {
    path: PathBuf,
    target: Target,
}

enum Target {
    /// A regular file (or none yet): a temporary file renamed over it at the end.
    Replace(tempfile::NamedTempFile),
    /// `/dev/null`, a pipe or another special file: written as it is.
    Direct(File),
}

impl OutputFile {
    pub fn create(path: &Path) -> Result<OutputFile, OutputFileError> {
        let special = std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir());
        let target = if special {
            Target::Direct(
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(failed(path, "cannot open for writing"))?,
            )
        } else {
            let dir = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            Target::Replace(
                tempfile::Builder::new()
                    // As a plain create would: 0666 less the umask (tempfile's own is 0600).
                    .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
                    .prefix(".buildscope-")
                    .suffix(".partial")
                    .tempfile_in(dir)
                    .map_err(failed(path, "cannot create"))?,
            )
        };
        Ok(OutputFile {
            path: path.to_path_buf(),
            target,
        })
    }

    pub fn file(&mut self) -> &mut File {
        match &mut self.target {
            Target::Replace(temp) => temp.as_file_mut(),
            Target::Direct(file) => file,
        }
    }

    /// Puts the finished file in place.
    pub fn commit(self) -> Result<(), OutputFileError> {
        if let Target::Replace(temp) = self.target {
            temp.persist(&self.path)
                .map_err(|e| e.error)
                .map_err(failed(&self.path, "cannot write"))?;
        }
        Ok(())
    }
}
