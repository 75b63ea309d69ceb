#!/usr/bin/env python3
"""Kernel benchmark: smol against llama.cpp on the same machine, weights and threads, interleaved.

For each model and each prompt length P in PROMPTS (default "512 4096"):
  smol bench --prompt-tokens P --gen-tokens G          -> ppP, and decode after the P-token prompt
  llama-bench -p P -n 0  and  -p 0 -n G -d P           -> ppP, and decode at depth P (like for like)
After an uncounted warm-up of each engine, they alternate, ROUNDS times (default 3), and the median of the rounds is reported: memory
bandwidth on a shared VM drifts by tens of percent within minutes, so only interleaved runs are
comparable. The report gives the ratio and each engine's fraction of this CPU's limits measured
in the same run: prefill GFLOP/s against the vdpbf16ps roof (Benchmarks/roof.c), decode GB/s of
weights read against the memory bandwidth (Benchmarks/membw.c).

QUANTS (default "bf16 q8_0 q4_0") picks the weight formats: bf16 runs smol on the model folder and
llama.cpp on <name>-BF16.gguf; each block type runs both engines on the same GGUF file,
<name>-<TYPE>.gguf in GGUF_DIR, written by `smol quantize` from the folder when missing (Q8_0 and
Q4_0 are bit-identical to llama-quantize's).

Environment: MODELS, QUANTS, PROMPTS, GEN_TOKENS (default 32), ROUNDS, THREADS, SMOL_ISA (passed to smol:
cap its kernels, e.g. avx2), SMOL_ARGS (extra smol bench flags, e.g. "--precision f32"),
LLAMA_BENCH, GGUF_DIR, BENCH_WORK, RESULTS_DIR (see compare.py).
"""
import json
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare as c  # noqa: E402  (shared helpers: run, machine facts, membw)

PROMPTS = [int(x) for x in os.environ.get("PROMPTS", "512 4096").split()]
G = int(os.environ.get("GEN_TOKENS") or 32)
ROUNDS = int(os.environ.get("ROUNDS") or 3)
SMOL_ARGS = os.environ.get("SMOL_ARGS", "").split()
QUANTS = os.environ.get("QUANTS", "bf16 q8_0 q4_0").split()


def quantized_gguf(mdir, tag, qtype):
    """GGUF_DIR/<tag>-<TYPE>.gguf, written by smol quantize from the folder when missing."""
    path = os.path.join(c.GGUF_DIR, f"{tag}-{qtype.upper()}.gguf")
    if not os.path.exists(path):
        os.makedirs(c.GGUF_DIR, exist_ok=True)
        c.say(f"  writing {path} (smol quantize --type {qtype})")
        r = subprocess.run([c.SMOL, "quantize", "--model", mdir, "--type", qtype, "--output", path],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            c.say(f"  smol quantize failed: {r.stderr.strip()[-300:]}")
            return None
    return path


def roof():
    """{instruction: {threads: GFLOP/s}} from Benchmarks/roof.c."""
    exe = os.path.join(c.RESULTS_DIR, "roof")
    src = os.path.join(c.ROOT, "Benchmarks", "roof.c")
    for cc in ("clang", "cc", "gcc"):
        try:
            if subprocess.run([cc, "-O2", "-pthread", src, "-o", exe], capture_output=True, timeout=120).returncode == 0:
                break
        except (OSError, subprocess.SubprocessError):
            continue
    else:
        return {}
    out = subprocess.run([exe, str(c.THREADS)], capture_output=True, text=True, timeout=600).stdout
    table = {}
    for line in out.splitlines():
        r = json.loads(line)
        table.setdefault(r["instr"], {})[r["threads"]] = r["gflops"]
    return table


def bandwidth(lines):
    """Best GB/s with all threads from membw's output."""
    best = None
    for line in lines:
        if f"{c.THREADS} thread" in line and "best" in line:
            best = float(line.split("best")[1].split("GB/s")[0])
    return best


def model_flops_per_token(cfg, context):
    """2 x parameters of the linear layers per token, plus attention (QK^T and PV) at `context` keys."""
    h, L = cfg["hidden_size"], cfg["num_hidden_layers"]
    heads = cfg["num_attention_heads"]
    kv = cfg.get("num_key_value_heads", heads)
    hd = cfg.get("head_dim") or h // heads
    inter = cfg["intermediate_size"]
    linear = L * (h * heads * hd + 2 * h * kv * hd + heads * hd * h + 3 * h * inter)
    attn = L * heads * hd * context * 4
    return 2 * linear + attn


def smol_run(mdir, p, tag):
    cmd = [c.SMOL, "bench", "--model", mdir, "--prompt-tokens", str(p), "--gen-tokens", str(G), "--repeats", "1",
           "--threads", str(c.THREADS), "--json"] + SMOL_ARGS
    out, rc, wall, _, other = c.run(cmd, os.path.join(c.RESULTS_DIR, f"{tag}.smol.stderr"))
    if rc != 0:
        c.say(f"  smol failed (exit {rc}), see {c.RESULTS_DIR}/{tag}.smol.stderr")
        return None
    res = json.loads([l for l in out.splitlines() if l.startswith("{")][-1])
    res["other_cpus_busy"] = other
    return res


def llama_run(gguf, args, tag):
    cmd = [c.LLAMA_BENCH, "-m", gguf, "-t", str(c.THREADS), "-r", "1", "-o", "json"] + args
    out, rc, wall, rss, other = c.run(cmd, os.path.join(c.RESULTS_DIR, f"{tag}.llama.stderr"))
    if rc != 0:
        c.say(f"  llama-bench failed (exit {rc}), see {c.RESULTS_DIR}/{tag}.llama.stderr")
        return None
    try:
        rows = json.loads(out)
    except json.JSONDecodeError:
        return None
    return {"ts": rows[0]["avg_ts"], "size": rows[0].get("model_size"), "other_cpus_busy": other}


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def main():
    os.makedirs(c.RESULTS_DIR, exist_ok=True)
    facts = c.machine_facts()
    have_llama = os.access(c.LLAMA_BENCH, os.X_OK)
    c.say(f"== kernels: smol vs llama.cpp, prompts {PROMPTS}, decode {G} tokens, {ROUNDS} interleaved rounds, "
          f"{c.THREADS} threads")
    c.say(f"cpu: {facts['cpu']} (family/model {facts['cpu_family_model']}), isa {' '.join(facts['isa'])}")
    info_cmd = [c.SMOL, "info"]
    if "--precision" in SMOL_ARGS:
        i = SMOL_ARGS.index("--precision")
        info_cmd += SMOL_ARGS[i:i + 2]
    info = subprocess.run(info_cmd, capture_output=True, text=True).stdout
    for line in info.strip().splitlines():
        c.say("  " + line)
    c.say(f"results: {c.RESULTS_DIR}")
    roofs = roof()
    bw_lines = c.membw()
    bw = bandwidth(bw_lines)
    for instr, by in roofs.items():
        c.say(f"roof: {instr}: " + ", ".join(f"{t} thr {g:.0f} GFLOP/s" for t, g in sorted(by.items())))
    for line in bw_lines:
        c.say("membw: " + line)
    bf16_roof = roofs.get("vdpbf16ps zmm (bf16)", {}).get(c.THREADS)
    f32_roof = roofs.get("vfmadd231ps zmm (f32)", {}).get(c.THREADS) or roofs.get("vfmadd231ps ymm (f32)", {}).get(c.THREADS)
    peak = bf16_roof or f32_roof
    c.say()

    rows = []
    for name in c.MODELS:
        mdir = c.model_dir(name)
        tag = os.path.basename(mdir.rstrip("/"))
        if not os.path.exists(os.path.join(mdir, "config.json")):
            c.say(f"-- {tag}: skipped (no model)")
            continue
        cfg = json.load(open(os.path.join(mdir, "config.json")))
        for qtype in QUANTS:
            if qtype == "bf16":
                smodel, gguf = mdir, os.path.join(c.GGUF_DIR, f"{tag}-BF16.gguf")
            else:
                gguf = quantized_gguf(mdir, tag, qtype)
                if gguf is None:
                    continue
                smodel = gguf
            use_llama = have_llama and os.path.exists(gguf)
            qtag = f"{tag}-{qtype}"
            for p in PROMPTS:
                c.say(f"-- {tag} {qtype}, prompt {p}")
                s_runs, lp_runs, lt_runs = [], [], []
                # Warm-up (not counted): page both engines' weight files in, so no round pays the disk.
                smol_run(smodel, 16, f"{qtag}-warmup")
                if use_llama:
                    llama_run(gguf, ["-p", "16", "-n", "1"], f"{qtag}-warmup")
                for r in range(ROUNDS):
                    s = smol_run(smodel, p, f"{qtag}-p{p}-r{r}")
                    s_runs.append(s)
                    if use_llama:
                        lp_runs.append(llama_run(gguf, ["-p", str(p), "-n", "0"], f"{qtag}-pp{p}-r{r}"))
                        lt_runs.append(llama_run(gguf, ["-p", "0", "-n", str(G), "-d", str(p)], f"{qtag}-tg-d{p}-r{r}"))
                    c.say(f"   round {r + 1}: smol pp {fmt(s and s['prefill_tokens_per_second'])} tg {fmt(s and s['decode_tokens_per_second'], 2)}"
                          + (f" | llama pp {fmt(lp_runs[-1] and lp_runs[-1]['ts'])} tg {fmt(lt_runs[-1] and lt_runs[-1]['ts'], 2)}"
                             if use_llama else ""))
                ok = [s for s in s_runs if s]
                if not ok:
                    continue
                row = {"model": tag, "type": qtype, "prompt": p, "weights_bytes": ok[0]["weights_bytes"],
                       "smol_pp": med([s["prefill_tokens_per_second"] for s in ok]),
                       "smol_tg": med([s["decode_tokens_per_second"] for s in ok]),
                       "smol_rss": max(s["peak_rss_bytes"] for s in ok), "smol_kv": ok[0]["kv_cache_bytes"],
                       "llama_pp": med([x and x["ts"] for x in lp_runs]), "llama_tg": med([x and x["ts"] for x in lt_runs]),
                       "llama_size": next((x["size"] for x in lp_runs if x), None),
                       "flops_per_token": model_flops_per_token(cfg, p / 2),
                       "other": max(s["other_cpus_busy"] for s in ok), "isa": ok[0].get("isa"),
                       "precision": ok[0].get("precision")}
                rows.append(row)
    report(rows, peak, bw, bf16_roof is not None)
    with open(os.path.join(c.RESULTS_DIR, "kernels.json"), "w") as f:
        json.dump({"facts": facts, "roof": roofs, "membw": bw_lines, "rows": rows}, f, indent=2)


def fmt(v, digits=1):
    return "-" if v is None else f"{v:.{digits}f}"


def report(rows, peak, bw, bf16):
    c.say()
    c.say(f"== results (median of rounds; pp: prompt tokens/s, % of the {'vdpbf16ps' if bf16 else 'f32 FMA'} roof "
          f"{fmt(peak, 0)} GFLOP/s; tg: decode tokens/s after the prompt, % of {fmt(bw)} GB/s)")
    head = (f"{'model':<24} {'type':<5} {'P':>5} {'smol pp':>9} {'llama pp':>9} {'ratio':>6} {'smol %roof':>10} {'llama %roof':>11} "
            f"{'smol tg':>8} {'llama tg':>9} {'ratio':>6} {'smol %bw':>9} {'llama %bw':>9} {'RSS MB':>7} {'W+KV MB':>8}")
    c.say(head)
    c.say("-" * len(head))
    for r in rows:
        def pct_flops(ts):
            return None if ts is None or not peak else 100 * ts * r["flops_per_token"] / 1e9 / peak

        def pct_bw(ts, size):
            return None if ts is None or not bw or not size else 100 * ts * size / 1e9 / bw

        ratio_pp = r["smol_pp"] / r["llama_pp"] if r["llama_pp"] else None
        ratio_tg = r["smol_tg"] / r["llama_tg"] if r["llama_tg"] else None
        c.say(f"{r['model'][:24]:<24} {r.get('type', 'bf16'):<5} {r['prompt']:>5} {fmt(r['smol_pp']):>9} {fmt(r['llama_pp']):>9} "
              f"{fmt(ratio_pp, 2):>6} {fmt(pct_flops(r['smol_pp']), 0):>10} {fmt(pct_flops(r['llama_pp']), 0):>11} "
              f"{fmt(r['smol_tg'], 2):>8} {fmt(r['llama_tg'], 2):>9} {fmt(ratio_tg, 2):>6} "
              f"{fmt(pct_bw(r['smol_tg'], r['weights_bytes']), 0):>9} {fmt(pct_bw(r['llama_tg'], r['llama_size']), 0):>9} "
              f"{r['smol_rss'] / 1e6:>7.0f} {(r['weights_bytes'] + r['smol_kv']) / 1e6:>8.0f}")
    c.say()
    c.say("notes: flops per token = 2 x linear-layer parameters + attention at half the prompt; decode GB/s = weight")
    c.say("       bytes x tokens/s (the KV cache read is not counted). llama.cpp decodes at depth P (-d P), smol after")
    c.say("       its own P-token prefill. smol's kernel level and precision: "
          + ", ".join(sorted({f"{r['isa']}/{r['precision']}" for r in rows})))


if __name__ == "__main__":
    main()
