#!/usr/bin/env python3
"""How often does `buildscope check` cry wolf, and what is the smallest regression it
catches? On a real project (the published source of a binary crate, as
bench/real_projects.py fetches it), built as CI builds it (no incremental compilation):

1. N unchanged hot builds (`check --touch <main source>`), each checked against the history
   the ones before it made: how many alarms at the default thresholds (goal: none);
2. then, against that same history (a copy of the database per level), the main crate made
   slower for real by appending generated functions in growing amounts: the measured change
   of its unit and of the wall time at each level, and whether the defaults caught it.

    bench/check_false_alarms.py [--project cargo-llvm-lines] [--builds 20] [--work DIR]

The project's copy lives in the work folder (the user's sources are never touched); the
planted code is removed at the end.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from experiment_vs_hyperfine import ROOT, run  # noqa: E402
from real_projects import PROJECTS, fetch, main_source  # noqa: E402

# Generated functions appended per level (each a closure over an iterator: real
# monomorphization and code generation), kept alive by a #[used] static.
LEVELS = [10, 20, 30, 40, 60, 100, 200]


def planted(functions):
    body = "".join(
        f"    pub fn f{i}(x: u64) -> u64 {{ let v: Vec<u64> = (0..x).map(|i| i * {i} + 1).collect(); "
        f"v.iter().sum::<u64>() + x.count_ones() as u64 }}\n"
        for i in range(functions)
    )
    calls = " + ".join(f"f{i}(3)" for i in range(functions))
    return (
        "\n#[allow(dead_code)]\nmod buildscope_planted {\n" + body
        + f"    pub fn all() -> u64 {{ {calls} }}\n}}\n"
        + "#[used]\nstatic BUILDSCOPE_PLANTED: fn() -> u64 = buildscope_planted::all;\n"
    )


def check(ours, project, db, source, env):
    """`buildscope check --touch SOURCE --json`: (exit status, document)."""
    done = subprocess.run(
        [ours, "check", "-q", "--json", "--touch", source],
        cwd=project, env=dict(env, BUILDSCOPE_DB=db), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    if done.returncode not in (0, 1):
        sys.exit(f"check failed ({done.returncode}): {done.stderr.decode(errors='replace')}")
    return done.returncode, json.loads(done.stdout)


def measure(doc, name):
    return next((m for m in doc["outcome"]["measures"] if m["measure"] == name), None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--project", default="cargo-llvm-lines")
    ap.add_argument("--builds", type=int, default=20)
    ap.add_argument("--work", default="/work/real-projects")
    args = ap.parse_args()
    version = dict(PROJECTS).get(args.project)
    if version is None:
        sys.exit(f"--project: one of {', '.join(p for p, _ in PROJECTS)}")
    ours = os.path.join(ROOT, "target", "release", "buildscope")
    run(["cargo", "build", "--release", "-q", "-p", "buildscope"], ROOT)
    os.makedirs(args.work, exist_ok=True)
    project = fetch(args.work, args.project, version)
    source = main_source(project)
    env = dict(os.environ, CARGO_INCREMENTAL="0")
    env.pop("CARGO_TARGET_DIR", None)
    db = os.path.join(args.work, f"{args.project}-check.sqlite")
    if os.path.exists(db):
        os.remove(db)

    print(f"== {args.project} {version}: {args.builds} unchanged hot builds (touch {source}), CARGO_INCREMENTAL=0")
    alarms, judged, walls, outliers = 0, 0, [], 0
    unit = None
    for i in range(1, args.builds + 1):
        status, doc = check(ours, project, db, source, env)
        noise = doc["outcome"]["noise_model"]
        judged += noise
        alarms += status == 1
        wall = measure(doc, "wall")
        walls.append(wall["current"])
        if unit is None:
            units = [m for m in doc["outcome"]["measures"] if m["measure"].startswith("unit:")]
            unit = max(units, key=lambda m: m["current"])["measure"]
        crossed = [c for t in doc["outcome"]["thresholds"] for c in t["crossed"]]
        # A first run that crossed and was measured again says so first.
        second_look = [e for e in doc["explanation"] if e.startswith(("confirmed", "not reproduced"))]
        print(f"  {i:2}: wall {wall['current'] / 1e9:.3f} s, {'noise model' if noise else 'no noise model yet'}"
              f"{', ALARM: ' + ', '.join(crossed) if status == 1 else ''}"
              f"{' (' + second_look[0] + ')' if second_look else ''}")
        outliers += any(e.startswith("not reproduced") for e in second_look)
    spread = (max(walls) - min(walls)) / statistics.median(walls) * 100
    print(f"alarms: {alarms} of {judged} judged checks ({args.builds} builds; wall min–max spread {spread:.1f}% "
          f"of the median; {outliers} first run(s) crossed and were not reproduced when measured again)")

    print(f"\n== planted regressions in {unit} (generated functions appended to {source})")
    path = os.path.join(project, source)
    with open(path) as f:
        original = f.read()
    rows = []
    try:
        for functions in LEVELS:
            with open(path, "w") as f:
                f.write(original + planted(functions))
            level_db = db + f".level{functions}"
            shutil.copy(db, level_db)
            status, doc = check(ours, project, level_db, source, env)
            os.remove(level_db)
            u, w = measure(doc, unit), measure(doc, "wall")
            rows.append((functions, u["change"] * 100, w["change"] * 100, status == 1,
                         [c for t in doc["outcome"]["thresholds"] for c in t["crossed"]]))
            print(f"  +{functions:3} functions: {unit} {u['change'] * 100:+.1f}% (noise up to "
                  f"{(u['fence']['high'] / u['baseline'] - 1) * 100:+.1f}%), wall {w['change'] * 100:+.1f}% "
                  f"→ {'caught: ' + ', '.join(rows[-1][4]) if status == 1 else 'passed'}")
    finally:
        with open(path, "w") as f:
            f.write(original)
    caught = [r for r in rows if r[3]]
    if caught:
        smallest = min(caught, key=lambda r: r[1])
        print(f"smallest regression caught: {unit} {smallest[1]:+.1f}% (wall {smallest[2]:+.1f}%)")
    else:
        print("no planted regression was caught")
    missed = [r for r in rows if not r[3]]
    if missed:
        largest = max(missed, key=lambda r: r[1])
        print(f"largest regression passed: {unit} {largest[1]:+.1f}% (wall {largest[2]:+.1f}%)")


if __name__ == "__main__":
    main()
