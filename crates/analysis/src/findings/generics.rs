//! Monomorphization: the generic functions of a crate compiled many times over, from the
//! `symbol_name` instances the profile records (one per function and set of generic
//! arguments the crate generates code for).
//!
//! Attribution follows what the code is:
//! - copies are counted per *function*: one definition with different generic arguments.
//!   `<A as Trait>::m` and `<B as Trait>::m` are two functions (two impls, two DefIds);
//!   a trait's *default* method instantiated for many `Self` types is one generic function;
//!   closures count with the function that contains them;
//! - a function's share of the crate's instances is its own copies and the instances of
//!   other crates' generic code (std's `Vec<T>::push`, a dependency's helpers) that only it
//!   instantiates: instances whose every local type is one only this function is
//!   instantiated with. A type that several functions use belongs to none of them;
//! - only the crate's own generic functions are candidates. A dependency's generic code
//!   instantiated here is listed as such: its fix is in how this crate calls it.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::*;

/// One `symbol_name` instance, parsed from its argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Instance<'a> {
    /// `Item`, `DropGlue`, `VTableShim`, …
    pub(super) kind: &'a str,
    /// The function whose code this is, without the crate's disambiguator and with
    /// closures folded into the function that contains them: `rg::flags::Flag::aliases`.
    pub(super) function: String,
    /// The code is a closure of `function` (it counts with it, but is no copy of it).
    pub(super) is_closure: bool,
    /// Paths of the named types in the generic arguments (`flags::defs::PCRE2Version`);
    /// no primitives, lifetimes or the compiler's own words.
    pub(super) types: Vec<&'a str>,
}

/// Parses `Instance { def: Item(DefId(0:1298 ~ rg[bb5a]::flags::Flag::aliases)), args:
/// [flags::defs::PCRE2Version] }`.
pub(super) fn parse_instance(text: &str) -> Option<Instance<'_>> {
    let def = text.find("def: ")? + "def: ".len();
    let kind_end = def + text[def..].find('(')?;
    let kind = &text[def..kind_end];
    let path_start = text.find(" ~ ")? + 3;
    let path_end = path_start + text[path_start..].find(')')?;
    let path = drop_disambiguator(&text[path_start..path_end]);
    let function = fold_closures(&path);
    let is_closure = function.len() != path.len();
    let types = text
        .rfind("args: [")
        .map(|at| type_paths(&text[at + "args: ".len()..]))
        .unwrap_or_default();
    Some(Instance {
        kind,
        function,
        is_closure,
        types,
    })
}

/// `alloc[fdfd]::vec` → `alloc::vec`.
fn drop_disambiguator(path: &str) -> String {
    match (path.find('['), path.find(']')) {
        (Some(open), Some(close)) if open < close => {
            format!("{}{}", &path[..open], &path[close + 1..])
        }
        _ => path.to_string(),
    }
}

/// `grep::run::{closure#0}::{closure#1}` → `grep::run`.
fn fold_closures(path: &str) -> String {
    let mut path = path;
    while let Some((parent, last)) = path.rsplit_once("::") {
        if last.starts_with("{closure") || last.starts_with("{async") {
            path = parent;
        } else {
            break;
        }
    }
    path.to_string()
}

/// Words of an instance's debug text that name no type of the program.
const NOT_TYPES: &[&str] = &[
    "Closure",
    "Coroutine",
    "CoroutineClosure",
    "DefId",
    "Binder",
    "Region",
    "BrAnon",
    "BrNamed",
    "Some",
    "None",
    "Global",
    "RustCall",
    "Item",
    "FnDef",
    "Alias",
    "Projection",
    "Opaque",
    "Inherent",
    "Weak",
];

/// The type paths named in `[A, std::vec::Vec<B>, &'{erased} C]`: each path whose last
/// segment starts with a capital letter.
fn type_paths(args: &str) -> Vec<&str> {
    let mut paths: Vec<&str> = args
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .map(|t| t.trim_matches(':'))
        .filter(|t| {
            // A char pattern (paths here hold no single `:`): a `&str` pattern built a
            // substring searcher per token, 3% of explain on a whole build's profiles.
            let last = t.rsplit(':').next().unwrap_or(t);
            last.starts_with(|c: char| c.is_ascii_uppercase()) && !NOT_TYPES.contains(&last)
        })
        .collect();
    paths.sort_unstable();
    paths.dedup();
    paths
}

/// Crates whose generic code no user can change.
pub(super) fn is_std_path(path: &str) -> bool {
    let krate = path.split("::").next().unwrap_or("");
    matches!(
        krate,
        "std" | "core" | "alloc" | "proc_macro" | "test" | "compiler_builtins" | "hashbrown"
    )
}

/// `rg::flags::Flag::aliases`: the segment before the method names a trait (a type-like
/// name, not `{impl#N}` or a module), so the code is the trait's default method.
pub(super) fn trait_of_default_method(function: &str) -> Option<&str> {
    let mut segments = function.rsplit("::");
    let _method = segments.next()?;
    let owner = segments.next()?;
    owner
        .starts_with(|c: char| c.is_ascii_uppercase())
        .then_some(owner)
}

/// A generic function of the crate, with what its copies cost.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct GenericFunction {
    pub(super) function: String,
    /// Distinct instances of it.
    pub(super) copies: usize,
    /// Its copies and the other instances only it instantiates.
    pub(super) attributed: usize,
}

/// The crate's own generic functions by the instances they account for, largest first;
/// and the other crates' generic functions it instantiates most (function, copies).
pub(super) fn attribute(
    crate_name: &str,
    instances: &[&str],
) -> (Vec<GenericFunction>, Vec<(String, usize)>) {
    let parsed: Vec<Instance> = instances
        .iter()
        .filter_map(|text| parse_instance(text))
        .collect();
    let own = |f: &str| f.split("::").next() == Some(crate_name);
    // Copies of each function: its distinct `Item` instances (its closures' instances
    // count with it below, as instances it brings, not as copies).
    let mut copies: BTreeMap<&str, usize> = BTreeMap::new();
    let mut closures: HashMap<&str, usize> = HashMap::new();
    for instance in parsed.iter().filter(|i| i.kind == "Item") {
        let counter = if instance.is_closure {
            closures.entry(instance.function.as_str()).or_default()
        } else {
            copies.entry(instance.function.as_str()).or_default()
        };
        *counter += 1;
    }
    // The local generic functions (two copies or more) each type is instantiated with.
    let generic = |f: &str| own(f) && copies.get(f).is_some_and(|&n| n >= 2);
    let mut owners: HashMap<&str, HashSet<&str>> = HashMap::new();
    for instance in parsed.iter().filter(|i| generic(&i.function)) {
        for ty in &instance.types {
            owners
                .entry(ty)
                .or_default()
                .insert(instance.function.as_str());
        }
    }
    // Other crates' instances whose every local type has this one function as its only
    // owner are owed to that function.
    let mut pulled: HashMap<&str, usize> = HashMap::new();
    for instance in parsed.iter().filter(|i| !own(&i.function)) {
        let mut owner: Option<&str> = None;
        let mut sole = true;
        for ty in &instance.types {
            let Some(set) = owners.get(ty) else { continue };
            match (set.len(), owner) {
                (1, None) => owner = set.iter().next().copied(),
                (1, Some(o)) if set.contains(o) => {}
                _ => sole = false,
            }
        }
        if let (true, Some(owner)) = (sole, owner) {
            *pulled.entry(owner).or_default() += 1;
        }
    }
    let mut local: Vec<GenericFunction> = copies
        .iter()
        .filter(|(f, _)| generic(f))
        .map(|(f, &n)| GenericFunction {
            function: f.to_string(),
            copies: n,
            attributed: n
                + closures.get(f).copied().unwrap_or(0)
                + pulled.get(f).copied().unwrap_or(0),
        })
        .collect();
    local.sort_by(|a, b| {
        b.attributed
            .cmp(&a.attributed)
            .then(b.copies.cmp(&a.copies))
            .then(a.function.cmp(&b.function))
    });
    let mut foreign: Vec<(String, usize)> = copies
        .iter()
        .filter(|(f, &n)| !own(f) && !is_std_path(f) && n >= 2)
        .map(|(f, &n)| (f.to_string(), n))
        .collect();
    foreign.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    (local, foreign)
}

/// Many copies of the crate's own generic functions.
pub(super) fn monomorphization(
    krate: &CratePhases,
    instances: &[Invocation],
    llvm_lines: Option<&[FunctionLines]>,
    owner: &Owner,
) -> Option<Finding> {
    let crate_ns = krate.phases.build_ns();
    let mono = krate.phases.of(Phase::Monomorphization);
    let llvm = krate.phases.llvm_ns();
    if mono + llvm < MATTERS_NS || ((mono + llvm) as f64) < 0.4 * crate_ns as f64 {
        return None;
    }
    let texts: Vec<&str> = instances
        .iter()
        .filter(|i| i.crate_name == krate.crate_name)
        .filter_map(|i| i.args.first().map(String::as_str))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let total = texts.len().max(1);
    let (local, foreign) = attribute(&krate.crate_name, &texts);
    // One copy of each function stays; the rest, and what they alone pull in, go.
    let saving = |g: &GenericFunction| {
        let share = g.attributed as f64 / total as f64 * (g.copies - 1) as f64 / g.copies as f64;
        ((mono + llvm) as f64 * share.min(1.0)) as u64
    };
    let top = local.first()?;
    let estimate = saving(top);
    if top.copies < 8 || estimate < MATTERS_NS / 5 {
        return None;
    }
    let copies_of = |g: &GenericFunction| GenericCopies {
        function: g.function.clone(),
        copies: g.copies,
        default_method_of: trait_of_default_method(&g.function).map(str::to_string),
    };
    let facts = Facts::Monomorphization {
        krate: krate.crate_name.clone(),
        crate_ns,
        mono_ns: mono,
        llvm_ns: llvm,
        top: copies_of(top),
        attributed: top.attributed,
        instances: total,
        largest: local.iter().take(5).map(copies_of).collect(),
        foreign: foreign.into_iter().take(3).collect(),
        llvm_lines: llvm_lines.map(|lines| {
            (
                lines.iter().map(|l| l.lines).sum(),
                lines.iter().take(5).cloned().collect(),
            )
        }),
    };
    Some(Finding::new(facts, Some(krate.crate_name.clone()), estimate).owned_by(owner.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instances_name_their_function_closures_folded() {
        let i = parse_instance(
            "Instance { def: Item(DefId(3:8540 ~ alloc[fdfd]::vec::{impl#1}::push)), args: [u8, std::alloc::Global] }",
        )
        .unwrap();
        assert_eq!(i.kind, "Item");
        assert_eq!(i.function, "alloc::vec::{impl#1}::push");
        assert!(i.types.is_empty(), "{:?}", i.types);
        assert!(is_std_path(&i.function));
        let c = parse_instance(
            "Instance { def: Item(DefId(0:5 ~ app[1a2b]::run::{closure#0}::{closure#1})), args: [i8, Binder { value: extern \"RustCall\" fn((&'^0 grep::Match,)) -> bool, bound_vars: [Region(BrAnon)] }, app::Config] }",
        )
        .unwrap();
        assert_eq!(c.function, "app::run");
        assert!(c.is_closure);
        assert_eq!(c.types, vec!["app::Config", "grep::Match"]);
        let glue = parse_instance(
            "Instance { def: DropGlue(DefId(2:3174 ~ core[c1f1]::ptr::drop_in_place), Some(std::vec::Vec<app::Row>)), args: [std::vec::Vec<app::Row>] }",
        )
        .unwrap();
        assert_eq!(glue.kind, "DropGlue");
        assert_eq!(glue.types, vec!["app::Row", "std::vec::Vec"]);
        assert_eq!(
            trait_of_default_method("rg::flags::Flag::aliases"),
            Some("Flag")
        );
        assert_eq!(
            trait_of_default_method("rg::flags::defs::{impl#72}::aliases"),
            None
        );
        assert_eq!(trait_of_default_method("mono::render"), None);
    }

    /// `n` instances of `function` in crate `app`, each for its own type `{prefix}{i}`.
    fn family(function: &str, prefix: &str, n: usize) -> Vec<String> {
        (0..n)
            .map(|i| format!("Instance {{ def: Item(DefId(0:{i} ~ app[0000]::{function})), args: [app::{prefix}{i}] }}"))
            .collect()
    }

    #[test]
    fn trait_impls_are_different_functions_and_a_generic_function_has_copies() {
        let mut texts: Vec<String> = Vec::new();
        // 40 impls of a trait, each its own function (no generic arguments)...
        for i in 0..40 {
            texts.push(format!(
                "Instance {{ def: Item(DefId(0:{} ~ app[0000]::shapes::{{impl#{i}}}::area)), args: [] }}",
                1000 + i
            ));
        }
        // ...and one generic function for 30 types, each pulling in a Vec<T>::push.
        texts.extend(family("render", "Shape", 30));
        for i in 0..30 {
            texts.push(format!("Instance {{ def: Item(DefId(3:1 ~ alloc[fdfd]::vec::{{impl#1}}::push)), args: [app::Shape{i}, std::alloc::Global] }}"));
        }
        // Its closures count with it, as instances it brings, not as copies.
        for i in 0..30 {
            texts.push(format!("Instance {{ def: Item(DefId(0:9 ~ app[0000]::render::{{closure#0}})), args: [app::Shape{i}, i8] }}"));
        }
        // A type two functions share belongs to neither.
        texts.extend(family("describe", "Shape", 2));
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let (local, foreign) = attribute("app", &refs);
        assert_eq!(local[0].function, "app::render");
        assert_eq!(local[0].copies, 30);
        // Its 30 copies, its 30 closure instances and the 28 pushes for types only it
        // uses (Shape0 and Shape1 are also `describe`'s).
        assert_eq!(local[0].attributed, 88);
        assert!(
            local.iter().all(|g| !g.function.contains("{impl#")),
            "impls are not copies: {local:?}"
        );
        assert!(foreign.is_empty(), "std is not listed: {foreign:?}");
    }

    #[test]
    fn a_default_method_for_many_types_is_one_function() {
        let texts = family("flags::Flag::aliases", "flags::Opt", 100);
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let (local, _) = attribute("app", &refs);
        assert_eq!(local[0].function, "app::flags::Flag::aliases");
        assert_eq!(local[0].copies, 100);
        assert_eq!(trait_of_default_method(&local[0].function), Some("Flag"));
    }
}
