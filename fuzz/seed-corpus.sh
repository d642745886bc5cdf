#!/usr/bin/env bash
# Seeds the fuzz corpus with small real profiles made by the real rustc, plus truncations.
#   fuzz/seed-corpus.sh            (writes fuzz/corpus/read_profile/)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
corpus="$here/corpus/read_profile"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$corpus" "$work/src"
printf '[package]\nname = "tiny"\nversion = "0.1.0"\nedition = "2021"\n[workspace]\n' > "$work/Cargo.toml"
printf 'pub fn add<T: std::ops::Add<Output = T>>(a: T, b: T) -> T { a + b }\npub fn f() -> u32 { add(1, 2) }\n' > "$work/src/lib.rs"
(cd "$work" && RUSTC_BOOTSTRAP=1 RUSTFLAGS="-Zself-profile=$work/p -Zself-profile-events=default,args" \
  cargo build -q --offline --target-dir "$work/t")
for f in "$work"/p/*.mm_profdata; do
  name=$(basename "$f")
  size=$(stat -c %s "$f")
  # Whole files over 1 MiB make slow fuzz inputs; keep their head as a truncated case.
  if [ "$size" -le 1048576 ]; then cp "$f" "$corpus/$name"; fi
  head -c 4096 "$f" > "$corpus/head-$name"
done
ls -l "$corpus"
