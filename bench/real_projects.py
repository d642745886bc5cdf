#!/usr/bin/env python3
"""buildscope on real projects it was not written for: the published sources of
applications at pinned versions, obtained through the package registry (`cargo vendor` of a
scratch project that depends on each brings the crate's whole source with its published
Cargo.lock), each built cold with `--self-profile-crates` and once hot (a one-line edit in
its main source file), then explained.

    bench/real-projects.sh [--work DIR] [--only NAME ...] [--hot-only | --bill [--checkout DIR ...]]

With --bill, the multi-crate workspaces (WORKSPACES) are cloned from their repositories at
pinned tags and built with --workspace too.

Prints, per project and scenario: the measured wall time, the replayed schedule's wall
time, the top three findings with their estimated wall-time saving, and the cost centres
of 5% of the wall or more with the findings acting on each (or its no-lever line); for the hot
builds, the roots of the rebuild and how many units had no known reason. With --bill, one
cold build each (no self-profiles) and its bill: the five costliest dependency lines, the
features that turn on optional dependencies, and every dependency finding. The review of
each finding (correct? actionable?) is a person's, in bench/RESULTS.md.
"""
import argparse
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from experiment_vs_hyperfine import ROOT, run  # noqa: E402

# (package, version): binaries from crates.io whose published Cargo.lock builds on the
# machine's toolchain.
PROJECTS = [
    ("ripgrep", "14.1.1"),
    ("hyperfine", "1.19.0"),
    ("fd-find", "10.2.0"),
    ("tokei", "12.1.2"),
    ("cargo-llvm-lines", "0.4.42"),
    # A cold build with C compiled by build scripts (oniguruma, libgit2 with its default
    # features), and many derives.
    ("bat", "0.24.0"),
    # Derives throughout its own code (clap, serde, strum, snafu) and its dependencies'.
    ("just", "1.36.0"),
    # An async HTTP client: tokio, hyper, reqwest, rustls with its cryptography built by a
    # build script (C and assembly).
    ("xh", "0.26.3"),
]

# (name, repository, tag): multi-crate workspaces, from their repositories (crates.io has
# each member alone, not the workspace), built with --workspace by --bill.
WORKSPACES = [
    # The root package and nine members under crates/.
    ("ripgrep", "https://github.com/BurntSushi/ripgrep", "14.1.1"),
]

# Findings about the dependency graph, printed in full by --bill.
DEPENDENCY_CAUSES = {
    "duplicate-dependency",
    "host-copies",
    "dependency-of-one-member",
    "build-script-on-critical-path",
    "proc-macro-crate-on-critical-path",
}


def fetch(work, package, version):
    """The published source of package@version as a project of its own."""
    project = os.path.join(work, f"{package}-{version}")
    if os.path.exists(os.path.join(project, "Cargo.toml")):
        return project
    scratch = os.path.join(work, f"scratch-{package}")
    os.makedirs(os.path.join(scratch, "src"), exist_ok=True)
    with open(os.path.join(scratch, "Cargo.toml"), "w") as f:
        f.write(f'[package]\nname = "scratch"\nversion = "0.1.0"\nedition = "2021"\npublish = false\n\n'
                f'[dependencies]\n{package} = "={version}"\n\n[workspace]\n')
    with open(os.path.join(scratch, "src", "main.rs"), "w") as f:
        f.write("fn main() {}\n")
    run(["cargo", "vendor", "--quiet", "vendor"], cwd=scratch)
    shutil.copytree(os.path.join(scratch, "vendor", package), project)
    os.remove(os.path.join(project, ".cargo-checksum.json"))
    # A project of its own, not a member of any workspace above it.
    with open(os.path.join(project, "Cargo.toml")) as f:
        manifest = f.read()
    if "[workspace]" not in manifest:
        with open(os.path.join(project, "Cargo.toml"), "a") as f:
            f.write("\n[workspace]\n")
    shutil.rmtree(scratch)
    return project


def fetch_workspace(work, name, repository, tag):
    """The workspace `name` at `tag`, cloned once into `work`."""
    checkout = os.path.join(work, f"{name}-workspace-{tag}")
    if not os.path.exists(os.path.join(checkout, "Cargo.toml")):
        run(["git", "clone", "--quiet", "--depth", "1", "--branch", tag, repository, checkout], cwd=work)
    return checkout


def main_source(project):
    """The first binary's source file (else the library's)."""
    meta = json.loads(run(["cargo", "metadata", "--no-deps", "--format-version", "1"], cwd=project))
    targets = meta["packages"][0]["targets"]
    for kind in ("bin", "lib"):
        for t in targets:
            if kind in t["kind"]:
                return os.path.relpath(t["src_path"], project)
    sys.exit(f"{project}: no bin or lib target")


def buildscope(ours, project, db, args):
    """`buildscope ARGS` in `project` with the history `db`; its stdout (exits on failure)."""
    env = dict(os.environ, BUILDSCOPE_DB=db)
    env.pop("CARGO_TARGET_DIR", None)
    return run([ours] + args, cwd=project, env=env)


def rebuild_summary(ours, project, db):
    """The roots of the latest run's rebuild, and the units whose reason is unknown."""
    why = json.loads(buildscope(ours, project, db, ["why", "--json"]))
    unknown = sum(1 for u in why["units"] for step in u["chain"][:1] if step["reason"]["kind"] == "other")
    roots = [f"{r['package']}: {r['reason']['kind']} ({len(r['cascade'])} more units, {r['wall_ns'] / 1e9:.2f} s wall)"
             for r in why["roots"]]
    return {"units": len(why["units"]), "unknown": unknown, "roots": roots}


def summary(ours, project, db, scenario):
    ex = json.loads(buildscope(ours, project, db, ["explain", "--json"]))
    s = ex.get("schedule") or {}
    rows = []
    for f in ex["findings"][:3]:
        cpu = f" ({f['cpu_ns'] / 1e9:.2f} s CPU)" if f.get("cpu_ns") is not None else ""
        rows.append(f"{f['title']} — {f['estimate_ns'] / 1e9:.2f} s wall{cpu}")
    centres = []
    for c in (ex.get("cost_centres") or {}).get("centres", []):
        if not c["named"]:
            continue
        lever = (", ".join(f"finding {i + 1} ({ex['findings'][i]['cause']})" for i in c["findings"])
                 or f"no lever: {c.get('no_lever', '')}")
        centres.append(f"{c['title']} {c['wall_ns'] / 1e9:.2f} s ({100 * c['share']:.0f}%): {lever}")
    return {
        "scenario": scenario,
        "centres": centres,
        "measured": s.get("measured_wall_ns", 0) / 1e9,
        "simulated": s.get("simulated_wall_ns", 0) / 1e9,
        "work_bound": s.get("work_bound_ns", 0) / 1e9,
        "chain_bound": s.get("chain_bound_ns", 0) / 1e9,
        "findings": rows,
    }


def bill_summary(ours, project, db):
    """The bill's top five lines and features, and every dependency finding, of the latest
    (cold) run, as Markdown."""
    ex = json.loads(buildscope(ours, project, db, ["explain", "--json"]))
    bill = ex.get("bill") or {"lines": [], "features": [], "wall_ns": 0, "dependency_ns": 0}
    out = [f"cold build {bill['wall_ns'] / 1e9:.1f} s wall, {bill['dependency_ns'] / 1e9:.1f} s of unit time in dependencies", ""]
    out.append("| line | kind | only it brings in | unit time | wall saving |")
    out.append("|---|---|---|---|---|")
    for line in [l for l in bill["lines"] if l["price"]["units"] > 0][:5]:
        p = line["price"]
        brings = ", ".join(x["package"] for x in p["packages"][:4]) + (f" and {len(p['packages']) - 4} more" if len(p["packages"]) > 4 else "")
        out.append(f"| {line['member']} → {line['package']} {line['version']} | {line['kind']} | {brings} | "
                   f"{p['unit_ns'] / 1e9:.2f} s | {p['wall_saving_ns'] / 1e9:.2f} s |")
    for f in bill["features"][:5]:
        out.append(f"\nfeature: {f['member']} → {f['package']} `{f['feature']}` turns on {', '.join(f['enables'])}: "
                   f"{f['price']['unit_ns'] / 1e9:.2f} s of unit time, {f['price']['wall_saving_ns'] / 1e9:.2f} s wall")
    findings = [f for f in ex["findings"] if f["cause"] in DEPENDENCY_CAUSES]
    out.append("")
    out.append(f"dependency findings ({len(findings)}):")
    for f in findings:
        out.append(f"- {f['title']} — {f['estimate_ns'] / 1e9:.2f} s wall. Fix: {f['fix']}")
    out.append(f"top three findings: {[f['title'] for f in ex['findings'][:3]]}")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default=os.path.join(ROOT, "target", "real-projects"))
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--hot-only", action="store_true", help="skip the cold builds")
    ap.add_argument("--bill", action="store_true",
                    help="cold builds without self-profiles: the bill and the dependency findings")
    ap.add_argument("--checkout", action="append", default=[], metavar="DIR",
                    help="with --bill: also the multi-crate workspace checked out at DIR (built "
                         "with --workspace); the pinned WORKSPACES are cloned unless --only "
                         "leaves them out")
    args = ap.parse_args()
    run(["cargo", "build", "--release", "--quiet", "-p", "buildscope"], cwd=ROOT)
    ours = os.path.join(ROOT, "target", "release", "buildscope")
    os.makedirs(args.work, exist_ok=True)
    results = []
    for package, version in PROJECTS:
        if args.only and package not in args.only:
            continue
        project = fetch(args.work, package, version)
        db = os.path.join(args.work, f"{package}.sqlite")
        source = main_source(project)
        print(f"== {package} {version} (edit: {source})", flush=True)
        if args.bill:
            buildscope(ours, project, db, ["build", "--cold", "-q"])
            print(bill_summary(ours, project, db), flush=True)
            continue
        if not args.hot_only:
            buildscope(ours, project, db, ["build", "--cold", "--self-profile-crates", "-q"])
            results.append((package, version, summary(ours, project, db, "cold")))
        buildscope(ours, project, db, ["build", "--edit", source, "--self-profile-crates", "-q"])
        hot = summary(ours, project, db, f"hot: edit {source}")
        hot["rebuild"] = rebuild_summary(ours, project, db)
        results.append((package, version, hot))
    checkouts = list(args.checkout)
    if args.bill:
        checkouts += [fetch_workspace(args.work, name, repository, tag)
                      for name, repository, tag in WORKSPACES
                      if not args.only or name in args.only]
    for checkout in checkouts if args.bill else []:
        name = os.path.basename(os.path.normpath(checkout))
        db = os.path.join(args.work, f"{name}-workspace.sqlite")
        print(f"== {name} (a workspace checkout, --workspace)", flush=True)
        buildscope(ours, checkout, db, ["build", "--cold", "-q", "--workspace"])
        print(bill_summary(ours, checkout, db), flush=True)
    print()
    print("| project | scenario | measured wall | replayed wall | work / cores | longest chain | top findings (estimated wall saving) |")
    print("|---|---|---|---|---|---|---|")
    for package, version, r in results:
        findings = "<br>".join(f"{i + 1}. {f}" for i, f in enumerate(r["findings"])) or "no finding"
        print(f"| {package} {version} | {r['scenario']} | {r['measured']:.2f} s | {r['simulated']:.2f} s "
              f"({100 * (r['simulated'] - r['measured']) / max(r['measured'], 1e-9):+.0f}%) | "
              f"{r['work_bound']:.2f} s | {r['chain_bound']:.2f} s | {findings} |")
    print()
    print("| project | scenario | cost centres of 5% or more: what acts on each |")
    print("|---|---|---|")
    for package, version, r in results:
        print(f"| {package} {version} | {r['scenario']} | {'<br>'.join(r['centres']) or '-'} |")
    rebuilds = [(p, v, r) for p, v, r in results if "rebuild" in r]
    if rebuilds:
        print()
        print("| project | scenario | units rebuilt | with no known reason | roots of the rebuild |")
        print("|---|---|---|---|---|")
        for package, version, r in rebuilds:
            b = r["rebuild"]
            print(f"| {package} {version} | {r['scenario']} | {b['units']} | {b['unknown']} | {'<br>'.join(b['roots']) or '-'} |")


if __name__ == "__main__":
    main()
