#!/usr/bin/env bash
# The system packages buildscope's tests and benchmarks need, installed only when missing:
# Chromium, to open the HTML views headless and check they run without console errors;
# mold, so that `experiment --vary linker=mold` and `explain --verify` try that linker for real;
# sccache, so that the build CI really runs (through a compiler cache) is measured for real;
# PostgreSQL's server, for the history's tests on a team's database engine (.ci/run starts a
# throw-away cluster with scripts/pg-throwaway.sh); perf, for `build --sample`'s and
# `profile`'s tests; binutils' strip, for the test of a program without symbols.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v mold >/dev/null 2>&1 || missing+=(mold)
command -v sccache >/dev/null 2>&1 || missing+=(sccache)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v perf >/dev/null 2>&1 || missing+=(linux-perf)
command -v strip >/dev/null 2>&1 || missing+=(binutils)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
command -v chromium mold sccache perf
ls /usr/lib/postgresql/*/bin/initdb
