#!/usr/bin/env python3
"""Many writers, one history: 16 concurrent processes × 25 run records (40 units each)
into one database, one transaction per run — on PostgreSQL (a throw-away local cluster,
scripts/pg-throwaway.sh) and on a SQLite file. Then every run is checked: all 400 present,
ids unique, each with its 40 units and none of another run's.

    bench/history_load.py [--writers 16] [--runs 25] [--units 40]

Prints, per engine: wall time, throughput (runs/s), and the median and p99 latency of one
run's write. Bounded: 400 runs, a local server only.
"""
import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def writer_binary():
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "buildscope-store", "--features", "postgres",
                    "--example", "history_writer"], cwd=ROOT, check=True)
    return os.path.join(ROOT, "target", "release", "examples", "history_writer")


def load(binary, location, writers, runs, units):
    started = time.monotonic()
    procs = [subprocess.Popen([binary, location, str(w), str(runs), str(units)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for w in range(writers)]
    latencies = []
    for p in procs:
        out, err = p.communicate()
        if p.returncode != 0:
            sys.exit(f"a writer failed: {err.decode(errors='replace')}")
        latencies += [int(x) for x in out.split()]
    wall = time.monotonic() - started
    return wall, latencies


def verify(rows_of, writers, runs, units):
    """(runs present, distinct ids, runs with exactly their own units)"""
    ids = [r[0] for r in rows_of("SELECT id FROM runs")]
    counts = dict(rows_of("SELECT run_id, COUNT(*) FROM units GROUP BY run_id"))
    mixed = rows_of("SELECT COUNT(*) FROM units WHERE substr(package, 1, length(run_id)) <> run_id")[0][0]
    whole = sum(1 for i in ids if counts.get(i) == units)
    return len(ids), len(set(ids)), whole, mixed


def report(name, wall, latencies, checked, expected):
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    present, distinct, whole, mixed = checked
    print(f"| {name} | {present}/{expected} | {distinct} | {whole} | {mixed} | {wall:.2f} s | "
          f"{len(latencies) / wall:.0f} runs/s | {statistics.median(latencies) / 1000:.1f} ms | {p99 / 1000:.1f} ms |")
    if (present, distinct, whole, mixed) != (expected, expected, expected, 0):
        sys.exit(f"{name}: runs lost or mixed")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--writers", type=int, default=16)
    ap.add_argument("--runs", type=int, default=25)
    ap.add_argument("--units", type=int, default=40)
    args = ap.parse_args()
    binary = writer_binary()
    expected = args.writers * args.runs
    print(f"{args.writers} writers × {args.runs} runs × {args.units} units, one transaction per run\n")
    print("| engine | runs present | distinct ids | runs with exactly their units | unit rows of another run | wall | throughput | median write | p99 write |")
    print("|---|---|---|---|---|---|---|---|---|")

    cluster = tempfile.mkdtemp(prefix="buildscope-pg-load-")
    shutil.rmtree(cluster)
    url = subprocess.run([os.path.join(ROOT, "scripts", "pg-throwaway.sh"), "start", cluster, "55499"],
                         check=True, stdout=subprocess.PIPE).stdout.decode().strip()
    try:
        wall, latencies = load(binary, url, args.writers, args.runs, args.units)
        psql = lambda q: [tuple(line.split("|")) for line in subprocess.run(
            ["psql", "-At", url, "-c", q], check=True, stdout=subprocess.PIPE).stdout.decode().split("\n") if line]
        rows_of = lambda q: [tuple(int(v) if v.isdigit() else v for v in row) for row in psql(q)]
        report("PostgreSQL 15 (local)", wall, latencies, verify(rows_of, args.writers, args.runs, args.units), expected)
    finally:
        subprocess.run([os.path.join(ROOT, "scripts", "pg-throwaway.sh"), "stop", cluster], check=False)

    folder = tempfile.mkdtemp(prefix="buildscope-sqlite-load-")
    path = os.path.join(folder, "history.sqlite")
    try:
        wall, latencies = load(binary, path, args.writers, args.runs, args.units)
        db = sqlite3.connect(path)
        rows_of = lambda q: db.execute(q).fetchall()
        report("SQLite (WAL, one file)", wall, latencies, verify(rows_of, args.writers, args.runs, args.units), expected)
    finally:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
