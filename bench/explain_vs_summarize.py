#!/usr/bin/env python3
"""What explaining a profile costs against summarizing it: `buildscope explain` (the
findings need the summaries plus the longest item queries, proc-macro expansions and every
`symbol_name` instance) against `buildscope summarize` on the same self-profile, alternating
in one run.

    bench/explain_vs_summarize.py [--runs 5] [--types 50] [--events all] [--work DIR] [--also PATH]
    bench/explain_vs_summarize.py --run RUN_DIR [--runs 5] [--also PATH]

The profile: one crate with a generic function instantiated for `--types` types (the
explain tests' monomorphization project, larger), compiled by rustc with
`-Zself-profile-events=--events` (RUSTC_BOOTSTRAP=1 for that rustc only). `--also` times
another buildscope binary's explain on the same profile (an older build, say). Prints
medians and the ratio explain / summarize.

With --run, the profiles are a whole build's instead: a run folder of `buildscope build
--cold --self-profile` (e.g. hyperfine 1.19.0 from bench/real-projects.sh: 95 profiles,
1.3 GB), explained as a run (the findings, the schedule, the bill) against `summarize` of
its profiles.
"""
import argparse
import glob
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from summarize_vs_measureme import ROOT, run  # noqa: E402


def library(types):
    lib = [
        "use std::collections::BTreeMap;",
        "use std::fmt::Debug;",
        "pub fn render<T: Debug + Clone + Default + PartialEq + Ord>(items: &[T]) -> String {",
        "    let mut sorted: Vec<T> = items.to_vec();",
        "    sorted.sort();",
        "    sorted.dedup();",
        "    let mut counts: BTreeMap<T, usize> = BTreeMap::new();",
        "    for item in items { *counts.entry(item.clone()).or_insert(0) += 1; }",
        "    let mut out = String::new();",
        "    for (item, n) in &counts { out.push_str(&format!(\"{item:?}={n};\")); }",
        "    let defaults = sorted.iter().filter(|x| **x == T::default()).count();",
        "    let max = sorted.iter().max().cloned().unwrap_or_default();",
        "    format!(\"{out} {defaults} {max:?} {:?}\", sorted.first())",
        "}",
    ]
    for i in range(types):
        lib.append(f"#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)] pub struct Ty{i}(pub u64, pub String);")
    lib.append("pub fn all() -> Vec<String> { vec![")
    lib += [f"    render(&[Ty{i}::default(), Ty{i}(1, \"x\".into())])," for i in range(types)]
    lib.append("] }")
    return "\n".join(lib) + "\n"


def make_profile(work, types, events):
    src = os.path.join(work, "mono.rs")
    with open(src, "w") as f:
        f.write(library(types))
    profiles = os.path.join(work, "profiles")
    shutil.rmtree(profiles, ignore_errors=True)
    os.makedirs(profiles)
    rustc = os.environ.get("RUSTC", "rustc")
    subprocess.run(
        [rustc, "--crate-type", "lib", "--edition", "2021", "--crate-name", "mono",
         f"-Zself-profile={profiles}", f"-Zself-profile-events={events}", "--out-dir", work, src],
        env=dict(os.environ, RUSTC_BOOTSTRAP="1"), check=True,
    )
    return profiles


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--types", type=int, default=50)
    ap.add_argument("--events", default="all")
    ap.add_argument("--work")
    ap.add_argument("--also", help="another buildscope binary whose explain to time")
    ap.add_argument("--run", help="a run folder of a whole build with --self-profile")
    args = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "buildscope"], cwd=ROOT, check=True)
    ours = os.path.join(ROOT, "target", "release", "buildscope")
    work = args.work or tempfile.mkdtemp(prefix="buildscope-explain-bench-")
    os.makedirs(work, exist_ok=True)
    target = profiles = os.path.join(args.run, "profiles") if args.run else make_profile(work, args.types, args.events)
    if args.run:
        target = args.run
    size = sum(os.path.getsize(p) for p in glob.glob(os.path.join(profiles, "*")))
    cmds = {
        "summarize": [ours, "summarize", profiles],
        "explain": [ours, "explain", target],
    }
    if args.also:
        cmds["explain (--also)"] = [args.also, "explain", target]
    times = {name: [] for name in cmds}
    for i in range(args.runs):
        for name in (list(cmds) if i % 2 == 0 else list(reversed(cmds))):
            times[name].append(run(cmds[name])[0])
    what = (f"the run {args.run}" if args.run
            else f"one crate, a generic function for {args.types} types, -Zself-profile-events={args.events}")
    print(f"{what}: {len(glob.glob(os.path.join(profiles, '*')))} profiles, {size / 1e6:.1f} MB; "
          f"medians of {args.runs} alternating runs; {os.cpu_count()} CPUs")
    base = statistics.median(times["summarize"])
    for name, xs in times.items():
        med = statistics.median(xs)
        print(f"{name:<18} {med:7.3f} s   {med / base:5.2f}x summarize")
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
