#!/usr/bin/env bash
# Builds the libFuzzer targets of Tests/Fuzz (Swift with -sanitize=fuzzer,address and edge
# coverage) and runs one or all of them.
#
#   scripts/fuzz.sh                       # every target, 60 s each (what CI runs)
#   scripts/fuzz.sh FuzzJSON 1800         # one target, a 30-minute campaign
#   scripts/fuzz.sh all 600
#
# Each run starts from the committed seeds (Tests/Fuzz/corpus/TARGET) in a scratch corpus, so
# what a run finds does not land in git. Fails on a crash, a sanitizer report, a leak, an input
# that takes over 2 s, or RSS over 2 GB; the input that did it is kept in
# .build-fuzz/findings/TARGET/ and becomes a regression test. SMOL_FUZZ_SEED fixes libFuzzer's
# seed (scripts/test.sh sets it, so CI's short runs repeat the same mutations).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[ -d /opt/swift/usr/bin ] && export PATH="/opt/swift/usr/bin:$PATH"
cd "$root"
targets_all=(FuzzJSON FuzzWeights FuzzTemplate FuzzRequests FuzzReplyParser FuzzGrammar)
which="${1:-all}"
seconds="${2:-60}"
if [ "$which" = all ]; then targets=("${targets_all[@]}"); else targets=("$which"); fi
for t in "${targets[@]}"; do
  [[ " ${targets_all[*]} " == *" $t "* ]] || { echo "fuzz: unknown target $t (one of: ${targets_all[*]})" >&2; exit 2; }
done

scratch="$root/.build-fuzz"
echo "[fuzz] building ${targets[*]} (fuzzer + address sanitizer)"
for t in "${targets[@]}"; do
  SMOL_FUZZ=1 swift build --scratch-path "$scratch" --product "$t" --sanitize=fuzzer --sanitize=address \
    -Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp 2>&1 | grep -E "error|warning: unre|Compiling|Build" | grep -v "^\[" || true
  [ -x "$scratch/debug/$t" ] || { echo "fuzz: $t did not build" >&2; exit 1; }
done

rc=0
passed=0
failed=0
for t in "${targets[@]}"; do
  corpus="$scratch/corpus/$t"
  findings="$scratch/findings/$t"
  rm -rf "$corpus"; mkdir -p "$corpus" "$findings"
  [ -d "Tests/Fuzz/corpus/$t" ] && cp -r "Tests/Fuzz/corpus/$t/." "$corpus/"
  dict=()
  [ -f "Tests/Fuzz/dict/$t.dict" ] && dict=(-dict="Tests/Fuzz/dict/$t.dict")
  echo "[fuzz] $t for ${seconds}s"
  log="$scratch/$t.log"
  # detect_leaks: LeakSanitizer on every input; 2 s per input and 2 GB of RSS are the limits.
  if ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 LSAN_OPTIONS="suppressions=$root/Tests/Fuzz/lsan.supp" \
       "$scratch/debug/$t" "$corpus" "${dict[@]}" \
       ${SMOL_FUZZ_SEED:+-seed="$SMOL_FUZZ_SEED"} -max_total_time="$seconds" -timeout=2 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
       -artifact_prefix="$findings/" >"$log" 2>&1; then
    stats="$(grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$log" | tr '\n' ' ')"
    edges="$(grep -oE 'cov: [0-9]+' "$log" | tail -1)"
    echo "[fuzz] $t: ok, $edges, $stats"
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "[fuzz] $t: FAILED (log $log, input in $findings)" >&2
    grep -E "ERROR|Fatal error|SUMMARY|==[0-9]+==" "$log" | head -20 >&2 || tail -30 "$log" >&2
    rc=1
  fi
done
echo "fuzz: $passed passed, $failed failed"
exit "$rc"
