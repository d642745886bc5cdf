#!/usr/bin/env bash
# Builds buildscope, self-profiles a cold build of the example workspace shipped in this
# repository, and shows where its compile time went.
#   bash scripts/demo.sh
# Needs only a Rust toolchain (stable): RUSTC_BOOTSTRAP=1 allows -Zself-profile for the
# profiled build alone, which gets its own target directory so no other cache is touched.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build --release --quiet -p buildscope
bin="$root/target/release/buildscope"
demo="$root/target/demo"
rm -rf "$demo/profiles" "$demo/target"
mkdir -p "$demo/profiles"
echo "Profiling a cold build of example-workspace/ ..." >&2
RUSTC_BOOTSTRAP=1 RUSTFLAGS="-Zself-profile=$demo/profiles -Zself-profile-events=default,args" \
  cargo build --quiet --manifest-path example-workspace/Cargo.toml --target-dir "$demo/target"
echo >&2
"$bin" summarize --top 15 "$demo/profiles"
echo
"$bin" summarize --per-crate --top 5 "$demo/profiles"
echo
echo "Profiles are in $demo/profiles; try: $bin summarize --help" >&2
