//! Cold and hot scenarios, and the promise that the user's sources are never left changed.
//!
//! A hot measurement needs a change to rebuild from: `touch` (mtime only) or `edit` (a
//! one-line change inside a function body). Both are journaled before they are made: the
//! original bytes and mtime go to a journal file first, so that a run killed in the middle
//! (even by `kill -9`) is undone at the start of the next run. A normal end, an error, a
//! panic or Ctrl-C restore it at once. The mtime is put back too: a newer mtime would make
//! the user's own next build recompile the crate.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::owner::ProcessId;
use crate::BuildError;

/// Sets `path`'s modification time to now, as `touch` does.
pub fn touch(path: &Path) -> Result<(), BuildError> {
    let file = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(BuildError::io("touching", path))?;
    file.set_modified(SystemTime::now())
        .map_err(BuildError::io("touching", path))
}

/// The statement an edit inserts: real code, so codegen sees a change, and silent.
const EDIT_LINE: &str = "let _buildscope_edit: u8 = 0;";

/// Where in `source` a statement can go at the start of each of the first `count` function
/// bodies, in order (fewer when the file has fewer): just after the `{` of each `fn` with a
/// body. Comments, strings and char literals are skipped. An edit of that many functions,
/// each of which codegen sees changed.
pub fn function_body_insertion_points(source: &str, count: usize) -> Vec<usize> {
    let bytes = source.as_bytes();
    let mut points = Vec::new();
    let mut i = 0;
    let mut seen_fn = false;
    let mut paren_depth = 0usize;
    while i < bytes.len() && points.len() < count {
        let rest = &source[i..];
        if rest.starts_with("//") {
            i += rest.find('\n').unwrap_or(rest.len());
            continue;
        }
        if rest.starts_with("/*") {
            i += rest.find("*/").map_or(rest.len(), |end| end + 2);
            continue;
        }
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'\''
                if rest.len() >= 3
                    && (rest.as_bytes()[2] == b'\'' || rest.as_bytes()[1] == b'\\') =>
            {
                // A char literal ('a', '\n'); a lifetime ('a) is left alone.
                i += 1;
                while i < bytes.len() && bytes[i] != b'\'' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'f' if rest.starts_with("fn ")
                && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_')) =>
            {
                seen_fn = true;
                i += 2;
            }
            b'(' if seen_fn => paren_depth += 1,
            b')' if seen_fn => paren_depth = paren_depth.saturating_sub(1),
            b';' if seen_fn && paren_depth == 0 => seen_fn = false, // a declaration only
            b'{' if seen_fn && paren_depth == 0 => {
                points.push(i + 1);
                seen_fn = false;
            }
            _ => {}
        }
        i += 1;
    }
    points
}

/// The journal of an edit in progress: enough to put the file back exactly.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Journal {
    path: PathBuf,
    /// A copy of the original bytes, next to the journal.
    backup: PathBuf,
    mtime_ns: u128,
    /// The run that made the edit: only once it is gone may another restore the file.
    #[serde(default)]
    owner: Option<ProcessId>,
}

/// Set by the signal handler: a Ctrl-C or kill arrived while an edit was in place.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn note_interrupt(_signal: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Whether SIGINT or SIGTERM arrived while an [`Edit`] was held.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// `text` with the edit's statement inserted at each of `points` (ascending byte offsets).
fn with_edit_lines(text: &str, points: &[usize]) -> String {
    let mut edited = String::with_capacity(text.len() + points.len() * (EDIT_LINE.len() + 1));
    let mut from = 0;
    for &at in points {
        edited.push_str(&text[from..at]);
        edited.push(' ');
        edited.push_str(EDIT_LINE);
        from = at;
    }
    edited.push_str(&text[from..]);
    edited
}

/// A one-line edit in place. Dropping it restores the file byte for byte, with its mtime.
pub struct Edit {
    journal_path: PathBuf,
    journal: Journal,
    restored: bool,
}

impl Edit {
    /// Journals, then edits `path`. `journal_dir` must survive the process (it is read by
    /// [`recover`] at the next start).
    pub fn apply(path: &Path, journal_dir: &Path) -> Result<Edit, BuildError> {
        Edit::journaled(path, journal_dir, Some(1))
    }

    /// Journals, then edits the first `functions` function bodies of `path` (an error
    /// when it has fewer).
    pub fn apply_to(path: &Path, functions: u32, journal_dir: &Path) -> Result<Edit, BuildError> {
        Edit::journaled(path, journal_dir, Some(functions.max(1) as usize))
    }

    /// Journals, then sets `path`'s mtime to now (its bytes stay as they are). Dropping it
    /// puts the old mtime back, so the user's own build does not see the file as changed.
    pub fn touch(path: &Path, journal_dir: &Path) -> Result<Edit, BuildError> {
        Edit::journaled(path, journal_dir, None)
    }

    /// `functions`: how many function bodies to edit (`None`: the mtime only).
    fn journaled(
        path: &Path,
        journal_dir: &Path,
        functions: Option<usize>,
    ) -> Result<Edit, BuildError> {
        let original = std::fs::read(path).map_err(BuildError::io("reading", path))?;
        // The edited text, worked out before anything is written.
        let edited = if let Some(functions) = functions {
            let text = std::str::from_utf8(&original).map_err(|_| {
                BuildError::Edit(format!(
                    "{}: not UTF-8 text, cannot edit it",
                    path.display()
                ))
            })?;
            let points = function_body_insertion_points(text, functions);
            if points.is_empty() {
                return Err(BuildError::Edit(format!(
                    "{}: no function body to edit (use --touch for an mtime-only change)",
                    path.display()
                )));
            }
            if points.len() < functions {
                return Err(BuildError::Edit(format!(
                    "{}: has {} function bodies, fewer than the {functions} to edit (--edit-size)",
                    path.display(),
                    points.len()
                )));
            }
            Some(with_edit_lines(text, &points))
        } else {
            None
        };
        let mtime_ns = std::fs::metadata(path)
            .and_then(|m| m.modified())
            .map_err(BuildError::io("reading", path))?
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        std::fs::create_dir_all(journal_dir).map_err(BuildError::io("creating", journal_dir))?;
        let backup = journal_dir.join("edit-original.bak");
        let journal_path = journal_dir.join("edit-journal.json");
        if journal_path.exists() {
            // The workspace lock is held and recovery ran: this edit's run is alive, or
            // its journal could not be undone. Either way, it is not ours to overwrite.
            return Err(BuildError::Edit(format!(
                "{} shows an edit by another run that is still there; if no buildscope \
                 is running, restore the file from {} and delete the journal",
                journal_path.display(),
                journal_dir.join("edit-original.bak").display()
            )));
        }
        write_synced(&backup, &original)?;
        let journal = Journal {
            path: std::fs::canonicalize(path).map_err(BuildError::io("reading", path))?,
            backup,
            mtime_ns,
            owner: ProcessId::current(),
        };
        write_synced(
            &journal_path,
            &serde_json::to_vec_pretty(&journal).expect("a journal serializes"),
        )?;
        install_interrupt_handlers();
        let edit = Edit {
            journal_path,
            journal,
            restored: false,
        };
        match edited {
            Some(edited) => replace_contents(&edit.journal.path, edited.as_bytes(), "editing")?,
            None => touch(path)?,
        }
        Ok(edit)
    }

    /// Puts the original back now.
    pub fn restore(mut self) -> Result<(), BuildError> {
        self.restore_now()
    }

    fn restore_now(&mut self) -> Result<(), BuildError> {
        if self.restored {
            return Ok(());
        }
        restore_from(&self.journal)?;
        let _ = std::fs::remove_file(&self.journal_path);
        let _ = std::fs::remove_file(&self.journal.backup);
        self.restored = true;
        Ok(())
    }
}

impl Drop for Edit {
    fn drop(&mut self) {
        if let Err(e) = self.restore_now() {
            eprintln!(
                "buildscope: could not restore {} ({e}); the next buildscope run will retry",
                self.journal.path.display()
            );
        }
    }
}

fn restore_from(journal: &Journal) -> Result<(), BuildError> {
    let original =
        std::fs::read(&journal.backup).map_err(BuildError::io("reading", &journal.backup))?;
    replace_contents(&journal.path, &original, "restoring")?;
    let mtime = SystemTime::UNIX_EPOCH + std::time::Duration::from_nanos(journal.mtime_ns as u64);
    std::fs::OpenOptions::new()
        .append(true)
        .open(&journal.path)
        .and_then(|f| f.set_modified(mtime))
        .map_err(BuildError::io("restoring the mtime of", &journal.path))
}

/// Replaces `path`'s bytes in one step: a reader (cargo, rustc, the user's editor, a
/// second buildscope) sees the old file or the new one, never an empty or half-written
/// one, which an in-place truncate-and-write shows for a moment. The new bytes go to a
/// file beside it with the same permissions, then are renamed over it. `path` is the
/// canonical path, so a symlink's target is replaced, not the link.
fn replace_contents(path: &Path, bytes: &[u8], doing: &'static str) -> Result<(), BuildError> {
    let staged = staging_path(path);
    let permissions = std::fs::metadata(path)
        .map_err(BuildError::io(doing, path))?
        .permissions();
    write_synced(&staged, bytes)?;
    let renamed =
        std::fs::set_permissions(&staged, permissions).and_then(|_| std::fs::rename(&staged, path));
    if let Err(e) = renamed {
        let _ = std::fs::remove_file(&staged);
        return Err(BuildError::io(doing, path)(e));
    }
    Ok(())
}

/// The file an edit or restore is staged in before the rename: beside the source, hidden,
/// named for buildscope so that one left by a kill is recognisable (recovery removes it).
fn staging_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.buildscope-staged"))
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), BuildError> {
    use std::io::Write;
    let mut file = std::fs::File::create(path).map_err(BuildError::io("writing", path))?;
    file.write_all(bytes)
        .and_then(|_| file.sync_all())
        .map_err(BuildError::io("writing", path))
}

fn install_interrupt_handlers() {
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe. The build
    // child (cargo) gets the same Ctrl-C from the terminal and stops; the caller then sees
    // the interruption and unwinds normally, which restores the edit.
    unsafe {
        libc::signal(
            libc::SIGINT,
            note_interrupt as *const () as libc::sighandler_t,
        );
        libc::signal(
            libc::SIGTERM,
            note_interrupt as *const () as libc::sighandler_t,
        );
    }
}

/// Undoes an edit left behind by a run that was killed. Returns the file restored, if any.
/// An edit whose run is still alive is left alone. Callers hold the workspace lock (see
/// [`crate::lock_workspace`]), so no live run can be measuring while this restores.
pub(crate) fn recover(journal_dir: &Path) -> Result<Option<PathBuf>, BuildError> {
    let journal_path = journal_dir.join("edit-journal.json");
    let Ok(bytes) = std::fs::read(&journal_path) else {
        return Ok(None);
    };
    let journal: Journal = serde_json::from_slice(&bytes).map_err(|e| {
        BuildError::Edit(format!(
            "{}: unreadable edit journal ({e}); restore the file by hand from {}",
            journal_path.display(),
            journal_dir.join("edit-original.bak").display()
        ))
    })?;
    if journal.owner.is_some_and(|owner| owner.is_alive()) {
        return Ok(None);
    }
    restore_from(&journal)?;
    let _ = std::fs::remove_file(&journal.backup);
    let _ = std::fs::remove_file(&journal_path);
    Ok(Some(journal.path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_go_inside_the_first_function_body() {
        let src = "// fn not_this() {}\nconst S: &str = \"fn nope() {\";\ntrait T { fn decl(&self); }\n\
                   pub fn area<T: Into<f64>>(w: T, h: T) -> f64 where T: Copy {\n    w.into() * h.into()\n}\n";
        let at = function_body_insertion_points(src, 1)[0];
        assert!(src[..at].ends_with("where T: Copy {"), "{}", &src[..at]);
        assert!(function_body_insertion_points("struct S;\n", 1).is_empty());
        let with_char = "fn f() -> char { '{' }";
        assert_eq!(function_body_insertion_points(with_char, 1), [16]);
    }

    #[test]
    fn an_edit_of_n_functions_changes_each_of_the_first_n_bodies() {
        let src =
            "fn a() {}\ntrait T { fn decl(); fn b(&self) { } }\nfn c(x: (u8, u8)) -> u8 { x.0 }\n";
        let points = function_body_insertion_points(src, 5);
        assert_eq!(points.len(), 3, "a, b and c; not the declaration");
        let edited = with_edit_lines(src, &points[..2]);
        assert_eq!(edited.matches(EDIT_LINE).count(), 2);
        assert!(edited.contains(&format!("fn b(&self) {{ {EDIT_LINE}")));
        assert!(edited.ends_with("fn c(x: (u8, u8)) -> u8 { x.0 }\n"));

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("lib.rs");
        std::fs::write(&file, src).unwrap();
        let journal = dir.path().join("journal");
        std::fs::create_dir_all(&journal).unwrap();
        let err = Edit::apply_to(&file, 4, &journal).err().unwrap();
        assert!(
            err.to_string()
                .contains("has 3 function bodies, fewer than the 4"),
            "{err}"
        );
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            src,
            "nothing written"
        );
        let edit = Edit::apply_to(&file, 3, &journal).unwrap();
        assert_eq!(
            std::fs::read_to_string(&file)
                .unwrap()
                .matches(EDIT_LINE)
                .count(),
            3
        );
        edit.restore().unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), src);
    }

    #[test]
    fn an_edit_is_restored_byte_for_byte_with_its_mtime() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("lib.rs");
        let original = "pub fn f() -> u32 {\n    1\n}\n";
        std::fs::write(&file, original).unwrap();
        let old = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000);
        std::fs::File::options()
            .append(true)
            .open(&file)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let journal = dir.path().join("journal");
        {
            let _edit = Edit::apply(&file, &journal).unwrap();
            let edited = std::fs::read_to_string(&file).unwrap();
            assert!(edited.contains(EDIT_LINE));
            assert!(journal.join("edit-journal.json").exists());
        }
        assert_eq!(std::fs::read_to_string(&file).unwrap(), original);
        assert_eq!(std::fs::metadata(&file).unwrap().modified().unwrap(), old);
        assert!(!journal.join("edit-journal.json").exists());
    }

    #[test]
    fn a_killed_edit_is_recovered_at_the_next_start() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("main.rs");
        std::fs::write(&file, "fn main() {}\n").unwrap();
        let journal = dir.path().join("journal");
        let edit = Edit::apply(&file, &journal).unwrap();
        std::mem::forget(edit); // as if the process died here
        assert_ne!(std::fs::read_to_string(&file).unwrap(), "fn main() {}\n");
        // The edit's owner (this process) is alive: its edit is not restored under it.
        assert_eq!(recover(&journal).unwrap(), None);
        assert_ne!(std::fs::read_to_string(&file).unwrap(), "fn main() {}\n");
        // Its owner gone (the same pid, started at another time: a reused pid).
        let journal_file = journal.join("edit-journal.json");
        let mut record: Journal =
            serde_json::from_slice(&std::fs::read(&journal_file).unwrap()).unwrap();
        record.owner.as_mut().unwrap().start_ticks += 1;
        std::fs::write(&journal_file, serde_json::to_vec(&record).unwrap()).unwrap();
        let restored = recover(&journal).unwrap();
        assert_eq!(restored, Some(std::fs::canonicalize(&file).unwrap()));
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "fn main() {}\n");
        assert_eq!(recover(&journal).unwrap(), None);
    }

    #[test]
    fn an_edit_never_shows_a_reader_an_empty_file_and_keeps_permissions_and_links() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.rs");
        let original = "pub fn f() -> u32 {\n    1\n}\n".repeat(2_000);
        std::fs::write(&real, &original).unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("lib.rs");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let journal = dir.path().join("journal");
        // A reader polling the file while it is edited and restored, as cargo or a second
        // buildscope may: every read is the original or the edited text, whole.
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let reader = {
            let (stop, real) = (stop.clone(), real.clone());
            std::thread::spawn(move || {
                let mut partial = 0;
                while !stop.load(Ordering::Relaxed) {
                    let text = std::fs::read_to_string(&real).unwrap();
                    if !text.ends_with("}\n") || text.len() < 20 {
                        partial += 1;
                    }
                }
                partial
            })
        };
        for _ in 0..50 {
            let edit = Edit::apply(&link, &journal).unwrap();
            assert!(std::fs::read_to_string(&real).unwrap().contains(EDIT_LINE));
            edit.restore().unwrap();
        }
        stop.store(true, Ordering::Relaxed);
        assert_eq!(reader.join().unwrap(), 0, "a reader saw a partial file");
        assert_eq!(std::fs::read_to_string(&real).unwrap(), original);
        let mode = std::fs::metadata(&real).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o640);
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.contains("buildscope-staged"))
            .collect();
        assert!(left.is_empty(), "staged files left: {left:?}");
    }
}
