#!/usr/bin/env python3
"""`buildscope experiment` against the way it is done by hand: hyperfine timing
`touch src/main.rs && cargo build` once per linker, on the same binary (clap, regex, serde,
serde_json: a ~28 MiB debug binary), in one run.

    bench/experiment_vs_hyperfine.py [--runs 5] [--work DIR]

Prints each tool's median hot rebuild per linker, the GNU ld / rust-lld ratio each finds
(they should agree), and each tool's own wall time for the whole comparison. Downloads
happen once, before any timing (`cargo fetch`). hyperfine gets a separate target directory
per linker (as buildscope uses) and one warm-up build, `--prepare 'touch src/main.rs'`.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

MANIFEST = """[package]
name = "linkbench"
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
clap = { version = "4", features = ["derive"] }
regex = "1"
serde = { version = "1", features = ["derive"] }
serde_json = "1"

[workspace]
"""

MAIN = """use clap::Parser;
use serde::{Deserialize, Serialize};

#[derive(Parser, Debug)]
struct Args {
    #[arg(long, default_value = "a+b")]
    pattern: String,
    #[arg(long, default_value = "xaab aaab")]
    text: String,
}

#[derive(Serialize, Deserialize, Debug)]
struct Found {
    pattern: String,
    matches: Vec<String>,
}

fn main() {
    let args = Args::parse();
    let re = regex::Regex::new(&args.pattern).expect("a valid pattern");
    let found = Found {
        pattern: args.pattern.clone(),
        matches: re.find_iter(&args.text).map(|m| m.as_str().to_string()).collect(),
    };
    println!("{}", serde_json::to_string(&found).unwrap());
}
"""

LINKERS = {
    "rust-lld": [],
    "gnu-ld": ["--config", 'build.rustflags=["-Clinker-features=-lld"]'],
}


def run(cmd, cwd, env=None):
    done = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{done.stderr.decode(errors='replace')}")
    return done.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--work", default=os.path.join(ROOT, "target", "bench-experiment"))
    args = ap.parse_args()

    buildscope = os.path.join(ROOT, "target", "release", "buildscope")
    run(["cargo", "build", "--release", "-q", "-p", "buildscope"], ROOT)
    if not shutil.which("hyperfine"):
        sys.exit("hyperfine is not installed (Debian: apt-get install hyperfine)")

    project = os.path.join(args.work, "project")
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(os.path.join(project, "src"))
    with open(os.path.join(project, "Cargo.toml"), "w") as f:
        f.write(MANIFEST)
    with open(os.path.join(project, "src", "main.rs"), "w") as f:
        f.write(MAIN)
    run(["cargo", "fetch", "-q"], project)

    env = dict(os.environ, BUILDSCOPE_DB=os.path.join(args.work, "history.sqlite"))
    env.pop("CARGO_TARGET_DIR", None)
    start = time.perf_counter()
    doc = json.loads(run([buildscope, "experiment", "--touch", "src/main.rs",
                          "--vary", "linker=rust-lld,gnu-ld", "--runs", str(args.runs),
                          "--json", "--quiet"], project, env))
    buildscope_total = time.perf_counter() - start
    ours = {v["name"].split("=")[1]: statistics.median(v["wall_ns"]) / 1e9 for v in doc["variants"]}
    ours_ratio = doc["variants"][1]["vs_baseline"]

    theirs = {}
    start = time.perf_counter()
    for name, config in LINKERS.items():
        out = os.path.join(args.work, f"hyperfine-{name}.json")
        target = os.path.join(args.work, f"target-{name}")
        command = " ".join(["cargo", "build", "-q"] + [f"'{c}'" for c in config])
        run(["hyperfine", "--style", "none", "--warmup", "1", "--runs", str(args.runs),
             "--prepare", "touch src/main.rs", "--export-json", out, command],
            project, dict(env, CARGO_TARGET_DIR=target))
        with open(out) as f:
            theirs[name] = json.load(f)["results"][0]["median"]
    hyperfine_total = time.perf_counter() - start

    print(f"hot rebuild after touch src/main.rs, median of {args.runs}")
    print(f"{'linker':10} {'buildscope':>11} {'hyperfine':>10}")
    for name in LINKERS:
        print(f"{name:10} {ours[name]:10.3f}s {theirs[name]:9.3f}s")
    print(f"gnu-ld / rust-lld: buildscope {ours['gnu-ld'] / ours['rust-lld']:.2f}x "
          f"[{ours_ratio['low']:.2f}-{ours_ratio['high']:.2f}], "
          f"hyperfine {theirs['gnu-ld'] / theirs['rust-lld']:.2f}x")
    print(f"whole comparison: buildscope {buildscope_total:.1f}s (with first builds, flags "
          f"checked, history, report), hyperfine {hyperfine_total:.1f}s (with first builds)")


if __name__ == "__main__":
    main()
