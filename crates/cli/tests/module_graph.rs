//! The crates' insides, read from their sources: no crate's modules import each other in a
//! circle, and in the cli no command module imports another (shared helpers live in the
//! shared modules, domain work in the library crates). A new import that breaks a rule
//! fails here, naming it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

/// Every crate of the workspace: `crates/<name>`.
fn crates() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut crates: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("src").is_dir())
        .collect();
    crates.sort();
    crates
}

/// The source of a top-level module (`x.rs`, or every file under `x/`), without its
/// `#[cfg(test)]` tests, which may reach anywhere.
fn module_source(path: &Path) -> String {
    let mut text = String::new();
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            let entry = entry.unwrap().path();
            if entry.extension().is_some_and(|e| e == "rs") || entry.is_dir() {
                text += &module_source(&entry);
            }
        }
    } else {
        let source = std::fs::read_to_string(path).unwrap();
        let code = match source.find("#[cfg(test)]\nmod tests") {
            Some(tests) => &source[..tests],
            None => &source[..],
        };
        text += code;
    }
    text
}

/// The top-level modules a source names: `crate::x::…`, `crate::x;` and every name in
/// `use crate::{x, y::z, …}`.
fn named_modules(text: &str) -> BTreeSet<String> {
    let mut named = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let end = group
                .char_indices()
                .find(|&(_, c)| {
                    depth += match c {
                        '{' => 1,
                        '}' => -1,
                        _ => 0,
                    };
                    depth == 0
                })
                .map_or(group.len(), |(i, _)| i);
            // Names at depth 0, each up to its first `::`, `,` or `}`.
            let mut level = 0;
            let mut current = String::new();
            let mut reading = true;
            for c in group[..end].chars().chain([',']) {
                match c {
                    '{' => {
                        level += 1;
                        reading = false;
                    }
                    '}' => level -= 1,
                    ',' if level == 0 => {
                        if !current.is_empty() {
                            named.insert(std::mem::take(&mut current));
                        }
                        current.clear();
                        reading = true;
                    }
                    ':' if level == 0 => reading = false,
                    c if level == 0 && reading && (c.is_alphanumeric() || c == '_') => {
                        current.push(c)
                    }
                    _ => {}
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            named.insert(name);
        }
    }
    named
}

/// module → the modules of the same crate it names.
fn module_graph(krate: &Path) -> Graph {
    let src = krate.join("src");
    let modules: BTreeMap<String, PathBuf> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() || p.extension().is_some_and(|e| e == "rs"))
        .map(|p| (p.file_stem().unwrap().to_string_lossy().into_owned(), p))
        .filter(|(m, _)| !matches!(m.as_str(), "lib" | "main" | "bin"))
        .collect();
    modules
        .iter()
        .map(|(module, path)| {
            let uses = named_modules(&module_source(path))
                .into_iter()
                .filter(|other| other != module && modules.contains_key(other))
                .collect();
            (module.clone(), uses)
        })
        .collect()
}

/// The first import circle of a graph, if any.
fn circle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        module: &str,
        graph: &Graph,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if done.contains(module) {
            return None;
        }
        if let Some(start) = path.iter().position(|m| m == module) {
            let mut found = path[start..].to_vec();
            found.push(module.to_string());
            return Some(found);
        }
        path.push(module.to_string());
        for next in &graph[module] {
            if let Some(found) = visit(next, graph, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(module.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|module| visit(module, graph, &mut Vec::new(), &mut done))
}

fn is_command_module(module: &str) -> bool {
    module.ends_with("_command") || module.ends_with("_commands")
}

#[test]
fn imports_are_read_from_the_sources() {
    let names = named_modules(
        "use crate::cli::{A, B};\nuse crate::{history::x, terminal, y::{z, w}};\nlet a = crate::scenario::recover(p);",
    );
    let expected: BTreeSet<String> = ["cli", "history", "terminal", "y", "scenario"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert!(expected.is_subset(&names), "{names:?}");
    assert!(!names.contains("z") && !names.contains("x"), "{names:?}");
    let planted: Graph = [
        ("a".to_string(), ["b".to_string()].into()),
        ("b".to_string(), ["a".to_string()].into()),
    ]
    .into();
    assert_eq!(
        circle(&planted),
        Some(vec!["a".into(), "b".into(), "a".into()])
    );
}

#[test]
fn no_crate_imports_its_own_modules_in_a_circle() {
    let crates = crates();
    assert!(crates.len() >= 7, "the crates were found: {crates:?}");
    for krate in &crates {
        let graph = module_graph(krate);
        if let Some(found) = circle(&graph) {
            panic!(
                "import circle in {}: {}",
                krate.file_name().unwrap().to_string_lossy(),
                found.join(" -> ")
            );
        }
    }
}

#[test]
fn command_modules_import_no_other_command_module() {
    let graph = module_graph(Path::new(env!("CARGO_MANIFEST_DIR")));
    assert!(graph.len() >= 8, "the cli's modules were found: {graph:?}");
    for (module, uses) in &graph {
        if is_command_module(module) {
            let commands: Vec<_> = uses.iter().filter(|u| is_command_module(u)).collect();
            assert!(
                commands.is_empty(),
                "{module} imports {commands:?}: move what they share to a shared module"
            );
        }
    }
}
