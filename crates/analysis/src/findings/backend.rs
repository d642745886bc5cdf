//! The back end and the bookkeeping around it: LLVM dominating, incremental overhead,
//! linking.

use super::*;

/// LLVM taking most of a build.
pub(super) fn llvm_dominates(
    phases: &PhaseTimes,
    crates: &[CratePhases],
    build: Option<BuildEvidence>,
) -> Option<Finding> {
    let llvm_of = |p: &PhaseTimes| p.of(Phase::LlvmOptimization) + p.of(Phase::LlvmCodegen);
    // Over the crates given (those no more specific finding explains).
    let llvm: u64 = crates.iter().map(|c| llvm_of(&c.phases)).sum();
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
        .map(|c| {
            (
                c.crate_name.as_str(),
                c.phases.of(Phase::LlvmOptimization) + c.phases.of(Phase::LlvmCodegen),
            )
        })
        .collect();
    by_crate.sort_by_key(|c| std::cmp::Reverse(c.1));
    let first = by_crate.first().map(|(c, _)| c.to_string());
    let facts = Facts::LlvmDominates {
        optimization_ns: phases.of(Phase::LlvmOptimization),
        codegen_ns: phases.of(Phase::LlvmCodegen),
        total_ns: total,
        largest: by_crate
            .into_iter()
            .take(3)
            .map(|(c, ns)| Timed::new(c, ns))
            .collect(),
    };
    Some(Finding::new(facts, first, llvm / 3))
}

pub(super) fn incremental_overhead(
    phases: &PhaseTimes,
    crates: &[CratePhases],
    build: Option<BuildEvidence>,
) -> Option<Finding> {
    let hot = build.is_some_and(|b| b.hot);
    let incr = phases.of(Phase::Incremental);
    let total = phases.build_ns();
    // A cost centre of a rebuild from a twentieth of its time (the floor drops what would
    // save too little).
    if !hot || (incr as f64) < CENTRE_SHARE * total as f64 {
        return None;
    }
    let worst = crates
        .iter()
        .max_by_key(|c| c.phases.of(Phase::Incremental))?;
    let facts = Facts::IncrementalOverhead {
        incremental_ns: incr,
        total_ns: total,
        largest: Timed::new(
            worst.crate_name.clone(),
            worst.phases.of(Phase::Incremental),
        ),
    };
    Some(Finding::new(
        facts,
        Some(worst.crate_name.clone()),
        incr / 2,
    ))
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
    };
    // A third: `debug = "line-tables-only"` took 24–56% off the final link of four hot
    // rebuilds measured (ripgrep, hyperfine, the linking test project; bench/RESULTS.md).
    Some(Finding::new(facts, Some(last.target.clone()), link / 3))
}
