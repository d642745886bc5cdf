#!/usr/bin/env python3
"""How fast a buildscope report opens: headless Chromium loads it and runs its script
(--dump-dom returns once the page is built), against an empty page as the baseline
(Chromium's own start-up), medians of N runs alternating.

    bench/report_open.py REPORT.html [--runs 5]

Prints the report's size, Chromium's time on an empty page, on the report, and the
difference: the report's own cost.
"""
import argparse
import html
import json
import os
import re
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


# The report in a frame; once it is built (the frame's load event comes after its script),
# the timeline's zoom and minimum-duration filter are moved as a user would, each change
# timed through the redraw and the layout it forces (reading offsetHeight).
INTERACT = """<!DOCTYPE html><title>interact</title>
<iframe id="f" style="width:1400px;height:2400px"></iframe>
<script>
var f = document.getElementById("f");
f.onload = function () {
  var d = f.contentDocument, times = [];
  var zoom = d.getElementById("zoom"), min = d.getElementById("min-duration");
  [[zoom, "4"], [zoom, "1"], [min, "30"], [min, "0"], [zoom, "8"], [zoom, "1"]].forEach(function (p) {
    var t = performance.now();
    p[0].value = p[1];
    p[0].dispatchEvent(new Event("input"));
    void d.body.offsetHeight;
    times.push(performance.now() - t);
  });
  document.body.setAttribute("data-times", JSON.stringify(times));
};
f.src = "REPORT";
</script>"""


def interactions(browser, report, tmp):
    page = os.path.join(tmp, "interact.html")
    with open(page, "w") as f:
        f.write(INTERACT.replace("REPORT", "file://" + os.path.abspath(report)))
    with tempfile.TemporaryDirectory() as profile:
        out = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
             f"--user-data-dir={profile}", "--window-size=1400,2400", "--dump-dom", "file://" + page],
            capture_output=True, text=True, check=True).stdout
    found = re.search(r'data-times="([^"]*)"', out)
    if not found:
        sys.exit("the interactions did not run (the report's frame did not load)")
    return json.loads(html.unescape(found.group(1)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("report")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--interact", action="store_true",
                    help="also time the timeline's zoom and filter (ms per change, the worst of each run)")
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
        worst = []
        if args.interact:
            for _ in range(args.runs):
                worst.append(max(interactions(browser, args.report, tmp)))
    size = os.path.getsize(args.report) / 1e6
    b, p = statistics.median(base), statistics.median(page)
    print(f"report {args.report}: {size:.2f} MB")
    print(f"chromium, empty page: {b:.2f} s; the report: {p:.2f} s; the report's own cost: {p - b:.2f} s (medians of {args.runs})")
    if worst:
        print(f"timeline zoom and filter: the slowest of six changes, median over {args.runs} loads: "
              f"{statistics.median(worst):.0f} ms (each run's: {', '.join(f'{w:.0f}' for w in worst)})")


if __name__ == "__main__":
    main()
