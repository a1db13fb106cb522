#!/usr/bin/env bash
# Runs every fuzz target of fuzz/ for SECONDS each (cargo-fuzz, libFuzzer, AddressSanitizer).
# The corpus of each target starts from its kept inputs (fuzz/regressions/<target>/) and, for
# documents, the test fixtures. A crash is copied into fuzz/regressions/<target>/ (so that
# `make test` replays it from then on) and the script fails.
# usage: fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
# cargo-fuzz passes -Z flags; the machine's one toolchain is stable.
export RUSTC_BOOTSTRAP=1
failed=0
for t in document zk_text decoders; do
  corpus=fuzz/corpus/$t
  mkdir -p "$corpus" "fuzz/artifacts/$t"
  cp -n fuzz/regressions/$t/* "$corpus"/ 2>/dev/null || true
  if [ "$t" = document ]; then
    cp -n tests/fixtures/invalid/*.yaml manifests/examples/*.yaml "$corpus"/ 2>/dev/null || true
  fi
  log=$(mktemp)
  if cargo fuzz run --fuzz-dir fuzz "$t" "$corpus" -- -max_total_time="$secs" \
      -artifact_prefix="fuzz/artifacts/$t/" -rss_limit_mb=2048 >"$log" 2>&1; then
    runs=$(grep -oE 'Done [0-9]+ runs' "$log" | tail -1 | grep -oE '[0-9]+' || echo '?')
    echo "fuzz: $t: $runs executions in ${secs}s, no crash (corpus $(ls "$corpus" | wc -l) inputs)"
  else
    failed=1
    tail -40 "$log"
    for a in fuzz/artifacts/$t/*; do
      [ -f "$a" ] && cp "$a" "fuzz/regressions/$t/" && echo "fuzz: $t: kept $(basename "$a") in fuzz/regressions/$t/"
    done
  fi
  rm -f "$log"
done
exit $failed
