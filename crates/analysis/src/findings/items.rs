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
    let call = |i: &Invocation| QueryCall {
        query: i.label.clone(),
        argument: i.args.join(" "),
        ns: i.duration_ns,
    };
    if let Some(t) = worst_trait.filter(|t| dominates(t)) {
        let facts = Facts::PathologicalTraitSolving {
            krate: krate.crate_name.clone(),
            crate_ns,
            obligation: call(t),
            inside: worst_item
                .filter(|i| i.duration_ns >= t.duration_ns / 2)
                .map(call),
            trait_solving_ns: krate.phases.of(Phase::TraitSolving),
        };
        // At most the time of that one invocation.
        return Some(Finding::new(
            facts,
            Some(krate.crate_name.clone()),
            t.duration_ns,
        ));
    }
    let item = worst_item.filter(|i| dominates(i))?;
    let own = item.self_time_ns as f64 / item.duration_ns.max(1) as f64;
    // Time in the query itself, not in the queries it asked: inference and the trait
    // solving done inside it (typeck solves most obligations without a query of their own).
    let inference = own >= 0.5 && item.label.starts_with("typeck");
    let facts = Facts::PathologicalItem {
        krate: krate.crate_name.clone(),
        crate_ns,
        item: call(item),
        own_share: own,
        inference,
    };
    // The item's own time, at most its whole time: what erasing or splitting it removes.
    let estimate = item.self_time_ns.max(item.duration_ns / 2);
    Some(Finding::new(
        facts,
        Some(krate.crate_name.clone()),
        estimate,
    ))
}
