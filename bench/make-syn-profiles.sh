#!/usr/bin/env bash
# Makes the two real benchmark profiles by self-profiling the `syn` crate in a dev build.
#   bench/make-syn-profiles.sh [OUT_DIR]     (default: target/bench-profiles)
# Writes OUT_DIR/syn-default-args.mm_profdata and OUT_DIR/syn-all.mm_profdata.
# -Z flags are enabled on stable with RUSTC_BOOTSTRAP=1, for these builds only.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(realpath -m "${1:-$here/../target/bench-profiles}")
mkdir -p "$out"
work="$out/syn-crate"
mkdir -p "$work/src"
cat > "$work/Cargo.toml" <<'TOML'
[package]
name = "syn-profile-host"
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
syn = { version = "=2.0.119", features = ["full", "extra-traits", "visit", "visit-mut", "fold"] }

[workspace]
TOML
echo 'pub use syn;' > "$work/src/lib.rs"

profile_syn() { # $1 = event set, $2 = output file name
  local events=$1 name=$2 dir="$out/raw-$2"
  [ -s "$out/$name.mm_profdata" ] && { echo "have $out/$name.mm_profdata"; return; }
  rm -rf "$dir"; mkdir -p "$dir"
  # Build the dependencies unprofiled first, then rebuild only syn with the profiler on.
  (cd "$work" && cargo build -q --target-dir "$out/target-$name")
  (cd "$work" && touch src/lib.rs && cargo clean -q -p syn --target-dir "$out/target-$name")
  (cd "$work" && RUSTC_BOOTSTRAP=1 RUSTFLAGS="-Zself-profile=$dir -Zself-profile-events=$events" \
      cargo build -q --target-dir "$out/target-$name")
  local f; f=$(ls -S "$dir"/syn-*.mm_profdata | head -n 1)
  mv "$f" "$out/$name.mm_profdata"
  rm -rf "$dir"
  ls -l "$out/$name.mm_profdata"
}
profile_syn default,args syn-default-args
profile_syn all syn-all
