//! Cargo's feature resolution replayed over the manifests of a measured build: which
//! packages a member's features bring in, and the chain of features and lines through
//! which a package came into the build.
//!
//! A member's own feature often turns on a dependency's feature, which turns on another's,
//! until one of them lists an optional dependency (`xh`'s `rustls` → reqwest's `rustls` →
//! rustls's `aws-lc-rs` → aws-lc-sys and its build script). No single dependency line
//! brings such a package in, so the bill's line prices cannot name it; the decision behind
//! it is the member's feature, and only a resolution shows what turning it off removes.
//!
//! The replay follows cargo's rules for `[features]` (`dep:x`, `x/f`, `x?/f`, implicit
//! features of optional dependencies, `default-features`), over the lines whose package
//! the build compiled (a line for another platform names a package the build never
//! compiled). It is trusted only where it reproduces the build: resolved with the
//! features the build had, it must reach exactly the packages the build compiled.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use crate::manifests::{DeclaredDependency, DependencyKind, FeatureTable, Manifests};
use crate::timeline::{Unit, UnitKind};

/// A package: (name, version).
type PackageKey<'a> = (&'a str, &'a str);

/// A fact of the resolution: a package built, or one of its features on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Node {
    Package(usize),
    Feature(usize, String),
}

/// The manifests, indexed for resolving.
pub(crate) struct Resolver<'a> {
    packages: Vec<PackageKey<'a>>,
    index: HashMap<PackageKey<'a>, usize>,
    tables: Vec<Option<&'a FeatureTable>>,
    /// Each package's lines the build could have used (by the package they leave).
    lines: Vec<Vec<&'a DeclaredDependency>>,
    members: Vec<usize>,
}

/// A resolution: what is on, and for each fact the fact that first turned it on.
pub(crate) struct Resolution {
    on: HashMap<Node, Option<Node>>,
}

impl Resolution {
    fn packages(&self) -> BTreeSet<usize> {
        self.on
            .keys()
            .filter_map(|n| match n {
                Node::Package(p) => Some(*p),
                Node::Feature(..) => None,
            })
            .collect()
    }
}

/// One step of the chain that brings a package in, from the member's decision onwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainStep {
    pub package: String,
    /// The package's feature this step turns on; `None`: the package itself is built.
    pub feature: Option<String>,
}

impl<'a> Resolver<'a> {
    /// `built`: the packages (name, version) the measured build compiled; `dev`: whether it
    /// compiled the members' tests, examples or benches (their dev-dependencies count).
    pub(crate) fn new(
        manifests: &'a Manifests,
        members: &[String],
        built: &HashSet<(String, String)>,
        dev: bool,
    ) -> Resolver<'a> {
        let mut resolver = Resolver {
            packages: Vec::new(),
            index: HashMap::new(),
            tables: Vec::new(),
            lines: Vec::new(),
            members: Vec::new(),
        };
        for table in &manifests.features {
            let p = resolver.intern(&table.package, &table.version);
            resolver.tables[p] = Some(table);
        }
        for d in &manifests.dependencies {
            let from = resolver.intern(&d.from, &d.from_version);
            resolver.intern(&d.to, &d.to_version);
            let is_member = members.contains(&d.from);
            let kind_counts = match d.kind {
                DependencyKind::Normal | DependencyKind::Build => true,
                DependencyKind::Dev => dev && is_member,
            };
            let compiled =
                built.contains(&(d.to.clone(), d.to_version.clone())) || members.contains(&d.to);
            if kind_counts && compiled {
                resolver.lines[from].push(d);
            }
        }
        resolver.members = resolver
            .packages
            .iter()
            .enumerate()
            .filter(|(_, (name, _))| members.iter().any(|m| m == name))
            .map(|(i, _)| i)
            .collect();
        resolver
    }

    /// The resolver of a measured build's manifests, when it reproduces the build: the
    /// packages of its `units`, the members' dev-dependencies counted when it compiled
    /// their tests, examples or benches.
    pub(crate) fn of_build(
        manifests: &'a Manifests,
        members: &[String],
        units: &[Unit],
    ) -> Option<Resolver<'a>> {
        let built: HashSet<(String, String)> = units
            .iter()
            .map(|u| (u.package.clone(), u.version.clone()))
            .collect();
        let dev = units.iter().any(|u| {
            members.contains(&u.package)
                && matches!(u.kind, UnitKind::Test | UnitKind::Bench | UnitKind::Example)
        });
        let resolver = Resolver::new(manifests, members, &built, dev);
        resolver.reproduces(&built).then_some(resolver)
    }

    fn intern(&mut self, name: &'a str, version: &'a str) -> usize {
        if let Some(&i) = self.index.get(&(name, version)) {
            return i;
        }
        self.packages.push((name, version));
        self.tables.push(None);
        self.lines.push(Vec::new());
        self.index.insert((name, version), self.packages.len() - 1);
        self.packages.len() - 1
    }

    /// The features of a member the manifests say the build had, as asked for: those no
    /// other of them turns on (`default`, and any asked for by name), so that a chain
    /// starts at the feature the user chose (`default` → `git` → `git2`).
    fn enabled(&self, member: usize) -> Vec<String> {
        let Some(table) = self.tables[member] else {
            return Vec::new();
        };
        table
            .enabled
            .iter()
            .filter(|f| {
                !table
                    .enabled
                    .iter()
                    .any(|other| other != *f && own_features_of(table, other).contains(*f))
            })
            .cloned()
            .collect()
    }

    /// The resolution of the build as measured: every member with the features it had.
    pub(crate) fn as_built(&self) -> Resolution {
        let roots: Vec<(usize, Vec<String>)> =
            self.members.iter().map(|&m| (m, self.enabled(m))).collect();
        self.resolve(&roots)
    }

    /// Whether resolving with the build's own features reaches exactly the packages the
    /// build compiled (members aside): the only case its answers are trusted in.
    pub(crate) fn reproduces(&self, built: &HashSet<(String, String)>) -> bool {
        let resolved: HashSet<(String, String)> = self
            .as_built()
            .packages()
            .into_iter()
            .filter(|p| !self.members.contains(p))
            .map(|p| {
                (
                    self.packages[p].0.to_string(),
                    self.packages[p].1.to_string(),
                )
            })
            .collect();
        let compiled: HashSet<(String, String)> = built
            .iter()
            .filter(|(name, _)| {
                !self
                    .members
                    .iter()
                    .any(|&m| self.packages[m].0 == name.as_str())
            })
            .cloned()
            .collect();
        resolved == compiled
    }

    /// The packages (name, version) the build would no longer compile with `member`'s
    /// feature off: taken out of every list that names it (`default`'s among them), the
    /// member's other features kept.
    pub(crate) fn removed_without(&self, member: &str, feature: &str) -> Vec<(String, String)> {
        let Some(&m) = self.members.iter().find(|&&m| self.packages[m].0 == member) else {
            return Vec::new();
        };
        let with = self.as_built().packages();
        let roots: Vec<(usize, Vec<String>)> =
            self.members.iter().map(|&m| (m, self.enabled(m))).collect();
        let without = self
            .resolve_banning(&roots, Some(&Node::Feature(m, feature.to_string())))
            .packages();
        with.difference(&without)
            .map(|&p| {
                (
                    self.packages[p].0.to_string(),
                    self.packages[p].1.to_string(),
                )
            })
            .collect()
    }

    /// The chain through which the build came to compile `package`: from a member's
    /// feature (or the member itself, for a plain line) to the package, each step the
    /// first cause the resolution met (so a short chain).
    pub(crate) fn chain_to(&self, package: &str, version: &str) -> Option<Vec<ChainStep>> {
        let &target = self.index.get(&(package, version))?;
        let resolution = self.as_built();
        let mut node = Node::Package(target);
        let mut chain = Vec::new();
        loop {
            let parent = resolution.on.get(&node)?.clone();
            let step = match &node {
                Node::Package(p) => ChainStep {
                    package: self.packages[*p].0.to_string(),
                    feature: None,
                },
                Node::Feature(p, f) => ChainStep {
                    package: self.packages[*p].0.to_string(),
                    feature: Some(f.clone()),
                },
            };
            chain.push(step);
            match parent {
                Some(parent) => node = parent,
                None => break,
            }
            if chain.len() > 64 {
                return None;
            }
        }
        chain.reverse();
        Some(chain)
    }

    /// Cargo's resolution from the members' `roots` (member, the features asked for).
    fn resolve(&self, roots: &[(usize, Vec<String>)]) -> Resolution {
        self.resolve_banning(roots, None)
    }

    /// The same with one feature never turned on (as if no list named it).
    fn resolve_banning(&self, roots: &[(usize, Vec<String>)], banned: Option<&Node>) -> Resolution {
        let mut run = Run {
            resolver: self,
            banned,
            on: HashMap::new(),
            queue: VecDeque::new(),
            active_lines: HashSet::new(),
            weak: HashMap::new(),
        };
        for (member, features) in roots {
            run.turn_on(Node::Package(*member), None);
            for f in features {
                run.turn_on(Node::Feature(*member, f.clone()), None);
            }
        }
        while let Some(node) = run.queue.pop_front() {
            match node {
                Node::Package(p) => {
                    for (i, line) in self.lines[p].iter().enumerate() {
                        if !line.optional {
                            run.use_line(p, i, Node::Package(p));
                        }
                    }
                }
                Node::Feature(p, ref f) => run.expand_feature(p, f, node.clone()),
            }
        }
        Resolution { on: run.on }
    }

    /// The lines of package `p` a feature table names `name` (the rename, else the package).
    fn lines_named(&self, p: usize, name: &str) -> Vec<usize> {
        self.lines[p]
            .iter()
            .enumerate()
            .filter(|(_, d)| d.rename.as_deref().unwrap_or(&d.to) == name)
            .map(|(i, _)| i)
            .collect()
    }
}

/// A feature and every feature of the same table it turns on.
fn own_features_of(table: &FeatureTable, feature: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![feature.to_string()];
    while let Some(f) = stack.pop() {
        if f.contains('/') || f.starts_with("dep:") || !seen.insert(f.clone()) {
            continue;
        }
        if let Some(listed) = table.features.get(&f) {
            stack.extend(listed.iter().cloned());
        }
    }
    seen
}

/// One resolution under way.
struct Run<'r, 'a> {
    resolver: &'r Resolver<'a>,
    banned: Option<&'r Node>,
    on: HashMap<Node, Option<Node>>,
    queue: VecDeque<Node>,
    /// (package, line index)
    active_lines: HashSet<(usize, usize)>,
    /// `x?/f` asked before line `x` was used: (package, line name) → (feature, cause).
    weak: HashMap<(usize, String), Vec<(String, Node)>>,
}

impl Run<'_, '_> {
    fn turn_on(&mut self, node: Node, cause: Option<Node>) {
        if self.banned == Some(&node) {
            return;
        }
        if !self.on.contains_key(&node) {
            self.on.insert(node.clone(), cause);
            self.queue.push_back(node);
        }
    }

    /// Line `i` of package `p` used, because of `cause`: its package built with the
    /// features it asks for.
    fn use_line(&mut self, p: usize, i: usize, cause: Node) {
        if !self.active_lines.insert((p, i)) {
            return;
        }
        let line = self.resolver.lines[p][i];
        let Some(&to) = self
            .resolver
            .index
            .get(&(line.to.as_str(), line.to_version.as_str()))
        else {
            return;
        };
        self.turn_on(Node::Package(to), Some(cause.clone()));
        // A line's own requests come from its package being built.
        let asker = Node::Package(p);
        for f in &line.features {
            self.turn_on(Node::Feature(to, f.clone()), Some(asker.clone()));
        }
        let has_default =
            self.resolver.tables[to].is_some_and(|t| t.features.contains_key("default"));
        if line.default_features && has_default {
            self.turn_on(Node::Feature(to, "default".into()), Some(asker));
        }
        let name = line.rename.clone().unwrap_or_else(|| line.to.clone());
        if let Some(waiting) = self.weak.remove(&(p, name)) {
            for (f, why) in waiting {
                self.turn_on(Node::Feature(to, f), Some(why));
            }
        }
    }

    /// What feature `f` of package `p` lists, turned on.
    fn expand_feature(&mut self, p: usize, f: &str, node: Node) {
        let resolver = self.resolver;
        let listed = resolver.tables[p].and_then(|t| t.features.get(f));
        let Some(listed) = listed else {
            // An optional dependency's implicit feature.
            for i in resolver.lines_named(p, f) {
                self.use_line(p, i, node.clone());
            }
            return;
        };
        for entry in listed {
            if let Some(dep) = entry.strip_prefix("dep:") {
                for i in resolver.lines_named(p, dep) {
                    self.use_line(p, i, node.clone());
                }
            } else if let Some((dep, feature)) = entry.split_once('/') {
                let (dep, weak) = match dep.strip_suffix('?') {
                    Some(dep) => (dep, true),
                    None => (dep, false),
                };
                for i in resolver.lines_named(p, dep) {
                    if !weak {
                        self.use_line(p, i, node.clone());
                    }
                    let line = resolver.lines[p][i];
                    let Some(&to) = resolver
                        .index
                        .get(&(line.to.as_str(), line.to_version.as_str()))
                    else {
                        continue;
                    };
                    if self.active_lines.contains(&(p, i)) {
                        self.turn_on(Node::Feature(to, feature.to_string()), Some(node.clone()));
                    } else {
                        self.weak
                            .entry((p, dep.to_string()))
                            .or_default()
                            .push((feature.to_string(), node.clone()));
                    }
                }
            } else {
                self.turn_on(Node::Feature(p, entry.clone()), Some(node.clone()));
            }
        }
    }
}

/// The chain in words: `xh's feature `rustls` → reqwest's features `rustls`,
/// `__rustls-aws-lc-rs` → rustls's feature `aws-lc-rs` → aws-lc-rs → aws-lc-sys`.
pub fn chain_words(chain: &[ChainStep]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < chain.len() {
        let step = &chain[i];
        match &step.feature {
            None => {
                parts.push(step.package.clone());
                i += 1;
            }
            // A member's `default` leading its default features: "a default feature" is
            // said with the lever.
            Some(f)
                if i == 0
                    && f == "default"
                    && chain.get(1).is_some_and(|next| {
                        next.package == step.package && next.feature.is_some()
                    }) =>
            {
                i += 1;
            }
            Some(_) => {
                // A package's features in a row, as one step.
                let mut features = Vec::new();
                while i < chain.len() && chain[i].package == step.package {
                    match &chain[i].feature {
                        Some(f) => features.push(format!("`{f}`")),
                        None => break,
                    }
                    i += 1;
                }
                let noun = if features.len() == 1 {
                    "feature"
                } else {
                    "features"
                };
                parts.push(format!("{}'s {noun} {}", step.package, features.join(", ")));
            }
        }
    }
    parts.join(" → ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(from: &str, to: &str, optional: bool, features: &[&str]) -> DeclaredDependency {
        DeclaredDependency {
            from: from.into(),
            from_version: "1.0.0".into(),
            to: to.into(),
            to_version: "1.0.0".into(),
            kind: DependencyKind::Normal,
            target: None,
            optional,
            default_features: true,
            features: features.iter().map(|f| f.to_string()).collect(),
            rename: None,
            crate_name: to.replace('-', "_"),
        }
    }

    fn table(package: &str, features: &[(&str, &[&str])], enabled: &[&str]) -> FeatureTable {
        FeatureTable {
            package: package.into(),
            version: "1.0.0".into(),
            features: features
                .iter()
                .map(|(f, l)| (f.to_string(), l.iter().map(|x| x.to_string()).collect()))
                .collect(),
            enabled: enabled.iter().map(|e| e.to_string()).collect(),
        }
    }

    fn built(names: &[&str]) -> HashSet<(String, String)> {
        names
            .iter()
            .map(|n| (n.to_string(), "1.0.0".to_string()))
            .collect()
    }

    /// app: `default = ["tls", "fmt"]`, `tls = ["net/tls"]`, `fmt = ["dep:fmtlib"]`; net:
    /// `tls = ["dep:ssl"]`,
    /// `log = ["ssl?/log", "dep:log"]`; ssl → ssl-sys (plain line); app → log too.
    fn manifests() -> Manifests {
        Manifests {
            dependencies: vec![
                line("app", "net", false, &["log"]),
                line("app", "log", false, &[]),
                line("net", "ssl", true, &[]),
                line("net", "log", true, &[]),
                line("ssl", "ssl-sys", false, &[]),
                line("app", "fmtlib", true, &[]),
            ],
            features: vec![
                table(
                    "app",
                    &[
                        ("default", &["tls", "fmt"]),
                        ("tls", &["net/tls"]),
                        ("fmt", &["dep:fmtlib"]),
                    ],
                    &["default", "fmt", "tls"],
                ),
                table(
                    "net",
                    &[("tls", &["dep:ssl"]), ("log", &["ssl?/log", "dep:log"])],
                    &["log", "tls"],
                ),
                table("ssl", &[("log", &[])], &["log"]),
            ],
        }
    }

    #[test]
    fn a_chain_of_features_is_followed_from_the_members_feature_to_the_package() {
        let m = manifests();
        let b = built(&["app", "net", "log", "ssl", "ssl-sys", "fmtlib"]);
        let r = Resolver::new(&m, &["app".to_string()], &b, false);
        assert!(r.reproduces(&b));
        let chain = r.chain_to("ssl-sys", "1.0.0").unwrap();
        assert_eq!(
            chain_words(&chain),
            "app's feature `tls` → net's feature `tls` → ssl → ssl-sys"
        );
        // Without `tls` (out of `default`'s list), ssl and ssl-sys leave; `default`'s other
        // feature keeps fmtlib; `ssl?/log` does not bring ssl back (a weak request); log
        // stays (app's own line).
        let mut gone = r.removed_without("app", "tls");
        gone.sort();
        assert_eq!(
            gone,
            [
                ("ssl".to_string(), "1.0.0".to_string()),
                ("ssl-sys".to_string(), "1.0.0".to_string())
            ]
        );
        assert!(r.removed_without("app", "nonexistent").is_empty());
    }

    #[test]
    fn a_resolution_that_misses_a_compiled_package_is_not_trusted() {
        let m = manifests();
        // The build compiled a package no manifest line reaches (the manifests are of
        // another revision): the replay does not reproduce the build.
        let b = built(&["app", "net", "log", "ssl", "ssl-sys", "fmtlib", "zlib"]);
        let r = Resolver::new(&m, &["app".to_string()], &b, false);
        assert!(!r.reproduces(&b));
        // A package a line names but the build did not compile (another platform's) is
        // left out, and the rest still reproduces.
        let mut m = manifests();
        m.dependencies.push(line("ssl", "winapi", false, &[]));
        let b = built(&["app", "net", "log", "ssl", "ssl-sys", "fmtlib"]);
        assert!(Resolver::new(&m, &["app".to_string()], &b, false).reproduces(&b));
    }
}
