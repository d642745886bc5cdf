//! One measuring run per workspace at a time, and recovery only when nobody is measuring.
//!
//! A run that builds (and may touch or edit the user's files) holds an exclusive `flock`
//! on `target/buildscope/lock` for its whole life. The kernel drops the lock when the
//! process ends, however it ends (`kill -9` included), so "can I take the lock?" is exactly
//! "is no live run measuring here?". A second run waits for the first (or, asked not to
//! wait, refuses); a command that only reads (runs, explain, report, compare) restores an
//! interrupted edit when the lock is free and leaves everything alone when it is not.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use crate::scenario::recover;
use crate::BuildError;

/// Held while a run measures; dropping it (or the process ending) lets the next one in.
#[derive(Debug)]
pub struct WorkspaceLock {
    _file: File,
}

/// What taking the lock found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockWait {
    /// Another run holds it: its process id, as it wrote it.
    Busy { pid: Option<u32> },
}

/// Takes the workspace's lock. When another run holds it: with `wait`, says so through
/// `on_wait` once and blocks until it is free; without, fails naming that run. Once held,
/// an edit left behind by a run that was killed is undone (returned, so the caller can
/// say so).
pub fn lock_workspace(
    state_dir: &Path,
    wait: bool,
    on_wait: impl FnOnce(&LockWait),
) -> Result<(WorkspaceLock, Option<PathBuf>), BuildError> {
    let mut file = open_lock_file(state_dir)?;
    if !try_flock(&file, false) {
        let busy = LockWait::Busy {
            pid: holder_pid(&mut file),
        };
        if !wait {
            let LockWait::Busy { pid } = &busy;
            return Err(BuildError::Busy(format!(
                "another buildscope run{} is measuring this workspace (--no-wait was given)",
                pid.map(|p| format!(" (process {p})")).unwrap_or_default()
            )));
        }
        on_wait(&busy);
        if !try_flock(&file, true) {
            return Err(BuildError::Io {
                what: "locking".into(),
                path: lock_path(state_dir),
                source: std::io::Error::last_os_error(),
            });
        }
    }
    // Ours now: say who holds it, for anyone who waits.
    let _ = file.set_len(0);
    let _ = file.rewind();
    let _ = write!(file, "{}", std::process::id());
    let _ = file.flush();
    let restored = recover(state_dir)?;
    Ok((WorkspaceLock { _file: file }, restored))
}

/// For commands that only read: undoes an edit left behind by a killed run, unless a live
/// run holds the workspace (then its edit is its own, and nothing is touched).
pub fn recover_if_idle(state_dir: &Path) -> Result<Option<PathBuf>, BuildError> {
    if !state_dir.join("edit-journal.json").exists() {
        return Ok(None);
    }
    let file = open_lock_file(state_dir)?;
    if !try_flock(&file, false) {
        return Ok(None);
    }
    recover(state_dir)
}

fn lock_path(state_dir: &Path) -> PathBuf {
    state_dir.join("lock")
}

fn open_lock_file(state_dir: &Path) -> Result<File, BuildError> {
    std::fs::create_dir_all(state_dir).map_err(BuildError::io("creating", state_dir))?;
    let path = lock_path(state_dir);
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(BuildError::io("opening", &path))
}

/// An exclusive flock; `false` when another holds it (or, blocking, when the wait failed).
fn try_flock(file: &File, block: bool) -> bool {
    let operation = if block {
        libc::LOCK_EX
    } else {
        libc::LOCK_EX | libc::LOCK_NB
    };
    loop {
        // SAFETY: flock on a descriptor this File owns; no memory is passed.
        let result = unsafe { libc::flock(file.as_raw_fd(), operation) };
        if result == 0 {
            return true;
        }
        // A signal (Ctrl-C while waiting) ends the wait only if it was meant to stop us.
        if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
            && !crate::interrupted()
        {
            continue;
        }
        return false;
    }
}

fn holder_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_in_the_same_workspace_is_refused_without_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let (held, restored) = lock_workspace(dir.path(), true, |_| panic!("free")).unwrap();
        assert_eq!(restored, None);
        let err = lock_workspace(dir.path(), false, |_| {}).unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("(process {})", std::process::id())),
            "{err}"
        );
        drop(held);
        lock_workspace(dir.path(), false, |_| panic!("free again")).unwrap();
    }
}
