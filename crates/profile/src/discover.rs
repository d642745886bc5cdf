//! Turns what the user named (files, directories, measureme-style file prefixes) into the
//! list of profile files to read.

use std::path::{Path, PathBuf};

use crate::ProfileError;

/// How deep directory walks go: a run folder holds profiles one or two levels down.
const MAX_DEPTH: usize = 8;

/// The profile files named by a set of paths, sorted and deduplicated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileSet {
    pub files: Vec<PathBuf>,
}

/// Expands each path: a file is taken as it is; a directory contributes every
/// `*.mm_profdata` below it; a path that does not exist but whose `.mm_profdata` sibling
/// does is taken as that file (measureme's tools take a file prefix).
/// Beside a run's record when its raw profiles were pruned (buildscope's retention).
pub const PRUNED_MARK: &str = "pruned.json";

/// A run folder (or its `profiles` folder) whose raw profiles were pruned.
fn was_pruned(path: &Path) -> bool {
    path.join(PRUNED_MARK).is_file()
        || path
            .parent()
            .is_some_and(|run| run.join(PRUNED_MARK).is_file())
}

pub fn find_profiles(paths: &[PathBuf]) -> Result<ProfileSet, ProfileError> {
    let mut files = Vec::new();
    for path in paths {
        let meta = match std::fs::metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let with_extension = path.with_extension("mm_profdata");
                if with_extension.is_file() {
                    files.push(with_extension);
                    continue;
                }
                if was_pruned(path) {
                    return Err(ProfileError::Pruned { path: path.clone() });
                }
                return Err(ProfileError::io(path, e));
            }
            Err(e) => return Err(ProfileError::io(path, e)),
        };
        if meta.is_dir() {
            let before = files.len();
            walk(path, 0, &mut files)?;
            if files.len() == before {
                if was_pruned(path) {
                    return Err(ProfileError::Pruned { path: path.clone() });
                }
                return Err(ProfileError::NoProfiles { path: path.clone() });
            }
        } else {
            files.push(path.clone());
        }
    }
    files.sort();
    files.dedup();
    Ok(ProfileSet { files })
}

fn walk(dir: &Path, depth: usize, files: &mut Vec<PathBuf>) -> Result<(), ProfileError> {
    let entries = std::fs::read_dir(dir).map_err(|e| ProfileError::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| ProfileError::io(dir, e))?;
        let path = entry.path();
        let file_type = entry.file_type().map_err(|e| ProfileError::io(&path, e))?;
        if file_type.is_dir() {
            if depth < MAX_DEPTH {
                walk(&path, depth + 1, files)?;
            }
        } else if path.extension().is_some_and(|ext| ext == "mm_profdata") {
            files.push(path);
        }
    }
    Ok(())
}
