//! Cost centres: the scenario's wall time split into what a Rust developer recognises (per
//! rebuilt unit: its front-end phases, incremental bookkeeping, codegen, linking; build
//! script runs; cargo's own time), each tied to the findings whose fix reduces it.
//!
//! A second of wall time is shared among the units running then (as the wall table does),
//! and a unit's share is split by its profile's phases; a unit that was not profiled is one
//! centre. Every centre of [`CENTRE_SHARE`] of the wall or more is worth a sentence: the
//! findings that act on it, or that buildscope knows no lever for it.

use std::collections::BTreeMap;

use crate::feature_resolve::{chain_words, Resolver};

use serde::Serialize;

use super::schedule::{profile_of, wall_shares};
use super::*;

/// A cost centre this share of the wall time or more is named in explain, with its levers
/// or the lack of them.
pub const CENTRE_SHARE: f64 = 0.05;

/// Centres under this share of the wall are folded into `rest_ns`.
const LISTED_SHARE: f64 = 0.01;

/// What part of the build a cost centre is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Centre {
    Expansion,
    NameResolution,
    TypeChecking,
    TraitSolving,
    BorrowChecking,
    Mir,
    /// Reading and writing crate metadata.
    Metadata,
    /// Hashing, loading and saving the dependency graph, copying artifacts from the cache.
    Incremental,
    /// Monomorphization and LLVM.
    Codegen,
    Linking,
    /// Compiler work under labels buildscope does not know.
    OtherCompilerWork,
    /// A unit that was not profiled, whole.
    Compiling,
    BuildScriptRun,
    /// No unit running: cargo's own work (fingerprints, scheduling, waiting on jobs).
    Cargo,
}

impl Centre {
    fn of_phase(phase: Phase) -> Option<Centre> {
        Some(match phase {
            Phase::ParsingAndExpansion => Centre::Expansion,
            Phase::NameResolution => Centre::NameResolution,
            Phase::TypeChecking => Centre::TypeChecking,
            Phase::TraitSolving => Centre::TraitSolving,
            Phase::BorrowChecking => Centre::BorrowChecking,
            Phase::Mir => Centre::Mir,
            Phase::Monomorphization | Phase::LlvmOptimization | Phase::LlvmCodegen | Phase::Lto => {
                Centre::Codegen
            }
            Phase::Linking => Centre::Linking,
            Phase::CrateMetadata => Centre::Metadata,
            Phase::Incremental => Centre::Incremental,
            Phase::Other => Centre::OtherCompilerWork,
            Phase::ProfilerOverhead | Phase::WaitingForCodegen => return None,
        })
    }

    /// The causes whose findings' fixes reduce this centre.
    fn acted_on_by(self) -> &'static [Cause] {
        match self {
            Centre::Expansion => &[
                Cause::ProcMacroExpansion,
                Cause::PathologicalItem,
                Cause::WholeCrateRework,
            ],
            Centre::NameResolution | Centre::Metadata => &[
                Cause::PathologicalItem,
                Cause::SerializingCrate,
                Cause::WholeCrateRework,
            ],
            Centre::Mir => &[Cause::PathologicalItem, Cause::SerializingCrate],
            Centre::TypeChecking => &[
                Cause::PathologicalTraitSolving,
                Cause::PathologicalItem,
                Cause::SerializingCrate,
                Cause::WholeCrateRework,
            ],
            Centre::TraitSolving | Centre::BorrowChecking => &[
                Cause::PathologicalTraitSolving,
                Cause::PathologicalItem,
                Cause::SerializingCrate,
            ],
            Centre::Incremental => &[Cause::WholeCrateRework, Cause::IncrementalInColdBuild],
            // Incremental's finding counts code generation cut per module.
            Centre::Codegen => &[
                Cause::Monomorphization,
                Cause::LlvmDominates,
                Cause::FewCodegenUnits,
                Cause::IncrementalInColdBuild,
            ],
            Centre::Linking => &[Cause::Linking],
            Centre::OtherCompilerWork => &[],
            Centre::Compiling => &[
                Cause::SerializingCrate,
                Cause::EditCascade,
                Cause::ChangingEnvironmentVariable,
                Cause::SettingsThrash,
            ],
            Centre::BuildScriptRun => &[
                Cause::BuildScriptReruns,
                Cause::BuildScriptOnCriticalPath,
                Cause::ChangingEnvironmentVariable,
            ],
            Centre::Cargo => &[],
        }
    }
}

/// One cost centre of the scenario's wall time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostCentre {
    pub centre: Centre,
    /// The unit (`core v0.1.0`, `app v0.1.0 (bin "app")`); `None` for cargo's own time.
    pub unit: Option<String>,
    /// Its crate (`core`), as findings name it.
    #[serde(rename = "crate")]
    pub crate_name: Option<String>,
    /// How to call it: the crate, with its kind when a library of the same name is built too
    /// (`tokei (bin)`); `None` for cargo's own time.
    pub name: Option<String>,
    /// Its share of the wall time.
    pub wall_ns: u64,
    /// The findings (indexes into the explanation's, ranked) whose fix reduces it.
    pub findings: Vec<usize>,
    /// With no finding: the largest saving a lever acting on it was estimated at, under the
    /// floor of a finding (`None`: no detector had a lever for it).
    pub under_floor_ns: Option<u64>,
    /// Code generation's: the codegen units rustc generated (`codegen_module`); in a rebuild
    /// those the edit made it redo, the others reused from the incremental cache. `None`
    /// for other centres, and where a library and a binary of one name share a profile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codegen_units: Option<u64>,
    /// The package (name, version) the unit belongs to; `None` for cargo's own time.
    #[serde(skip)]
    pub package: Option<(String, String)>,
    /// A dependency's centre in a build from scratch: why the package is in the build.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brought_in: Option<BroughtIn>,
}

/// Why a dependency is in the build: the decision in a member's Cargo.toml behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BroughtIn {
    /// The chain of features and lines from a member to the package, in words
    /// (`xh's feature `rustls` → reqwest's features `rustls`, … → aws-lc-sys`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain: Option<String>,
    /// The member's line or feature whose removal alone takes the package out, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lever: Option<String>,
    /// What that removal saves (the bill's replay) and the crates it takes out.
    pub saving_ns: u64,
    pub crates: usize,
}

/// The scenario's wall time by cost centre.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostCentres {
    pub wall_ns: u64,
    /// A rebuild after a touch or an edit (what a centre redoes depends on it).
    pub hot: bool,
    /// Centres of at least 1% of the wall time, largest first.
    pub centres: Vec<CostCentre>,
    /// The wall time of the smaller centres.
    pub rest_ns: u64,
}

impl CostCentres {
    /// The centres worth a sentence: [`CENTRE_SHARE`] of the wall or more.
    pub fn named(&self) -> impl Iterator<Item = &CostCentre> {
        self.centres.iter().filter(|c| self.is_named(c))
    }

    /// Whether a centre is worth a sentence.
    pub fn is_named(&self, centre: &CostCentre) -> bool {
        centre.wall_ns as f64 >= self.wall_ns as f64 * CENTRE_SHARE
    }
}

/// The build's wall time by cost centre (findings not yet attached).
pub fn cost_centres(build: BuildEvidence, crates: &[CratePhases]) -> CostCentres {
    let wall = build.totals.wall_ns;
    let (shares, idle, _) = wall_shares(build.units, wall, build.totals.cores);
    type Key = (Option<String>, Option<String>, Option<String>, Centre);
    let mut by_centre: BTreeMap<Key, f64> = BTreeMap::new();
    let mut codegen_units: BTreeMap<Key, u64> = BTreeMap::new();
    let mut package_of: BTreeMap<String, (String, String)> = BTreeMap::new();
    for unit in build.units {
        let share = shares.get(&unit.id).copied().unwrap_or(0.0);
        if share <= 0.0 {
            continue;
        }
        let unit_name = Some(unit.display_name());
        package_of.insert(
            unit.display_name(),
            (unit.package.clone(), unit.version.clone()),
        );
        // A build script's target is `build-script-build` in every package: it is named by
        // its package, as the build-script findings name it.
        let build_script = matches!(
            unit.kind,
            UnitKind::BuildScriptRun | UnitKind::BuildScriptCompile
        );
        let crate_name = if build_script {
            unit.package.replace('-', "_")
        } else {
            unit.target.replace('-', "_")
        };
        let library_too = unit.kind != UnitKind::Lib
            && build
                .units
                .iter()
                .any(|u| u.kind == UnitKind::Lib && u.target.replace('-', "_") == crate_name);
        let name = Some(if unit.kind == UnitKind::BuildScriptRun {
            unit.package.clone()
        } else if build_script {
            format!("{} (build script)", unit.package)
        } else if library_too {
            format!("{crate_name} ({})", unit.kind.as_str())
        } else {
            crate_name.clone()
        });
        let krate = Some(crate_name);
        let key = |centre| (unit_name.clone(), krate.clone(), name.clone(), centre);
        // Profiles are per crate name: a library and a binary of one package share one.
        // A library does not link, so its share is split over the other phases.
        let profiled = profile_of(unit, crates).filter(|c| c.phases.build_ns() > 0);
        match (unit.kind, profiled) {
            (UnitKind::BuildScriptRun, _) => {
                *by_centre.entry(key(Centre::BuildScriptRun)).or_default() += share
            }
            (_, Some(profile)) => {
                // One crate name's profile is one unit's only when no library shares it.
                if !library_too && profile.codegen_units_made > 0 {
                    codegen_units.insert(key(Centre::Codegen), profile.codegen_units_made);
                }
                let counted: Vec<(Centre, u64)> = profile
                    .phases
                    .phases
                    .iter()
                    .filter_map(|p| Centre::of_phase(p.phase).map(|c| (c, p.self_ns)))
                    .filter(|(c, _)| !(unit.kind == UnitKind::Lib && *c == Centre::Linking))
                    .collect();
                let total: u64 = counted.iter().map(|(_, ns)| ns).sum();
                for (centre, ns) in counted {
                    *by_centre.entry(key(centre)).or_default() +=
                        share * ns as f64 / total.max(1) as f64;
                }
            }
            (_, None) => *by_centre.entry(key(Centre::Compiling)).or_default() += share,
        }
    }
    if idle > 0 {
        by_centre.insert((None, None, None, Centre::Cargo), idle as f64);
    }
    let least = (wall as f64 * LISTED_SHARE) as u64;
    let mut centres = Vec::new();
    let mut rest_ns = 0;
    for (key, ns) in by_centre {
        let wall_ns = ns.round() as u64;
        let units = codegen_units.get(&key).copied();
        let (unit, crate_name, name, centre) = key;
        if wall_ns >= least && wall_ns > 0 {
            centres.push(CostCentre {
                centre,
                crate_name,
                name,
                wall_ns,
                findings: Vec::new(),
                under_floor_ns: None,
                codegen_units: units,
                package: unit.as_ref().and_then(|u| package_of.get(u).cloned()),
                unit,
                brought_in: None,
            });
        } else {
            rest_ns += wall_ns;
        }
    }
    centres.sort_by(|a, b| b.wall_ns.cmp(&a.wall_ns).then(a.centre.cmp(&b.centre)));
    CostCentres {
        hot: build.hot,
        wall_ns: wall,
        centres,
        rest_ns,
    }
}

/// Ties each centre to the findings (ranked) whose fix reduces it: a finding of a cause
/// that acts on the centre, about the centre's crate or about no crate in particular. A
/// centre with none keeps the largest estimate of those under the floor.
pub fn attach_findings(centres: &mut CostCentres, findings: &[Finding], under_floor: &[Finding]) {
    for centre in &mut centres.centres {
        let acts = |f: &&Finding| {
            (centre.centre.acted_on_by().contains(&f.cause())
                && acts_on_crate(f, centre.crate_name.as_deref())
                && counts_the_phase(f, centre.centre))
                || takes_out(f, centre.crate_name.as_deref())
        };
        centre.findings = findings
            .iter()
            .enumerate()
            .filter(|(_, f)| acts(f))
            .map(|(i, _)| i)
            .collect();
        if centre.findings.is_empty() {
            centre.under_floor_ns = under_floor.iter().filter(acts).map(|f| f.estimate_ns).max();
        }
    }
}

/// Names, for each named centre of a dependency in a build from scratch, the decision in a
/// member's Cargo.toml behind the package: the chain of features and lines that brings it
/// in (cargo's resolution replayed, where it reproduces the build) and the line or feature
/// whose removal alone takes it out, with what that saves.
pub fn attach_provenance(centres: &mut CostCentres, bill: &Bill, build: BuildEvidence) {
    if centres.hot {
        return;
    }
    let resolver = build
        .manifests
        .and_then(|m| Resolver::of_build(m, build.members, build.units));
    let wall = centres.wall_ns;
    for centre in &mut centres.centres {
        if (centre.wall_ns as f64) < wall as f64 * CENTRE_SHARE {
            continue;
        }
        let Some((package, version)) = &centre.package else {
            continue;
        };
        if build.members.contains(package) {
            continue;
        }
        let chain = resolver
            .as_ref()
            .and_then(|r| r.chain_to(package, version))
            .filter(|c| c.len() > 2)
            .map(|c| chain_words(&c));
        let lever = lever_that_takes_out(bill, package);
        if chain.is_none() && lever.is_none() {
            continue;
        }
        centre.brought_in = Some(BroughtIn {
            chain,
            saving_ns: lever.as_ref().map_or(0, |(_, p)| p.wall_saving_ns),
            crates: lever.as_ref().map_or(0, |(_, p)| p.packages.len()),
            lever: lever.map(|(words, _)| words),
        });
    }
}

/// Whether a finding is about the centre's crate. LLVM's finding is about every crate's
/// code generation; linking's names the linked target.
fn acts_on_crate(finding: &Finding, krate: Option<&str>) -> bool {
    match (finding.cause(), finding.crate_name.as_deref(), krate) {
        (Cause::LlvmDominates, _, _) => true,
        (_, None, _) => true,
        (_, Some(f), Some(c)) => f.replace('-', "_") == c,
        (_, Some(_), None) => false,
    }
}

/// Whether a finding's fix takes the centre's package out of the build (a dependency only
/// one member needs, behind a feature): then it acts on every centre of that package.
fn takes_out(finding: &Finding, krate: Option<&str>) -> bool {
    let Some(krate) = krate else {
        return false;
    };
    match &finding.facts {
        Facts::DependencyOfOneMember { dependencies, .. } => dependencies
            .iter()
            .any(|d| d.name.replace('-', "_") == krate),
        _ => false,
    }
}

/// Whether a finding that names the parts it would save counts this centre among them (a
/// binary's metadata is not part of the work a split saves).
fn counts_the_phase(finding: &Finding, centre: Centre) -> bool {
    match &finding.facts {
        Facts::WholeCrateRework { parts, .. } => parts
            .iter()
            .any(|p| p.self_ns > 0 && Centre::of_phase(p.phase) == Some(centre)),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::Run;
    use super::*;
    use crate::timeline::tests::unit as lib_unit;

    const MS: u64 = 1_000_000;

    fn crate_phases(name: &str, rows: &[(&str, u64)]) -> CratePhases {
        let rows: Vec<crate::summary::LabelStats> = rows
            .iter()
            .map(|(label, ms)| crate::summary::LabelStats {
                label: label.to_string(),
                self_time_ns: ms * MS,
                time_ns: ms * MS,
                count: 1,
                ..Default::default()
            })
            .collect();
        CratePhases::of(name, &rows)
    }

    #[test]
    fn a_rebuild_splits_into_centres_tied_to_the_findings_that_count_them() {
        // A library `tool` 0..300 ms, then its binary `tool` 300..400 ms, one core busy at
        // a time; 400..500 ms no unit (cargo). One profile for the crate name (as rustc's
        // profiles are per crate): incremental, metadata, linking.
        let units = vec![
            lib_unit(0, "tool", 0, 300 * MS, &[]),
            Unit {
                kind: UnitKind::Bin,
                ..lib_unit(1, "tool", 300 * MS, 400 * MS, &[0])
            },
            lib_unit(2, "end", 500 * MS, 500 * MS, &[1]),
        ];
        let crates = [crate_phases(
            "tool",
            &[
                ("incr_comp_encode_dep_graph", 200),
                ("metadata_decode_entry_fn_sig", 100),
                ("link_binary", 100),
            ],
        )];
        let run = Run::of(units, 2);
        let members = ["tool".to_string()];
        let mut evidence = run.evidence(&members);
        evidence.hot = true;
        let mut centres = cost_centres(evidence, &crates);
        assert_eq!(centres.wall_ns, 500 * MS);
        let of = |centres: &CostCentres, name: &str, centre: Centre| {
            centres
                .centres
                .iter()
                .find(|c| c.name.as_deref() == Some(name) && c.centre == centre)
                .map(|c| c.wall_ns / MS)
        };
        // The library links nothing: its 300 ms split over incremental and metadata (2:1).
        assert_eq!(of(&centres, "tool", Centre::Linking), None);
        assert_eq!(of(&centres, "tool", Centre::Incremental), Some(200));
        assert_eq!(of(&centres, "tool", Centre::Metadata), Some(100));
        // The binary's 100 ms over all three (2:1:1), named apart from the library.
        assert_eq!(of(&centres, "tool (bin)", Centre::Linking), Some(25));
        assert_eq!(of(&centres, "tool (bin)", Centre::Incremental), Some(50));
        let cargo = centres.centres.iter().find(|c| c.centre == Centre::Cargo);
        assert_eq!(cargo.map(|c| c.wall_ns / MS), Some(100));
        let total: u64 = centres.centres.iter().map(|c| c.wall_ns).sum::<u64>() + centres.rest_ns;
        assert!(total.abs_diff(500 * MS) < MS, "{total}");

        // A split finding that counts incremental but not metadata (a binary's); one under
        // the floor for linking.
        let split = Finding::new(
            Facts::WholeCrateRework {
                krate: "tool".into(),
                parts: [(Phase::Incremental, 200 * MS), (Phase::CrateMetadata, 0)]
                    .map(|(phase, self_ns)| PhaseTime {
                        phase,
                        title: phase.title(),
                        self_ns,
                    })
                    .to_vec(),
                crate_ns: 400 * MS,
                claimed_by_macros_ns: 0,
                total_ns: 400 * MS,
            },
            Some("tool".into()),
            100 * MS,
        );
        let link = Finding::new(
            Facts::Linking {
                unit: "tool (bin)".into(),
                link_ns: 30 * MS,
                wall_ns: 500 * MS,
                installed_linkers: Vec::new(),
                linker: None,
            },
            Some("tool".into()),
            10 * MS,
        );
        attach_findings(&mut centres, &[split], &[link]);
        let find = |name: &str, centre: Centre| {
            centres
                .centres
                .iter()
                .find(|c| c.name.as_deref() == Some(name) && c.centre == centre)
                .unwrap()
                .clone()
        };
        assert_eq!(find("tool", Centre::Incremental).findings, vec![0]);
        assert!(find("tool", Centre::Metadata).findings.is_empty());
        assert_eq!(find("tool", Centre::Metadata).under_floor_ns, None);
        let linking = find("tool (bin)", Centre::Linking);
        assert!(linking.findings.is_empty());
        assert_eq!(linking.under_floor_ns, Some(10 * MS));
        assert_eq!(centres.named().count(), centres.centres.len());
    }

    #[test]
    fn a_build_script_is_named_by_its_package_and_a_crates_codegen_counts_its_units() {
        // `sys`'s build script runs 0..200 ms, then `core` compiles 200..500 ms with a
        // profile that generated 12 codegen units.
        let units = vec![
            Unit {
                kind: UnitKind::BuildScriptRun,
                target: "build-script-build".into(),
                ..lib_unit(0, "sys", 0, 200 * MS, &[])
            },
            lib_unit(1, "core", 200 * MS, 500 * MS, &[0]),
        ];
        let mut core = crate_phases(
            "core",
            &[("typeck", 100), ("LLVM_module_codegen_emit_obj", 200)],
        );
        core.codegen_units_made = 12;
        let run = Run::of(units, 2);
        let members = ["core".to_string()];
        let mut evidence = run.evidence(&members);
        evidence.hot = true;
        let mut centres = cost_centres(evidence, &[core]);
        let script = centres
            .centres
            .iter()
            .find(|c| c.centre == Centre::BuildScriptRun)
            .unwrap();
        assert_eq!(script.name.as_deref(), Some("sys"));
        assert_eq!(script.crate_name.as_deref(), Some("sys"));
        let codegen = centres
            .centres
            .iter()
            .find(|c| c.centre == Centre::Codegen)
            .unwrap();
        assert_eq!(codegen.codegen_units, Some(12));
        // The finding about the package's build script acts on its run.
        let reruns = Finding::new(
            Facts::BuildScriptReruns {
                package: "sys".into(),
                cause: crate::findings::RerunCause::NoRerunIfChanged,
                ran_ns: 200 * MS,
                waiting: 1,
            },
            Some("sys".into()),
            100 * MS,
        );
        // And so does one that takes the package out of the build (it is about the member
        // that needs it, and acts on every centre of the package).
        let one_member = Finding::new(
            Facts::DependencyOfOneMember {
                member: "tool".into(),
                dependencies: vec![Timed::new("sys", 200 * MS)],
                exclusive_ns: 200 * MS,
                total_ns: 500 * MS,
            },
            Some("tool".into()),
            100 * MS,
        );
        attach_findings(&mut centres, &[reruns, one_member], &[]);
        let script = centres
            .centres
            .iter()
            .find(|c| c.centre == Centre::BuildScriptRun)
            .unwrap();
        assert_eq!(script.findings, [0, 1]);
        let codegen = centres
            .centres
            .iter()
            .find(|c| c.centre == Centre::Codegen)
            .unwrap();
        assert!(codegen.findings.is_empty());
    }
}
