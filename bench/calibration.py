#!/usr/bin/env python3
"""Are explain's estimates right? Each planted-cause project of the explain tests gets a
*fixed twin* (the finding's fix applied in code or in Cargo.toml); the benchmark measures
the real saving (median wall of the project minus median wall of its twin, same scenario,
alternating) and sets it beside the estimate of the finding explain made from a profiled
build of the original.

    bench/calibration.py [--runs 5] [--work DIR] [--only NAME ...]

The estimate comes from a build with self-profiles on, after one without: explain replays
its estimates on the unprofiled run (self-profiling slows query-heavy crates by up to 2.3x);
both are wall time in the same scenario.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from experiment_vs_hyperfine import ROOT  # noqa: E402
from real_projects import buildscope as buildscope_in  # noqa: E402
from benchlib import add_binary_argument, buildscope_binary  # noqa: E402


def buildscope(ours, root, args):
    return buildscope_in(ours, root, os.path.join(root, "history.sqlite"), args)


def manifest(name, deps=(), extra=""):
    lines = [f'[package]\nname = "{name}"\nversion = "0.1.0"\nedition = "2021"\n{extra}\n[dependencies]']
    lines += [f'{d} = {{ path = "../{d}" }}' for d in deps]
    return "\n".join(lines) + "\n"


def busy(prefix, n):
    return "".join(
        f"pub fn {prefix}{i}(x: u64) -> u64 {{ let v: Vec<u64> = (0..x).map(|i| i * {i} + 1).collect(); v.iter().sum::<u64>() + x.count_ones() as u64 }}\n"
        for i in range(n)
    )


def mono(fixed):
    types = 40
    if fixed:
        # The fix: a thin generic wrapper around one non-generic body.
        render = (
            "pub fn render<T: Debug + Clone + Default + PartialEq + Ord>(items: &[T]) -> String {\n"
            "    let defaults = items.iter().filter(|x| **x == T::default()).count();\n"
            "    render_text(items.iter().map(|i| format!(\"{i:?}\")).collect(), defaults)\n"
            "}\n"
            "fn render_text(mut texts: Vec<String>, defaults: usize) -> String {\n"
            "    texts.sort();\n"
            "    let mut counts: BTreeMap<String, usize> = BTreeMap::new();\n"
            "    for t in &texts { *counts.entry(t.clone()).or_insert(0) += 1; }\n"
            "    texts.dedup();\n"
            "    let mut out = String::new();\n"
            "    for (item, n) in &counts { out.push_str(&format!(\"{item}={n};\")); }\n"
            "    format!(\"{out} {defaults} {:?} {:?}\", texts.last(), texts.first())\n"
            "}\n"
        )
    else:
        render = (
            "pub fn render<T: Debug + Clone + Default + PartialEq + Ord>(items: &[T]) -> String {\n"
            "    let mut sorted: Vec<T> = items.to_vec();\n"
            "    sorted.sort();\n"
            "    sorted.dedup();\n"
            "    let mut counts: BTreeMap<T, usize> = BTreeMap::new();\n"
            "    for item in items { *counts.entry(item.clone()).or_insert(0) += 1; }\n"
            "    let mut out = String::new();\n"
            "    for (item, n) in &counts { out.push_str(&format!(\"{item:?}={n};\")); }\n"
            "    let defaults = sorted.iter().filter(|x| **x == T::default()).count();\n"
            "    let max = sorted.iter().max().cloned().unwrap_or_default();\n"
            "    format!(\"{out} {defaults} {max:?} {:?}\", sorted.first())\n"
            "}\n"
        )
    return generic_project("report", "use std::collections::BTreeMap;\nuse std::fmt::Debug;\n" + render,
                           "Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord", "Ty", "render", types)


def generic_project(krate, code, derives, ty, function, types):
    """A library with a generic `function` called for `types` types named `ty`N, and a binary
    using it."""
    lib = code
    lib += "".join(f"#[derive({derives})] pub struct {ty}{i}(pub u64, pub String);\n" for i in range(types))
    lib += "pub fn all() -> Vec<String> { vec![\n" + "".join(f"    {function}(&[{ty}{i}::default(), {ty}{i}(1, \"x\".into())]),\n" for i in range(types)) + "] }\n"
    return {
        krate: (manifest(krate), {"src/lib.rs": lib}),
        "cli": (manifest("cli", [krate]), {"src/main.rs": f"fn main() {{ println!(\"{{}}\", {krate}::all().len()); }}\n"}),
    }


def build_script(fixed):
    # The fix: the generated value cached (a script with nothing left to compute).
    work = "0u64" if fixed else (
        "{ let start = std::time::Instant::now(); let mut x = 0u64; "
        "while start.elapsed().as_millis() < 2500 { x = x.wrapping_mul(31).wrapping_add(7); } x }")
    return {
        "codegen": (manifest("codegen"), {
            "build.rs": f"fn main() {{ let x = {work}; println!(\"cargo:rustc-env=GEN={{x}}\"); }}\n",
            "src/lib.rs": "pub fn generated() -> &'static str { env!(\"GEN\") }\n",
        }),
        "tool": (manifest("tool", ["codegen"]), {"src/main.rs": "fn main() { println!(\"{}\", codegen::generated()); }\n"}),
    }


def chain(fixed):
    def generic(lo, hi):
        return "".join(
            f"pub fn g{i}<T: Clone + std::fmt::Debug + PartialOrd>(items: &[T], pivot: &T) -> (Vec<T>, String) {{ let below: Vec<T> = items.iter().filter(|x| *x < pivot).cloned().collect(); let text = format!(\"{{:?}}/{{}}\", below, {i}); (below, text) }}\n"
            for i in range(lo, hi))
    crates = {
        "a": (manifest("a"), {"src/lib.rs": busy("a", 20)}),
        "b": (manifest("b", ["a"]), {"src/lib.rs": busy("b", 20)}),
    }
    if fixed:
        # The fix: the big crate split in two that compile side by side.
        crates["big1"] = (manifest("big1", ["b"]), {"src/lib.rs": generic(0, 450)})
        crates["big2"] = (manifest("big2", ["b"]), {"src/lib.rs": generic(450, 900)})
        crates["app"] = (manifest("app", ["big1", "big2"]), {"src/main.rs": "fn main() { println!(\"{:?} {:?}\", big1::g1(&[1, 2, 3], &2), big2::g451(&[1], &1)); }\n"})
    else:
        crates["big"] = (manifest("big", ["b"]), {"src/lib.rs": generic(0, 900)})
        crates["app"] = (manifest("app", ["big"]), {"src/main.rs": "fn main() { println!(\"{:?}\", big::g1(&[1, 2, 3], &2)); }\n"})
    return crates


def linking(fixed):
    # The fix: line tables instead of full debug info, which the linker then copies less of.
    extra = '[profile.dev]\ndebug = "line-tables-only"\n' if fixed else ""
    return {
        "service": (manifest("service") + 'serde = { version = "1", features = ["derive"] }\nserde_json = "1"\nclap = "4"\n', {
            "src/main.rs": "#[derive(serde::Serialize, serde::Deserialize)] struct Msg { text: String }\n"
                           "fn main() {\n"
                           "    let m: Msg = serde_json::from_str(r#\"{\"text\":\"a1 b22\"}\"#).unwrap();\n"
                           "    let args = clap::Command::new(\"service\").arg(clap::Arg::new(\"n\")).get_matches_from([\"service\", \"2\"]);\n"
                           "    let n = args.get_one::<String>(\"n\").map_or(0, |n| n.len() + m.text.len());\n"
                           "    println!(\"{} {}\", n, serde_json::to_string(&m).unwrap());\n"
                           "}\n",
        }),
    }, extra


def mono_hash(fixed):
    """A second generic shape: counting and grouping through a HashMap, for 40 key types."""
    types = 40
    if fixed:
        group = (
            "pub fn group<K: Hash + Eq + Debug + Clone>(keys: &[K]) -> String {\n"
            "    group_text(keys.iter().map(|k| format!(\"{k:?}\")).collect())\n"
            "}\n"
            "fn group_text(texts: Vec<String>) -> String {\n"
            "    let mut counts: HashMap<String, usize> = HashMap::new();\n"
            "    for t in &texts { *counts.entry(t.clone()).or_insert(0) += 1; }\n"
            "    let mut rows: Vec<(String, usize)> = counts.into_iter().collect();\n"
            "    rows.sort();\n"
            "    let firsts: HashSet<&String> = texts.iter().collect();\n"
            "    format!(\"{rows:?} {}\", firsts.len())\n"
            "}\n"
        )
    else:
        group = (
            "pub fn group<K: Hash + Eq + Debug + Clone>(keys: &[K]) -> String {\n"
            "    let mut counts: HashMap<K, usize> = HashMap::new();\n"
            "    for k in keys { *counts.entry(k.clone()).or_insert(0) += 1; }\n"
            "    let mut rows: Vec<(String, usize)> = counts.iter().map(|(k, n)| (format!(\"{k:?}\"), *n)).collect();\n"
            "    rows.sort();\n"
            "    let firsts: HashSet<K> = keys.iter().cloned().collect();\n"
            "    let mut seen: Vec<K> = firsts.into_iter().collect();\n"
            "    seen.retain(|k| counts.contains_key(k));\n"
            "    format!(\"{rows:?} {}\", seen.len())\n"
            "}\n"
        )
    return generic_project("stats", "use std::collections::{HashMap, HashSet};\nuse std::fmt::Debug;\nuse std::hash::Hash;\n" + group,
                           "Debug, Clone, PartialEq, Eq, Hash, Default", "Key", "group", types)


def gnu_ld(make):
    """A project whose links run GNU ld (rustc's default opted out in .cargo/config.toml, as
    on a toolchain before 1.90 or another host); its twin links with rustc's default."""
    def made(fixed):
        crates, extra = make(False)
        if not fixed:
            crates = dict(crates)
            crates[".cargo"] = (None, {"config.toml": '[build]\nrustflags = ["-Clinker-features=-lld"]\n'})
        return crates, extra
    return made


def cli_tool(fixed):
    """A second linked binary: argument parsing with clap's derive, regex, serde_json."""
    return {
        "tool": (manifest("tool") + 'clap = { version = "4", features = ["derive"] }\nregex = "1"\nserde_json = "1"\n', {
            "src/main.rs": "use clap::Parser;\n"
                           "#[derive(Parser)] struct Args { #[arg(long, default_value = \"a+b\")] pattern: String, text: Option<String> }\n"
                           "fn main() {\n"
                           "    let args = Args::parse_from([\"tool\", \"aab\"]);\n"
                           "    let re = regex::Regex::new(&args.pattern).unwrap();\n"
                           "    let text = args.text.unwrap_or_default();\n"
                           "    println!(\"{}\", serde_json::json!({ \"match\": re.is_match(&text) }));\n"
                           "}\n",
        }),
    }, ""


def incremental_off(make):
    """A build from scratch with cargo's default (incremental for the workspace's crates)
    against its twin with `incremental = false`."""
    def made(fixed):
        crates = make(False)
        return crates, ('[profile.dev]\nincremental = false\n' if fixed else "")
    return made


def codegen_units(make):
    """A release build from scratch whose profile sets `codegen-units = 1`, against its twin
    with cargo's release default (16)."""
    def made(fixed):
        made = make(False)
        crates = made[0] if isinstance(made, tuple) else made
        return crates, ("" if fixed else "[profile.release]\ncodegen-units = 1\n")
    return made


def derives_moved(macro):
    """A crate edited in the loop that also defines types with proc-macro derives; its twin
    has the types in a crate below it (the edit in the functions that stay)."""
    def types(lo, hi):
        if macro == "serde":
            return "".join(
                f"#[derive(serde::Serialize, serde::Deserialize)] pub struct Rec{i} {{ pub id: u64, pub name: String, pub tags: Vec<String>, pub score: Option<f64> }}\n"
                for i in range(lo, hi))
        return "".join(
            f"#[derive(Debug, thiserror::Error)] pub enum Err{i} {{ #[error(\"not found: {{0}}\")] NotFound(String), #[error(\"bad input at {{line}}:{{col}}\")] Bad {{ line: u32, col: u32 }}, #[error(transparent)] Io(#[from] std::io::Error) }}\n"
            for i in range(lo, hi))
    n = 120 if macro == "serde" else 200
    dep = 'serde = { version = "1", features = ["derive"] }\n' if macro == "serde" else 'thiserror = "2"\n'
    logic = "".join(f"pub fn step{i}(x: u64) -> u64 {{ x.wrapping_mul({i + 3}).rotate_left({i % 13}) }}\n" for i in range(200))
    use = "core::step0(1) + std::mem::size_of::<core::" + ("Rec0>() as u64" if macro == "serde" else "Err0>() as u64")

    def make(fixed):
        crates = {}
        if fixed:
            crates["model"] = (manifest("model") + dep, {"src/lib.rs": types(0, n)})
            crates["core"] = (manifest("core", ["model"]), {"src/lib.rs": logic + "pub use model::*;\n"})
        else:
            crates["core"] = (manifest("core") + dep, {"src/lib.rs": logic + types(0, n)})
        crates["app"] = (manifest("app", ["core"]), {"src/main.rs": f"fn main() {{ println!(\"{{}}\", {use}); }}\n"})
        return crates
    return make


def split(shape):
    """A crate edited in the loop, and its twin split in two halves: the half the edit does
    not touch moved into a crate below it (re-exported, so the binary is unchanged)."""
    def items(m):
        if shape == "items":
            return "".join(
                f"    pub fn f{i}(x: u64) -> u64 {{ x.wrapping_mul({i}).rotate_left({m % 7}) ^ {m} }}\n"
                for i in range(60))
        return "".join(
            f"    #[derive(Debug, Clone, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]\n"
            f"    pub struct S{i} {{ pub a: u64, pub b: String, pub c: Vec<u32> }}\n"
            f"    impl S{i} {{ pub fn weight(&self) -> u64 {{ self.a + self.b.len() as u64 + self.c.len() as u64 * {m} }} }}\n"
            for i in range(12))

    modules = 60 if shape == "items" else 80

    def mods(r):
        return "".join(f"pub mod m{m} {{\n{items(m)}}}\n" for m in r)

    last = modules - 1
    use = (f"core::m0::f0(3) + core::m{last}::f1(2)" if shape == "items"
           else f"core::m0::S0::default().weight() + core::m{last}::S1::default().weight()")

    def make(fixed):
        crates = {}
        if fixed:
            half = modules // 2
            crates["stable"] = (manifest("stable"), {"src/lib.rs": mods(range(half, modules))})
            crates["core"] = (manifest("core", ["stable"]), {"src/lib.rs": mods(range(half)) + "pub use stable::*;\n"})
        else:
            crates["core"] = (manifest("core"), {"src/lib.rs": mods(range(modules))})
        crates["app"] = (manifest("app", ["core"]), {"src/main.rs": f"fn main() {{ println!(\"{{}}\", {use}); }}\n"})
        return crates
    return make


# name: (project maker, scenario arguments, the cause the top finding should name)
CASES = {
    "monomorphization": (mono, ["--cold"], "monomorphization"),
    "build-script": (build_script, ["--cold"], "build-script-on-critical-path"),
    "serializing-crate": (chain, ["--cold"], "serializing-crate"),
    "linking": (linking, ["--offline", "--touch", "service/src/main.rs"], "linking"),
    # The edit loop: a crate of many small functions, and one of many derived types, each
    # against its twin split in two halves (the edit in the upper one).
    "split-items": (split("items"), ["--edit", "core/src/lib.rs"], "whole-crate-rework"),
    "split-derives": (split("derives"), ["--edit", "core/src/lib.rs"], "whole-crate-rework"),
    # A second generic shape.
    "monomorphization-hash": (mono_hash, ["--cold"], "monomorphization"),
    # Links by GNU ld against rustc's default (rust-lld): two binaries.
    "linker-service": (gnu_ld(linking), ["--offline", "--touch", "service/src/main.rs"], "linking"),
    "linker-tool": (gnu_ld(cli_tool), ["--offline", "--touch", "tool/src/main.rs"], "linking"),
    # A debug-info point on the second binary (rust-lld).
    "debug-info-tool": (lambda fixed: (cli_tool(fixed)[0], '[profile.dev]\ndebug = "line-tables-only"\n' if fixed else ""),
                        ["--offline", "--touch", "tool/src/main.rs"], "linking"),
    # Incremental state in builds from scratch.
    "incremental-items": (incremental_off(split("items")), ["--cold"], "incremental-in-cold-build"),
    "incremental-derives": (incremental_off(split("derives")), ["--cold"], "incremental-in-cold-build"),
    # A release profile's codegen-units = 1.
    "codegen-units-items": (codegen_units(split("items")), ["--cold", "--release"], "few-codegen-units"),
    "codegen-units-generic": (codegen_units(mono), ["--cold", "--release"], "few-codegen-units"),
    "codegen-units-derives": (codegen_units(split("derives")), ["--cold", "--release"], "few-codegen-units"),
    "codegen-units-hash": (codegen_units(mono_hash), ["--cold", "--release"], "few-codegen-units"),
    # Proc-macro derives moved out of the edited crate.
    "derives-moved-serde": (derives_moved("serde"), ["--offline", "--edit", "core/src/lib.rs"], "proc-macro-expansion"),
    "derives-moved-thiserror": (derives_moved("thiserror"), ["--offline", "--edit", "core/src/lib.rs"], "proc-macro-expansion"),
}


def write_workspace(root, crates, workspace_extra=""):
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    # Names starting with a dot are folders of files, not members (`.cargo`).
    members = ", ".join(f'"{m}"' for m in crates if not m.startswith("."))
    with open(os.path.join(root, "Cargo.toml"), "w") as f:
        f.write(f'[workspace]\nresolver = "2"\nmembers = [{members}]\n{workspace_extra}')
    for name, (toml, files) in crates.items():
        os.makedirs(os.path.join(root, name), exist_ok=True)
        if toml is not None:
            with open(os.path.join(root, name, "Cargo.toml"), "w") as f:
                f.write(toml)
        for path, text in files.items():
            full = os.path.join(root, name, path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w") as f:
                f.write(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--work", default=os.path.join(ROOT, "target", "calibration"))
    ap.add_argument("--only", nargs="*")
    add_binary_argument(ap)
    args = ap.parse_args()
    ours = buildscope_binary(args.buildscope)
    rows = []
    for name, (make, scenario, cause) in CASES.items():
        if args.only and name not in args.only:
            continue
        roots = {}
        for fixed in (False, True):
            made = make(fixed)
            crates, extra = made if isinstance(made, tuple) else (made, "")
            root = os.path.join(args.work, f"{name}-{'fixed' if fixed else 'original'}")
            write_workspace(root, crates, extra)
            subprocess.run(["cargo", "generate-lockfile", "--offline"], cwd=root, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            roots[fixed] = root
        # The estimate: explain on a profiled build of the original, after one without the
        # profiler (as a user would run them), which explain scales its estimates to.
        original = roots[False]
        buildscope(ours, original, ["build", "-q"] + scenario)
        buildscope(ours, original, ["build", "--self-profile-crates", "-q"] + scenario)
        explanation = json.loads(buildscope(ours, original, ["explain", "--json"]))
        finding = next((f for f in explanation["findings"] if f["cause"] == cause), None)
        # The measured saving: unprofiled builds of both, alternating.
        walls = {False: [], True: []}
        for i in range(args.runs):
            for fixed in ((False, True) if i % 2 == 0 else (True, False)):
                doc = json.loads(buildscope(ours, roots[fixed], ["build", "--json", "-q"] + scenario))
                walls[fixed].append(doc["runs"][0]["totals"]["wall_ns"] / 1e9)
        before, after = statistics.median(walls[False]), statistics.median(walls[True])
        estimate = finding["estimate_ns"] / 1e9 if finding else None
        measured = before - after
        ratio = estimate / measured if finding and measured > 0 else None
        rows.append((name, finding["title"] if finding else f"(no {cause} finding)", estimate, before, after, measured, ratio))
        print(f"== {name}: estimate {estimate}, measured {measured:.3f} s", flush=True)
    print()
    print("| planted cause | top finding of that cause | estimate (wall) | original | fixed twin | measured saving | estimate / measured |")
    print("|---|---|---|---|---|---|---|")
    for name, title, estimate, before, after, measured, ratio in rows:
        est = f"{estimate:.2f} s" if estimate is not None else "-"
        rat = f"{ratio:.2f}" if ratio is not None else "-"
        print(f"| {name} | {title} | {est} | {before:.2f} s | {after:.2f} s | {measured:.2f} s | {rat} |")


if __name__ == "__main__":
    main()
