#!/usr/bin/env python3
"""buildscope `trace` against measureme's `crox` on the same real profiles, alternating in
one run (wall time, CPU time and peak RSS from wait4()).

    MEASUREME_BIN=/path/to/measureme/target/release bench/trace_vs_crox.py [--runs N]

Both write their trace to a scratch folder on the same disk; buildscope runs with
--max-size 0 so both write every interval. Without MEASUREME_BIN, buildscope's figures
are reported alone.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from summarize_vs_measureme import ROOT, run  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--profiles", default=os.path.join(ROOT, "target", "bench-profiles"))
    args = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "buildscope"], cwd=ROOT, check=True)
    ours = os.path.join(ROOT, "target", "release", "buildscope")
    mm_dir = os.environ.get("MEASUREME_BIN")
    crox = os.path.join(mm_dir, "crox") if mm_dir else None
    files = [os.path.join(args.profiles, f) for f in ("syn-default-args.mm_profdata", "syn-all.mm_profdata")]
    files = [f for f in files if os.path.exists(f)]
    if not files:
        sys.exit(f"no profiles in {args.profiles}: run bench/make-syn-profiles.sh first")
    print(f"runs per figure: {args.runs} (alternating), medians shown; machine: {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(dir=os.path.join(ROOT, "target")) as scratch:
        for path in files:
            name = f"{os.path.basename(path)} ({os.path.getsize(path) / 1e6:.1f} MB)"
            ours_out = os.path.join(scratch, "trace.json")
            cmds = {"buildscope": [ours, "trace", path, "-o", ours_out, "--max-size", "0"]}
            if crox:
                # crox writes chrome_profiler.json into its working directory.
                cmds["crox"] = [crox, path]
            results = {tool: [] for tool in cmds}
            for _ in range(args.runs):
                for tool, cmd in cmds.items():
                    results[tool].append(run(cmd, cwd=scratch))
            sizes = {"buildscope": os.path.getsize(ours_out)}
            if crox:
                sizes["crox"] = os.path.getsize(os.path.join(scratch, "chrome_profiler.json"))
            med = {}
            for tool, samples in results.items():
                med[tool] = tuple(statistics.median(s[i] for s in samples) for i in range(3))
                w, c, m = med[tool]
                print(f"{name:<40} {tool:<11} {w:>7.3f}s {c:>7.3f}s {m:>8.1f}MiB  wrote {sizes[tool] / 1e6:.1f} MB")
            if crox:
                (ow, _, om), (tw, _, tm) = med["buildscope"], med["crox"]
                print(f"{'':<40} ratio       {tw / ow:.1f}x faster, peak memory {om / tm:.2f}x crox's")


if __name__ == "__main__":
    main()
