#!/usr/bin/env python3
"""buildscope `summarize` and `diff` against measureme's `summarize summarize` / `summarize diff`
on the same real profiles, measured alternating in one run.

    bench/make-syn-profiles.sh                       # once: the two syn profiles (~118 MB, ~628 MB)
    MEASUREME_BIN=/path/to/measureme/target/release bench/summarize_vs_measureme.py [--runs N]

MEASUREME_BIN is the directory holding measureme's `summarize` binary (measureme is not on
crates.io: build it from its public source outside this repository). Without it, buildscope's
own figures are reported alone. Each run's wall time, CPU time and peak RSS come from wait4().
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def run(cmd):
    """Runs cmd with stdout discarded; returns (wall s, cpu s, peak RSS MiB)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if status != 0:
        sys.exit(f"failed ({status}): {' '.join(cmd)}\n{err}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--profiles", default=os.path.join(ROOT, "target", "bench-profiles"))
    args = ap.parse_args()

    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "buildscope"], cwd=ROOT, check=True)
    ours = os.path.join(ROOT, "target", "release", "buildscope")
    mm_dir = os.environ.get("MEASUREME_BIN")
    theirs = os.path.join(mm_dir, "summarize") if mm_dir else None
    if theirs and not os.access(theirs, os.X_OK):
        sys.exit(f"MEASUREME_BIN={mm_dir}: no executable `summarize` there")

    files = [os.path.join(args.profiles, f) for f in ("syn-default-args.mm_profdata", "syn-all.mm_profdata")]
    files = [f for f in files if os.path.exists(f)]
    if not files:
        sys.exit(f"no profiles in {args.profiles}: run bench/make-syn-profiles.sh first")

    print(f"runs per figure: {args.runs} (alternating), medians shown; machine: {os.cpu_count()} CPUs")
    print(f"{'input':<36} {'command':<10} {'tool':<11} {'wall':>8} {'cpu':>8} {'peak RSS':>10}")
    for path in files:
        name = f"{os.path.basename(path)} ({os.path.getsize(path) / 1e6:.1f} MB)"
        for command in ("summarize", "diff"):
            ours_cmd = [ours, command, path] + ([path] if command == "diff" else [])
            theirs_cmd = None
            if theirs:
                theirs_cmd = [theirs, command, path] + ([path] if command == "diff" else [])
            results = {"buildscope": [], "measureme": []}
            for _ in range(args.runs):
                if theirs_cmd:
                    results["measureme"].append(run(theirs_cmd))
                results["buildscope"].append(run(ours_cmd))
            med = {}
            for tool, samples in results.items():
                if not samples:
                    continue
                med[tool] = tuple(statistics.median(s[i] for s in samples) for i in range(3))
                w, c, m = med[tool]
                print(f"{name:<36} {command:<10} {tool:<11} {w:>7.3f}s {c:>7.3f}s {m:>8.1f}MiB")
            if "measureme" in med:
                (ow, _, om), (tw, _, tm) = med["buildscope"], med["measureme"]
                print(f"{'':<36} {command:<10} {'ratio':<11} {tw / ow:>7.1f}x faster, peak memory {om / tm:.2f}x measureme's")


if __name__ == "__main__":
    main()
