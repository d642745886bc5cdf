#!/usr/bin/env python3
"""buildscope `trace` and `flamegraph` against measureme's `crox` and `flamegraph` on the
same real profiles, alternating in one run (wall time, CPU time and peak RSS from wait4()).

    MEASUREME_BIN=/path/to/measureme/target/release bench/views_vs_measureme.py [--runs N] [--only trace|flamegraph] [--trace-max-size BYTES]

Every tool writes a new file (the previous run's output is removed and the disk synced
first) into a scratch folder on the same disk. buildscope's trace runs with
--max-size 0 so that both traces hold every interval; --trace-max-size default measures
it as users run it (its default 100 MB limit), any other number with that limit. Without MEASUREME_BIN, buildscope's
figures are reported alone.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from summarize_vs_measureme import ROOT, run  # noqa: E402


def commands(view, ours, mm_dir, path, scratch, trace_max_size="0"):
    """{tool: (command, file it writes)} for one view of one profile."""
    if view == "trace":
        out = os.path.join(scratch, "trace.json")
        limit = [] if trace_max_size == "default" else ["--max-size", trace_max_size]
        cmds = {"buildscope": ([ours, "trace", path, "-o", out] + limit, out)}
        if mm_dir:
            # crox writes chrome_profiler.json into its working directory.
            cmds["crox"] = ([os.path.join(mm_dir, "crox"), path], os.path.join(scratch, "chrome_profiler.json"))
    else:
        out = os.path.join(scratch, "ours.svg")
        cmds = {"buildscope": ([ours, "flamegraph", path, "-o", out], out)}
        if mm_dir:
            # measureme's flamegraph writes rustc.svg into its working directory.
            cmds["flamegraph"] = ([os.path.join(mm_dir, "flamegraph"), path], os.path.join(scratch, "rustc.svg"))
    return cmds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--profiles", default=os.path.join(ROOT, "target", "bench-profiles"))
    ap.add_argument("--only", choices=["trace", "flamegraph"])
    ap.add_argument("--trace-max-size", default="0",
                    help="buildscope trace's --max-size: 0 (none, the default here), default, or bytes")
    args = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "buildscope"], cwd=ROOT, check=True)
    ours = os.path.join(ROOT, "target", "release", "buildscope")
    mm_dir = os.environ.get("MEASUREME_BIN")
    files = [os.path.join(args.profiles, f) for f in ("syn-default-args.mm_profdata", "syn-all.mm_profdata")]
    files = [f for f in files if os.path.exists(f)]
    if not files:
        sys.exit(f"no profiles in {args.profiles}: run bench/make-syn-profiles.sh first")
    print(f"runs per figure: {args.runs} (alternating), medians shown; machine: {os.cpu_count()} CPUs")
    views = [args.only] if args.only else ["trace", "flamegraph"]
    with tempfile.TemporaryDirectory(dir=os.path.join(ROOT, "target")) as scratch:
        for view in views:
            for path in files:
                name = f"{view} {os.path.basename(path)} ({os.path.getsize(path) / 1e6:.1f} MB)"
                cmds = commands(view, ours, mm_dir, path, scratch, args.trace_max_size)
                results = {tool: [] for tool in cmds}
                for _ in range(args.runs):
                    for tool, (cmd, out) in cmds.items():
                        # Every run writes a new file: replacing the previous run's output
                        # would charge the tool for the kernel freeing ~200 MB of cache.
                        if os.path.exists(out):
                            os.remove(out)
                        subprocess.run(["sync"], check=True)
                        results[tool].append(run(cmd, cwd=scratch))
                med = {}
                for tool, samples in results.items():
                    med[tool] = tuple(statistics.median(s[i] for s in samples) for i in range(3))
                    w, c, m = med[tool]
                    size = os.path.getsize(cmds[tool][1]) / 1e6
                    print(f"{name:<50} {tool:<11} {w:>7.3f}s {c:>7.3f}s {m:>8.1f}MiB  wrote {size:.1f} MB")
                theirs = [t for t in cmds if t != "buildscope"]
                if theirs:
                    (ow, _, om), (tw, _, tm) = med["buildscope"], med[theirs[0]]
                    print(f"{'':<50} ratio       {tw / ow:.1f}x faster, peak memory {om / tm:.2f}x {theirs[0]}'s")


if __name__ == "__main__":
    main()
