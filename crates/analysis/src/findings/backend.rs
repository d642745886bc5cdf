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
    if llvm < MATTERS_NS || (llvm as f64) < 0.4 * total as f64 {
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
    let top: Vec<String> = by_crate
        .iter()
        .take(3)
        .map(|(c, ns)| format!("{c} {}", secs(*ns)))
        .collect();
    let _ = build;
    Some(Finding {
        cause: Cause::LlvmDominates,
        title: format!(
            "LLVM takes {:.0}% of the compile time",
            percent_of(llvm, total)
        ),
        crate_name: by_crate.first().map(|(c, _)| c.to_string()),
        evidence: vec![
            format!(
                "LLVM optimisation {}, code generation {} of {} CPU",
                secs(phases.of(Phase::LlvmOptimization)),
                secs(phases.of(Phase::LlvmCodegen)),
                secs(total)
            ),
            format!("most in: {}", top.join(", ")),
        ],
        fix: "In dev builds, emit less debug info (`[profile.dev] debug = \"line-tables-only\"` or `debug = 0` for dependencies), keep `opt-level = 0` for your own crates, and check `codegen-units`; rebuild with each setting to measure it.".to_string(),
        estimate_ns: llvm / 3,
        cpu_ns: None,
        estimate_basis: "a third of the LLVM time: what less debug info typically removes from code generation".to_string(),
    })
}

pub(super) fn incremental_overhead(
    phases: &PhaseTimes,
    crates: &[CratePhases],
    build: Option<BuildEvidence>,
) -> Option<Finding> {
    let hot = build.is_some_and(|b| b.hot);
    let incr = phases.of(Phase::Incremental);
    let total = phases.build_ns();
    if !hot || incr < MATTERS_NS || (incr as f64) < 0.25 * total as f64 {
        return None;
    }
    let worst = crates
        .iter()
        .max_by_key(|c| c.phases.of(Phase::Incremental))?;
    Some(Finding {
        cause: Cause::IncrementalOverhead,
        title: format!(
            "incremental bookkeeping is {:.0}% of this rebuild",
            percent_of(incr, total)
        ),
        crate_name: Some(worst.crate_name.clone()),
        evidence: vec![format!(
            "loading, hashing, encoding and copying incremental state: {} of {} CPU, most in {} ({})",
            secs(incr),
            secs(total),
            worst.crate_name,
            secs(worst.phases.of(Phase::Incremental))
        )],
        fix: "Split the crate so that an edit invalidates less, or try `incremental = false` for it when edits there usually change everything.".to_string(),
        estimate_ns: incr / 2,
        cpu_ns: None,
        estimate_basis: "half the bookkeeping time".to_string(),
    })
}

pub(super) fn linking(build: BuildEvidence) -> Option<Finding> {
    let link = build.totals.final_link_ns.unwrap_or(0);
    let wall = build.totals.wall_ns;
    if !build.hot || link < MATTERS_NS / 2 || (link as f64) < 0.2 * wall as f64 {
        return None;
    }
    let last = build.units.iter().max_by_key(|u| u.end_ns)?;
    Some(Finding {
        cause: Cause::Linking,
        title: format!(
            "linking is {:.0}% of this rebuild ({})",
            percent_of(link, wall),
            last.display_name()
        ),
        crate_name: Some(last.target.clone()),
        evidence: vec![
            format!("the final link took {} of {} wall", secs(link), secs(wall)),
            format!(
                "linkers on this machine: {}",
                if build.installed_linkers.is_empty() {
                    "none found besides rustc's bundled rust-lld".to_string()
                } else {
                    build.installed_linkers.join(", ")
                }
            ),
        ],
        fix: "Since Rust 1.90 x86_64 Linux links with the bundled rust-lld by default; if this build uses GNU ld (`-C linker-features=-lld`) or a custom linker, try `-C link-arg=-fuse-ld=mold`; otherwise emit less debug info (`debug = \"line-tables-only\"`, or `split-debuginfo = \"unpacked\"`), which shrinks what the linker copies.".to_string(),
        estimate_ns: link / 3,
        cpu_ns: None,
        // Measured, not assumed: `debug = "line-tables-only"` took 24–56% off the final link
        // of four hot rebuilds (ripgrep, hyperfine, the linking test project; bench/RESULTS.md).
        estimate_basis: "a third of the final link: what less debug info took off the links measured so far (24–56%)"
            .to_string(),
    })
}
