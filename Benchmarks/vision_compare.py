#!/usr/bin/env python3
"""Runs `smol bench --image` and llama.cpp's `llama-mtmd-cli` on the same image and weights and
prints a table (see Benchmarks/vision.sh for the knobs). Python stdlib only."""
import json
import os
import re
import statistics
import subprocess
import sys


def env(k):
    return os.environ[k]


def run_smol(model_dir):
    cmd = [env("SMOL"), "bench", "--model", model_dir, "--image", env("IMAGE"), "--gen-tokens", env("GEN_TOKENS"),
           "--repeats", env("REPEATS"), "--threads", env("THREADS"), "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_mtmd(name):
    gguf = os.path.join(env("GGUF_DIR"), f"{name}-BF16.gguf")
    mmproj = os.path.join(env("GGUF_DIR"), f"{name}-mmproj-BF16.gguf")
    if not (os.path.exists(env("MTMD")) and os.path.exists(gguf) and os.path.exists(mmproj)):
        return None, f"missing {env('MTMD') if not os.path.exists(env('MTMD')) else (gguf if not os.path.exists(gguf) else mmproj)}"
    runs = []
    for _ in range(int(env("REPEATS"))):
        cmd = [env("MTMD"), "-m", gguf, "--mmproj", mmproj, "--image", env("IMAGE"), "-p", "Describe this image.",
               "-n", env("GEN_TOKENS"), "-t", env("THREADS"), "--temp", "0", "--no-warmup", "-c", "4096"]
        p = subprocess.run(cmd, capture_output=True, text=True)
        log = p.stdout + p.stderr
        with open(os.path.join(env("RESULTS_DIR"), f"mtmd-{name}.log"), "a") as f:
            f.write(log)
        if p.returncode != 0:
            return None, f"llama-mtmd-cli failed (rc {p.returncode}), see {env('RESULTS_DIR')}"
        enc = sum(float(x) for x in re.findall(r"image slice encoded in (\d+) ms", log))
        dec = sum(float(x) for x in re.findall(r"image decoded \(batch \d+/\d+\) in (\d+) ms", log))
        slices = len(re.findall(r"image slice encoded in", log))
        prompt = re.search(r"prompt eval time =\s+([\d.]+) ms /\s+(\d+) tokens", log)
        ev = re.search(r"\beval time =\s+([\d.]+) ms /\s+(\d+) runs", log)
        runs.append({"encode_ms": enc, "image_decode_ms": dec, "slices": slices,
                     "prompt_eval_ms": float(prompt.group(1)) if prompt else None,
                     "decode_tps": (int(ev.group(2)) / float(ev.group(1)) * 1000) if ev and float(ev.group(1)) > 0 else None})
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
            ttft = (l["encode_ms"] + l["image_decode_ms"] + (l["prompt_eval_ms"] or 0)) / 1000
            per = l["encode_ms"] / max(l["slices"], 1)
            print(f"| {name} | llama.cpp | {l['slices']} | {l['encode_ms']:.0f} ms | {per:.0f} ms | ~{ttft:.2f} s | "
                  f"{l['decode_tps'] or 0:.1f} |")
        else:
            print(f"| {name} | llama.cpp | - | - | - | - | {why} |")
    print(f"\nraw results: {env('RESULTS_DIR')}")


if __name__ == "__main__":
    sys.exit(main())
