#!/usr/bin/env bash
# How compile time grows for each built-in generator of `buildscope scale`, on the stable
# toolchain and on nightly: a table row per shape and toolchain (sizes, wall at the largest,
# the CPU exponent with its interval, the fastest-growing phase or query).
#
#   bench/scale_shapes.sh [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/buildscope-scale-bench}
cargo build --release -q -p buildscope
bin=target/release/buildscope
declare -A sizes=(
  [functions]=2000,4000,8000,16000
  [generic-instances]=500,1000,2000,4000
  [trait-impls]=500,1000,2000,4000
  [derives]=250,500,1000,2000
  [match-arms]=1000,2000,4000,8000
  [nested-closures]=25,50,100,150
  [deep-types]=25,50,100,200
  [iterator-chain]=20,40,60,80
)
echo "| shape | toolchain | sizes | wall at the largest | CPU exponent (95%) | CPU growth | fastest-growing phase or query |"
echo "|---|---|---|---|---|---|---|"
for shape in functions generic-instances trait-impls derives match-arms nested-closures deep-types iterator-chain; do
  for toolchain in stable nightly; do
    mkdir -p "$work"
    "$bin" scale --shape "$shape" --sizes "${sizes[$shape]}" --runs 2 --toolchain "$toolchain" \
      --work "$work/$shape-$toolchain" --json -q > "$work/$shape-$toolchain.json" 2>"$work/$shape-$toolchain.err" || {
        echo "| $shape | $toolchain | ${sizes[$shape]} | failed: $(tail -1 "$work/$shape-$toolchain.err") | | | |"; continue; }
    python3 - "$work/$shape-$toolchain.json" "$shape" "$toolchain" "${sizes[$shape]}" <<'PY'
import json, sys, statistics
doc = json.load(open(sys.argv[1]))
m = {x["measure"]: x for x in doc["measures"]}
wall = m["wall"]["points"][-1]["values"]
cpu = m["cpu"].get("fit")
fails = "; ".join(f"n={n}: {why[:60]}" for n, why in doc["failures"])
cell = (f"{cpu['exponent']:.2f} [{cpu['interval'][0]:.2f}, {cpu['interval'][1]:.2f}]" if cpu else "-")
growth = cpu["growth"] if cpu else "-"
wall_cell = f"{statistics.median(wall) / 1e9:.2f} s" if wall else "-"
print(f"| {sys.argv[2]} | {sys.argv[3]} | {sys.argv[4]} | {wall_cell} | {cell} | {growth} | {doc.get('headline') or '-'}{' (' + fails + ')' if fails else ''} |")
PY
  done
done
