#!/usr/bin/env python3
"""What measuring costs a hot rebuild: `touch src/main.rs && cargo build` on a real binary
(clap, regex, serde, serde_json: the experiment benchmark's project), plain against the
same cargo command as buildscope runs it (RUSTC_WRAPPER recording every rustc, the linker
stand-in, cargo's JSON messages), in one run, alternating, each in its own target
directory.

    bench/hot_build_overhead.py [--runs 30] [--work DIR] [--wrapper PATH ...] [--also-build PATH]

Each --wrapper is one more measured side: the program cargo runs as RUSTC_WRAPPER (by
default the release `buildscope`, which plays the wrapper and the linker stand-in). Prints the median hot rebuild of each side and its overhead over plain
cargo, in ms and in percent; and `buildscope build --touch src/main.rs` as users run it
(its measured build's wall time from the run record, with cargo's --timings report), also
with another buildscope binary given by --also-build (an older build, say).
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from experiment_vs_hyperfine import MAIN, MANIFEST, ROOT, run  # noqa: E402


def hot_build(cwd, target, env):
    """touch, then one timed cargo build; returns its wall time in seconds."""
    os.utime(os.path.join(cwd, "src", "main.rs"))
    start = time.perf_counter()
    done = subprocess.run(
        ["cargo", "build", "--message-format=json-diagnostic-rendered-ansi"] if env else ["cargo", "build", "-q"],
        cwd=cwd,
        env=dict(env or os.environ, CARGO_TARGET_DIR=target),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(done.stderr.decode(errors="replace"))
    return wall


def buildscope_measure(ours, cwd, target_dir):
    """One `buildscope build --touch src/main.rs`: the wall time of its measured build, as
    its run record says (the warm-up before it is not counted)."""
    import json

    out = subprocess.run(
        [ours, "build", "--touch", "src/main.rs", "--json", "-q", "--target-dir", target_dir],
        cwd=cwd,
        env=dict(os.environ, BUILDSCOPE_DB=os.path.join(target_dir, "history.sqlite")),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    if out.returncode != 0:
        sys.exit(out.stderr.decode(errors="replace"))
    return json.loads(out.stdout)["wall_ns"]["median"] / 1e9


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--work", default=None)
    ap.add_argument("--wrapper", action="append")
    ap.add_argument("--also-build", help="another buildscope binary whose `build --touch` to time")
    args = ap.parse_args()
    run(["cargo", "build", "--release", "--quiet", "-p", "buildscope"], cwd=ROOT)
    release = os.path.join(ROOT, "target", "release")
    wrappers = args.wrapper or [os.path.join(release, "buildscope")]
    work = args.work or tempfile.mkdtemp(prefix="buildscope-hot-overhead-")
    project = os.path.join(work, "project")
    os.makedirs(os.path.join(project, "src"), exist_ok=True)
    with open(os.path.join(project, "Cargo.toml"), "w") as f:
        f.write(MANIFEST.replace("linkbench", "hotbench"))
    with open(os.path.join(project, "src", "main.rs"), "w") as f:
        f.write(MAIN)
    run(["cargo", "fetch", "--quiet"], cwd=project)

    sides = {"cargo build": None}
    for wrapper in wrappers:
        run_dir = os.path.join(work, "run-" + os.path.basename(wrapper))
        os.makedirs(os.path.join(run_dir, "units"), exist_ok=True)
        sides[os.path.basename(wrapper)] = dict(
            os.environ, RUSTC_WRAPPER=wrapper, BUILDSCOPE_WRAPPER="1", BUILDSCOPE_RUN_DIR=run_dir
        )
    targets = {name: os.path.join(work, "target-" + name.replace(" ", "-")) for name in sides}
    # And the whole tool as users run it (with cargo's --timings report).
    ours = os.path.join(release, "buildscope")
    sides["buildscope build --touch"] = ours
    targets["buildscope build --touch"] = os.path.join(work, "target-buildscope-measure")
    if args.also_build:
        sides["build --touch (--also-build)"] = args.also_build
        targets["build --touch (--also-build)"] = os.path.join(work, "target-also-build")
    # A whole build, then a hot one unmeasured, per side.
    def measure(name):
        if isinstance(sides[name], str):
            return buildscope_measure(sides[name], project, targets[name])
        return hot_build(project, targets[name], sides[name])

    for name in sides:
        measure(name)
        measure(name)
    times = {name: [] for name in sides}
    for i in range(args.runs):
        order = list(sides) if i % 2 == 0 else list(reversed(sides))
        for name in order:
            times[name].append(measure(name))
    plain = statistics.median(times["cargo build"])
    print(f"hot rebuild after `touch src/main.rs`, median of {args.runs} alternating runs; {os.cpu_count()} CPUs")
    print(f"{'side':<28} {'median':>9} {'min':>9} {'max':>9} {'overhead':>16}")
    for name, xs in times.items():
        med = statistics.median(xs)
        over = "" if name == "cargo build" else f"{(med - plain) * 1000:+.1f} ms {100 * (med - plain) / plain:+.1f}%"
        print(f"{name:<28} {med * 1000:8.1f}ms {min(xs) * 1000:8.1f}ms {max(xs) * 1000:8.1f}ms {over:>16}")
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
