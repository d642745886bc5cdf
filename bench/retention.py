#!/usr/bin/env python3
"""The disk a workspace's run folders take over many profiled hot runs, with the retention
budget and without it, measured in one pass: each run is a one-line edit of a real
project's main source built with --self-profile-crates under the budget; after each run the
run folders are measured (`du`), and what the budget pruned is added back for the figure
without retention (every run's folder as it was made). Also the time `gc` takes to prune.

    bench/retention.py [--project just --version 1.36.0 --edit src/lib.rs] [--runs 20] [--keep 10] [--work DIR]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from experiment_vs_hyperfine import ROOT, run  # noqa: E402
from real_projects import buildscope, fetch, main_source  # noqa: E402
from benchlib import add_binary_argument, buildscope_binary  # noqa: E402


def du(path):
    total = 0
    for base, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(base, f)).st_size
            except FileNotFoundError:
                pass
    return total


def mib(n):
    return f"{n / 2**20:.0f} MiB"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--project", default="just")
    ap.add_argument("--version", default="1.36.0")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--keep", type=int, default=10)
    ap.add_argument("--work", default=os.path.join(ROOT, "target", "real-projects"))
    ap.add_argument("--edit", help="the file each run edits (default: the main source file)")
    add_binary_argument(ap)
    args = ap.parse_args()
    ours = buildscope_binary(args.buildscope)
    os.makedirs(args.work, exist_ok=True)
    project = fetch(args.work, args.project, args.version)
    runs_dir = os.path.join(project, "target", "buildscope", "runs")
    shutil.rmtree(runs_dir, ignore_errors=True)
    db = os.path.join(args.work, f"retention-{args.project}.sqlite")
    for stale in (db, db + "-wal", db + "-shm"):
        if os.path.exists(stale):
            os.remove(stale)
    edit = args.edit or main_source(project)
    # The warm state the hot runs start from (not counted).
    buildscope(ours, project, db, ["build", "--quiet"])
    shutil.rmtree(runs_dir, ignore_errors=True)

    made = 0  # every run folder's bytes as it was made: the disk without retention
    print(f"{args.project} {args.version}: {args.runs} hot runs (--edit {edit} --self-profile-crates), budget --keep-profiles {args.keep}")
    print("| run | folder made | without retention | with the budget |")
    print("|---|---|---|---|")
    for i in range(1, args.runs + 1):
        before = set(os.listdir(runs_dir)) if os.path.isdir(runs_dir) else set()
        buildscope(ours, project, db, ["build", "--quiet", "--self-profile-crates", "--edit", edit,
                                       "--keep-profiles", str(args.keep), "--max-profile-size", "1TiB"])
        new = [d for d in os.listdir(runs_dir) if d not in before]
        size = sum(du(os.path.join(runs_dir, d)) for d in new)
        made += size
        now = du(runs_dir)
        if i in (1, 2, 5, 10, 11, 15, 20) or i == args.runs:
            print(f"| {i} | {mib(size)} | {mib(made)} | {mib(now)} |")
    # gc's own time: pruning all but the newest two runs (their evidence saved at build).
    start = time.monotonic()
    out = json.loads(buildscope(ours, project, db, ["gc", "--keep", "2", "--json"]))
    took = time.monotonic() - start
    print(f"\n`gc --keep 2`: pruned {len(out['pruned'])} runs, freed {mib(sum(p['freed_bytes'] for p in out['pruned']))} in {took:.2f} s; run folders now {mib(du(runs_dir))}")
    # explain on the oldest (pruned) run still works.
    runs = json.loads(buildscope(ours, project, db, ["runs", "--json", "--limit", "1000"]))["runs"]
    oldest = [r for r in runs if r["folder"] and r["folder"]["state"] == "pruned"][-1]
    start = time.monotonic()
    ex = json.loads(buildscope(ours, project, db, ["explain", "--json", oldest["id"]]))
    took = time.monotonic() - start
    print(f"explain on the oldest run ({oldest['folder']['state']}): {len(ex['findings'])} findings in {took:.2f} s")


if __name__ == "__main__":
    main()
