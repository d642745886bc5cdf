//! Proc-macro expansion in a rebuild, by macro and call site.

use super::*;

/// Proc macros re-expanded on every rebuild (expansion is never cached).
pub(super) fn proc_macro_expansion(
    invocations: &[Invocation],
    crates: &[CratePhases],
    build: Option<BuildEvidence>,
) -> Option<Finding> {
    let mut by_crate: std::collections::BTreeMap<&str, (u64, usize)> = Default::default();
    let mut by_macro: std::collections::BTreeMap<String, (u64, usize)> = Default::default();
    for inv in invocations {
        let entry = by_crate.entry(inv.crate_name.as_str()).or_default();
        entry.0 += inv.duration_ns;
        entry.1 += 1;
        let name = inv
            .args
            .first()
            .map(|a| macro_name(a))
            .unwrap_or_else(|| "(macro not recorded)".to_string());
        let m = by_macro.entry(name).or_default();
        m.0 += inv.duration_ns;
        m.1 += 1;
    }
    let (&krate, &(ns, count)) = by_crate.iter().max_by_key(|(_, (ns, _))| *ns)?;
    if ns < MATTERS_NS {
        return None;
    }
    let hot = build.is_some_and(|b| b.hot);
    let mut macros: Vec<(String, (u64, usize))> = by_macro.into_iter().collect();
    macros.sort_by_key(|m| std::cmp::Reverse(m.1 .0));
    // In a rebuild, the generated code goes through every later phase again (resolution,
    // type checking, borrow checking, MIR, code generation, incremental bookkeeping): the
    // share of parse-and-expand time that is expansion stands for the share of the crate's
    // code the macros generate. It understates it (a derive's output is larger than its
    // input): moving the derived types out of an edited crate saved 1.8x and 1.7x this
    // estimate on two planted crates (serde, thiserror; bench/RESULTS.md).
    let (estimate, generated_share) = match crates.iter().find(|c| c.crate_name == krate) {
        Some(c) if hot => {
            // The macros' own time and parsing what the derives produced: the share of the
            // crate's front end that is generated code.
            let macros = ns + c.derive_output_ns;
            let parse_and_expand = c.phases.of(Phase::ParsingAndExpansion).max(macros);
            let generated = macros as f64 / parse_and_expand as f64;
            let downstream = c.phases.build_ns().saturating_sub(
                c.phases.of(Phase::ParsingAndExpansion)
                    + c.phases.of(Phase::Linking)
                    + c.phases.of(Phase::CrateMetadata),
            );
            (
                (macros + (downstream as f64 * generated) as u64).min(c.phases.build_ns()),
                Some(generated),
            )
        }
        _ => (ns / 2, None),
    };
    let facts = Facts::ProcMacroExpansion {
        krate: krate.to_string(),
        expansions: count,
        ns,
        hot,
        by_macro: macros
            .into_iter()
            .take(3)
            .map(|(m, (ns, n))| (m, n, ns))
            .collect(),
        slowest: slowest_sites(invocations, krate),
        generated_share,
    };
    Some(Finding::new(facts, Some(krate.to_string()), estimate))
}

/// The three slowest expansions of a crate with their macro and call site.
fn slowest_sites(invocations: &[Invocation], krate: &str) -> Vec<Timed> {
    let mut mine: Vec<&Invocation> = invocations
        .iter()
        .filter(|i| i.crate_name == krate)
        .collect();
    mine.sort_by_key(|i| std::cmp::Reverse(i.duration_ns));
    mine.iter()
        .take(3)
        .map(|i| Timed::new(i.args.join(" "), i.duration_ns))
        .collect()
}

/// `#[derive(serde::Serialize)]` from `#[derive(serde::Serialize)] src/lib.rs:1:10: 1:26`.
pub(super) fn macro_name(arg: &str) -> String {
    match arg.find(']') {
        Some(end) => arg[..=end].to_string(),
        None => arg.split_whitespace().next().unwrap_or(arg).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macro_names() {
        assert_eq!(
            macro_name("#[derive(serde::Serialize)] src/main.rs:1:10: 1:26"),
            "#[derive(serde::Serialize)]"
        );
    }
}
