#!/usr/bin/env python3
"""How fast a buildscope report opens: headless Chromium loads it and runs its script
(--dump-dom returns once the page is built), against an empty page as the baseline
(Chromium's own start-up), medians of N runs alternating.

    bench/report_open.py REPORT.html [--runs 5]

Prints the report's size, Chromium's time on an empty page, on the report, and the
difference: the report's own cost.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def load(browser, url):
    with tempfile.TemporaryDirectory() as profile:
        start = time.perf_counter()
        out = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
             "--window-size=1400,2400", "--dump-dom", url],
            capture_output=True, text=True, check=True)
        elapsed = time.perf_counter() - start
    if "data-ready" not in out.stdout and "empty" not in url:
        sys.exit("the report's script did not finish")
    return elapsed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("report")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    browser = shutil.which("chromium") or sys.exit("chromium not found (scripts/install-system-deps.sh)")
    with tempfile.TemporaryDirectory() as tmp:
        empty = os.path.join(tmp, "empty.html")
        with open(empty, "w") as f:
            f.write("<!DOCTYPE html><title>empty</title><p>empty")
        report = "file://" + os.path.abspath(args.report)
        base, page = [], []
        for _ in range(args.runs):
            base.append(load(browser, "file://" + empty))
            page.append(load(browser, report))
    size = os.path.getsize(args.report) / 1e6
    b, p = statistics.median(base), statistics.median(page)
    print(f"report {args.report}: {size:.2f} MB")
    print(f"chromium, empty page: {b:.2f} s; the report: {p:.2f} s; the report's own cost: {p - b:.2f} s (medians of {args.runs})")


if __name__ == "__main__":
    main()
