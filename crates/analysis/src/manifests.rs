//! What the manifests of the packages in a build declare (`cargo metadata`): each package's
//! dependency lines, resolved to the packages they name, and its `[features]` table with the
//! features cargo turned on. Read by the bill and by the feature resolution replayed over
//! them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Which table of a Cargo.toml a dependency line is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DependencyKind {
    /// `[dependencies]`
    Normal,
    /// `[build-dependencies]`: compiled for the build script, on the host.
    Build,
    /// `[dev-dependencies]`: for tests, examples and benches.
    Dev,
}

impl DependencyKind {
    /// The manifest table its lines are in.
    pub fn table(self) -> &'static str {
        match self {
            DependencyKind::Normal => "dependencies",
            DependencyKind::Build => "build-dependencies",
            DependencyKind::Dev => "dev-dependencies",
        }
    }
}

/// One dependency line of one package's manifest, resolved to the package it names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclaredDependency {
    /// The package whose manifest has the line.
    pub from: String,
    pub from_version: String,
    /// The package it names (a renamed line: the package, not the name in the code).
    pub to: String,
    pub to_version: String,
    pub kind: DependencyKind,
    /// `[target.'cfg(...)'.dependencies]`: the platform it is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(default)]
    pub optional: bool,
    #[serde(default = "yes")]
    pub default_features: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
    /// The name the line gives it, when renamed (`package = "..."`), or the name its
    /// package's feature table uses for it when optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rename: Option<String>,
    /// The crate name the code uses (`extern crate` / paths): the rename, else the
    /// library's name, `-` as `_`.
    #[serde(default)]
    pub crate_name: String,
}

fn yes() -> bool {
    true
}

/// A package's `[features]` table and the features cargo turned on for it in this build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureTable {
    pub package: String,
    pub version: String,
    pub features: BTreeMap<String, Vec<String>>,
    pub enabled: Vec<String>,
}

/// What the manifests of the packages in a build declare.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifests {
    pub dependencies: Vec<DeclaredDependency>,
    pub features: Vec<FeatureTable>,
}
