//! The cli crate is wiring: its modules must not import each other in a circle, and no
//! command module may import another (shared helpers live in the shared modules, domain
//! work in the library crates). Read from the sources, so a new import that breaks the
//! rule fails here, naming it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// module → the modules of this crate it names (`crate::x` anywhere in its source).
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules: Vec<String> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .filter(|m| m != "lib" && m != "main")
        .collect();
    modules
        .iter()
        .map(|module| {
            let text = std::fs::read_to_string(src.join(format!("{module}.rs"))).unwrap();
            let uses = modules
                .iter()
                .filter(|other| *other != module)
                .filter(|other| {
                    text.contains(&format!("crate::{other}::"))
                        || text.contains(&format!("crate::{other};"))
                        || text.contains(&format!("crate::{other}::{{"))
                        || text.contains(&format!("crate::{{{other}"))
                })
                .cloned()
                .collect();
            (module.clone(), uses)
        })
        .collect()
}

fn is_command_module(module: &str) -> bool {
    module.ends_with("_command") || module.ends_with("_commands")
}

#[test]
fn command_modules_import_no_other_command_module() {
    let graph = module_graph();
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

#[test]
fn the_cli_modules_import_each_other_in_no_circle() {
    let graph = module_graph();
    // Depth-first search for a back edge, reporting the circle it closes.
    fn visit(
        module: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) {
        if done.contains(module) {
            return;
        }
        if let Some(start) = path.iter().position(|m| m == module) {
            panic!("import circle: {} -> {module}", path[start..].join(" -> "));
        }
        path.push(module.to_string());
        for next in &graph[module] {
            visit(next, graph, path, done);
        }
        path.pop();
        done.insert(module.to_string());
    }
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        visit(module, &graph, &mut Vec::new(), &mut done);
    }
}
