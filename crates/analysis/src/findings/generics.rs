//! Monomorphization: the generic functions of a crate compiled many times over, from the
//! `symbol_name` instances the profile records.

use super::*;

/// The generic function an instance is of: `alloc::vec::{impl#1}::push` from
/// `Instance { def: Item(DefId(3:8540 ~ alloc[fdfd]::vec::{impl#1}::push)), args: [u8] }`.
pub(super) fn instance_function(instance: &str) -> Option<String> {
    let start = instance.find(" ~ ")? + 3;
    let rest = &instance[start..];
    let end = rest.find(')')?;
    let path = &rest[..end];
    // Drop the crate's disambiguator: `alloc[fdfd]::vec` → `alloc::vec`.
    Some(match (path.find('['), path.find(']')) {
        (Some(open), Some(close)) if open < close => {
            format!("{}{}", &path[..open], &path[close + 1..])
        }
        _ => path.to_string(),
    })
}

/// The generic arguments of an instance: `[u8, std::alloc::Global]`.
pub(super) fn instance_args(instance: &str) -> Option<&str> {
    let start = instance.rfind("args: [")? + "args: ".len();
    let end = instance.rfind(']')?;
    (start < end).then(|| &instance[start..=end])
}

/// The top-level types of `[A, B<C, D>, E]`.
pub(super) fn split_types(list: &str) -> Vec<&str> {
    let inner = list.trim_start_matches('[').trim_end_matches(']');
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '<' | '[' | '(' => depth += 1,
            '>' | ']' | ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(inner[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(inner[start..].trim());
    out.retain(|t| !t.is_empty());
    out
}

/// Whether `text` names `ty` as a whole word (`Ty3` is not in `Ty30`).
pub(super) fn mentions(text: &str, ty: &str) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(ty).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + ty.len()..].chars().next();
        !before.is_some_and(word) && !after.is_some_and(word)
    })
}

/// Crates whose generic code no user can change.
pub(super) fn is_std_path(path: &str) -> bool {
    let krate = path.split("::").next().unwrap_or("");
    matches!(
        krate,
        "std" | "core" | "alloc" | "proc_macro" | "test" | "compiler_builtins" | "hashbrown"
    )
}

/// Many instances of the same generic functions in one crate.
pub(super) fn monomorphization(
    krate: &CratePhases,
    instances: &[Invocation],
    llvm_lines: Option<&[FunctionLines]>,
) -> Option<Finding> {
    let crate_ns = krate.phases.build_ns();
    let mono = krate.phases.of(Phase::Monomorphization);
    let llvm = krate.phases.of(Phase::LlvmOptimization) + krate.phases.of(Phase::LlvmCodegen);
    if mono + llvm < MATTERS_NS || ((mono + llvm) as f64) < 0.4 * crate_ns as f64 {
        return None;
    }
    // Distinct instances per generic function.
    let mut copies: std::collections::BTreeMap<String, std::collections::BTreeSet<&str>> =
        Default::default();
    let mut all = std::collections::BTreeSet::new();
    for inv in instances
        .iter()
        .filter(|i| i.crate_name == krate.crate_name)
    {
        let Some(instance) = inv.args.first() else {
            continue;
        };
        all.insert(instance.as_str());
        if let Some(function) = instance_function(instance) {
            copies
                .entry(function)
                .or_default()
                .insert(instance.as_str());
        }
    }
    let mut ranked: Vec<(String, usize)> = copies
        .into_iter()
        .filter(|(f, _)| !is_std_path(f))
        .map(|(f, set)| (f, set.len()))
        .filter(|(_, n)| *n >= 2)
        .collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let (top_fn, top_copies) = ranked.first()?.clone();
    if top_copies < 8 {
        return None;
    }
    let shown: Vec<&(String, usize)> = ranked.iter().take(5).collect();
    let shown_fns: Vec<&str> = shown.iter().map(|(f, _)| f.as_str()).collect();
    // What those copies pull in: other instances for the same (user) types, such as
    // `Vec<MyType>::push` called from `render::<MyType>`.
    let mut user_types = std::collections::BTreeSet::new();
    for instance in &all {
        if instance_function(instance).is_some_and(|f| shown_fns.contains(&f.as_str())) {
            for ty in instance_args(instance).map(split_types).unwrap_or_default() {
                // User types are CamelCase; primitives would match everything.
                if ty.chars().any(|c| c.is_ascii_uppercase()) && !ty.contains("Global") {
                    user_types.insert(ty);
                }
            }
        }
    }
    let attributable = all
        .iter()
        .filter(|instance| {
            instance_function(instance).is_some_and(|f| shown_fns.contains(&f.as_str()))
                || user_types.iter().any(|t| mentions(instance, t))
        })
        .count();
    let total = all.len().max(1);
    // One copy of each function stays; the rest, and what they pull in, go.
    let saved_share =
        attributable as f64 / total as f64 * (top_copies - 1) as f64 / top_copies as f64;
    let estimate = ((mono + llvm) as f64 * saved_share.min(1.0)) as u64;
    let evidence = vec![
            format!(
                "generic functions with the most copies: {}",
                shown
                    .iter()
                    .map(|(f, n)| format!("{f} ×{n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            format!(
                "{} of the crate's {} instances are these functions or instances for the types they are instantiated with; monomorphization and LLVM IR generation {}, LLVM {} ({:.0}% of the crate's {})",
                attributable,
                total,
                secs(mono),
                secs(llvm),
                percent_of(mono + llvm, crate_ns),
                secs(crate_ns)
            ),
        ];
    let mut evidence = evidence;
    match llvm_lines {
        Some(lines) => {
            let total: u64 = lines.iter().map(|l| l.lines).sum();
            let top: Vec<String> = lines
                .iter()
                .take(5)
                .map(|l| format!("{} {} lines in {} copies", short(&l.function, 70), l.lines, l.copies))
                .collect();
            evidence.push(format!(
                "LLVM IR lines (cargo llvm-lines view, {total} in all): {}",
                top.join("; ")
            ));
        }
        None => evidence.push(format!(
            "lines per function: `buildscope explain --llvm-lines` builds `{}` once more with --emit=llvm-ir",
            krate.crate_name
        )),
    }
    Some(Finding {
        cause: Cause::Monomorphization,
        title: format!(
            "heavy monomorphization in `{}`: `{}` is compiled {} times",
            krate.crate_name, top_fn, top_copies
        ),
        crate_name: Some(krate.crate_name.clone()),
        evidence,
        fix: "Make each of these a thin generic wrapper around a non-generic inner function (`fn f<T: AsRef<str>>(x: T) { fn inner(x: &str) { … } inner(x.as_ref()) }`), or take `&dyn Trait` where the call is not hot; `cargo llvm-lines` shows the lines each copy costs.".to_string(),
        estimate_ns: estimate,
        estimate_basis: format!(
            "the crate's monomorphization and LLVM time × the share of its instances owed to these functions ({attributable} of {total}) × ({top_copies} − 1)/{top_copies}, the copies a non-generic inner function removes"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instances_name_their_generic_function() {
        assert_eq!(
            instance_function(
                "Instance { def: Item(DefId(3:8540 ~ alloc[fdfd]::vec::{impl#1}::push)), args: [u8] }"
            )
            .as_deref(),
            Some("alloc::vec::{impl#1}::push")
        );
        assert!(is_std_path("alloc::vec::{impl#1}::push"));
        assert_eq!(
            split_types("[Ty3, std::vec::Vec<(u8, Ty4)>, &str]"),
            vec!["Ty3", "std::vec::Vec<(u8, Ty4)>", "&str"]
        );
        assert!(mentions("args: [Ty3, Global]", "Ty3"));
        assert!(!mentions("args: [Ty30]", "Ty3"));
        assert!(!is_std_path("mono::render"));
    }
}
