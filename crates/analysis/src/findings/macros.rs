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
    let top: Vec<String> = macros
        .iter()
        .take(3)
        .map(|(m, (ns, n))| format!("{m} ×{n} ({})", secs(*ns)))
        .collect();
    // In a rebuild, the generated code is also resolved, hashed and checked again: the
    // share of parse-and-expand time that is expansion stands for the share of the
    // crate's code the macros generate.
    let (estimate, basis) = match crates.iter().find(|c| c.crate_name == krate) {
        Some(c) if hot => {
            let parse_and_expand = c.phases.of(Phase::ParsingAndExpansion).max(ns);
            let generated = ns as f64 / parse_and_expand as f64;
            let downstream = c.phases.of(Phase::NameResolution)
                + c.phases.of(Phase::TypeChecking)
                + c.phases.of(Phase::Incremental);
            (
                (ns + (downstream as f64 * generated) as u64).min(c.phases.build_ns()),
                format!(
                    "expansion time, plus the crate's name resolution, type checking and incremental time × {:.0}% (expansion's share of its parse-and-expand time, standing for the share of its code the macros generate), at most the crate's CPU: what moving the derived types into a crate that rarely changes saves on each rebuild",
                    generated * 100.0
                ),
            )
        }
        _ => (
            ns / 2,
            "half the expansion time (deriving only what is used)".to_string(),
        ),
    };
    Some(Finding {
        cause: Cause::ProcMacroExpansion,
        title: format!(
            "proc-macro expansion in `{krate}`: {count} expansions take {}{}",
            secs(ns),
            if hot { " on every rebuild" } else { "" }
        ),
        crate_name: Some(krate.to_string()),
        evidence: vec![
            format!("by macro: {}", top.join(", ")),
            format!("slowest call sites: {}", slowest_sites(invocations, krate)),
        ],
        fix: "Proc-macro output is never cached: move the derived types into a crate that rarely changes, derive only what is used (e.g. `Serialize` without `Deserialize`), or replace derives on many small types with a hand-written impl for a generic wrapper.".to_string(),
        estimate_ns: estimate,
        cpu_ns: None,
        estimate_basis: basis,
    })
}

/// The three slowest expansions of a crate with their macro and call site.
pub(super) fn slowest_sites(invocations: &[Invocation], krate: &str) -> String {
    let mut mine: Vec<&Invocation> = invocations
        .iter()
        .filter(|i| i.crate_name == krate)
        .collect();
    mine.sort_by_key(|i| std::cmp::Reverse(i.duration_ns));
    mine.iter()
        .take(3)
        .map(|i| format!("{} ({})", short(&i.args.join(" "), 90), secs(i.duration_ns)))
        .collect::<Vec<_>>()
        .join("; ")
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
    fn macro_names_and_shortening() {
        assert_eq!(
            macro_name("#[derive(serde::Serialize)] src/main.rs:1:10: 1:26"),
            "#[derive(serde::Serialize)]"
        );
        assert_eq!(short("abcdefghij", 6), "abcd…ij");
        assert_eq!(short("abc", 6), "abc");
    }
}
