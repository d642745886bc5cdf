//! One item that dominates its crate: an obligation or a function whose type checking,
//! trait solving or borrow checking takes a large share.

use super::*;

/// One invocation taking a large share of its crate.
pub(super) fn pathological_item(
    krate: &CratePhases,
    invocations: &[Invocation],
) -> Option<Finding> {
    let crate_ns = krate.phases.build_ns();
    // An item query names its item; `()` is the key of crate-wide queries.
    let mine = invocations
        .iter()
        .filter(|i| i.crate_name == krate.crate_name && !i.args.is_empty() && i.args != ["()"]);
    // The outermost trait-solving invocation names the type; typeck names the item.
    let worst_trait = mine
        .clone()
        .filter(|i| phase_of(&i.label).0 == Phase::TraitSolving)
        .max_by_key(|i| i.duration_ns);
    let worst_item = mine
        .filter(|i| phase_of(&i.label).0 != Phase::TraitSolving)
        .max_by_key(|i| i.duration_ns);
    let dominates = |i: &Invocation| {
        i.duration_ns >= MATTERS_NS && i.duration_ns as f64 >= DOMINATES * crate_ns as f64
    };
    if let Some(t) = worst_trait.filter(|t| dominates(t)) {
        let mut evidence = vec![format!(
            "one `{}` took {} ({:.0}% of {}'s {} of CPU): {}",
            t.label,
            secs(t.duration_ns),
            percent_of(t.duration_ns, crate_ns),
            krate.crate_name,
            secs(crate_ns),
            short(&t.args.join(" "), 160)
        )];
        if let Some(item) = worst_item.filter(|i| i.duration_ns >= t.duration_ns / 2) {
            evidence.push(format!(
                "inside `{}` of {} ({})",
                item.label,
                short(&item.args.join(" "), 100),
                secs(item.duration_ns)
            ));
        }
        evidence.push(format!(
            "trait solving is {} of the crate's CPU time",
            secs(krate.phases.of(Phase::TraitSolving))
        ));
        return Some(Finding {
            cause: Cause::PathologicalTraitSolving,
            title: format!(
                "one trait obligation dominates `{}`: rustc proves it on a very large type",
                krate.crate_name
            ),
            crate_name: Some(krate.crate_name.clone()),
            evidence,
            fix: "Erase the type where it is built: return `Box<dyn Trait>` / `impl Trait` behind a boxed boundary (for futures and streams `.boxed()`), or break the nested combinator chain into named functions; simplify where-clauses on it.".to_string(),
            estimate_ns: t.duration_ns,
            cpu_ns: None,
            estimate_basis: "at most the time of that one invocation".to_string(),
        });
    }
    let item = worst_item.filter(|i| dominates(i))?;
    let name = short(&item.args.join(" "), 80);
    let own = item.self_time_ns as f64 / item.duration_ns.max(1) as f64;
    // Time in the query itself, not in the queries it asked: inference and the trait
    // solving done inside it (typeck solves most obligations without a query of their own).
    let inside = own >= 0.5 && item.label.starts_with("typeck");
    Some(Finding {
        cause: Cause::PathologicalItem,
        title: if inside {
            format!(
                "type checking one function dominates `{}`: `{name}` (inference and trait solving on its types)",
                krate.crate_name
            )
        } else {
            format!(
                "one item dominates `{}`: `{}` of `{name}`",
                krate.crate_name, item.label
            )
        },
        crate_name: Some(krate.crate_name.clone()),
        evidence: vec![
            format!(
                "`{}` of {name} took {} ({:.0}% of the crate's {} of CPU)",
                item.label,
                secs(item.duration_ns),
                percent_of(item.duration_ns, krate.phases.build_ns()),
                secs(krate.phases.build_ns())
            ),
            format!(
                "{:.0}% of it in the query itself, not in the queries it called",
                own * 100.0
            ),
        ],
        fix: if inside {
            "Give the compiler smaller types: box or erase the combinator where it is built (`Box<dyn Trait>`, `.boxed()`), split the chain into functions with explicit return types, and simplify the where-clauses it must prove.".to_string()
        } else {
            "Split the item (smaller functions, fewer generic parameters), annotate the types the compiler has to infer, or move it to a crate that rarely changes.".to_string()
        },
        estimate_ns: item.self_time_ns.max(item.duration_ns / 2),
        cpu_ns: None,
        estimate_basis: "the item's own time (at most its whole time): what erasing or splitting the type removes".to_string(),
    })
}
