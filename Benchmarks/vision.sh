#!/usr/bin/env bash
# SmolVLM2 image benchmarks: `smol bench --image` next to llama.cpp's `llama-mtmd-cli` on the same
# bf16 weights, for one 1024x768 image, on SmolVLM2-256M- and SmolVLM2-2.2B-shaped random-weight
# checkpoints. Prints encode time per tile and per image and the time to first token.
#
#   Benchmarks/build_llama_cpp.sh      # once: llama-bench + llama-mtmd-cli (+ GGUFs of MODELS)
#   Benchmarks/vision.sh
#
# Knobs: MODELS (default "bench-smolvlm2-256m-shape bench-smolvlm2-2.2b-shape"), IMAGE (default a
# generated 1024x768 PNG), THREADS (all cores), REPEATS (3), GEN_TOKENS (16), BENCH_WORK,
# GGUF_DIR, MTMD (the llama-mtmd-cli binary), SKIP_SMOL_BUILD=1, RESULTS_DIR.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[ -d /opt/swift/usr/bin ] && export PATH="/opt/swift/usr/bin:$PATH"
[ -d /opt/swift/bin ] && export PATH="/opt/swift/bin:$PATH"
export BENCH_WORK="${BENCH_WORK:-/work/bench-work}"
export GGUF_DIR="${GGUF_DIR:-$BENCH_WORK/gguf}"
export MODELS="${MODELS:-bench-smolvlm2-256m-shape bench-smolvlm2-2.2b-shape}"
export MTMD="${MTMD:-$BENCH_WORK/llama.cpp-build/build/bin/llama-mtmd-cli}"
export THREADS="${THREADS:-$(nproc)}" REPEATS="${REPEATS:-3}" GEN_TOKENS="${GEN_TOKENS:-16}"
export RESULTS_DIR="${RESULTS_DIR:-$BENCH_WORK/results/vision-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$BENCH_WORK" "$RESULTS_DIR"
export IMAGE="${IMAGE:-$BENCH_WORK/bench-1024x768.png}"
[ -f "$IMAGE" ] || python3 "$root/Benchmarks/make_bench_image.py" "$IMAGE"

for m in $MODELS; do
  if [ ! -f "$root/Models/$m/model.safetensors" ]; then
    echo "[vision] making the random-weight checkpoints (scripts/make_vlm_checkpoint.py --bench)" >&2
    "$root/Models/.venv/bin/python" "$root/scripts/make_vlm_checkpoint.py" --bench \
      --tokenizer "$root/Models/SmolLM2-135M-Instruct/tokenizer.json" --out "$root/Models" >&2
    break
  fi
done
if [ "${SKIP_SMOL_BUILD:-0}" != 1 ]; then
  echo "[vision] building smol (release)" >&2
  (cd "$root" && nice -n 10 swift build -c release --product smol -j 2 >&2)
fi
export SMOL="$root/.build/release/smol" ROOT="$root"
exec python3 "$root/Benchmarks/vision_compare.py"
