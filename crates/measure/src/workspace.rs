//! What cargo and the machine say about the workspace: every `cargo metadata` call of
//! buildscope is here, with the toolchain and linker facts the commands share.

use std::path::{Path, PathBuf};

use buildscope_analysis::{DeclaredDependency, DependencyKind, FeatureTable, Manifests};

use crate::BuildError;

/// A workspace as `cargo metadata --no-deps` describes it.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub root: PathBuf,
    /// cargo's target directory for this workspace (buildscope keeps its state under it).
    pub target_dir: PathBuf,
    pub members: Vec<Member>,
}

/// One workspace package.
#[derive(Debug, Clone)]
pub struct Member {
    pub name: String,
    /// The folder of its Cargo.toml.
    pub dir: PathBuf,
    /// The source file an edit of this member goes into: the library's (or proc macro's)
    /// root if there is one, else the first binary's.
    pub root_source: Option<PathBuf>,
}

impl Workspace {
    /// Asks `cargo` (the one running us, else the one on PATH) about the workspace around
    /// `manifest_path` or the current directory.
    pub fn load(cargo: &Path, manifest_path: Option<&Path>) -> Result<Workspace, BuildError> {
        let mut command = cargo_metadata::MetadataCommand::new();
        command.cargo_path(cargo).no_deps();
        if let Some(manifest) = manifest_path {
            command.manifest_path(manifest);
        }
        let metadata = command.exec().map_err(|e| {
            BuildError::CargoOutput(format!("cargo metadata: {}", first_line(&e.to_string())))
        })?;
        let members = metadata
            .workspace_packages()
            .into_iter()
            .map(|p| Member {
                name: p.name.to_string(),
                dir: PathBuf::from(p.manifest_path.clone())
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_default(),
                root_source: edit_target(p),
            })
            .collect();
        Ok(Workspace {
            root: metadata.workspace_root.clone().into(),
            target_dir: metadata.target_directory.clone().into(),
            members,
        })
    }

    /// The workspace around `manifest_path` or the current directory, if there is one.
    pub fn here(manifest_path: Option<&Path>) -> Option<Workspace> {
        Workspace::load(&cargo(), manifest_path).ok()
    }

    /// Where buildscope keeps its state for this workspace (`target/buildscope`).
    pub fn state_dir(&self) -> PathBuf {
        self.target_dir.join("buildscope")
    }

    pub fn member_names(&self) -> Vec<String> {
        self.members.iter().map(|m| m.name.clone()).collect()
    }

    /// The member an `--edit` scenario edits (the one whose folder holds its file).
    pub fn edited_package(&self, scenario: &buildscope_analysis::Scenario) -> Option<String> {
        match scenario {
            buildscope_analysis::Scenario::Edit { path, .. } => self.package_of(path),
            _ => None,
        }
    }

    /// The member whose folder holds `file` (the innermost one).
    pub fn package_of(&self, file: &Path) -> Option<String> {
        self.members
            .iter()
            .filter(|m| file.starts_with(&m.dir))
            .max_by_key(|m| m.dir.components().count())
            .map(|m| m.name.clone())
    }
}

/// The cargo to run: `$CARGO` when cargo started us, else `cargo` from PATH.
pub fn cargo() -> PathBuf {
    std::env::var_os("CARGO")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("cargo"))
}

/// The packages of a workspace whose code may be the user's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalPackages {
    /// The workspace's members (none if cargo cannot say).
    pub members: Vec<String>,
    /// Packages of the dependency graph from a local path that are not members: a crate
    /// next to the workspace (none when cargo cannot resolve the graph offline).
    pub path_dependencies: Vec<String>,
}

/// The members and path dependencies of the workspace at `root`, and with `with_manifests`
/// what the manifests of every package in its build declare (each dependency line resolved
/// to the package it names, each package's features): one `cargo metadata` with the graph
/// resolved (a second, without it, only when the graph cannot be resolved: the members
/// then). The manifests are read as they are now (one edited since the run shows as
/// edited); `None` when cargo cannot say.
pub fn local_packages(root: &Path, with_manifests: bool) -> (LocalPackages, Option<Manifests>) {
    let mut remembered = PACKAGES_ASKED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(answer) = remembered
        .iter()
        .find(|r| r.root == root && r.with_manifests == with_manifests && r.still_true())
    {
        return answer.answer.clone();
    }
    #[cfg(test)]
    tests::ASKED_OF_CARGO
        .lock()
        .unwrap()
        .push(root.to_path_buf());
    let (answer, read) = ask_local_packages(root, with_manifests);
    remembered.retain(|r| !(r.root == root && r.with_manifests == with_manifests));
    if let Some(read) = read {
        remembered.push(PackagesAnswer {
            root: root.to_path_buf(),
            with_manifests,
            read: read.into_iter().map(|path| (stamp(&path), path)).collect(),
            answer: answer.clone(),
        });
    }
    answer
}

/// What `local_packages` answered in this process. One command asks more than once (a
/// build's plan while cargo lists the units, its explanation after the build; each of
/// `--runs`), and on a workspace of 1,000 crates each `cargo metadata` took 0.9 s; asked
/// again only when a manifest or the lock file it read changed since.
static PACKAGES_ASKED: std::sync::Mutex<Vec<PackagesAnswer>> = std::sync::Mutex::new(Vec::new());

struct PackagesAnswer {
    root: PathBuf,
    with_manifests: bool,
    /// The files cargo's answer came from, with their modification time and size then.
    read: Vec<(Option<(std::time::SystemTime, u64)>, PathBuf)>,
    answer: (LocalPackages, Option<Manifests>),
}

impl PackagesAnswer {
    fn still_true(&self) -> bool {
        self.read.iter().all(|(then, path)| stamp(path) == *then)
    }
}

fn stamp(path: &Path) -> Option<(std::time::SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// `local_packages` asked of cargo, with the files its answer came from (the manifests of
/// every package from a local path, and the lock file); `None` for those when cargo could
/// not resolve the graph (that answer is not remembered).
fn ask_local_packages(
    root: &Path,
    with_manifests: bool,
) -> ((LocalPackages, Option<Manifests>), Option<Vec<PathBuf>>) {
    let resolved = if with_manifests {
        platform_metadata(root)
    } else {
        resolved_metadata(root, true).ok()
    };
    let Some(metadata) = resolved else {
        let members = Workspace::load(&cargo(), Some(&root.join("Cargo.toml")))
            .map(|w| w.member_names())
            .unwrap_or_default();
        let local = LocalPackages {
            members,
            path_dependencies: Vec::new(),
        };
        return ((local, None), None);
    };
    let read = metadata
        .packages
        .iter()
        .filter(|p| p.source.is_none())
        .map(|p| PathBuf::from(p.manifest_path.clone()))
        .chain([root.join("Cargo.toml"), root.join("Cargo.lock")])
        .collect();
    let local = LocalPackages {
        members: metadata
            .workspace_packages()
            .iter()
            .map(|p| p.name.to_string())
            .collect(),
        path_dependencies: metadata
            .packages
            .iter()
            .filter(|p| p.source.is_none() && !metadata.workspace_members.contains(&p.id))
            .map(|p| p.name.to_string())
            .collect(),
    };
    let manifests = with_manifests.then(|| manifests_of(&metadata));
    ((local, manifests), Some(read))
}

/// The resolved graph for this platform: offline first, then online for the sources of
/// packages the build never downloaded (dev-dependencies); `--locked`, never a new
/// Cargo.lock.
fn platform_metadata(root: &Path) -> Option<cargo_metadata::Metadata> {
    let host = crate::rustc_version().host;
    let read = |offline: bool| {
        let mut options = vec![
            "--filter-platform".to_string(),
            host.clone(),
            "--locked".to_string(),
        ];
        if offline {
            options.push("--offline".to_string());
        }
        cargo_metadata::MetadataCommand::new()
            .cargo_path(cargo())
            .manifest_path(root.join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", metadata_target_dir(root))
            // Online only to fetch what the build never downloaded: one try, a short wait,
            // so an offline machine's explain does not stall on it.
            .env("CARGO_NET_RETRY", "0")
            .env("CARGO_HTTP_TIMEOUT", "10")
            .other_options(options)
            .exec()
    };
    read(true).or_else(|_| read(false)).ok()
}

fn manifests_of(metadata: &cargo_metadata::Metadata) -> Manifests {
    use cargo_metadata::DependencyKind as Kind;
    let by_id: std::collections::HashMap<_, _> =
        metadata.packages.iter().map(|p| (&p.id, p)).collect();
    let mut manifests = Manifests::default();
    let Some(resolve) = &metadata.resolve else {
        return manifests;
    };
    for node in &resolve.nodes {
        let Some(from) = by_id.get(&node.id) else {
            continue;
        };
        manifests.features.push(FeatureTable {
            package: from.name.to_string(),
            version: from.version.to_string(),
            features: from.features.clone().into_iter().collect(),
            enabled: node.features.iter().map(|f| f.to_string()).collect(),
        });
        for dep in &node.deps {
            let Some(to) = by_id.get(&dep.pkg) else {
                continue;
            };
            for info in &dep.dep_kinds {
                let kind = match info.kind {
                    Kind::Normal => DependencyKind::Normal,
                    Kind::Build => DependencyKind::Build,
                    Kind::Development => DependencyKind::Dev,
                    _ => continue,
                };
                let target = info.target.as_ref().map(|t| t.to_string());
                // The manifest's line: same package, table and platform, a requirement the
                // resolved version meets.
                let line = from.dependencies.iter().find(|d| {
                    d.name == to.name.as_str()
                        && d.kind == info.kind
                        && d.target.as_ref().map(|t| t.to_string()) == target
                        && d.req.matches(&to.version)
                });
                manifests.dependencies.push(DeclaredDependency {
                    from: from.name.to_string(),
                    from_version: from.version.to_string(),
                    to: to.name.to_string(),
                    to_version: to.version.to_string(),
                    kind,
                    target,
                    optional: line.is_some_and(|d| d.optional),
                    default_features: line.is_none_or(|d| d.uses_default_features),
                    features: line.map(|d| d.features.clone()).unwrap_or_default(),
                    rename: line.and_then(|d| d.rename.clone()),
                    crate_name: line
                        .and_then(|d| d.rename.clone())
                        .or_else(|| lib_name(to))
                        .unwrap_or_else(|| to.name.to_string())
                        .replace('-', "_"),
                });
            }
        }
    }
    manifests
}

/// The name of a package's library (`md-5`'s is `md5`), if it has one.
fn lib_name(package: &cargo_metadata::Package) -> Option<String> {
    package
        .targets
        .iter()
        .find(|t| {
            t.kind.iter().any(|k| {
                matches!(
                    k.to_string().as_str(),
                    "lib" | "rlib" | "dylib" | "proc-macro" | "cdylib" | "staticlib"
                )
            })
        })
        .map(|t| t.name.clone())
}

/// Whether the workspace uses any package from outside it: without one, `deps-opt-level`
/// has nothing to change. When cargo cannot say, it is assumed to.
pub fn has_dependencies(root: &Path) -> bool {
    resolved_metadata(root, false)
        .map(|m| m.packages.len() > m.workspace_members.len())
        .unwrap_or(true)
}

/// `cargo metadata` of the workspace at `root` with the dependency graph resolved.
fn resolved_metadata(
    root: &Path,
    offline: bool,
) -> Result<cargo_metadata::Metadata, cargo_metadata::Error> {
    let mut command = cargo_metadata::MetadataCommand::new();
    command
        .cargo_path(cargo())
        .manifest_path(root.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", metadata_target_dir(root));
    if offline {
        command.other_options(vec!["--offline".to_string()]);
    }
    command.exec()
}

/// Resolving a graph asks rustc about itself, and cargo keeps the answer in the target
/// directory: a folder of buildscope's own per workspace (in the system's temporary
/// directory) is given as the target directory, so the user's (`target/.rustc_info.json`)
/// is never written, and no `cargo metadata --no-deps` is needed first to find where
/// buildscope's state is.
fn metadata_target_dir(root: &Path) -> PathBuf {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    root.hash(&mut hasher);
    std::env::temp_dir().join(format!("buildscope-metadata-{:016x}", hasher.finish()))
}

fn edit_target(package: &cargo_metadata::Package) -> Option<PathBuf> {
    let is = |t: &&cargo_metadata::Target, pred: fn(&str) -> bool| {
        t.kind.iter().any(|k| pred(&k.to_string()))
    };
    package
        .targets
        .iter()
        .find(|t| is(t, |k| k.ends_with("lib") || k == "proc-macro"))
        .or_else(|| package.targets.iter().find(|t| is(t, |k| k == "bin")))
        .map(|t| t.src_path.clone().into())
}

fn first_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .to_string()
}

/// Linkers on PATH, for the linking finding and the experiment's linker key.
pub fn installed_linkers() -> Vec<String> {
    ["mold", "ld.lld", "ld.gold", "ld.bfd", "wild"]
        .iter()
        .filter(|name| on_path(name).is_some())
        .map(|s| s.to_string())
        .collect()
}

/// The file a program name (no `/`) runs as, looked up on PATH as a shell would.
pub(crate) fn on_path(name: impl AsRef<Path>) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name.as_ref()))
        .find(|p| p.is_file())
}

/// The compiler's version line and host triple.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RustcVersion {
    /// `rustc 1.95.0 (…)`.
    pub release: String,
    /// `x86_64-unknown-linux-gnu`.
    pub host: String,
}

/// From `rustc -vV` (`$RUSTC` when set); "unknown" parts when rustc cannot say. Asked
/// once per process (a build asked three times, ~25 ms each through rustup).
pub fn rustc_version() -> RustcVersion {
    static ASKED: std::sync::OnceLock<RustcVersion> = std::sync::OnceLock::new();
    ASKED.get_or_init(ask_rustc_version).clone()
}

fn ask_rustc_version() -> RustcVersion {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = std::process::Command::new(rustc).arg("-vV").output();
    let text = out
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    RustcVersion {
        release: text.lines().next().unwrap_or("rustc (unknown)").to_string(),
        host: text
            .lines()
            .find_map(|l| l.strip_prefix("host: "))
            .unwrap_or("unknown")
            .to_string(),
    }
}

/// cargo's profile name from its arguments: `dev`, `release` or `--profile`'s.
pub fn cargo_profile(args: &[String]) -> String {
    if args.iter().any(|a| a == "--release") {
        return "release".into();
    }
    args.iter()
        .position(|a| a == "--profile")
        .and_then(|i| args.get(i + 1))
        .cloned()
        .or_else(|| {
            args.iter()
                .find_map(|a| a.strip_prefix("--profile=").map(str::to_string))
        })
        .unwrap_or_else(|| "dev".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The roots `local_packages` asked cargo about (tests run in parallel: each counts
    /// its own root's).
    pub(super) static ASKED_OF_CARGO: std::sync::Mutex<Vec<PathBuf>> =
        std::sync::Mutex::new(Vec::new());

    fn times_asked(root: &Path) -> usize {
        ASKED_OF_CARGO
            .lock()
            .unwrap()
            .iter()
            .filter(|r| *r == root)
            .count()
    }

    #[test]
    fn profile_names_come_from_cargo_arguments() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(cargo_profile(&args(&[])), "dev");
        assert_eq!(cargo_profile(&args(&["-p", "x", "--release"])), "release");
        assert_eq!(cargo_profile(&args(&["--profile", "fast"])), "fast");
        assert_eq!(cargo_profile(&args(&["--profile=ci"])), "ci");
    }

    #[test]
    fn packages_are_asked_again_once_a_manifest_changed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let write = |path: &str, text: &str| {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        let member = |name: &str| {
            write(
                &format!("{name}/Cargo.toml"),
                &format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"),
            );
            write(&format!("{name}/src/lib.rs"), "");
        };
        member("a");
        member("b");
        write("Cargo.toml", "[workspace]\nmembers = [\"a\"]\n");
        let members = || local_packages(root, false).0.members;
        assert_eq!(members(), ["a"]);
        assert_eq!(members(), ["a"]);
        assert_eq!(times_asked(root), 1, "the second answer remembered");
        // The workspace's manifest changed behind the answer.
        write("Cargo.toml", "[workspace]\nmembers = [\"a\", \"b\"]\n");
        let mut now = members();
        now.sort();
        assert_eq!(now, ["a", "b"]);
        assert_eq!(times_asked(root), 2);
        // A member's manifest, the same length: its modification time tells.
        write(
            "a/Cargo.toml",
            "[package]\nname = \"c\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
        );
        let mut now = members();
        now.sort();
        assert_eq!(now, ["b", "c"], "a member renamed in its own manifest");
    }
}
