#!/usr/bin/env python3
"""What llama-quantize writes, for the tests of `smol quantize` (developer-only; CI reads the JSON).

For each type of TYPES, runs llama-quantize (no importance matrix) on the BF16 GGUF of the
default model (SmolLM2-135M-Instruct, converted by llama.cpp's convert_hf_to_gguf.py from the
bf16 folder, so its values are the folder's) and records, for every tensor of the output, its
ggml type and the sha256 of its bytes. `GGUFExportTests` exports the folder with smol's
quantizers and mix rules and must get the same type and the same bytes for every tensor.

It also records the types llama-quantize gives every tensor of the SmolLM3-3B shape at
Q4_K_M / Q5_K_M / Q4_K_S (from the benchmark checkpoint's BF16 GGUF, when given): 256-value
rows everywhere there, so the mix rules (output, attn_v, ffn_down) are seen without fallbacks.

    python scripts/make_llamacpp_quant_reference.py \\
        --llama-quantize /work/bench-work/llama.cpp-build/build/bin/llama-quantize \\
        --bf16 /work/bench-work/gguf/SmolLM2-135M-Instruct-BF16.gguf \\
        --bf16-3b /work/bench-work/gguf/bench-smollm3-3b-shape-BF16.gguf

Needs numpy and gguf (scripts/requirements-model.txt) and a llama.cpp build (Benchmarks/build_llama_cpp.sh).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import tempfile
from pathlib import Path

import gguf
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "Fixtures" / "llamacpp" / "quantize_reference.json"
TYPES = ["Q4_K_M", "Q4_K_S", "Q5_K_M", "Q5_K_S", "Q6_K", "Q5_0", "Q5_1", "Q4_0", "Q4_1", "Q8_0"]
TYPES_3B = ["Q4_K_M", "Q5_K_M", "Q4_K_S"]


def quantize(exe: str, src: str, qtype: str, dst: str) -> None:
    env = dict(os.environ, LD_LIBRARY_PATH=str(Path(exe).parent))
    r = subprocess.run([exe, src, dst, qtype, "2"], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"llama-quantize {qtype} failed:\n{r.stderr[-2000:]}")


def tensors(path: str, with_hash: bool) -> dict[str, dict]:
    out = {}
    for t in gguf.GGUFReader(path).tensors:
        e = {"type": t.tensor_type.name}
        if with_hash:
            e["sha256"] = hashlib.sha256(np.asarray(t.data).view(np.uint8).tobytes()).hexdigest()
        out[t.name] = e
    return out


def version(exe: str) -> str:
    env = dict(os.environ, LD_LIBRARY_PATH=str(Path(exe).parent))
    r = subprocess.run([exe, "--version"], env=env, capture_output=True, text=True)
    return (r.stdout + r.stderr).strip().splitlines()[0] if (r.stdout + r.stderr).strip() else "unknown"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--llama-quantize", required=True)
    ap.add_argument("--bf16", required=True, help="BF16 GGUF of the default model")
    ap.add_argument("--bf16-3b", help="BF16 GGUF of the SmolLM3-3B shape (types only)")
    a = ap.parse_args()
    src_hash = hashlib.sha256(Path(a.bf16).read_bytes()).hexdigest()
    result = {"llama_quantize": version(a.llama_quantize), "source": Path(a.bf16).name, "source_sha256": src_hash,
              "default_model": {}, "smollm3_3b_shape_types": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for q in TYPES:
            dst = f"{tmp}/{q}.gguf"
            quantize(a.llama_quantize, a.bf16, q, dst)
            result["default_model"][q.lower()] = tensors(dst, True)
            os.remove(dst)
            print(q, "done")
        if a.bf16_3b:
            for q in TYPES_3B:
                dst = f"{tmp}/3b-{q}.gguf"
                quantize(a.llama_quantize, a.bf16_3b, q, dst)
                result["smollm3_3b_shape_types"][q.lower()] = {n: e["type"] for n, e in tensors(dst, False).items()}
                os.remove(dst)
                print("3B", q, "done")
    OUT.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
