#!/usr/bin/env bash
# Builds llama.cpp's llama-bench (the reference for Benchmarks/run.sh) and converts the benchmark
# models to GGUF BF16. Everything goes to $BENCH_WORK (default /work/bench-work), outside the repo.
#
# llama.cpp's source comes from PyPI: the llama-cpp-python sdist vendors it
# (0.3.36 -> llama.cpp commit 0c1e570). Steps, each skipped when already done:
#   1. find the sdist (BENCH_WORK, pip's cache/unpack dirs) or fetch it from PyPI's simple API, check sha256
#   2. unpack; apt-get install cmake ninja-build if missing
#   3. cmake + ninja (Release, -march=native, no OpenMP/curl/SSL) -> $BENCH_WORK/llama.cpp-build/build/bin/llama-bench
#   4. a venv ($BENCH_WORK/venv, with system site-packages) holding what convert_hf_to_gguf.py needs
#   5. convert each model in MODELS to $GGUF_DIR/<name>-BF16.gguf
#
# Knobs: BENCH_WORK, GGUF_DIR (default $BENCH_WORK/gguf), MODELS (names under Models/ or paths;
# default "SmolLM2-135M-Instruct bench-smollm3-3b-shape"), JOBS (default 2), NICE (default 10),
# SKIP_BUILD=1, SKIP_CONVERT=1, TARGETS (default "llama-bench llama-mtmd-cli"; add llama-server for
# Benchmarks/agent_replay.py).
#
# The 3B-shape checkpoint is made first when missing (scripts/make_bench_checkpoint.py).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_WORK="${BENCH_WORK:-/work/bench-work}"
GGUF_DIR="${GGUF_DIR:-$BENCH_WORK/gguf}"
MODELS="${MODELS:-SmolLM2-135M-Instruct bench-smollm3-3b-shape}"
JOBS="${JOBS:-2}"
NICE="${NICE:-10}"
# llama-mtmd-cli: the multimodal tool, for the SmolVLM image benchmarks (Benchmarks/vision.sh).
TARGETS="${TARGETS:-llama-bench llama-mtmd-cli}"
VERSION=0.3.36
SDIST="llama_cpp_python-$VERSION.tar.gz"
SRC="$BENCH_WORK/llama_cpp_python-$VERSION/vendor/llama.cpp"
BUILD="$BENCH_WORK/llama.cpp-build/build"
[ -d /opt/swift/usr/bin ] && export PATH="$PATH:/opt/swift/usr/bin"
mkdir -p "$BENCH_WORK"
log() { echo "[build_llama_cpp] $*" >&2; }
sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"

# --- 1. the sdist --------------------------------------------------------------------------------
if [ ! -d "$SRC" ]; then
  if [ ! -f "$BENCH_WORK/$SDIST" ]; then
    found="$(find /tmp "$HOME/.cache/pip" -maxdepth 3 -name "$SDIST" 2>/dev/null | head -n1 || true)"
    if [ -n "$found" ]; then
      log "using $found"
      cp "$found" "$BENCH_WORK/$SDIST.part"
    else
      log "downloading $SDIST from PyPI"
      python3 - "$BENCH_WORK/$SDIST.part" <<'EOF'
import json, sys, urllib.request
req = urllib.request.Request("https://pypi.org/simple/llama-cpp-python/",
                             headers={"Accept": "application/vnd.pypi.simple.v1+json"})
files = json.load(urllib.request.urlopen(req, timeout=120))["files"]
f = next(f for f in files if f["filename"] == "llama_cpp_python-0.3.36.tar.gz")
urllib.request.urlretrieve(f["url"], sys.argv[1])
print(f["hashes"]["sha256"], file=open(sys.argv[1] + ".sha256", "w"))
EOF
    fi
    # Known digest of the 0.3.36 sdist on PyPI.
    want=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
    got="$(sha256sum "$BENCH_WORK/$SDIST.part" | cut -d' ' -f1)"
    if [ "$got" != "$want" ]; then
      log "sha256 mismatch for $SDIST: got $got, want $want"; exit 1
    fi
    rm -f "$BENCH_WORK/$SDIST.part.sha256"
    mv "$BENCH_WORK/$SDIST.part" "$BENCH_WORK/$SDIST"
  fi
  log "unpacking $SDIST"
  tar -xzf "$BENCH_WORK/$SDIST" -C "$BENCH_WORK"
fi

# --- 2-3. build llama-bench ----------------------------------------------------------------------
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  need=()
  command -v cmake >/dev/null 2>&1 || need+=(cmake)
  command -v ninja >/dev/null 2>&1 || need+=(ninja-build)
  if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]}"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need[@]}" >/dev/null
  fi
  if command -v clang >/dev/null 2>&1 && command -v clang++ >/dev/null 2>&1; then
    CC="$(command -v clang)"; CXX="$(command -v clang++)"
  else
    CC="$(command -v cc)"; CXX="$(command -v c++)"
  fi
  if [ ! -f "$BUILD/build.ninja" ]; then
    log "configuring ($CC)"
    cmake -S "$SRC" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
      -DGGML_NATIVE=ON -DGGML_OPENMP=OFF -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
      -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=ON >&2
  fi
  log "building $TARGETS (nice -n $NICE, -j$JOBS)"
  nice -n "$NICE" ninja -C "$BUILD" -j"$JOBS" $TARGETS >&2
  log "llama-bench: $BUILD/bin/llama-bench"
fi

# --- 4. converter environment ----------------------------------------------------------------------
[ "${SKIP_CONVERT:-0}" = 1 ] && exit 0
venv="$BENCH_WORK/venv"
if [ ! -x "$venv/bin/python" ]; then
  log "creating $venv"
  python3 -m venv --system-site-packages "$venv"
fi
# convert_hf_to_gguf.py imports torch at start, imports sentencepiece even for BPE vocabularies,
# and uses transformers' AutoTokenizer; gguf comes from the vendored gguf-py.
"$venv/bin/python" -c 'import numpy' 2>/dev/null || "$venv/bin/pip" install -q numpy
"$venv/bin/python" -c 'import sentencepiece' 2>/dev/null || "$venv/bin/pip" install -q 'sentencepiece>=0.1.98,<0.3.0'
"$venv/bin/python" -c 'import transformers' 2>/dev/null || "$venv/bin/pip" install -q 'transformers==4.57.6'
"$venv/bin/python" -c 'import torch' 2>/dev/null || "$venv/bin/pip" install -q torch

# --- 5. convert ------------------------------------------------------------------------------------
mkdir -p "$GGUF_DIR"
for m in $MODELS; do
  case "$m" in
    /*|./*|../*) dir="$m" ;;
    *) dir="$root/Models/$m" ;;
  esac
  name="$(basename "$dir")"
  out="$GGUF_DIR/$name-BF16.gguf"
  mmproj="$GGUF_DIR/$name-mmproj-BF16.gguf"
  if [ -f "$out" ] && { [ -f "$mmproj" ] || ! grep -q vision_config "$dir/config.json" 2>/dev/null; }; then log "$out exists"; continue; fi
  if [ ! -f "$dir/config.json" ] && [ "$name" = bench-smollm3-3b-shape ]; then
    log "making the 3B-shape checkpoint $dir"
    nice -n "$NICE" python3 "$root/scripts/make_bench_checkpoint.py" --out "$dir" >&2
  fi
  if [ ! -f "$dir/config.json" ]; then
    log "skipping $m: no model at $dir (the default model comes from scripts/setup.sh)"; continue
  fi
  if [ ! -f "$out" ]; then
    log "converting $dir -> $out"
    tmp="$GGUF_DIR/partial-$name-BF16.gguf"
    nice -n "$NICE" "$venv/bin/python" "$SRC/convert_hf_to_gguf.py" "$dir" --outtype bf16 --outfile "$tmp" >&2
    mv "$tmp" "$out"
  fi
  # Vision models (SmolVLM): the vision encoder + projector as llama.cpp's separate mmproj file.
  if grep -q vision_config "$dir/config.json" && [ ! -f "$mmproj" ]; then
    log "converting $dir -> $mmproj"
    tmp="$GGUF_DIR/partial-$name-mmproj-BF16.gguf"
    nice -n "$NICE" "$venv/bin/python" "$SRC/convert_hf_to_gguf.py" "$dir" --mmproj --outtype bf16 --outfile "$tmp" >&2
    mv "$tmp" "$mmproj"
  fi
done
log "done"
