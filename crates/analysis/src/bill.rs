//! The bill for a Cargo.toml: what each dependency line of each workspace member, and each
//! feature it turns on, costs the build it was measured in.
//!
//! A line's price is what the build would no longer compile without it: the units that
//! only it brings in (nothing else the members use still reaches them), their time, and
//! the wall time the run's schedule saves when it is replayed without them. A crate two
//! lines bring in is neither's: it stays when either goes, and the bill shows it as shared
//! between them. Everything comes from the run's units (cargo's unit graph); the
//! manifests (`cargo metadata`), when known, add the line's kind as written, its target,
//! and the features it asks for.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::feature_resolve::Resolver;
pub use crate::manifests::{DeclaredDependency, DependencyKind, FeatureTable, Manifests};
use crate::schedule::wall_saving_without;
use crate::timeline::{Unit, UnitKind};

/// A member's dependency line rustc's `unused_crate_dependencies` lint found unused in every
/// target that could use it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnusedDependency {
    pub member: String,
    pub package: String,
    pub kind: DependencyKind,
}

/// What a line or a feature costs: the units only it brings into the build.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Price {
    /// Units the build would no longer run.
    pub units: usize,
    /// Their summed time (each unit's wall time).
    pub unit_ns: u64,
    /// Their CPU time, where measured (their time elsewhere).
    pub cpu_ns: u64,
    /// How much sooner the run's schedule, replayed without them, ends.
    pub wall_saving_ns: u64,
    /// The packages they belong to, with their time, largest first.
    pub packages: Vec<PackageTime>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageTime {
    pub package: String,
    pub version: String,
    pub ns: u64,
}

/// One dependency line of a workspace member, priced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BillLine {
    pub member: String,
    pub package: String,
    pub version: String,
    pub kind: DependencyKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    pub optional: bool,
    /// What removing the line removes from the build.
    pub price: Price,
    /// Units it brings in that something else brings in too (they stay without it), and
    /// their time.
    pub shared_units: usize,
    pub shared_ns: u64,
    /// rustc found the dependency unused (`explain --unused`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unused: bool,
}

/// A feature a member's line turns on that brings optional dependencies into the build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeatureLine {
    pub member: String,
    pub package: String,
    pub version: String,
    /// The feature the line asks for (`default` for the default features); when `package`
    /// is the member itself, one of the member's own features.
    pub feature: String,
    /// A member's own feature its default features turn on.
    #[serde(default)]
    pub in_default: bool,
    /// The table of the member's line the feature is asked for in.
    pub kind: DependencyKind,
    /// The optional dependencies it turns on that nothing else does.
    pub enables: Vec<String>,
    pub price: Price,
}

/// Units two lines bring in together: removing either keeps them, removing both does not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SharedCost {
    /// The two lines, as `member → package`.
    pub lines: [String; 2],
    pub price: Price,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Bill {
    /// Every dependency line of every member, largest wall saving first.
    pub lines: Vec<BillLine>,
    /// Features of direct dependencies that bring in optional dependencies.
    pub features: Vec<FeatureLine>,
    /// What pairs of lines bring in together.
    pub shared: Vec<SharedCost>,
    /// The wall time of the run priced.
    pub wall_ns: u64,
    /// The summed time of every unit of dependencies (not members).
    pub dependency_ns: u64,
}

/// The dependency graph of a run, as units and edges.
struct Graph<'a> {
    units: &'a [Unit],
    index: HashMap<usize, usize>,
    member_units: Vec<usize>,
    is_member: Vec<bool>,
    /// Units reachable from the members' units in the run as measured.
    reachable: Vec<bool>,
}

impl<'a> Graph<'a> {
    fn new(units: &'a [Unit], members: &[String]) -> Graph<'a> {
        let index: HashMap<usize, usize> =
            units.iter().enumerate().map(|(i, u)| (u.id, i)).collect();
        let is_member: Vec<bool> = units.iter().map(|u| members.contains(&u.package)).collect();
        let member_units: Vec<usize> = (0..units.len()).filter(|&i| is_member[i]).collect();
        let mut graph = Graph {
            units,
            index,
            member_units,
            is_member,
            reachable: Vec::new(),
        };
        graph.reachable = graph.reach(&HashSet::new());
        graph
    }

    /// Units reachable from the members' units without crossing the `cut` edges (by
    /// position: (from, to)).
    fn reach(&self, cut: &HashSet<(usize, usize)>) -> Vec<bool> {
        let mut seen = vec![false; self.units.len()];
        let mut stack: Vec<usize> = self.member_units.clone();
        for &i in &stack {
            seen[i] = true;
        }
        while let Some(i) = stack.pop() {
            for dep in &self.units[i].deps {
                let Some(&j) = self.index.get(dep) else {
                    continue;
                };
                if !seen[j] && !cut.contains(&(i, j)) {
                    seen[j] = true;
                    stack.push(j);
                }
            }
        }
        seen
    }

    /// The edges (by position) from units `from` accepts to units `to` accepts.
    fn edges(
        &self,
        from: impl Fn(&Unit) -> bool,
        to: impl Fn(&Unit) -> bool,
    ) -> HashSet<(usize, usize)> {
        let mut edges = HashSet::new();
        for (i, u) in self.units.iter().enumerate().filter(|(_, u)| from(u)) {
            for dep in &u.deps {
                if let Some(&j) = self.index.get(dep) {
                    if to(&self.units[j]) {
                        edges.insert((i, j));
                    }
                }
            }
        }
        edges
    }

    /// Units the build would no longer run without the `cut` edges.
    fn removed_by(&self, cut: &HashSet<(usize, usize)>) -> Vec<usize> {
        let after = self.reach(cut);
        (0..self.units.len())
            .filter(|&i| self.reachable[i] && !after[i])
            .collect()
    }

    /// Units reachable from `starts` (positions), members excluded.
    fn closure(&self, starts: impl Iterator<Item = usize>) -> BTreeSet<usize> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<usize> = starts.collect();
        while let Some(i) = stack.pop() {
            if self.is_member[i] || !seen.insert(i) {
                continue;
            }
            for dep in &self.units[i].deps {
                if let Some(&j) = self.index.get(dep) {
                    stack.push(j);
                }
            }
        }
        seen
    }

    fn price(&self, removed: &[usize], cores: usize) -> Price {
        let ids: Vec<usize> = removed.iter().map(|&i| self.units[i].id).collect();
        let mut by_package: BTreeMap<(&str, &str), u64> = BTreeMap::new();
        let (mut unit_ns, mut cpu_ns) = (0, 0);
        for &i in removed {
            let u = &self.units[i];
            unit_ns += u.duration_ns();
            cpu_ns += u.cpu_ns.unwrap_or(u.duration_ns());
            *by_package.entry((&u.package, &u.version)).or_default() += u.duration_ns();
        }
        let mut packages: Vec<PackageTime> = by_package
            .into_iter()
            .map(|((package, version), ns)| PackageTime {
                package: package.to_string(),
                version: version.to_string(),
                ns,
            })
            .collect();
        packages.sort_by(|a, b| b.ns.cmp(&a.ns).then(a.package.cmp(&b.package)));
        Price {
            units: removed.len(),
            unit_ns,
            cpu_ns,
            // Never more than the work removed: a greedy schedule replayed without some
            // units can reorder the rest and end sooner by more than their time, which no
            // one would believe of a manifest line.
            wall_saving_ns: if ids.is_empty() {
                0
            } else {
                wall_saving_without(self.units, &ids, cores).min(unit_ns)
            },
            packages,
        }
    }
}

/// A member's line as found in the unit graph: its edges from the member's units.
struct FoundLine {
    member: String,
    package: String,
    version: String,
    kind: DependencyKind,
    edges: HashSet<(usize, usize)>,
}

/// The kind of line an edge from a member's unit stands for, by the unit it leaves.
fn kind_of_edge(from: UnitKind) -> DependencyKind {
    match from {
        UnitKind::BuildScriptCompile => DependencyKind::Build,
        UnitKind::Test | UnitKind::Bench | UnitKind::Example => DependencyKind::Dev,
        _ => DependencyKind::Normal,
    }
}

/// (member, package, version, kind)
type LineKey = (String, String, String, DependencyKind);

fn found_lines(graph: &Graph, manifests: Option<&Manifests>) -> Vec<FoundLine> {
    let mut lines: BTreeMap<LineKey, HashSet<(usize, usize)>> = BTreeMap::new();
    for &i in &graph.member_units {
        let from = &graph.units[i];
        for dep in &from.deps {
            let Some(&j) = graph.index.get(dep) else {
                continue;
            };
            if graph.is_member[j] {
                continue;
            }
            let to = &graph.units[j];
            let key = (
                from.package.clone(),
                to.package.clone(),
                to.version.clone(),
                kind_of_edge(from.kind),
            );
            lines.entry(key).or_default().insert((i, j));
        }
    }
    // Tests, examples and benches use the normal dependencies too: their edges belong to
    // the normal line when there is one (or the manifest says the line is normal).
    let declared_kind = |member: &str, package: &str| {
        manifests.and_then(|m| {
            m.dependencies
                .iter()
                .filter(|d| d.from == member && d.to == package)
                .map(|d| d.kind)
                .min()
        })
    };
    let keys: Vec<_> = lines.keys().cloned().collect();
    for key in keys {
        let (member, package, version, kind) = &key;
        if *kind != DependencyKind::Dev {
            continue;
        }
        let normal = (
            member.clone(),
            package.clone(),
            version.clone(),
            DependencyKind::Normal,
        );
        let is_normal = lines.contains_key(&normal)
            || declared_kind(member, package) == Some(DependencyKind::Normal);
        if is_normal {
            let edges = lines.remove(&key).unwrap_or_default();
            lines.entry(normal).or_default().extend(edges);
        }
    }
    lines
        .into_iter()
        .map(|((member, package, version, kind), edges)| FoundLine {
            member,
            package,
            version,
            kind,
            edges,
        })
        .collect()
}

/// The bill of a run: every member's dependency lines and the features they turn on,
/// priced by replaying the run's schedule without what each brings in.
pub fn bill(
    units: &[Unit],
    members: &[String],
    manifests: Option<&Manifests>,
    cores: usize,
    wall_ns: u64,
) -> Bill {
    let graph = Graph::new(units, members);
    let found = found_lines(&graph, manifests);
    let declared = |line: &FoundLine| {
        manifests.and_then(|m| {
            m.dependencies.iter().find(|d| {
                d.from == line.member
                    && d.to == line.package
                    && d.to_version == line.version
                    && d.kind == line.kind
            })
        })
    };
    let mut lines = Vec::new();
    let mut closures = Vec::new();
    let mut removed_sets = Vec::new();
    for line in &found {
        let removed = graph.removed_by(&line.edges);
        let price = graph.price(&removed, cores);
        let closure = graph.closure(line.edges.iter().map(|e| e.1));
        let removed_set: HashSet<usize> = removed.iter().copied().collect();
        let shared: Vec<usize> = closure
            .iter()
            .copied()
            .filter(|i| !removed_set.contains(i))
            .collect();
        let d = declared(line);
        lines.push(BillLine {
            member: line.member.clone(),
            package: line.package.clone(),
            version: line.version.clone(),
            kind: line.kind,
            target: d.and_then(|d| d.target.clone()),
            optional: d.is_some_and(|d| d.optional),
            price,
            shared_units: shared.len(),
            shared_ns: shared.iter().map(|&i| units[i].duration_ns()).sum(),
            unused: false,
        });
        closures.push(closure);
        removed_sets.push(removed_set);
    }
    let shared = shared_pairs(&graph, &found, &lines, &closures, &removed_sets, cores);
    let mut features = manifests
        .map(|m| feature_lines(&graph, &found, m, cores))
        .unwrap_or_default();
    if let Some(m) = manifests {
        features.extend(member_feature_lines(&graph, members, m, cores));
        let priced: Vec<(String, String)> = features
            .iter()
            .filter(|f| f.member == f.package)
            .map(|f| (f.member.clone(), f.feature.clone()))
            .collect();
        features.extend(
            resolved_member_feature_lines(&graph, members, m, cores)
                .into_iter()
                .filter(|f| !priced.contains(&(f.member.clone(), f.feature.clone()))),
        );
        features.sort_by_key(|f| std::cmp::Reverse(f.price.wall_saving_ns));
    }
    let mut order: Vec<usize> = (0..lines.len()).collect();
    order.sort_by(|&a, &b| {
        let key = |l: &BillLine| (l.price.wall_saving_ns, l.price.unit_ns);
        key(&lines[b])
            .cmp(&key(&lines[a]))
            .then(lines[a].member.cmp(&lines[b].member))
            .then(lines[a].package.cmp(&lines[b].package))
    });
    let lines = order.into_iter().map(|i| lines[i].clone()).collect();
    Bill {
        lines,
        features,
        shared,
        wall_ns,
        dependency_ns: (0..units.len())
            .filter(|&i| !graph.is_member[i] && graph.reachable[i])
            .map(|i| units[i].duration_ns())
            .sum(),
    }
}

/// A change to one member's Cargo.toml.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "edit", rename_all = "kebab-case")]
pub enum ManifestEdit {
    /// The dependency line gone.
    RemoveDependency {
        member: String,
        package: String,
        kind: DependencyKind,
        /// `[target.'cfg(..)'.dependencies]`: the platform table the line is in.
        #[serde(skip_serializing_if = "Option::is_none")]
        target: Option<String>,
    },
    /// One of the member's own features out of its `default` list.
    RemoveDefaultFeature { member: String, feature: String },
    /// `default-features = false` on the member's line to the package.
    NoDefaultFeatures {
        member: String,
        package: String,
        kind: DependencyKind,
    },
    /// A feature out of the `features` list of the member's line to the package.
    RemoveFeature {
        member: String,
        package: String,
        kind: DependencyKind,
        feature: String,
    },
}

impl ManifestEdit {
    pub fn member(&self) -> &str {
        match self {
            ManifestEdit::RemoveDependency { member, .. }
            | ManifestEdit::RemoveDefaultFeature { member, .. }
            | ManifestEdit::NoDefaultFeatures { member, .. }
            | ManifestEdit::RemoveFeature { member, .. } => member,
        }
    }
}

/// A change the bill suggests, with what it estimates the change saves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lever {
    pub edit: ManifestEdit,
    /// Wall time the bill's replay says the change saves.
    pub estimate_ns: u64,
}

/// A lever tried by removal on scratch copies of the workspace.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeverProof {
    pub lever: Lever,
    /// Median cold-build wall times of the copy as it is and of the changed copy.
    pub baseline_ns: Option<u64>,
    pub with_change_ns: Option<u64>,
    /// The changed copy does not build: its first error (the line or feature is needed).
    pub failure: Option<String>,
    /// Why the change could not be tried (the manifest is not as the bill read it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_tried: Option<String>,
}

impl LeverProof {
    /// Baseline minus with-change (negative: slower).
    pub fn saving_ns(&self) -> Option<i64> {
        Some(self.baseline_ns? as i64 - self.with_change_ns? as i64)
    }
}

/// The bill's changes worth trying, largest estimate first, at most `limit`: unused lines,
/// then features (a member's own default features, a dependency's default features or
/// one of its features), each worth at least `floor_ns` of wall time.
pub fn levers(bill: &Bill, floor_ns: u64, limit: usize) -> Vec<Lever> {
    let mut out: Vec<Lever> = bill
        .lines
        .iter()
        .filter(|l| l.unused && l.price.wall_saving_ns >= floor_ns)
        .map(|l| Lever {
            edit: ManifestEdit::RemoveDependency {
                member: l.member.clone(),
                package: l.package.clone(),
                kind: l.kind,
                target: l.target.clone(),
            },
            estimate_ns: l.price.wall_saving_ns,
        })
        .collect();
    out.extend(
        bill.features
            .iter()
            .filter(|f| f.price.wall_saving_ns >= floor_ns)
            .filter_map(|f| {
                let edit = match (f.member == f.package, f.feature.as_str()) {
                    (true, "default") => return None,
                    (true, own) if f.in_default => ManifestEdit::RemoveDefaultFeature {
                        member: f.member.clone(),
                        feature: own.to_string(),
                    },
                    (true, _) => return None,
                    (false, "default") => ManifestEdit::NoDefaultFeatures {
                        member: f.member.clone(),
                        package: f.package.clone(),
                        kind: f.kind,
                    },
                    (false, feature) => ManifestEdit::RemoveFeature {
                        member: f.member.clone(),
                        package: f.package.clone(),
                        kind: f.kind,
                        feature: feature.to_string(),
                    },
                };
                Some(Lever {
                    edit,
                    estimate_ns: f.price.wall_saving_ns,
                })
            }),
    );
    out.sort_by_key(|l| std::cmp::Reverse(l.estimate_ns));
    out.truncate(limit);
    out
}

/// Marks the lines rustc found unused.
pub fn mark_unused(bill: &mut Bill, unused: &[UnusedDependency]) {
    for line in &mut bill.lines {
        line.unused = unused
            .iter()
            .any(|u| u.member == line.member && u.package == line.package && u.kind == line.kind);
    }
}

/// The line's name in a bill: `app → clap`.
pub fn line_name(member: &str, package: &str) -> String {
    format!("{member} → {package}")
}

/// What pairs of lines bring in together, for the lines whose closures overlap most.
fn shared_pairs(
    graph: &Graph,
    found: &[FoundLine],
    lines: &[BillLine],
    closures: &[BTreeSet<usize>],
    removed: &[HashSet<usize>],
    cores: usize,
) -> Vec<SharedCost> {
    // The lines with the most shared time; a pair's replay costs one schedule simulation.
    let mut candidates: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].shared_units > 0)
        .collect();
    candidates.sort_by_key(|&i| std::cmp::Reverse(lines[i].shared_ns));
    candidates.truncate(12);
    let mut out = Vec::new();
    for (n, &a) in candidates.iter().enumerate() {
        for &b in &candidates[n + 1..] {
            if closures[a].is_disjoint(&closures[b]) {
                continue;
            }
            let cut: HashSet<(usize, usize)> =
                found[a].edges.union(&found[b].edges).copied().collect();
            // What removing both removes beyond what each removes alone.
            let together: Vec<usize> = graph
                .removed_by(&cut)
                .into_iter()
                .filter(|i| !removed[a].contains(i) && !removed[b].contains(i))
                .collect();
            if together.is_empty() {
                continue;
            }
            let name = |l: &BillLine| match l.kind {
                DependencyKind::Normal => line_name(&l.member, &l.package),
                DependencyKind::Build => format!("{} (build)", line_name(&l.member, &l.package)),
                DependencyKind::Dev => format!("{} (dev)", line_name(&l.member, &l.package)),
            };
            out.push(SharedCost {
                lines: [name(&lines[a]), name(&lines[b])],
                price: graph.price(&together, cores),
            });
        }
    }
    out.sort_by_key(|s| std::cmp::Reverse(s.price.unit_ns));
    out
}

/// The optional dependencies (by the name the feature table uses) a set of features turns
/// on, and the features it turns on with them.
fn activated(table: &FeatureTable, start: &[String]) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut features = BTreeSet::new();
    let mut deps = BTreeSet::new();
    let mut stack: Vec<String> = start.to_vec();
    while let Some(f) = stack.pop() {
        if let Some(dep) = f.strip_prefix("dep:") {
            deps.insert(dep.to_string());
            continue;
        }
        if let Some((dep, _)) = f.split_once('/') {
            // `dep/feature` turns the dependency on; `dep?/feature` only if it is on.
            if !dep.ends_with('?') {
                deps.insert(dep.to_string());
            }
            continue;
        }
        if !features.insert(f.clone()) {
            continue;
        }
        match table.features.get(&f) {
            Some(implied) => stack.extend(implied.iter().cloned()),
            // An optional dependency's implicit feature.
            None => {
                deps.insert(f.clone());
            }
        }
    }
    (features, deps)
}

/// The members' own features that turn on their optional dependencies (`use-jemalloc =
/// ["dep:jemallocator"]`), priced: the member's line to them cut.
fn member_feature_lines(
    graph: &Graph,
    members: &[String],
    manifests: &Manifests,
    cores: usize,
) -> Vec<FeatureLine> {
    let mut out = Vec::new();
    for table in manifests
        .features
        .iter()
        .filter(|t| members.contains(&t.package))
    {
        let optional: HashMap<String, &DeclaredDependency> = manifests
            .dependencies
            .iter()
            .filter(|d| d.from == table.package && d.from_version == table.version && d.optional)
            .map(|d| (d.rename.clone().unwrap_or_else(|| d.to.clone()), d))
            .collect();
        if optional.is_empty() {
            continue;
        }
        for feature in &table.enabled {
            // An optional dependency's implicit feature (`jemallocator = ["dep:jemallocator"]`)
            // is the dependency itself, not a decision: the features that list it are.
            let implicit = optional.contains_key(feature)
                && table
                    .features
                    .get(feature)
                    .is_none_or(|v| *v == [format!("dep:{feature}")]);
            if implicit {
                continue;
            }
            // What the other enabled features turn on: not this one, nor what it implies,
            // nor what implies it (turning it off takes it out of those lists, `default`'s
            // among them).
            let implied = activated(table, std::slice::from_ref(feature)).0;
            let others: Vec<String> = table
                .enabled
                .iter()
                .filter(|f| {
                    !implied.contains(*f)
                        && !activated(table, std::slice::from_ref(*f))
                            .0
                            .contains(feature)
                })
                .cloned()
                .collect();
            let (_, this_deps) = activated(table, std::slice::from_ref(feature));
            let (_, other_deps) = activated(table, &others);
            let only_this: Vec<&String> = this_deps
                .iter()
                .filter(|d| !other_deps.contains(*d) && optional.contains_key(*d))
                .collect();
            if only_this.is_empty() {
                continue;
            }
            // The member's edges to the optional dependencies only this feature turns on.
            let cut = graph.edges(
                |u| u.package == table.package,
                |u| {
                    only_this.iter().any(|d| {
                        optional[*d].to == u.package && optional[*d].to_version == u.version
                    })
                },
            );
            let removed = graph.removed_by(&cut);
            if removed.is_empty() {
                continue;
            }
            let gone: HashSet<&str> = removed
                .iter()
                .map(|&i| graph.units[i].package.as_str())
                .collect();
            let enables = only_this
                .into_iter()
                .filter(|d| gone.contains(optional[*d].to.as_str()))
                .cloned()
                .collect();
            out.push(own_feature_line(
                table,
                feature,
                enables,
                graph.price(&removed, cores),
            ));
        }
    }
    out
}

/// A member's own feature, priced.
fn own_feature_line(
    table: &FeatureTable,
    feature: &str,
    enables: Vec<String>,
    price: Price,
) -> FeatureLine {
    FeatureLine {
        member: table.package.clone(),
        package: table.package.clone(),
        version: table.version.clone(),
        kind: DependencyKind::Normal,
        feature: feature.to_string(),
        in_default: feature != "default"
            && activated(table, &["default".to_string()])
                .0
                .contains(feature),
        enables,
        price,
    }
}

/// The members' own features priced by replaying cargo's feature resolution without each:
/// a feature that turns on a dependency's feature, which turns on another's, until one
/// lists an optional dependency deep in the graph (TLS backends, allocators, codecs) is
/// the decision behind that dependency, though no line of the member names it. Only where
/// the replay reproduces the build's own packages.
fn resolved_member_feature_lines(
    graph: &Graph,
    members: &[String],
    manifests: &Manifests,
    cores: usize,
) -> Vec<FeatureLine> {
    let Some(resolver) = Resolver::of_build(manifests, members, graph.units) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for table in manifests
        .features
        .iter()
        .filter(|t| members.contains(&t.package))
    {
        for feature in &table.enabled {
            // An optional dependency's implicit feature is the dependency, not a decision:
            // the features that list it are.
            let implicit = table
                .features
                .get(feature)
                .is_none_or(|listed| listed.len() == 1 && listed[0] == format!("dep:{feature}"));
            if implicit {
                continue;
            }
            let gone = resolver.removed_without(&table.package, feature);
            if gone.is_empty() {
                continue;
            }
            let cut = graph.edges(
                |_| true,
                |u| gone.iter().any(|(p, v)| *p == u.package && *v == u.version),
            );
            let removed = graph.removed_by(&cut);
            if removed.is_empty() {
                continue;
            }
            let removed_set: HashSet<usize> = removed.iter().copied().collect();
            // What it turns on: the packages that leave the build whose units something
            // that stays used (where the removed part of the graph is entered).
            let mut enables: BTreeSet<String> = BTreeSet::new();
            for (i, u) in graph.units.iter().enumerate() {
                if removed_set.contains(&i) || !graph.reachable[i] {
                    continue;
                }
                for dep in &u.deps {
                    if let Some(&j) = graph.index.get(dep) {
                        if removed_set.contains(&j) {
                            enables.insert(graph.units[j].package.clone());
                        }
                    }
                }
            }
            out.push(own_feature_line(
                table,
                feature,
                enables.into_iter().collect(),
                graph.price(&removed, cores),
            ));
        }
    }
    out
}

/// Features members' lines ask for that bring optional dependencies in, priced.
fn feature_lines(
    graph: &Graph,
    found: &[FoundLine],
    manifests: &Manifests,
    cores: usize,
) -> Vec<FeatureLine> {
    let mut out = Vec::new();
    for line in found.iter().filter(|l| l.kind != DependencyKind::Dev) {
        let Some(table) = manifests
            .features
            .iter()
            .find(|t| t.package == line.package && t.version == line.version)
        else {
            continue;
        };
        let requests = |d: &DeclaredDependency| {
            let mut r = d.features.clone();
            if d.default_features && table.features.contains_key("default") {
                r.push("default".to_string());
            }
            r
        };
        let all_lines: Vec<&DeclaredDependency> = manifests
            .dependencies
            .iter()
            .filter(|d| d.to == line.package && d.to_version == line.version)
            .collect();
        let Some(own) = all_lines
            .iter()
            .find(|d| d.from == line.member && d.kind == line.kind)
        else {
            continue;
        };
        // Features turned on from elsewhere (another package's feature table) count as
        // requested by someone else.
        let requested_anywhere: Vec<String> = all_lines.iter().flat_map(|d| requests(d)).collect();
        let (explained, _) = activated(table, &requested_anywhere);
        let from_elsewhere: Vec<String> = table
            .enabled
            .iter()
            .filter(|f| !explained.contains(*f))
            .cloned()
            .collect();
        // What the optional dependencies are called in the table → the units they are.
        let optional: HashMap<String, &DeclaredDependency> = manifests
            .dependencies
            .iter()
            .filter(|d| d.from == line.package && d.from_version == line.version && d.optional)
            .map(|d| (d.rename.clone().unwrap_or_else(|| d.to.clone()), d))
            .collect();
        for feature in requests(own) {
            let mut others: Vec<String> = all_lines
                .iter()
                .filter(|d| !(d.from == own.from && d.kind == own.kind))
                .flat_map(|d| requests(d))
                .collect();
            others.extend(requests(own).into_iter().filter(|f| *f != feature));
            others.extend(from_elsewhere.iter().cloned());
            let (_, this_deps) = activated(table, std::slice::from_ref(&feature));
            let (_, other_deps) = activated(table, &others);
            let only_this: Vec<String> = this_deps
                .into_iter()
                .filter(|d| !other_deps.contains(d) && optional.contains_key(d))
                .collect();
            if only_this.is_empty() {
                continue;
            }
            let targets: Vec<(&str, &str)> = only_this
                .iter()
                .map(|d| (optional[d].to.as_str(), optional[d].to_version.as_str()))
                .collect();
            // Cut the dependency's units' edges to the optional packages.
            // The dependency's edges to the optional packages.
            let cut = graph.edges(
                |u| u.package == line.package && u.version == line.version,
                |u| {
                    targets
                        .iter()
                        .any(|(p, v)| *p == u.package && *v == u.version)
                },
            );
            let removed = graph.removed_by(&cut);
            if removed.is_empty() {
                continue;
            }
            // Name only what leaves the build (an optional dependency something else
            // also uses stays).
            let gone: HashSet<&str> = removed
                .iter()
                .map(|&i| graph.units[i].package.as_str())
                .collect();
            let only_this: Vec<String> = only_this
                .into_iter()
                .filter(|d| gone.contains(optional[d].to.as_str()))
                .collect();
            out.push(FeatureLine {
                member: line.member.clone(),
                package: line.package.clone(),
                version: line.version.clone(),
                in_default: false,
                kind: line.kind,
                feature,
                enables: only_this,
                price: graph.price(&removed, cores),
            });
        }
    }
    out.sort_by_key(|f| std::cmp::Reverse(f.price.wall_saving_ns));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::tests::unit;

    const MS: u64 = 1_000_000;

    /// A normal line `from → to`, both at 0.1.0, default features on.
    fn line(from: &str, to: &str, optional: bool) -> DeclaredDependency {
        DeclaredDependency {
            from: from.into(),
            from_version: "0.1.0".into(),
            to: to.into(),
            to_version: "0.1.0".into(),
            kind: DependencyKind::Normal,
            target: None,
            optional,
            default_features: true,
            features: Vec::new(),
            rename: None,
            crate_name: to.into(),
        }
    }

    /// `package` 0.1.0's `[features]` (each feature with what it lists), all `enabled`.
    fn table(package: &str, features: &[(&str, &[&str])], enabled: &[&str]) -> FeatureTable {
        FeatureTable {
            package: package.into(),
            version: "0.1.0".into(),
            features: features
                .iter()
                .map(|(f, listed)| {
                    (
                        f.to_string(),
                        listed.iter().map(|l| l.to_string()).collect(),
                    )
                })
                .collect(),
            enabled: enabled.iter().map(|e| e.to_string()).collect(),
        }
    }

    /// `app` and `cli` (members); `clap` only `cli` uses (with `clap_derive`), `serde`
    /// both use, `rand` only `app` uses; `rand` is optional in `app`'s `fast` feature of
    /// `helper`... (no: features have a test of their own).
    fn run() -> Vec<Unit> {
        vec![
            unit(0, "serde", 0, 300 * MS, &[]),
            unit(1, "clap_derive", 0, 900 * MS, &[]),
            unit(2, "clap", 900 * MS, 1600 * MS, &[1]),
            unit(3, "rand", 300 * MS, 500 * MS, &[]),
            unit(4, "app", 500 * MS, 700 * MS, &[0, 3]),
            unit(5, "cli", 1600 * MS, 1800 * MS, &[0, 2]),
        ]
    }

    #[test]
    fn a_line_costs_what_only_it_brings_in_and_shared_crates_are_shown_as_shared() {
        let members = vec!["app".to_string(), "cli".to_string()];
        let bill = bill(&run(), &members, None, 2, 1800 * MS);
        let find = |m: &str, p: &str| {
            bill.lines
                .iter()
                .find(|l| l.member == m && l.package == p)
                .unwrap_or_else(|| panic!("{m} → {p} in {:?}", bill.lines))
        };
        let clap = find("cli", "clap");
        assert_eq!(clap.price.units, 2, "clap and clap_derive");
        assert_eq!(clap.price.unit_ns, 1600 * MS);
        // Without clap, cli starts at 300 ms (after serde) and ends at 500 ms.
        assert!(clap.price.wall_saving_ns > 1000 * MS, "{clap:?}");
        let serde = find("app", "serde");
        assert_eq!(serde.price.units, 0, "cli still uses serde");
        assert_eq!(serde.shared_units, 1);
        assert_eq!(find("app", "rand").price.units, 1);
        // The largest saving first.
        assert_eq!(bill.lines[0].package, "clap");
        // serde is what app's and cli's lines bring in together.
        assert_eq!(bill.shared.len(), 1, "{:?}", bill.shared);
        assert_eq!(bill.shared[0].price.units, 1);
        assert_eq!(bill.dependency_ns, 2100 * MS);
    }

    #[test]
    fn a_build_script_line_is_a_build_dependency_and_a_test_edge_joins_the_normal_line() {
        let mut units = vec![
            unit(0, "cc", 0, 400 * MS, &[]),
            unit(1, "app", 500 * MS, 600 * MS, &[]),
            unit(2, "libc", 0, 100 * MS, &[]),
            unit(3, "app", 600 * MS, 700 * MS, &[2]),
            unit(4, "app", 600 * MS, 800 * MS, &[2]),
        ];
        units[1].kind = UnitKind::BuildScriptCompile;
        units[1].deps = vec![0];
        units[4].kind = UnitKind::Test;
        let bill = bill(&units, &["app".to_string()], None, 2, 800 * MS);
        let kinds: Vec<(&str, DependencyKind)> = bill
            .lines
            .iter()
            .map(|l| (l.package.as_str(), l.kind))
            .collect();
        assert!(kinds.contains(&("cc", DependencyKind::Build)), "{kinds:?}");
        assert!(
            kinds.contains(&("libc", DependencyKind::Normal)),
            "{kinds:?}"
        );
        assert_eq!(bill.lines.len(), 2, "{kinds:?}");
    }

    #[test]
    fn a_members_own_feature_is_priced_by_the_optional_dependency_it_turns_on() {
        // app's `default = ["fast-alloc"]`, `fast-alloc = ["dep:jemalloc"]`.
        let units = vec![
            unit(0, "jemalloc", 0, 900 * MS, &[]),
            unit(1, "app", 900 * MS, 1000 * MS, &[0]),
        ];
        let manifests = Manifests {
            dependencies: vec![line("app", "jemalloc", true)],
            features: vec![table(
                "app",
                &[
                    ("default", &["fast-alloc"]),
                    ("fast-alloc", &["dep:jemalloc"]),
                ],
                &["default", "fast-alloc"],
            )],
        };
        let bill = bill(&units, &["app".to_string()], Some(&manifests), 2, 1000 * MS);
        let named: Vec<(&str, &str)> = bill
            .features
            .iter()
            .map(|f| (f.package.as_str(), f.feature.as_str()))
            .collect();
        assert!(named.contains(&("app", "fast-alloc")), "{named:?}");
        assert!(named.contains(&("app", "default")), "{named:?}");
        let f = bill
            .features
            .iter()
            .find(|f| f.feature == "fast-alloc")
            .unwrap();
        assert_eq!(f.enables, vec!["jemalloc".to_string()]);
        assert_eq!(f.price.wall_saving_ns, 900 * MS);
        assert!(bill.lines[0].optional, "{:?}", bill.lines);
    }

    #[test]
    fn a_default_feature_is_priced_by_the_optional_dependency_only_it_turns_on() {
        // app → json (default features); json's `default = ["order"]`, `order = ["dep:indexmap"]`.
        let units = vec![
            unit(0, "indexmap", 0, 400 * MS, &[]),
            unit(1, "json", 400 * MS, 600 * MS, &[0]),
            unit(2, "app", 600 * MS, 700 * MS, &[1]),
        ];
        let manifests = Manifests {
            dependencies: vec![line("app", "json", false), line("json", "indexmap", true)],
            features: vec![table(
                "json",
                &[("default", &["order"]), ("order", &["dep:indexmap"])],
                &["default", "order"],
            )],
        };
        let bill = bill(&units, &["app".to_string()], Some(&manifests), 2, 700 * MS);
        assert_eq!(bill.features.len(), 1, "{:?}", bill.features);
        let f = &bill.features[0];
        assert_eq!(
            (f.package.as_str(), f.feature.as_str()),
            ("json", "default")
        );
        assert_eq!(f.enables, vec!["indexmap".to_string()]);
        assert_eq!(f.price.units, 1);
        assert_eq!(f.price.wall_saving_ns, 400 * MS);
        // Another package asking for `order` keeps indexmap: the default costs nothing.
        let mut asked = manifests.clone();
        let mut other = line("other", "json", false);
        other.default_features = false;
        other.features = vec!["order".into()];
        asked.dependencies.push(other);
        let bill = super::bill(&units, &["app".to_string()], Some(&asked), 2, 700 * MS);
        assert!(bill.features.is_empty(), "{:?}", bill.features);
    }
}
