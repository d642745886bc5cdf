//! Proof by removal: a manifest lever (an unused line removed, a feature turned off) tried
//! on two scratch copies of the workspace, one as it is and one changed, each built cold
//! in its own target directory, rounds alternating. The user's files are only read: the
//! copies live under `target/buildscope/`, and their path dependencies outside the
//! workspace point at the originals by absolute path.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use buildscope_analysis::{DependencyKind, ManifestEdit};
use toml_edit::{DocumentMut, Item, Value};

use crate::workspace::{cargo, Workspace};
use crate::BuildError;

/// What the two copies measured: cold-build wall times, or the change's first error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProofRuns {
    pub baseline_ns: Vec<u64>,
    pub with_change_ns: Vec<u64>,
    /// The change does not build: the compiler's (or cargo's) first error.
    pub failure: Option<String>,
}

/// Builds the workspace at `root` as it is and with `edit`, cold, `rounds` times each,
/// alternating, in `scratch` (emptied first).
pub fn prove_manifest_edit(
    root: &Path,
    command: &str,
    cargo_args: &[String],
    edit: &ManifestEdit,
    rounds: usize,
    scratch: &Path,
) -> Result<ProofRuns, BuildError> {
    let workspace = Workspace::load(&cargo(), Some(&root.join("Cargo.toml")))?;
    let _ = std::fs::remove_dir_all(scratch);
    let base = scratch.join("as-is");
    let changed = scratch.join("changed");
    for copy in [&base, &changed] {
        copy_sources(&workspace.root, copy)
            .map_err(BuildError::io("copying the workspace to", copy))?;
        absolutize_path_dependencies(&workspace.root, copy)?;
    }
    let member = workspace
        .members
        .iter()
        .find(|m| m.name == edit.member())
        .ok_or_else(|| BuildError::BadArgument(format!("no member `{}`", edit.member())))?;
    let relative = member
        .dir
        .strip_prefix(&workspace.root)
        .unwrap_or(Path::new(""));
    apply(&changed.join(relative).join("Cargo.toml"), edit)?;
    let mut runs = ProofRuns::default();
    // One untimed build first: the first cold build after a while pays for what the
    // machine has not cached yet (rustc's own files, the registry's sources), which would
    // count against whichever copy went first.
    // The command as the run measured it, in one copy, into that copy's own target dir.
    let build_in = |dir: &Path| {
        let mut cargo_build = Command::new(cargo());
        cargo_build
            .arg(command)
            .args(cargo_args)
            .arg("--quiet")
            .current_dir(dir)
            .env("CARGO_TARGET_DIR", dir.join("target"))
            .env_remove("RUSTC_WRAPPER")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        cargo_build
    };
    build_in(&base)
        .output()
        .map_err(BuildError::io("running cargo in", &base))?;
    for round in 0..rounds {
        // Alternating which goes first, so neither always builds on a warmer machine.
        let order = if round % 2 == 0 {
            [(&base, false), (&changed, true)]
        } else {
            [(&changed, true), (&base, false)]
        };
        for (dir, is_changed) in order {
            let target = dir.join("target");
            let _ = std::fs::remove_dir_all(&target);
            let started = Instant::now();
            let out = build_in(dir)
                .output()
                .map_err(BuildError::io("running cargo in", dir))?;
            let ns = started.elapsed().as_nanos() as u64;
            if !out.status.success() {
                let stderr = String::from_utf8_lossy(&out.stderr);
                let first = stderr
                    .lines()
                    .find(|l| l.starts_with("error"))
                    .unwrap_or("the build failed")
                    .to_string();
                if is_changed {
                    runs.failure = Some(first);
                    return Ok(runs);
                }
                return Err(BuildError::BuildFailed(format!(
                    "the workspace as it is does not build in a scratch copy: {first}"
                )));
            }
            if is_changed {
                runs.with_change_ns.push(ns);
            } else {
                runs.baseline_ns.push(ns);
            }
        }
    }
    Ok(runs)
}

/// Copies the workspace's sources (no `target/`, no VCS folders).
fn copy_sources(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        let name_str = name.to_string_lossy();
        if name_str == "target" || name_str == ".git" || name_str == ".hg" {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            copy_sources(&path, &to.join(&name))?;
        } else {
            std::fs::copy(&path, to.join(&name))?;
        }
    }
    Ok(())
}

/// Every Cargo.toml of the copy: a `path` that leaves the workspace becomes absolute.
fn absolutize_path_dependencies(original: &Path, copy: &Path) -> Result<(), BuildError> {
    let mut manifests = Vec::new();
    collect_manifests(copy, &mut manifests);
    for manifest in manifests {
        let text = std::fs::read_to_string(&manifest).map_err(|source| BuildError::Io {
            what: "reading".into(),
            path: manifest.clone(),
            source,
        })?;
        let Ok(mut doc) = text.parse::<DocumentMut>() else {
            continue;
        };
        let dir_in_copy = manifest.parent().unwrap_or(copy);
        let dir_in_original =
            original.join(dir_in_copy.strip_prefix(copy).unwrap_or(Path::new("")));
        let mut changed = false;
        let mut fix = |table: &mut dyn toml_edit::TableLike| {
            for (_, dep) in table.iter_mut() {
                let Some(dep) = dep.as_table_like_mut() else {
                    continue;
                };
                let Some(path) = dep.get("path").and_then(|p| p.as_str()).map(PathBuf::from) else {
                    continue;
                };
                let resolved = dir_in_original.join(&path);
                let inside = normalize(&resolved).starts_with(normalize(original));
                if !path.is_absolute() && !inside {
                    dep.insert(
                        "path",
                        Item::Value(Value::from(normalize(&resolved).display().to_string())),
                    );
                    changed = true;
                }
            }
        };
        for key in ["dependencies", "dev-dependencies", "build-dependencies"] {
            if let Some(table) = doc.get_mut(key).and_then(|t| t.as_table_like_mut()) {
                fix(table);
            }
        }
        if let Some(targets) = doc.get_mut("target").and_then(|t| t.as_table_like_mut()) {
            for (_, platform) in targets.iter_mut() {
                for key in ["dependencies", "dev-dependencies", "build-dependencies"] {
                    if let Some(table) = platform
                        .as_table_like_mut()
                        .and_then(|p| p.get_mut(key))
                        .and_then(|t| t.as_table_like_mut())
                    {
                        fix(table);
                    }
                }
            }
        }
        if let Some(table) = doc
            .get_mut("workspace")
            .and_then(|w| w.as_table_like_mut())
            .and_then(|w| w.get_mut("dependencies"))
            .and_then(|t| t.as_table_like_mut())
        {
            fix(table);
        }
        if changed {
            std::fs::write(&manifest, doc.to_string()).map_err(|source| BuildError::Io {
                what: "writing".into(),
                path: manifest.clone(),
                source,
            })?;
        }
    }
    Ok(())
}

fn collect_manifests(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_manifests(&path, out);
        } else if path.file_name().is_some_and(|n| n == "Cargo.toml") {
            out.push(path);
        }
    }
}

/// `a/b/../c` → `a/c`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The edit, made in the copy's manifest with toml_edit (its comments and layout kept).
fn apply(manifest: &Path, edit: &ManifestEdit) -> Result<(), BuildError> {
    let text = std::fs::read_to_string(manifest).map_err(|source| BuildError::Io {
        what: "reading".into(),
        path: manifest.to_path_buf(),
        source,
    })?;
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e| BuildError::UserFile(format!("{}: {e}", manifest.display())))?;
    let table_of = |kind: DependencyKind| kind.table();
    let missing = |what: &str| BuildError::UserFile(format!("{}: no {what}", manifest.display()));
    match edit {
        ManifestEdit::RemoveDependency {
            package,
            kind,
            target,
            ..
        } => {
            let table = match target {
                Some(platform) => doc
                    .get_mut("target")
                    .and_then(|t| t.get_mut(platform))
                    .and_then(|p| p.get_mut(table_of(*kind))),
                None => doc.get_mut(table_of(*kind)),
            }
            .and_then(|t| t.as_table_like_mut())
            .ok_or_else(|| missing(table_of(*kind)))?;
            let key = line_key(table, package).ok_or_else(|| missing(package))?;
            table.remove(&key);
        }
        ManifestEdit::RemoveDefaultFeature { feature, .. } => {
            let default = doc
                .get_mut("features")
                .and_then(|f| f.get_mut("default"))
                .and_then(|d| d.as_array_mut())
                .ok_or_else(|| missing("default features"))?;
            default.retain(|v| v.as_str() != Some(feature));
            default.fmt();
        }
        ManifestEdit::NoDefaultFeatures { package, kind, .. }
        | ManifestEdit::RemoveFeature { package, kind, .. } => {
            let table = doc
                .get_mut(table_of(*kind))
                .and_then(|t| t.as_table_like_mut())
                .ok_or_else(|| missing(table_of(*kind)))?;
            let key = line_key(table, package).ok_or_else(|| missing(package))?;
            let item = table.get_mut(&key).expect("found above");
            // `foo = "1"` becomes `foo = { version = "1" }` to take a key.
            if let Some(version) = item.as_str().map(str::to_string) {
                let mut inline = toml_edit::InlineTable::new();
                inline.insert("version", Value::from(version));
                *item = Item::Value(Value::InlineTable(inline));
            }
            let line = item.as_table_like_mut().ok_or_else(|| missing(package))?;
            match edit {
                ManifestEdit::NoDefaultFeatures { .. } => {
                    line.insert("default-features", Item::Value(Value::from(false)));
                }
                ManifestEdit::RemoveFeature { feature, .. } => {
                    if let Some(features) = line.get_mut("features").and_then(|f| f.as_array_mut())
                    {
                        features.retain(|v| v.as_str() != Some(feature));
                        features.fmt();
                    }
                }
                _ => {}
            }
        }
    }
    std::fs::write(manifest, doc.to_string()).map_err(|source| BuildError::Io {
        what: "writing".into(),
        path: manifest.to_path_buf(),
        source,
    })
}

/// The key of the line naming `package` (itself, or a renamed line's `package = "…"`).
fn line_key(table: &dyn toml_edit::TableLike, package: &str) -> Option<String> {
    table.iter().find_map(|(key, item)| {
        let named = item
            .as_table_like()
            .and_then(|t| t.get("package"))
            .and_then(|p| p.as_str());
        (named == Some(package) || (named.is_none() && key == package)).then(|| key.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_keep_the_rest_of_the_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("Cargo.toml");
        std::fs::write(
            &manifest,
            "[package]\nname = \"app\"\n\n[features]\ndefault = [\"fast\", \"color\"] # ours\nfast = []\ncolor = []\n\n\
             [dependencies]\nserde = \"1\"\nshort = { package = \"long-name\", version = \"2\", features = [\"a\", \"b\"] }\n",
        )
        .unwrap();
        let edits = [
            ManifestEdit::RemoveDefaultFeature {
                member: "app".into(),
                feature: "fast".into(),
            },
            ManifestEdit::NoDefaultFeatures {
                member: "app".into(),
                package: "serde".into(),
                kind: DependencyKind::Normal,
            },
            ManifestEdit::RemoveFeature {
                member: "app".into(),
                package: "long-name".into(),
                kind: DependencyKind::Normal,
                feature: "a".into(),
            },
        ];
        for edit in &edits {
            apply(&manifest, edit).unwrap();
        }
        let text = std::fs::read_to_string(&manifest).unwrap();
        assert!(text.contains("default = [\"color\"] # ours"), "{text}");
        assert!(
            text.contains("serde = { version = \"1\", default-features = false }"),
            "{text}"
        );
        assert!(text.contains("features = [\"b\"]"), "{text}");
        apply(
            &manifest,
            &ManifestEdit::RemoveDependency {
                member: "app".into(),
                package: "long-name".into(),
                kind: DependencyKind::Normal,
                target: None,
            },
        )
        .unwrap();
        let text = std::fs::read_to_string(&manifest).unwrap();
        assert!(!text.contains("long-name"), "{text}");
        assert!(text.contains("serde"), "{text}");
        // A platform's table.
        std::fs::write(
            &manifest,
            text + "\n[target.'cfg(unix)'.dependencies]\nlibc = \"0.2\"\nnix = \"0.29\"\n",
        )
        .unwrap();
        apply(
            &manifest,
            &ManifestEdit::RemoveDependency {
                member: "app".into(),
                package: "libc".into(),
                kind: DependencyKind::Normal,
                target: Some("cfg(unix)".into()),
            },
        )
        .unwrap();
        let text = std::fs::read_to_string(&manifest).unwrap();
        assert!(!text.contains("libc"), "{text}");
        assert!(text.contains("nix = \"0.29\""), "{text}");
    }
}
