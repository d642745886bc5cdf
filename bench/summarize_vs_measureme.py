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


def run(cmd, cwd=None):
    """Runs cmd with stdout discarded; returns (wall s, cpu s, peak RSS MiB)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cwd)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if status != 0:
        sys.exit(f"failed ({status}): {' '.join(cmd)}\n{err}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def agreement(ours, theirs, path):
    """Compares buildscope's figures with measureme's on one profile; returns a report line."""
    import json
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        # measureme writes its JSON next to the input: give it a link in a scratch folder.
        link = os.path.join(tmp, os.path.basename(path))
        os.symlink(path, link)
        subprocess.run([theirs, "summarize", "--json", link], check=True, stdout=subprocess.DEVNULL)
        with open(link[: -len(".mm_profdata")] + ".json") as f:
            mm = json.load(f)
    out = subprocess.run([ours, "summarize", "--json", path], check=True, capture_output=True)
    bs = json.loads(out.stdout)
    ns = lambda d: d["secs"] * 1_000_000_000 + d["nanos"]
    ours_rows = {r["label"]: r for r in bs["rows"]}
    same, time_differs, mismatched = 0, [], []
    for q in mm["query_data"]:
        label = "<unresolved>" if q["label"] == "<unknown>" else q["label"]
        r = ours_rows.get(label)
        if r is None:
            if ns(q["self_time"]) or q["invocation_count"] or q["number_of_cache_hits"]:
                mismatched.append(label)
            continue
        if (r["self_time_ns"], r["count"], r["cache_hits"], r["blocked_time_ns"]) != (
            ns(q["self_time"]), q["invocation_count"], q["number_of_cache_hits"], ns(q["blocked_time"])
        ):
            mismatched.append(label)
            continue
        same += 1
        if r["time_ns"] != ns(q["time"]):
            time_differs.append((label, r["time_ns"], ns(q["time"])))
    total_same = bs["total_cpu_time_ns"] == ns(mm["total_time"])
    line = (f"agreement with measureme: {same} labels identical in self time, count, cache hits and "
            f"blocked time; {len(mismatched)} differ{(' ' + str(mismatched[:5])) if mismatched else ''}; "
            f"total CPU time {'identical' if total_same else 'DIFFERS'}; "
            f"time lower on {len(time_differs)} labels (recursion counted once)")
    if time_differs:
        worst = max(time_differs, key=lambda t: t[2] - t[1])
        line += f", largest: {worst[0]} {worst[1] / 1e6:.1f} ms vs {worst[2] / 1e6:.1f} ms"
    return line


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
        if theirs:
            print(f"{name}: {agreement(ours, theirs, path)}")
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
