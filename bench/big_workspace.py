#!/usr/bin/env python3
"""buildscope on a workspace of ~1,000 crates: the wrapper's overhead cold and hot against
plain cargo (alternating pairs), the run record's size, build's own post-processing time,
explain's time, and the report (its size; bench/report_open.py times it in Chromium).

The workspace is generated: N member crates in layers, each depending on one to three of
ten hub crates and up to three crates of the layers below (fan-in to a few hubs, as real
workspaces have), every 25th with a build script, and five proc-macro crates that a tenth
of the crates use. Each crate has a few small functions, so rustc's start-up and cargo's
scheduling dominate, the case where per-unit overhead shows most.

    bench/big_workspace.py [--crates 1000] [--pairs 3] [--work DIR]
"""
import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import add_binary_argument, buildscope_binary, timed  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

HUBS = 10
MACROS = 5


def crate_source(i, deps, uses_macro):
    body = "".join(
        f"pub fn f{k}(x: u64) -> u64 {{ x.wrapping_mul({i * 7 + k}).rotate_left({k}) ^ {i} }}\n" for k in range(6))
    calls = " + ".join(f"{d}::f0(x)" for d in deps) or "0"
    body += f"pub fn uses(x: u64) -> u64 {{ {calls} }}\n"
    if uses_macro is not None:
        body += f"m{uses_macro}::make_fn!(generated_{i});\n"
    return body


def generate(root, crates, seed=1):
    rng = random.Random(seed)
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    names = [f"c{i}" for i in range(crates)]
    macros = [f"m{k}" for k in range(MACROS)]
    members = names + macros
    with open(os.path.join(root, "Cargo.toml"), "w") as f:
        f.write("[workspace]\nresolver = \"2\"\nmembers = [" + ", ".join(f'"{m}"' for m in members) + "]\n")
    for k, m in enumerate(macros):
        os.makedirs(os.path.join(root, m, "src"))
        with open(os.path.join(root, m, "Cargo.toml"), "w") as f:
            f.write(f'[package]\nname = "{m}"\nversion = "0.1.0"\nedition = "2021"\n\n[lib]\nproc-macro = true\n')
        with open(os.path.join(root, m, "src", "lib.rs"), "w") as f:
            f.write("use proc_macro::TokenStream;\n"
                    "#[proc_macro]\npub fn make_fn(input: TokenStream) -> TokenStream {\n"
                    f"    format!(\"pub fn {{}}() -> u64 {{{{ {k} }}}}\", input).parse().unwrap()\n}}\n")
    edges = 0
    for i, name in enumerate(names):
        if i < HUBS:
            deps = [f"c{j}" for j in range(i)][-1:]
        else:
            hubs = rng.sample(range(HUBS), rng.randint(1, 3))
            lower = rng.sample(range(HUBS, i), min(rng.randint(0, 3), i - HUBS)) if i > HUBS else []
            deps = [f"c{j}" for j in sorted(set(hubs + lower))]
        uses_macro = rng.randrange(MACROS) if i >= HUBS and rng.random() < 0.1 else None
        edges += len(deps)
        os.makedirs(os.path.join(root, name, "src"))
        lines = [f'{d} = {{ path = "../{d}" }}' for d in deps]
        if uses_macro is not None:
            lines.append(f'm{uses_macro} = {{ path = "../m{uses_macro}" }}')
        build = i % 25 == 0
        with open(os.path.join(root, name, "Cargo.toml"), "w") as f:
            f.write(f'[package]\nname = "{name}"\nversion = "0.1.0"\nedition = "2021"\n'
                    + ('build = "build.rs"\n' if build else "") + "\n[dependencies]\n" + "\n".join(lines) + "\n")
        with open(os.path.join(root, name, "src", "lib.rs"), "w") as f:
            f.write(crate_source(i, deps, uses_macro))
        if build:
            with open(os.path.join(root, name, "build.rs"), "w") as f:
                f.write('fn main() { println!("cargo:rustc-env=BUILT_BY=build.rs"); }\n')
    subprocess.run(["cargo", "generate-lockfile", "--offline", "--quiet"], cwd=root, check=True)
    return len(members), edges


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--crates", type=int, default=1000)
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--work", default=os.path.join(ROOT, "target", "bench-big-workspace"))
    add_binary_argument(ap)
    args = ap.parse_args()
    ours = buildscope_binary(args.buildscope)
    project = os.path.join(args.work, "workspace")
    members, edges = generate(project, args.crates)
    env = {k: v for k, v in os.environ.items() if k not in ("CARGO_TARGET_DIR", "RUSTC_WRAPPER", "RUSTFLAGS")}
    db = os.path.join(args.work, "history.sqlite")
    for stale in (db, db + "-wal", db + "-shm"):
        if os.path.exists(stale):
            os.remove(stale)
    plain_dir = os.path.join(args.work, "target-plain")
    ours_dir = os.path.join(args.work, "target-buildscope")
    leaf = os.path.join(project, f"c{args.crates - 1}", "src", "lib.rs")
    hub = os.path.join(project, "c3", "src", "lib.rs")
    print(f"{members} crates ({args.crates} libraries in layers over {HUBS} hubs, {MACROS} proc macros, "
          f"a build script in every 25th), {edges} dependency edges; {os.cpu_count()} CPUs", flush=True)

    def build(side):
        """(end-to-end wall, the build's own wall): for buildscope, the cargo build under
        its wrapper as the run record times it, apart from what buildscope does after."""
        if side == "cargo":
            wall = timed(["cargo", "build", "--quiet", "--workspace", "--target-dir", plain_dir], project, env)[0]
            return wall, wall
        wall, out = timed([ours, "build", "--quiet", "--json", "--workspace", "--target-dir", ours_dir, "--db", db],
                          project, env)
        return wall, json.loads(out)["runs"][0]["totals"]["wall_ns"] / 1e9

    def cold(side):
        shutil.rmtree(plain_dir if side == "cargo" else ours_dir, ignore_errors=True)
        return build(side)

    def hot(side, path):
        # A touch of the file, then the rebuild: what an edit there costs.
        os.utime(path)
        return build(side)

    results = {}
    for scenario, run in (("cold", lambda s: cold(s)), ("hot: touch a leaf", lambda s: hot(s, leaf)),
                          ("hot: touch a hub", lambda s: hot(s, hub))):
        sides = ["cargo", "buildscope"]
        for pair in range(args.pairs):
            for side in (sides if pair % 2 == 0 else sides[::-1]):
                wall, own = run(side)
                results.setdefault((scenario, side), []).append((wall, own))
                print(f"{scenario:<18} pair {pair + 1}: {side:<10} {wall:7.2f} s (the build {own:.2f} s)", flush=True)
    print("\n| scenario | cargo build | the build under buildscope's wrapper | wrapper overhead | `buildscope build` end to end | after the build |")
    print("|---|---|---|---|---|---|")
    for scenario in ("cold", "hot: touch a leaf", "hot: touch a hub"):
        plain = statistics.median(w for w, _ in results[(scenario, "cargo")])
        under = statistics.median(o for _, o in results[(scenario, "buildscope")])
        whole = statistics.median(w for w, _ in results[(scenario, "buildscope")])
        print(f"| {scenario} | {plain:.2f} s | {under:.2f} s | {100 * (under - plain) / plain:+.1f}% | "
              f"{whole:.2f} s | {whole - under:.2f} s |")

    # The last cold run measured: its record, explain and report.
    cold_measured = timed([ours, "build", "--json", "--quiet", "--cold", "--workspace", "--target-dir", ours_dir,
                           "--db", db], project, env)
    run = json.loads(cold_measured[1])["runs"][0]
    run_dir = run["run_dir"]
    cargo_wall = run["totals"]["wall_ns"] / 1e9
    record = os.path.getsize(os.path.join(run_dir, "run.json"))
    explain_wall, _ = timed([ours, "explain", "--json", run["id"], "--db", db], project, env)
    report_start = time.perf_counter()
    page = os.path.join(args.work, "report.html")
    timed([ours, "report", run["id"], "-o", page, "--db", db], project, env)
    report_wall = time.perf_counter() - report_start
    print(f"\nunits {len(run['units'])}; run.json {record / 2**20:.1f} MiB; the build as cargo ran it {cargo_wall:.1f} s, "
          f"buildscope build end to end {cold_measured[0]:.1f} s (post-processing {cold_measured[0] - cargo_wall:.1f} s)")
    print(f"explain --json {explain_wall:.2f} s; report {report_wall:.2f} s, {os.path.getsize(page) / 2**20:.1f} MiB: {page}")


if __name__ == "__main__":
    main()
