//! From an experiment's measurements to a change to make: the settings that measured
//! significantly faster than the baseline, as the Cargo.toml, `.cargo/config.toml` and
//! `rust-toolchain.toml` text that makes them permanent, and writing that text into the
//! project (only when asked, with a backup).

use std::path::{Path, PathBuf};

use buildscope_analysis::Comparison;
use toml_edit::{Array, DocumentMut, Item, Table, Value};

use crate::experiment::{Variant, AS_IS};
use crate::BuildError;

/// The settings worth keeping: with `one_at_a_time`, every change that alone measured
/// significantly faster (for a key tried with several values, its fastest); otherwise the
/// fastest variant that measured significantly faster. `comparisons[i]` is variant `i`
/// against the baseline (`variants[0]`).
pub fn winning_settings(
    variants: &[Variant],
    comparisons: &[Option<Comparison>],
    one_at_a_time: bool,
) -> Vec<(String, String)> {
    let Some(baseline) = variants.first() else {
        return Vec::new();
    };
    let faster = |c: &Option<Comparison>| c.filter(|c| c.significant && c.ratio < 1.0);
    let changes = |v: &Variant| -> Vec<(String, String)> {
        v.settings
            .iter()
            .filter(|s| !baseline.settings.contains(s) && s.1 != AS_IS)
            .cloned()
            .collect()
    };
    if !one_at_a_time {
        return variants
            .iter()
            .zip(comparisons)
            .filter_map(|(v, c)| faster(c).map(|c| (v, c.ratio)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(v, _)| {
                v.settings
                    .iter()
                    .filter(|s| s.1 != AS_IS)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
    }
    let mut best: Vec<((String, String), f64)> = Vec::new();
    for (variant, comparison) in variants.iter().zip(comparisons) {
        let Some(c) = faster(comparison) else {
            continue;
        };
        for change in changes(variant) {
            match best.iter_mut().find(|(s, _)| s.0 == change.0) {
                Some(entry) if entry.1 > c.ratio => *entry = (change, c.ratio),
                Some(_) => {}
                None => best.push((change, c.ratio)),
            }
        }
    }
    best.into_iter().map(|(s, _)| s).collect()
}

/// The text that makes settings permanent, one entry per file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snippet {
    /// For the workspace's Cargo.toml (profile keys).
    pub cargo_toml: String,
    /// For `.cargo/config.toml` (flags for every rustc: linker, unstable options).
    pub cargo_config: String,
    /// For `rust-toolchain.toml`.
    pub rust_toolchain: String,
}

impl Snippet {
    pub fn is_empty(&self) -> bool {
        self.cargo_toml.is_empty() && self.cargo_config.is_empty() && self.rust_toolchain.is_empty()
    }

    /// (file relative to the workspace root, its text), for the files with something.
    pub fn files(&self) -> Vec<(&'static str, &str)> {
        [
            ("Cargo.toml", self.cargo_toml.as_str()),
            (".cargo/config.toml", self.cargo_config.as_str()),
            ("rust-toolchain.toml", self.rust_toolchain.as_str()),
        ]
        .into_iter()
        .filter(|(_, text)| !text.is_empty())
        .collect()
    }
}

/// Where one setting goes.
enum Destination {
    /// A key of `[profile.<p>]` or of `[profile.<p>.package."*"]`.
    Profile {
        dependencies: bool,
        key: &'static str,
    },
    /// A flag for every rustc.
    Rustflag(String),
    Toolchain,
}

fn destination(key: &str, value: &str) -> Option<Destination> {
    let profile = |key| Destination::Profile {
        dependencies: false,
        key,
    };
    Some(match key {
        "debug" => profile("debug"),
        "incremental" => profile("incremental"),
        "codegen-units" => profile("codegen-units"),
        "opt-level" => profile("opt-level"),
        "lto" => profile("lto"),
        "split-debuginfo" => profile("split-debuginfo"),
        "deps-opt-level" => Destination::Profile {
            dependencies: true,
            key: "opt-level",
        },
        "linker" => match value {
            "gnu-ld" => Destination::Rustflag("-Clinker-features=-lld".into()),
            "mold" => Destination::Rustflag("-Clink-arg=-fuse-ld=mold".into()),
            _ => return None,
        },
        "share-generics" | "threads" => Destination::Rustflag(format!("-Z{key}={value}")),
        "toolchain" => Destination::Toolchain,
        _ => return None,
    })
}

/// A TOML value for a profile key: numbers and booleans bare, text quoted.
fn profile_value(value: &str) -> Value {
    if let Ok(n) = value.parse::<i64>() {
        n.into()
    } else if let Ok(b) = value.parse::<bool>() {
        b.into()
    } else {
        value.into()
    }
}

/// The edits `settings` make: to Cargo.toml's profile, to the rustflags of `host`, and to
/// the toolchain.
struct Edits {
    profile: Vec<(bool, &'static str, Value)>,
    rustflags: Vec<String>,
    toolchain: Option<String>,
}

fn edits(settings: &[(String, String)]) -> Edits {
    let mut edits = Edits {
        profile: Vec::new(),
        rustflags: Vec::new(),
        toolchain: None,
    };
    for (key, value) in settings {
        match destination(key, value) {
            Some(Destination::Profile { dependencies, key }) => {
                edits
                    .profile
                    .push((dependencies, key, profile_value(value)))
            }
            Some(Destination::Rustflag(flag)) => edits.rustflags.push(flag),
            Some(Destination::Toolchain) => {
                edits.toolchain = Some(value.trim_start_matches('+').to_string())
            }
            None => {}
        }
    }
    edits
}

/// The snippet for `settings` in cargo profile `profile`, rustflags for target `host`.
pub fn snippet(settings: &[(String, String)], profile: &str, host: &str) -> Snippet {
    let edits = edits(settings);
    let mut cargo_toml = DocumentMut::new();
    apply_profile(&mut cargo_toml, profile, &edits);
    let mut config = DocumentMut::new();
    apply_rustflags(&mut config, host, &edits.rustflags);
    let mut toolchain = DocumentMut::new();
    if let Some(name) = &edits.toolchain {
        apply_toolchain(&mut toolchain, name);
    }
    Snippet {
        cargo_toml: cargo_toml.to_string().trim_start().to_string(),
        cargo_config: config.to_string().trim_start().to_string(),
        rust_toolchain: toolchain.to_string().trim_start().to_string(),
    }
}

/// A table under `doc` at `path`, made (and kept out of dotted-key form) where missing.
fn table_at<'a>(doc: &'a mut DocumentMut, path: &[&str]) -> &'a mut Table {
    let mut table = doc.as_table_mut();
    for (depth, key) in path.iter().enumerate() {
        let item = table.entry(key).or_insert_with(|| {
            let mut t = Table::new();
            // `[profile.dev]` rather than an empty `[profile]` above it.
            t.set_implicit(depth + 1 < path.len());
            Item::Table(t)
        });
        if !item.is_table() {
            *item = Item::Table(Table::new());
        }
        table = item.as_table_mut().expect("made a table above");
    }
    table
}

fn apply_profile(doc: &mut DocumentMut, profile: &str, edits: &Edits) {
    for (dependencies, key, value) in &edits.profile {
        let path: Vec<&str> = if *dependencies {
            vec!["profile", profile, "package", "*"]
        } else {
            vec!["profile", profile]
        };
        let table = table_at(doc, &path);
        let mut value = value.clone();
        // The user's comment on the line stays with the new value.
        if let Some(old) = table.get(key).and_then(Item::as_value) {
            *value.decor_mut() = old.decor().clone();
        }
        table[*key] = Item::Value(value);
    }
}

/// Adds `flags` to the rustflags cargo will really use: `build.rustflags` if the config
/// has it (a `target.<host>.rustflags` would silently replace it), else
/// `target.<host>.rustflags`.
fn apply_rustflags(doc: &mut DocumentMut, host: &str, flags: &[String]) {
    if flags.is_empty() {
        return;
    }
    let uses_build = doc.get("build").and_then(|b| b.get("rustflags")).is_some();
    let table = if uses_build {
        table_at(doc, &["build"])
    } else {
        table_at(doc, &["target", host])
    };
    let item = table
        .entry("rustflags")
        .or_insert_with(|| Item::Value(Value::Array(Array::new())));
    if let Some(text) = item.as_str().map(str::to_string) {
        // A single string of space-separated flags: kept a string.
        let mut words: Vec<&str> = text.split_whitespace().collect();
        for flag in flags {
            if !words.contains(&flag.as_str()) {
                words.push(flag);
            }
        }
        *item = Item::Value(words.join(" ").into());
        return;
    }
    if let Some(array) = item.as_array_mut() {
        for flag in flags {
            if !array.iter().any(|v| v.as_str() == Some(flag)) {
                array.push(flag.as_str());
            }
        }
    }
}

fn apply_toolchain(doc: &mut DocumentMut, name: &str) {
    table_at(doc, &["toolchain"])["channel"] = Item::Value(name.into());
}

/// One file `apply` changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedFile {
    pub path: PathBuf,
    /// Empty when the file did not exist.
    pub before: String,
    pub after: String,
    /// Where the old file was saved; `None` when there was none.
    pub backup: Option<PathBuf>,
}

/// Writes `settings` into the project at `workspace_root`: Cargo.toml's profile,
/// `.cargo/config.toml`'s rustflags, `rust-toolchain.toml`. Every file is parsed before
/// any is written, and each existing file is first copied to `<name>.buildscope-backup`
/// (`.1`, `.2`, ... if that exists), so a parse error changes nothing.
pub fn apply(
    workspace_root: &Path,
    settings: &[(String, String)],
    profile: &str,
    host: &str,
) -> Result<Vec<AppliedFile>, BuildError> {
    let edits = edits(settings);
    let mut planned = Vec::new();
    let mut plan = |relative: &str, edit: &dyn Fn(&mut DocumentMut)| -> Result<(), BuildError> {
        let path = workspace_root.join(relative);
        let before = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => {
                return Err(BuildError::Io {
                    what: "reading".into(),
                    path,
                    source: e,
                })
            }
        };
        let mut doc: DocumentMut = before.parse().map_err(|e: toml_edit::TomlError| {
            BuildError::UserFile(format!(
                "{}: not valid TOML ({}); nothing was changed",
                path.display(),
                e.message()
            ))
        })?;
        edit(&mut doc);
        let after = doc.to_string();
        if after != before {
            planned.push((path, before, after));
        }
        Ok(())
    };
    if !edits.profile.is_empty() {
        plan("Cargo.toml", &|doc| apply_profile(doc, profile, &edits))?;
    }
    if !edits.rustflags.is_empty() {
        plan(".cargo/config.toml", &|doc| {
            apply_rustflags(doc, host, &edits.rustflags)
        })?;
    }
    if let Some(name) = &edits.toolchain {
        plan("rust-toolchain.toml", &|doc| apply_toolchain(doc, name))?;
    }
    let mut applied = Vec::new();
    for (path, before, after) in planned {
        let backup = if path.exists() {
            let backup = free_backup_name(&path);
            std::fs::copy(&path, &backup).map_err(BuildError::io("backing up", &path))?;
            Some(backup)
        } else {
            None
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(BuildError::io("creating", dir))?;
        }
        // Written under a temporary name and renamed: never a half-written Cargo.toml.
        let temporary = path.with_extension("toml.buildscope-tmp");
        std::fs::write(&temporary, &after).map_err(BuildError::io("writing", &temporary))?;
        std::fs::rename(&temporary, &path).map_err(BuildError::io("replacing", &path))?;
        applied.push(AppliedFile {
            path,
            before,
            after,
            backup,
        });
    }
    Ok(applied)
}

fn free_backup_name(path: &Path) -> PathBuf {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let first = path.with_file_name(format!("{name}.buildscope-backup"));
    std::iter::once(first)
        .chain((1..).map(|n| path.with_file_name(format!("{name}.buildscope-backup.{n}"))))
        .find(|candidate| !candidate.exists())
        .expect("an unused name")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::{parse_vary, variants, Available};

    fn comparison(ratio: f64, significant: bool) -> Option<Comparison> {
        Some(Comparison {
            ratio,
            low: ratio * 0.9,
            high: ratio * 1.1,
            significant,
        })
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn winners_are_the_significantly_faster_changes() {
        let available = Available {
            linkers: vec!["mold".into()],
            ..Available::default()
        };
        let one = variants(
            &[
                parse_vary("debug=as-is,line-tables-only,0").unwrap(),
                parse_vary("linker=as-is,mold").unwrap(),
                parse_vary("incremental=as-is,false").unwrap(),
            ],
            true,
            "dev",
            &available,
        )
        .unwrap();
        let names: Vec<&str> = one.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "baseline",
                "debug=line-tables-only",
                "debug=0",
                "linker=mold",
                "incremental=false"
            ]
        );
        let measured = [
            None,
            comparison(0.8, true),
            comparison(0.7, true),  // the faster debug level wins
            comparison(0.9, false), // not significant: left out
            comparison(1.3, true),  // slower: left out
        ];
        assert_eq!(
            winning_settings(&one, &measured, true),
            pairs(&[("debug", "0")])
        );
        let matrix = variants(
            &[
                parse_vary("debug=2,0").unwrap(),
                parse_vary("incremental=true,false").unwrap(),
            ],
            false,
            "dev",
            &available,
        )
        .unwrap();
        let measured = [
            None,
            comparison(0.9, true),
            comparison(0.6, true),
            comparison(0.5, false),
        ];
        assert_eq!(
            winning_settings(&matrix, &measured, false),
            pairs(&[("debug", "0"), ("incremental", "true")])
        );
        assert!(winning_settings(&matrix, &[None, None, None, None], false).is_empty());
    }

    #[test]
    fn the_snippet_has_each_setting_where_cargo_reads_it() {
        let snippet = snippet(
            &pairs(&[
                ("debug", "line-tables-only"),
                ("codegen-units", "16"),
                ("deps-opt-level", "1"),
                ("incremental", "false"),
                ("linker", "mold"),
                ("toolchain", "nightly"),
            ]),
            "dev",
            "x86_64-unknown-linux-gnu",
        );
        assert_eq!(
            snippet.cargo_toml,
            "[profile.dev]\ndebug = \"line-tables-only\"\ncodegen-units = 16\nincremental = false\n\n\
             [profile.dev.package.\"*\"]\nopt-level = 1\n"
        );
        assert_eq!(
            snippet.cargo_config,
            "[target.x86_64-unknown-linux-gnu]\nrustflags = [\"-Clink-arg=-fuse-ld=mold\"]\n"
        );
        assert_eq!(
            snippet.rust_toolchain,
            "[toolchain]\nchannel = \"nightly\"\n"
        );
        // Every snippet parses as what cargo reads.
        for (_, text) in snippet.files() {
            text.parse::<DocumentMut>().unwrap();
        }
    }

    #[test]
    fn apply_merges_into_existing_files_keeps_a_backup_and_refuses_bad_toml() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = "# my workspace\n[workspace]\nmembers = [\"a\"]\n\n[profile.dev]\nopt-level = 0 # fast builds\ndebug = 2 # full\n";
        std::fs::write(dir.path().join("Cargo.toml"), manifest).unwrap();
        std::fs::create_dir(dir.path().join(".cargo")).unwrap();
        let config = "[build]\nrustflags = [\"-Ctarget-cpu=native\"]\n";
        std::fs::write(dir.path().join(".cargo/config.toml"), config).unwrap();
        let applied = apply(
            dir.path(),
            &pairs(&[("debug", "line-tables-only"), ("linker", "mold")]),
            "dev",
            "x86_64-unknown-linux-gnu",
        )
        .unwrap();
        assert_eq!(applied.len(), 2);
        let cargo_toml = std::fs::read_to_string(dir.path().join("Cargo.toml")).unwrap();
        assert_eq!(
            cargo_toml,
            "# my workspace\n[workspace]\nmembers = [\"a\"]\n\n[profile.dev]\nopt-level = 0 # fast builds\ndebug = \"line-tables-only\" # full\n"
        );
        // build.rustflags is where this project's flags are: a target table would hide them.
        let config_toml = std::fs::read_to_string(dir.path().join(".cargo/config.toml")).unwrap();
        assert_eq!(
            config_toml,
            "[build]\nrustflags = [\"-Ctarget-cpu=native\", \"-Clink-arg=-fuse-ld=mold\"]\n"
        );
        let backup = applied[0].backup.as_ref().unwrap();
        assert_eq!(std::fs::read_to_string(backup).unwrap(), manifest);
        assert_eq!(applied[0].before, manifest);

        // A second apply keeps the first backup and takes the next name.
        let again = apply(dir.path(), &pairs(&[("debug", "0")]), "dev", "h").unwrap();
        assert!(again[0]
            .backup
            .as_ref()
            .unwrap()
            .ends_with("Cargo.toml.buildscope-backup.1"));

        // Broken TOML: an error naming the file, and nothing written.
        std::fs::write(dir.path().join("Cargo.toml"), "[profile.dev\n").unwrap();
        let err = apply(
            dir.path(),
            &pairs(&[("debug", "0"), ("linker", "mold")]),
            "dev",
            "h",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("Cargo.toml: not valid TOML"), "{err}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("Cargo.toml")).unwrap(),
            "[profile.dev\n"
        );
    }
}
