#!/usr/bin/env python3
"""`buildscope profile` against the reference workflow on the same binary and input.

The reference is what the write-ups do by hand: `perf record -g`, then `perf script |
inferno-collapse-perf | inferno-flamegraph`. buildscope's side is `buildscope profile
--command` on the same executable (timer, perf record, perf script parsed, demangled,
folded, the functions ranked, a flamegraph, the run recorded in a history). Pairs run
alternately; the ratio of medians is printed, and the top ten functions by self time of
each side are compared (names without hashes, kernel frames unmarked).

    python3 bench/profile_vs_perf.py [--buildscope BIN] [--size 32000] [--pairs 7]

Needs perf, and inferno's collapse-perf and flamegraph on PATH (`cargo install inferno`).
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import ROOT, add_binary_argument, buildscope_binary


def call_graph_source(n):
    """The source `scale --shape call-graph` writes for size n (the same sequence)."""
    bases, mids = max(1, n * 7 // 100), max(1, n * 28 // 100)
    leaves = max(0, n - bases - mids)
    state, mask = 0x2545F4914F6CDD1D, (1 << 64) - 1

    def pick(below):
        nonlocal state
        state ^= (state << 13) & mask
        state ^= state >> 7
        state ^= (state << 17) & mask
        return state % below

    out = [f"pub fn base_{i}(x: u64) -> u64 {{ x * 3 + {i} }}" for i in range(bases)]
    for i in range(mids):
        a, b = pick(bases), pick(bases)
        out.append(f"pub fn mid_{i}(x: u64) -> u64 {{ base_{a}(x) + base_{b}(x + 1) }}")
    for i in range(leaves):
        m, b = pick(mids), pick(bases)
        out.append(f"pub fn leaf_{i}(x: u64) -> u64 {{ mid_{m}(x) * 2 + base_{b}(x) }}")
    return "\n".join(out) + "\n"


def normalized(name):
    name = re.sub(r"::h[0-9a-f]{16}$", "", name.strip())
    name = re.sub(r"\.llvm\.\d+$", "", name)
    return name.removesuffix(" [kernel]").removesuffix("_[k]")


def self_times(folded_text):
    times = {}
    for line in folded_text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        leaf = normalized(stack.split(";")[-1])
        times[leaf] = times.get(leaf, 0) + int(count)
    return times


def top(times, n=10):
    return [name for name, _ in sorted(times.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_binary_argument(parser)
    parser.add_argument("--size", type=int, default=32000)
    parser.add_argument("--pairs", type=int, default=7)
    args = parser.parse_args()
    for tool in ("perf", "inferno-collapse-perf", "inferno-flamegraph"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is not on PATH")
    bin_ = buildscope_binary(args.buildscope)
    work = tempfile.mkdtemp(prefix="bs-profile-bench-")
    env = dict(os.environ, BUILDSCOPE_DB=os.path.join(work, "history.sqlite"))
    example = os.path.join(ROOT, "example-program")
    # The binary both sides run: built once by buildscope (line tables, frame pointers).
    subprocess.run([bin_, "profile", "-q", "--release", "--no-sample", "--", "--help"],
                   cwd=example, env=env, check=True, stdout=subprocess.DEVNULL)
    exe = os.path.join(example, "target", "buildscope", "program", "release", "tinyc")
    source = os.path.join(work, "input.rs")
    with open(source, "w") as f:
        f.write(call_graph_source(args.size))

    def reference():
        data, folded, svg = (os.path.join(work, n) for n in ("ref.data", "ref.folded", "ref.svg"))
        start = time.perf_counter()
        subprocess.run(["perf", "record", "-q", "-g", "-o", data, "--", exe, source],
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run(f"perf script -i {data} | inferno-collapse-perf > {folded} && "
                       f"inferno-flamegraph {folded} > {svg}", shell=True, check=True,
                       stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        with open(folded) as f:
            return wall, self_times(f.read())

    def buildscope():
        start = time.perf_counter()
        out = subprocess.run([bin_, "profile", "-q", "--json", "--top", "10", "--command",
                              f"{exe} {source}"], cwd=work, env=env, check=True,
                             stdout=subprocess.PIPE)
        wall = time.perf_counter() - start
        doc = json.loads(out.stdout)
        return wall, {normalized(f["name"]): f["self_ns"]["median"] for f in doc["functions"]}

    reference()  # warm the page cache and perf's symbol reading once
    ref_walls, bs_walls, agreements = [], [], []
    for _ in range(args.pairs):
        ref_wall, ref_times = reference()
        bs_wall, bs_times = buildscope()
        ref_walls.append(ref_wall)
        bs_walls.append(bs_wall)
        agreements.append(len(set(top(ref_times)) & set(top(bs_times))))
    ref, bs = statistics.median(ref_walls), statistics.median(bs_walls)
    print(f"tinyc on {args.size} functions, {args.pairs} alternating pairs")
    print(f"reference (perf record -g + perf script | inferno collapse + flamegraph): "
          f"median {ref:.3f} s  [{min(ref_walls):.3f}, {max(ref_walls):.3f}]")
    print(f"buildscope profile --command:                                          "
          f"median {bs:.3f} s  [{min(bs_walls):.3f}, {max(bs_walls):.3f}]")
    print(f"ratio buildscope / reference: {bs / ref:.2f}x")
    print(f"top ten functions by self time in common, per pair: {agreements}")
    print("reference top ten (last pair):", top(ref_times))
    print("buildscope top ten (last pair):", top(bs_times))


if __name__ == "__main__":
    main()
