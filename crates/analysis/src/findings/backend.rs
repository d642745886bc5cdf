//! The back end and the bookkeeping around it: LLVM dominating, the work an edited crate
//! redoes whole, linking.

use super::*;

/// LLVM taking most of a build.
///
/// `all` is every profiled crate, `crates` those no more specific finding explains. When
/// some of the build's Rust units have no profile (`--self-profile-crates` profiles the
/// members), their LLVM time is taken at the profiled crates' share of work: a setting such
/// as `debug` speeds the dependencies' code generation too (on ripgrep's repository, the
/// members' LLVM time alone made the estimate a quarter of what `line-tables-only` saved).
pub(super) fn llvm_dominates(
    phases: &PhaseTimes,
    all: &[CratePhases],
    crates: &[CratePhases],
    build: Option<BuildEvidence>,
) -> Option<Finding> {
    let llvm: u64 = crates.iter().map(|c| c.phases.llvm_ns()).sum();
    let total = phases.build_ns();
    // In a rebuild, LLVM is one cost centre among a few: named from a twentieth of the
    // time (the floor drops what would save too little); in a cold build, when it dominates.
    let hot = build.is_some_and(|b| b.hot);
    let enough = if hot {
        (llvm as f64) >= CENTRE_SHARE * total as f64
    } else {
        llvm >= MATTERS_NS && (llvm as f64) >= 0.4 * total as f64
    };
    if !enough {
        return None;
    }
    let mut by_crate: Vec<(&str, u64)> = crates
        .iter()
        .map(|c| (c.crate_name.as_str(), c.phases.llvm_ns()))
        .collect();
    by_crate.sort_by_key(|c| std::cmp::Reverse(c.1));
    let first = by_crate.first().map(|(c, _)| c.to_string());
    let unprofiled = build.and_then(|b| unprofiled_llvm(b, all));
    let facts = Facts::LlvmDominates {
        optimization_ns: phases.of(Phase::LlvmOptimization),
        codegen_ns: phases.of(Phase::LlvmCodegen),
        total_ns: total,
        largest: by_crate
            .into_iter()
            .take(3)
            .map(|(c, ns)| Timed::new(c, ns))
            .collect(),
        unprofiled,
    };
    let extrapolated = unprofiled.map_or(0, |u| u.llvm_ns);
    Some(Finding::new(facts, first, (llvm + extrapolated) / 3))
}

/// The build's Rust units without a profile, by crate, with their CPU time (a build
/// script's run and a unit a compiler cache served compile nothing here).
pub(super) fn unprofiled_units(build: BuildEvidence, profiled: &[CratePhases]) -> Vec<Timed> {
    let mut by_crate: Vec<Timed> = Vec::new();
    for unit in build.units {
        if unit.kind == UnitKind::BuildScriptRun
            || build.cached_units.contains(&unit.id)
            || profiled.iter().any(|c| unit.compiles_crate(&c.crate_name))
        {
            continue;
        }
        let name = unit.target.replace('-', "_");
        let cpu = unit.cpu_ns.unwrap_or_else(|| unit.duration_ns());
        match by_crate.iter_mut().find(|t| t.name == name) {
            Some(t) => t.ns += cpu,
            None => by_crate.push(Timed::new(name, cpu)),
        }
    }
    by_crate
}

/// The LLVM time of the units without a profile, at the profiled crates' share of work.
fn unprofiled_llvm(build: BuildEvidence, profiled: &[CratePhases]) -> Option<Extrapolated> {
    let work: u64 = profiled.iter().map(|c| c.phases.build_ns()).sum();
    let llvm: u64 = profiled.iter().map(|c| c.phases.llvm_ns()).sum();
    let units = unprofiled_units(build, profiled);
    let cpu: u64 = units.iter().map(|t| t.ns).sum();
    if units.is_empty() || work == 0 || cpu == 0 {
        return None;
    }
    Some(Extrapolated {
        crates: units.len(),
        cpu_ns: cpu,
        llvm_ns: (cpu as f64 * llvm as f64 / work as f64) as u64,
    })
}

/// The phases a crate redoes whole on every edit of it, whatever the edit: incremental
/// compilation reuses type checking, MIR and codegen of what did not change, not these.
/// (Lints run over the whole crate; type checking of unchanged items is a cache lookup.)
const WHOLE_CRATE: [Phase; 5] = [
    Phase::ParsingAndExpansion,
    Phase::NameResolution,
    Phase::TypeChecking,
    Phase::CrateMetadata,
    Phase::Incremental,
];

/// In a rebuild, the crate that redoes the most work whole: a split in two halves, the
/// edit in one, redoes half of it. Measured on two planted crates (3,600 functions; 960
/// structs with six derives each): the splits saved 139 ms and 1.52 s where half the
/// whole-crate work was 141 ms and 1.49 s (bench/RESULTS.md).
///
/// Time a proc-macro finding already claims for a crate (`claimed`, CPU) is taken off: its
/// fix (derived types moved out) is a split too, and the same seconds are not promised twice.
pub(super) fn whole_crate_rework(
    phases: &PhaseTimes,
    crates: &[CratePhases],
    build: Option<BuildEvidence>,
    claimed: &[(String, u64)],
) -> Option<Finding> {
    if !build.is_some_and(|b| b.hot) {
        return None;
    }
    // Metadata is written by a library only, and grows with it; what a binary spends there
    // is reading its dependencies' metadata, which each part of a split would read again.
    let units = build.map_or(&[][..], |b| b.units);
    let is_library = |krate: &str| {
        units
            .iter()
            .any(|u| u.kind == UnitKind::Lib && u.compiles_crate(krate))
    };
    let counted = |c: &CratePhases, p: Phase| -> u64 {
        if p == Phase::CrateMetadata && !is_library(&c.crate_name) {
            0
        } else {
            c.phases.of(p)
        }
    };
    let unclaimed = |c: &CratePhases| -> u64 {
        let whole: u64 = WHOLE_CRATE.iter().map(|p| counted(c, *p)).sum();
        let by_macros: u64 = claimed
            .iter()
            .filter(|(k, _)| *k == c.crate_name)
            .map(|(_, ns)| ns)
            .sum();
        whole.saturating_sub(by_macros)
    };
    let worst = crates.iter().max_by_key(|c| unclaimed(c))?;
    let rework = unclaimed(worst);
    let total = phases.build_ns();
    // A cost centre of a rebuild from a twentieth of its time (the floor drops what would
    // save too little).
    if (rework as f64) < CENTRE_SHARE * total as f64 {
        return None;
    }
    let facts = Facts::WholeCrateRework {
        krate: worst.crate_name.clone(),
        parts: WHOLE_CRATE
            .iter()
            .map(|p| PhaseTime {
                phase: *p,
                title: p.title(),
                self_ns: counted(worst, *p),
            })
            .collect(),
        crate_ns: worst.phases.build_ns(),
        claimed_by_macros_ns: claimed
            .iter()
            .filter(|(k, _)| *k == worst.crate_name)
            .map(|(_, ns)| ns)
            .sum(),
        total_ns: total,
    };
    Some(Finding::new(
        facts,
        Some(worst.crate_name.clone()),
        rework / 2,
    ))
}

/// What turning incremental off saves, per unit of the bookkeeping the profile shows.
const INCREMENTAL_OFF_SAVES: u64 = 2;

/// The codegen units rustc makes of a crate without incremental compilation when the
/// profile sets none (256 with it).
const NON_INCREMENTAL_CODEGEN_UNITS: u64 = 16;

/// Of a crate's code generation (monomorphization and LLVM), the share that cutting it
/// into one codegen unit per module costs, when all its units are beyond the
/// non-incremental count: each unit repeats the debug info of the types it uses and its
/// own module setup. Derived on just 1.36.0, whose library (256 units, 6.9 s of codegen, 0.4
/// s of bookkeeping) compiled 1.6 s and 2.1 s faster with incremental off, and checked on
/// ripgrep's repository (bench/RESULTS.md).
const PER_MODULE_CODEGEN_COST: f64 = 0.35;

/// What turning incremental off saves in one crate, CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct IncrementalOff {
    /// Twice the bookkeeping: the dependency tracking inside every query, also gone with
    /// incremental off, is not a separate event in the profile.
    pub bookkeeping_ns: u64,
    /// Code generation in fewer, larger codegen units.
    pub partitioning_ns: u64,
}

impl IncrementalOff {
    pub(super) fn total(self) -> u64 {
        self.bookkeeping_ns + self.partitioning_ns
    }
}

/// What turning incremental off saves in `krate`, whose profile sets `setting` codegen
/// units (if any). Without incremental, rustc merges the crate's code into at most
/// `setting` (16 by default) units; with it, one or two per module.
pub(super) fn incremental_off_saving(krate: &CratePhases, setting: Option<u32>) -> IncrementalOff {
    let made = krate.codegen_units_made;
    let without = setting
        .map_or(NON_INCREMENTAL_CODEGEN_UNITS, u64::from)
        .min(made);
    let beyond = if made == 0 {
        0.0
    } else {
        1.0 - without as f64 / made as f64
    };
    let codegen = krate.phases.of(Phase::Monomorphization) + krate.phases.llvm_ns();
    IncrementalOff {
        bookkeeping_ns: krate.phases.of(Phase::Incremental) * INCREMENTAL_OFF_SAVES,
        partitioning_ns: (codegen as f64 * PER_MODULE_CODEGEN_COST * beyond) as u64,
    }
}

/// The `-C codegen-units` cargo passed for the crate, if any.
pub(super) fn codegen_setting(units: &[Unit], krate: &CratePhases) -> Option<u32> {
    units
        .iter()
        .filter(|u| u.compiles_crate(&krate.crate_name))
        .find_map(|u| u.codegen_units)
}

/// What turning incremental off saves in each crate compiled incrementally (only those
/// keep incremental state): the finding's estimate and its replay both count these.
pub(super) fn incremental_savings<'a>(
    crates: &'a [CratePhases],
    units: &'a [Unit],
) -> impl Iterator<Item = (&'a CratePhases, IncrementalOff)> + 'a {
    crates
        .iter()
        .filter(|c| c.phases.of(Phase::Incremental) > 0)
        .map(move |c| (c, incremental_off_saving(c, codegen_setting(units, c))))
}

/// In a build from scratch, the incremental bookkeeping of the crates cargo compiles
/// incrementally (workspace members and path dependencies, in profiles with `incremental`
/// on): hashing every query's result, saving the dependency graph and the work products,
/// for a next build that, in CI or a release build, never comes; and code generation cut
/// into a codegen unit per module so that an edit redoes few of them. Named from a
/// twentieth of the profiled time. Turning incremental off saved 2.5x and 2.7x the
/// bookkeeping of two planted builds (little code generation), and on real crates with
/// hundreds of modules far more (bench/RESULTS.md).
pub(super) fn incremental_in_cold_build(
    phases: &PhaseTimes,
    crates: &[CratePhases],
    build: Option<BuildEvidence>,
) -> Option<Finding> {
    let build = build.filter(|b| !b.hot)?;
    let mut kept: Vec<Timed> = crates
        .iter()
        .map(|c| Timed::new(c.crate_name.as_str(), c.phases.of(Phase::Incremental)))
        .filter(|t| t.ns > 0)
        .collect();
    kept.sort_by_key(|t| std::cmp::Reverse(t.ns));
    let incremental: u64 = kept.iter().map(|t| t.ns).sum();
    let incremental_crates = || incremental_savings(crates, build.units);
    let saving: u64 = incremental_crates().map(|(_, s)| s.total()).sum();
    let total = phases.build_ns();
    if saving < MATTERS_NS || (saving as f64) < CENTRE_SHARE * total as f64 {
        return None;
    }
    let partitioned = incremental_crates()
        .filter(|(_, s)| s.partitioning_ns > 0)
        .max_by_key(|(c, _)| c.codegen_units_made)
        .map(|(c, _)| (c.crate_name.clone(), c.codegen_units_made));
    let only = (kept.len() == 1).then(|| kept[0].name.clone());
    kept.truncate(3);
    let facts = Facts::IncrementalInColdBuild {
        crates: kept,
        incremental_ns: incremental,
        total_ns: total,
        partitioning_ns: incremental_crates().map(|(_, s)| s.partitioning_ns).sum(),
        most_codegen_units: partitioned,
    };
    Some(Finding::new(facts, only, saving))
}

/// A crate whose profile set `codegen-units` below the threads its code generation could
/// use: LLVM's work on its code runs on that many threads while the others wait. The
/// estimate is its LLVM time × (1 − units / min(cores, 16)), cargo's release default being
/// 16 (a crate under fat LTO is left out: its final optimisation runs on one thread
/// whatever the setting).
pub(super) fn few_codegen_units(
    crates: &[CratePhases],
    build: Option<BuildEvidence>,
) -> Option<Finding> {
    let build = build?;
    let threads = build.totals.cores.min(16) as u64;
    let units = build.units;
    // (saving, crate, its setting, its LLVM time)
    let mut best: Option<(u64, &CratePhases, u32, u64)> = None;
    for c in crates {
        let Some(setting) = codegen_setting(units, c) else {
            continue;
        };
        if setting as u64 >= threads || c.phases.of(Phase::Lto) > 0 {
            continue;
        }
        let llvm = c.phases.llvm_ns();
        let saving = (llvm as f64 * (1.0 - setting as f64 / threads as f64)) as u64;
        if saving >= MATTERS_NS && best.is_none_or(|(b, ..)| saving > b) {
            best = Some((saving, c, setting, llvm));
        }
    }
    let (saving, c, setting, llvm) = best?;
    let facts = Facts::FewCodegenUnits {
        krate: c.crate_name.clone(),
        codegen_units: setting,
        llvm_ns: llvm,
        cores: build.totals.cores,
    };
    Some(Finding::new(facts, Some(c.crate_name.clone()), saving))
}

pub(super) fn linking(build: BuildEvidence) -> Option<Finding> {
    let link = build.totals.final_link_ns.unwrap_or(0);
    let wall = build.totals.wall_ns;
    if !build.hot || (link as f64) < CENTRE_SHARE * wall as f64 {
        return None;
    }
    let last = build.units.iter().max_by_key(|u| u.end_ns)?;
    let facts = Facts::Linking {
        unit: last.display_name(),
        link_ns: link,
        wall_ns: wall,
        installed_linkers: build.installed_linkers.to_vec(),
        linker: last.linker.clone(),
    };
    // Less debug info: a third. `debug = "line-tables-only"` took 24–56% off the final link
    // of four hot rebuilds measured (ripgrep, hyperfine, the linking test project).
    // Another linker: two thirds, when the link ran GNU ld or gold (rust-lld took 77% off
    // it, mold 52%, on the linking test project). bench/RESULTS.md.
    let less_debug_info = link / 3;
    let other_linker = if last.linker.as_deref().is_some_and(is_slow_linker) {
        link * 2 / 3
    } else {
        0
    };
    Some(Finding::new(
        facts,
        Some(last.target.clone()),
        less_debug_info.max(other_linker),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::tests::Run;
    use crate::timeline::tests::unit as lib_unit;

    const MS: u64 = 1_000_000;

    /// A rebuild of 1 s whose binary links for 300 ms with `linker`.
    fn linked_by(linker: &str) -> Finding {
        let units = vec![Unit {
            kind: UnitKind::Bin,
            link_ns: Some(300 * MS),
            linker: Some(linker.into()),
            ..lib_unit(0, "app", 0, 1000 * MS, &[])
        }];
        let run = Run::of(units, 2);
        let mut evidence = run.evidence(&[]);
        evidence.hot = true;
        linking(evidence).expect("30% of the rebuild is linking")
    }

    fn row(label: &str, ns: u64) -> crate::summary::LabelStats {
        crate::summary::LabelStats {
            label: label.into(),
            self_time_ns: ns,
            time_ns: ns,
            count: 1,
            ..Default::default()
        }
    }

    #[test]
    fn a_build_from_scratch_is_told_its_incremental_bookkeeping() {
        let units = vec![lib_unit(0, "core", 0, 1000 * MS, &[])];
        let run = Run::of(units, 2);
        let crates = [CratePhases::of(
            "core",
            &[
                row("typeck", 700 * MS),
                row("incr_comp_encode_dep_graph", 300 * MS),
            ],
        )];
        let phases = crates[0].phases.clone();
        let cold = run.evidence(&[]);
        let found = incremental_in_cold_build(&phases, &crates, Some(cold)).unwrap();
        assert_eq!(found.estimate_ns, 600 * MS);
        assert_eq!(found.crate_name.as_deref(), Some("core"));
        assert!(matches!(
            found.facts,
            Facts::IncrementalInColdBuild {
                partitioning_ns: 0,
                most_codegen_units: None,
                ..
            }
        ));
        // A rebuild reuses that state: not a finding there.
        let hot = BuildEvidence { hot: true, ..cold };
        assert!(incremental_in_cold_build(&phases, &crates, Some(hot)).is_none());
        // Nor from profiles alone (cold or hot unknown).
        assert!(incremental_in_cold_build(&phases, &crates, None).is_none());
    }

    #[test]
    fn crates_without_a_profile_count_at_the_profiled_share_of_llvm() {
        // `app` profiled: 600 ms of LLVM in 1 s of work; `dep` compiled without a profile
        // for 1 s of CPU; a build script's run compiles nothing.
        let units = vec![
            Unit {
                cpu_ns: Some(1000 * MS),
                ..lib_unit(0, "dep", 0, 1000 * MS, &[])
            },
            Unit {
                kind: UnitKind::BuildScriptRun,
                cpu_ns: Some(5000 * MS),
                ..lib_unit(1, "dep", 0, 1000 * MS, &[])
            },
            Unit {
                kind: UnitKind::Bin,
                ..lib_unit(2, "app", 1000 * MS, 2000 * MS, &[0])
            },
        ];
        let run = Run::of(units, 2);
        let crates = [CratePhases::of(
            "app",
            &[
                row("typeck", 400 * MS),
                row("LLVM_module_codegen_emit_obj", 600 * MS),
            ],
        )];
        let phases = crates[0].phases.clone();
        let found = llvm_dominates(&phases, &crates, &crates, Some(run.evidence(&[]))).unwrap();
        let Facts::LlvmDominates {
            unprofiled: Some(u),
            ..
        } = &found.facts
        else {
            panic!("the unprofiled crate is extrapolated: {:?}", found.facts);
        };
        assert_eq!((u.crates, u.cpu_ns, u.llvm_ns), (1, 1000 * MS, 600 * MS));
        assert_eq!(found.estimate_ns, 400 * MS);
        // Every crate profiled: nothing extrapolated.
        let alone = Run::of(vec![lib_unit(0, "app", 0, 1000 * MS, &[])], 2);
        let found = llvm_dominates(&phases, &crates, &crates, Some(alone.evidence(&[]))).unwrap();
        assert!(matches!(
            found.facts,
            Facts::LlvmDominates {
                unprofiled: None,
                ..
            }
        ));
        assert_eq!(found.estimate_ns, 200 * MS);
    }

    #[test]
    fn code_generation_cut_per_module_counts_the_units_beyond_sixteen() {
        let mut krate = CratePhases::of(
            "core",
            &[
                row("incr_comp_encode_dep_graph", 100 * MS),
                row("LLVM_module_codegen_emit_obj", 1000 * MS),
            ],
        );
        // 64 units where a build without incremental makes 16: three quarters of them
        // extra, their share of the crate's code generation.
        krate.codegen_units_made = 64;
        let off = incremental_off_saving(&krate, None);
        assert_eq!(off.bookkeeping_ns, 200 * MS);
        let expected = 1000.0 * PER_MODULE_CODEGEN_COST * 0.75;
        assert_eq!(off.partitioning_ns / MS, expected as u64);
        // A profile that sets 64 codegen units keeps them without incremental.
        assert_eq!(incremental_off_saving(&krate, Some(64)).partitioning_ns, 0);
        // Fewer units than 16: nothing to merge.
        krate.codegen_units_made = 8;
        assert_eq!(incremental_off_saving(&krate, None).partitioning_ns, 0);
    }

    #[test]
    fn one_codegen_unit_on_two_cores_is_half_its_llvm_time() {
        let units = vec![Unit {
            codegen_units: Some(1),
            ..lib_unit(0, "core", 0, 1000 * MS, &[])
        }];
        let run = Run::of(units, 2);
        let crates = [CratePhases::of(
            "core",
            &[
                row("typeck", 200 * MS),
                row("LLVM_module_codegen_emit_obj", 800 * MS),
            ],
        )];
        let found = few_codegen_units(&crates, Some(run.evidence(&[]))).unwrap();
        assert_eq!(found.estimate_ns, 400 * MS);
        // As many units as cores: nothing to gain.
        let units = vec![Unit {
            codegen_units: Some(2),
            ..lib_unit(0, "core", 0, 1000 * MS, &[])
        }];
        let run = Run::of(units, 2);
        assert!(few_codegen_units(&crates, Some(run.evidence(&[]))).is_none());
    }

    #[test]
    fn the_linking_estimate_follows_the_linker_that_ran() {
        // rust-lld: less debug info is the lever, a third of the link.
        assert_eq!(linked_by("rust-lld").estimate_ns, 100 * MS);
        assert_eq!(linked_by("mold").estimate_ns, 100 * MS);
        // GNU ld: another linker takes two thirds.
        let gnu = linked_by("GNU ld");
        assert_eq!(gnu.estimate_ns, 200 * MS);
        assert!(matches!(&gnu.facts, Facts::Linking { linker: Some(l), .. } if l == "GNU ld"));
    }
}
