//! Unused dependencies: a `cargo check` of every target of the workspace, in buildscope's
//! own target directory (the user's `target/` is never touched), with rustc's
//! `unused_crate_dependencies` lint turned on for the workspace's own crates by the wrapper.
//! The lint speaks per compilation ("extern crate `foo` is unused in crate `bar`"); a
//! dependency line is unused only when every compilation that was given the crate said so:
//! a dependency only the binary uses is used, as is one only the tests use.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use buildscope_analysis::{DependencyKind, Manifests, UnusedDependency};

use crate::workspace::{cargo, Workspace};
use crate::wrapper::{wrapper_program, ENV_INNER_WRAPPER, ENV_LINT_UNUSED, ENV_WRAPPER};
use crate::BuildError;

/// Which compilations of a package are given a line of `kind`.
fn receives(kind: DependencyKind, target_kind: &str, test: bool) -> bool {
    let build_script = target_kind == "custom-build";
    match kind {
        DependencyKind::Build => build_script,
        DependencyKind::Normal => !build_script,
        DependencyKind::Dev => {
            !build_script && (test || matches!(target_kind, "test" | "example" | "bench"))
        }
    }
}

/// One compilation cargo reported, and the crates rustc called unused in it.
#[derive(Default)]
struct Compilations {
    /// (manifest, target kind, target name) → (compilations, test compilations).
    artifacts: HashMap<(PathBuf, String, String), (usize, usize)>,
    /// (manifest, target kind, target name, crate) → times the lint named it.
    unused: HashMap<(PathBuf, String, String, String), usize>,
}

impl Compilations {
    fn read(&mut self, line: &str) {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            return;
        };
        let manifest = PathBuf::from(message["manifest_path"].as_str().unwrap_or_default());
        let target_kind = message["target"]["kind"][0]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let target = message["target"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        match message["reason"].as_str() {
            Some("compiler-artifact") => {
                let entry = self
                    .artifacts
                    .entry((manifest, target_kind, target))
                    .or_default();
                entry.0 += 1;
                if message["profile"]["test"].as_bool() == Some(true) {
                    entry.1 += 1;
                }
            }
            Some("compiler-message")
                if message["message"]["code"]["code"] == "unused_crate_dependencies" =>
            {
                // "extern crate `foo` is unused in crate `bar`"
                let text = message["message"]["message"].as_str().unwrap_or_default();
                if let Some(name) = text.split('`').nth(1) {
                    *self
                        .unused
                        .entry((manifest, target_kind, target, name.to_string()))
                        .or_default() += 1;
                }
            }
            _ => {}
        }
    }

    /// Whether every compilation of the package at `manifest` that is given a line of `kind`
    /// called `crate_name` unused (and there was at least one).
    fn unused_everywhere(&self, manifest: &Path, kind: DependencyKind, crate_name: &str) -> bool {
        let mut given = 0;
        let mut called_unused = 0;
        for ((m, target_kind, target), (all, tests)) in &self.artifacts {
            if m != manifest {
                continue;
            }
            // A lib is compiled as itself and as its unit tests: a dev line reaches only
            // the test compilation.
            let compilations = match kind {
                DependencyKind::Dev
                    if !matches!(target_kind.as_str(), "test" | "example" | "bench") =>
                {
                    *tests
                }
                _ if receives(kind, target_kind, false) => *all,
                _ => 0,
            };
            if compilations == 0 {
                continue;
            }
            given += compilations;
            called_unused += self
                .unused
                .get(&(
                    m.clone(),
                    target_kind.clone(),
                    target.clone(),
                    crate_name.to_string(),
                ))
                .copied()
                .unwrap_or(0)
                .min(compilations);
        }
        given > 0 && called_unused == given
    }
}

/// The members' dependency lines rustc finds unused. Runs `cargo check --workspace
/// --all-targets` once in `target/buildscope/unused-check`.
pub fn unused_dependencies(
    root: &Path,
    manifests: &Manifests,
) -> Result<Vec<UnusedDependency>, BuildError> {
    let workspace = Workspace::load(&cargo(), Some(&root.join("Cargo.toml")))?;
    let wrapper = wrapper_program().map_err(|e| BuildError::Io {
        what: "finding".into(),
        path: PathBuf::from("buildscope's own executable"),
        source: e,
    })?;
    // Every target; if that does not build (benches on `#![feature(test)]` need nightly),
    // every target but the benches, and then no dev-dependency is called unused (a bench
    // may be what uses it).
    let check = |targets: &[&str]| -> Result<std::process::Output, BuildError> {
        let mut command = Command::new(cargo());
        command
            .args(["check", "--workspace", "--message-format=json", "--quiet"])
            .args(targets)
            .current_dir(&workspace.root)
            .env(
                "CARGO_TARGET_DIR",
                workspace.state_dir().join("unused-check"),
            )
            .env("RUSTC_WRAPPER", &wrapper)
            .env(ENV_WRAPPER, "1")
            .env(ENV_LINT_UNUSED, "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        match std::env::var_os("RUSTC_WRAPPER").filter(|w| !w.is_empty()) {
            Some(inner) => command.env(ENV_INNER_WRAPPER, inner),
            None => command.env_remove(ENV_INNER_WRAPPER),
        };
        command.output().map_err(|e| BuildError::Io {
            what: "running".into(),
            path: cargo(),
            source: e,
        })
    };
    let mut benches_checked = true;
    let mut output = check(&["--all-targets"])?;
    if !output.status.success() {
        benches_checked = false;
        output = check(&["--lib", "--bins", "--tests", "--examples"])?;
    }
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let first = stderr
            .lines()
            .find(|l| l.starts_with("error"))
            .unwrap_or("it failed");
        return Err(BuildError::CommandFailed(format!(
            "cargo check (looking for unused dependencies): {first}"
        )));
    }
    let mut compilations = Compilations::default();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        compilations.read(line);
    }
    let manifest_of: HashMap<&str, PathBuf> = workspace
        .members
        .iter()
        .map(|m| (m.name.as_str(), m.dir.join("Cargo.toml")))
        .collect();
    let mut unused: Vec<UnusedDependency> = manifests
        .dependencies
        .iter()
        .filter(|d| benches_checked || d.kind != DependencyKind::Dev)
        .filter_map(|d| {
            let manifest = manifest_of.get(d.from.as_str())?;
            compilations
                .unused_everywhere(manifest, d.kind, &d.crate_name)
                .then(|| UnusedDependency {
                    member: d.from.clone(),
                    package: d.to.clone(),
                    kind: d.kind,
                })
        })
        .collect();
    unused.sort_by(|a, b| (&a.member, &a.package).cmp(&(&b.member, &b.package)));
    unused.dedup();
    Ok(unused)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifact(kind: &str, name: &str, test: bool) -> String {
        format!(
            r#"{{"reason":"compiler-artifact","manifest_path":"/w/app/Cargo.toml","target":{{"kind":["{kind}"],"name":"{name}"}},"profile":{{"test":{test}}}}}"#
        )
    }

    fn unused(kind: &str, name: &str, krate: &str) -> String {
        format!(
            r#"{{"reason":"compiler-message","manifest_path":"/w/app/Cargo.toml","target":{{"kind":["{kind}"],"name":"{name}"}},"message":{{"code":{{"code":"unused_crate_dependencies"}},"message":"extern crate `{krate}` is unused in crate `{name}`"}}}}"#
        )
    }

    #[test]
    fn a_line_is_unused_only_where_every_compilation_given_it_says_so() {
        let mut c = Compilations::default();
        for line in [
            artifact("lib", "app", false),
            artifact("lib", "app", true),
            artifact("bin", "app", false),
            artifact("custom-build", "build-script-build", false),
            // `rand` unused everywhere; `clap` used by the binary only; `tempfile` (dev)
            // unused in the lib's tests; `cc` (build) unused by the build script.
            unused("lib", "app", "rand"),
            unused("lib", "app", "rand"),
            unused("bin", "app", "rand"),
            unused("lib", "app", "clap"),
            unused("lib", "app", "clap"),
            unused("lib", "app", "tempfile"),
            unused("custom-build", "build-script-build", "cc"),
        ] {
            c.read(&line);
        }
        let m = Path::new("/w/app/Cargo.toml");
        assert!(c.unused_everywhere(m, DependencyKind::Normal, "rand"));
        assert!(
            !c.unused_everywhere(m, DependencyKind::Normal, "clap"),
            "the binary uses it"
        );
        assert!(c.unused_everywhere(m, DependencyKind::Dev, "tempfile"));
        assert!(c.unused_everywhere(m, DependencyKind::Build, "cc"));
        assert!(!c.unused_everywhere(m, DependencyKind::Build, "rand"));
    }
}
