#!/usr/bin/env python3
"""Runs `smol bench --image` and llama.cpp's `llama-mtmd-cli` on the same image and weights and
prints a table (see Benchmarks/vision.sh for the knobs). Python stdlib only."""
import json
import os
import re
import statistics
import subprocess
import sys
import time


def env(k):
    return os.environ[k]


def run_smol(model_dir):
    cmd = [env("SMOL"), "bench", "--model", model_dir, "--image", env("IMAGE"), "--gen-tokens", env("GEN_TOKENS"),
           "--repeats", env("REPEATS"), "--threads", env("THREADS"), "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def stamp(line):
    """llama.cpp's log prefix M.SS.mmm.uuu (time since start) in seconds."""
    m = re.match(r"(\d+)\.(\d+)\.(\d+)\.(\d+) ", line)
    return int(m[1]) * 60 + int(m[2]) + int(m[3]) / 1e3 + int(m[4]) / 1e6 if m else None


def run_mtmd(name):
    """llama-mtmd-cli with one generated token: its log gives the encoder time per batch of
    slices; time to first token is the wall time after the model is loaded."""
    gguf = os.path.join(env("GGUF_DIR"), f"{name}-BF16.gguf")
    mmproj = os.path.join(env("GGUF_DIR"), f"{name}-mmproj-BF16.gguf")
    for f in (env("MTMD"), gguf, mmproj):
        if not os.path.exists(f):
            return None, f"missing {f}"
    runs = []
    for _ in range(int(env("REPEATS"))):
        cmd = [env("MTMD"), "-m", gguf, "--mmproj", mmproj, "--image", env("IMAGE"), "-p", "Describe this image.",
               "-n", "1", "-t", env("THREADS"), "--temp", "0", "--no-warmup", "-c", "4096"]
        t0 = time.time()
        p = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.time() - t0
        log = p.stdout + p.stderr
        with open(os.path.join(env("RESULTS_DIR"), f"mtmd-{name}.log"), "a") as f:
            f.write(log)
        if p.returncode != 0:
            return None, f"llama-mtmd-cli failed (rc {p.returncode}), see {env('RESULTS_DIR')}"
        enc = sum(float(x) for x in re.findall(r"mtmd batch encoding done in (\d+) ms", log))
        slices = sum(int(x) for x in re.findall(r"encoding mtmd batch, n_chunks = (\d+)", log))
        loaded = next((stamp(l) for l in log.splitlines() if "main: loading model" in l), None)
        runs.append({"encode_ms": enc, "slices": slices, "ttft": wall - loaded if loaded is not None else None})
    med = lambda k: statistics.median([r[k] for r in runs if r[k] is not None]) if any(r[k] is not None for r in runs) else None
    return {k: med(k) for k in runs[0]}, None


def main():
    rows = []
    for name in env("MODELS").split():
        model_dir = name if os.path.isabs(name) else os.path.join(env("ROOT"), "Models", name)
        s = run_smol(model_dir)
        with open(os.path.join(env("RESULTS_DIR"), f"smol-{os.path.basename(name)}.json"), "w") as f:
            json.dump(s, f, indent=1)
        l, why = run_mtmd(os.path.basename(name))
        rows.append((os.path.basename(name), s, l, why))
    print(f"\nimage {env('IMAGE')}, {env('THREADS')} threads, bf16 weights, median of {env('REPEATS')}\n")
    print("| model | engine | tiles | encode (all tiles) | per tile | time to first token | decode tok/s |")
    print("|---|---|---|---|---|---|---|")
    for name, s, l, why in rows:
        print(f"| {name} | smol | {s['tiles']} | {s['encode_seconds'] * 1000:.0f} ms | {s['encode_ms_per_tile']:.0f} ms | "
              f"{s['time_to_first_token_seconds']:.2f} s | {s['decode_tokens_per_second']:.1f} |")
        if l:
            per = l["encode_ms"] / max(l["slices"], 1)
            print(f"| {name} | llama.cpp (llama-mtmd-cli) | {l['slices']:.0f} | {l['encode_ms']:.0f} ms | {per:.0f} ms | "
                  f"{l['ttft']:.2f} s | (llama-bench) |")
        else:
            print(f"| {name} | llama.cpp | - | - | - | - | {why} |")
    print(f"\nraw results: {env('RESULTS_DIR')}")


if __name__ == "__main__":
    sys.exit(main())
