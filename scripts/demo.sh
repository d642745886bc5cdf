#!/usr/bin/env bash
# Builds buildscope, then measures a cold build of the example workspace shipped in this
# repository (every unit, the critical path, self-profiles of its crates), shows where
# the compile time went and why (explain), a hot rebuild, an experiment with the usual
# dev-loop settings, the history, and the report.
#   bash scripts/demo.sh
# Needs only a Rust toolchain (stable). The measured build runs in a target directory of its
# own (example-workspace/target/buildscope/), so no other cache is touched, and its history
# goes to target/demo/history.sqlite.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build --release --quiet -p buildscope
bin="$root/target/release/buildscope"
export BUILDSCOPE_DB="$root/target/demo/history.sqlite"
cd example-workspace
"$bin" build --cold --self-profile-crates --self-profile-events default,args
echo
latest=$(ls -td target/buildscope/runs/*/profiles | head -n 1)
"$bin" summarize --per-crate --top 5 "$latest"
echo
"$bin" explain --top 3
echo
"$bin" build --edit geometry/src/lib.rs --runs 3
echo
# Prove a fix: the dev-loop candidates, each alone against the project as it is.
"$bin" experiment --touch report/src/main.rs --preset fast-dev --runs 3
echo
"$bin" runs
echo
echo "The cold build's report (open it in a browser): $(dirname "$latest")/report.html"
