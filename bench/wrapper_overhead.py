#!/usr/bin/env python3
"""The cost of measuring: `buildscope build` (wrapper on every rustc, linker stand-in, unit
graph query, timings report, run record, history) against a plain `cargo build`, both cold,
on a real dependency tree from crates.io (115 packages), alternating in one run.

    bench/wrapper_overhead.py [--pairs 3] [--work DIR]

Downloads happen once, before any timing (`cargo fetch`). Each build starts from an empty
target directory; removing it is not timed. Pairs alternate which side goes first.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib  # noqa: E402
ROOT = os.path.dirname(HERE)

MANIFEST = """[package]
name = "overhead-bench"
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
clap = { version = "4", features = ["derive"] }
serde = { version = "1", features = ["derive"] }
serde_json = "1"
regex = "1"
rayon = "1"
chrono = "0.4"
rand = "0.8"
anyhow = "1"
thiserror = "1"
log = "0.4"
env_logger = "0.11"
itertools = "0.13"
toml = "0.8"
url = "2"

[workspace]
"""


def timed(cmd, cwd, env):
    return benchlib.timed(cmd, cwd, env)[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--work", default=os.path.join(ROOT, "target", "bench-overhead"))
    args = ap.parse_args()

    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "buildscope"], cwd=ROOT, check=True)
    buildscope = os.path.join(ROOT, "target", "release", "buildscope")
    project = os.path.join(args.work, "project")
    os.makedirs(os.path.join(project, "src"), exist_ok=True)
    with open(os.path.join(project, "Cargo.toml"), "w") as f:
        f.write(MANIFEST)
    with open(os.path.join(project, "src", "main.rs"), "w") as f:
        f.write("fn main() { println!(\"{}\", serde_json::json!({\"ok\": true})); }\n")
    subprocess.run(["cargo", "fetch", "--quiet"], cwd=project, check=True)
    tree = subprocess.run(["cargo", "tree", "--prefix", "none", "-e", "normal,build"], cwd=project,
                          check=True, capture_output=True, text=True).stdout
    packages = len({line.split(" (")[0] for line in tree.splitlines() if line.strip()})

    env = {k: v for k, v in os.environ.items() if k not in ("CARGO_TARGET_DIR", "RUSTC_WRAPPER", "RUSTFLAGS")}
    plain_dir = os.path.join(args.work, "target-plain")
    measured_dir = os.path.join(args.work, "target-buildscope")
    db = os.path.join(args.work, "history.sqlite")
    sides = {
        "cargo build": (plain_dir, ["cargo", "build", "--quiet", "--target-dir", plain_dir]),
        "buildscope build": (measured_dir, [buildscope, "build", "--quiet", "--target-dir", measured_dir, "--db", db]),
    }
    results = {name: [] for name in sides}
    order = list(sides)
    for pair in range(args.pairs):
        for name in (order if pair % 2 == 0 else list(reversed(order))):
            target, cmd = sides[name]
            shutil.rmtree(target, ignore_errors=True)
            wall = timed(cmd, project, env)
            results[name].append(wall)
            print(f"pair {pair + 1}: {name:<17} {wall:7.2f} s", flush=True)

    plain = statistics.median(results["cargo build"])
    measured = statistics.median(results["buildscope build"])
    print(f"\n{packages} packages, cold debug builds, {args.pairs} alternating pairs, {os.cpu_count()} CPUs")
    print(f"median cargo build      {plain:7.2f} s  (runs: {', '.join(f'{w:.2f}' for w in results['cargo build'])})")
    print(f"median buildscope build {measured:7.2f} s  (runs: {', '.join(f'{w:.2f}' for w in results['buildscope build'])})")
    print(f"overhead: {100 * (measured - plain) / plain:+.1f}% of the median")


if __name__ == "__main__":
    main()
