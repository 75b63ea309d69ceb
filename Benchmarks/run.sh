#!/usr/bin/env bash
# SmolRuntime vs llama.cpp on this machine: builds `smol` (release), then for each model runs
# `smol bench` and `llama-bench` with the same prompt/gen lengths and threads, and prints a
# side-by-side table plus the raw numbers. See Benchmarks/README.md.
#
#   Benchmarks/build_llama_cpp.sh     # once: llama-bench + GGUF files (+ the 3B-shape checkpoint)
#   Benchmarks/run.sh                 # pp512/pp4096 + decode at those depths, both models, vs llama.cpp
#   SUITE=compare Benchmarks/run.sh   # the older pp512 / tg128 table (load, TTFT, RSS breakdown)
#   QUICK=1 Benchmarks/run.sh         # quick check: pp64 / tg16, 1 repeat
#   MODELS=SmolLM2-135M-Instruct Benchmarks/run.sh
#
# Knobs (environment): MODELS, LLAMA_BENCH, GGUF_DIR, BENCH_WORK, THREADS, QUICK,
# PROMPT_TOKENS, GEN_TOKENS, REPEATS, TG_AT_DEPTH, RESULTS_DIR, SKIP_SMOL_BUILD=1, NICE
# (niceness of the smol build, default 10). Details in Benchmarks/compare.py.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[ -d /opt/swift/usr/bin ] && export PATH="/opt/swift/usr/bin:$PATH"
[ -d /opt/swift/bin ] && export PATH="/opt/swift/bin:$PATH"

if [ "${SKIP_SMOL_BUILD:-0}" != 1 ]; then
  echo "[run] building smol (release)" >&2
  (cd "$root" && nice -n "${NICE:-10}" swift build -c release --product smol -j 2 >&2)
fi
# SUITE=kernels (default): pp512/pp4096 and decode at those depths, interleaved rounds, % of the
# CPU's roof and bandwidth (Benchmarks/kernels.py). SUITE=compare: the older single-pass table
# (load time, TTFT, RSS breakdown; Benchmarks/compare.py).
case "${SUITE:-kernels}" in
  compare) exec python3 "$root/Benchmarks/compare.py" ;;
  *) exec python3 "$root/Benchmarks/kernels.py" ;;
esac
