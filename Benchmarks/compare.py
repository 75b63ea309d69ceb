#!/usr/bin/env python3
"""Side-by-side benchmark: `smol bench` against llama.cpp's `llama-bench`, same machine, same threads.

Run through Benchmarks/run.sh (which builds smol first); stdlib only. Environment knobs:
  MODELS         space-separated model names under Models/ or folder paths
                 (default: "SmolLM2-135M-Instruct bench-smollm3-3b-shape")
  LLAMA_BENCH    llama-bench binary (default $BENCH_WORK/llama.cpp-build/build/bin/llama-bench)
  BENCH_WORK     where build_llama_cpp.sh puts things (default /work/bench-work)
  GGUF_DIR       where <model name>-BF16.gguf files are (default $BENCH_WORK/gguf)
  THREADS        threads for both engines (default: all cores)
  PROMPT_TOKENS, GEN_TOKENS, REPEATS   (default 512, 128, 3; QUICK=1 -> 64, 16, 1)
  TG_AT_DEPTH=1  also run llama-bench's decode test after a prompt-length context (-d), which is
                 what smol's decode number measures (smol decodes after its own prefill)
  WAIT_QUIET=S   before starting, wait up to S seconds for the other work on the machine to stop
                 (fewer than 0.3 CPUs busy over 5 s); default 0 = don't wait
  MEMBW=0|1      measure memory read bandwidth with Benchmarks/membw.c (2 GiB, 1..THREADS threads);
                 default 1, 0 with QUICK
  RESULTS_DIR    raw JSON and logs are saved here (default $BENCH_WORK/results/<timestamp>)
  SMOL           smol binary (default .build/release/smol)
"""
import ctypes
import ctypes.util
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = os.environ
BENCH_WORK = ENV.get("BENCH_WORK", "/work/bench-work")
LLAMA_BENCH = ENV.get("LLAMA_BENCH", os.path.join(BENCH_WORK, "llama.cpp-build/build/bin/llama-bench"))
GGUF_DIR = ENV.get("GGUF_DIR", os.path.join(BENCH_WORK, "gguf"))
MODELS = ENV.get("MODELS", "SmolLM2-135M-Instruct bench-smollm3-3b-shape").split()
QUICK = ENV.get("QUICK", "0") not in ("", "0")
THREADS = int(ENV.get("THREADS") or os.cpu_count() or 1)
P = int(ENV.get("PROMPT_TOKENS") or (64 if QUICK else 512))
G = int(ENV.get("GEN_TOKENS") or (16 if QUICK else 128))
R = int(ENV.get("REPEATS") or (1 if QUICK else 3))
TG_AT_DEPTH = ENV.get("TG_AT_DEPTH", "0") not in ("", "0")
WAIT_QUIET = float(ENV.get("WAIT_QUIET") or 0)
MEMBW = ENV.get("MEMBW", "0" if QUICK else "1") not in ("", "0")
SMOL = ENV.get("SMOL", os.path.join(ROOT, ".build/release/smol"))
STAMP = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
RESULTS_DIR = ENV.get("RESULTS_DIR", os.path.join(BENCH_WORK, "results", STAMP))

MB = 1e6


def say(msg=""):
    print(msg, flush=True)


def read(path, default=""):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def busy_cpus(seconds=2.0):
    """How many CPUs were busy (not idle/iowait) over a short window: other work on the machine."""
    def snap():
        v = [int(x) for x in read("/proc/stat").splitlines()[0].split()[1:]]
        return sum(v), v[3] + v[4]
    t0, i0 = snap()
    time.sleep(seconds)
    t1, i1 = snap()
    return round((1 - (i1 - i0) / max(1, t1 - t0)) * (os.cpu_count() or 1), 2)


def machine_facts():
    cpuinfo = read("/proc/cpuinfo")
    model = re.search(r"^model name\s*:\s*(.*)$", cpuinfo, re.M)
    fam = re.search(r"^cpu family\s*:\s*(\d+)$", cpuinfo, re.M)
    mod = re.search(r"^model\s*:\s*(\d+)$", cpuinfo, re.M)
    flags = set((re.search(r"^flags\s*:\s*(.*)$", cpuinfo, re.M) or [None, ""])[1].split())
    mem = re.search(r"^MemTotal:\s*(\d+) kB", read("/proc/meminfo"), re.M)
    isa = [f for f in ("avx2", "fma", "f16c", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16") if f in flags]
    facts = {
        "cpu": model.group(1).strip() if model else platform.processor(),
        "cpu_family_model": f"{fam.group(1)}/{mod.group(1)}" if fam and mod else "?",
        "online_cpus": os.cpu_count(),
        "isa": isa,
        "mem_gib": round(int(mem.group(1)) / 2**20, 1) if mem else None,
        "kernel": platform.release(),
        "hypervisor": "hypervisor" in flags,
        "loadavg_start": read("/proc/loadavg").split()[:3],
    }
    l3 = read("/sys/devices/system/cpu/cpu0/cache/index3/size").strip()
    if l3:
        facts["l3"] = l3
    facts.update(openblas_facts(flags))
    return facts


def openblas_facts(flags):
    """OpenBLAS as smol sees it: the library it links and the kernel family it picks."""
    lib = None
    try:
        out = subprocess.run(["ldd", SMOL], capture_output=True, text=True, timeout=30).stdout
        m = re.search(r"(\S*libopenblas\S*)\s*=>\s*(\S+)", out)
        lib = m.group(2) if m else None
    except (OSError, subprocess.SubprocessError):
        pass
    lib = lib or ctypes.util.find_library("openblas")
    if not lib:
        return {}
    # smol re-executes itself with OPENBLAS_CORETYPE=SkylakeX on AVX-512 CPUs; do the same.
    code = ("import ctypes,sys;l=ctypes.CDLL(sys.argv[1]);"
            "l.openblas_get_corename.restype=ctypes.c_char_p;l.openblas_get_config.restype=ctypes.c_char_p;"
            "print(l.openblas_get_corename().decode());print(l.openblas_get_config().decode())")
    env = dict(ENV)
    if "avx512f" in flags and "OPENBLAS_CORETYPE" not in env:
        env["OPENBLAS_CORETYPE"] = "SkylakeX"
    try:
        out = subprocess.run([sys.executable, "-c", code, lib], capture_output=True, text=True, env=env,
                             timeout=30).stdout.splitlines()
        return {"openblas_lib": lib, "openblas_core": out[0], "openblas_config": out[1]}
    except (OSError, subprocess.SubprocessError, IndexError):
        return {"openblas_lib": lib}


def wait_quiet():
    if WAIT_QUIET <= 0:
        return None
    t0 = time.time()
    while True:
        b = busy_cpus(5.0)
        if b < 0.3:
            say(f"machine quiet ({b} cpus busy) after {time.time() - t0:.0f} s")
            return round(time.time() - t0)
        if time.time() - t0 > WAIT_QUIET:
            say(f"still {b} cpus busy after waiting {WAIT_QUIET:.0f} s; starting anyway")
            return round(time.time() - t0)


def membw():
    """Builds and runs Benchmarks/membw.c; returns its output lines."""
    exe = os.path.join(RESULTS_DIR, "membw")
    src = os.path.join(ROOT, "Benchmarks", "membw.c")
    for cc in ("clang", "cc", "gcc"):
        try:
            r = subprocess.run([cc, "-O3", "-march=native", "-pthread", src, "-o", exe], capture_output=True,
                               timeout=120)
        except (OSError, subprocess.SubprocessError):
            continue
        if r.returncode == 0:
            break
    else:
        return ["(could not compile Benchmarks/membw.c)"]
    r = subprocess.run([exe, "2", str(THREADS), "5"], capture_output=True, text=True, timeout=600)
    return r.stdout.strip().splitlines()


def cpu_snapshot():
    v = [int(x) for x in read("/proc/stat").splitlines()[0].split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    return (sum(v) - v[3] - v[4]) / hz  # busy CPU-seconds since boot


def run(cmd, log_path):
    """Runs cmd; returns (stdout, returncode, wall seconds, peak RSS bytes of the child,
    CPUs used by other processes on average while it ran)."""
    t0, b0 = time.time(), cpu_snapshot()
    with open(log_path, "w") as err:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True)
        out = p.stdout.read()
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
    wall, busy = time.time() - t0, cpu_snapshot() - b0
    other = max(0.0, (busy - usage.ru_utime - usage.ru_stime) / max(wall, 1e-9))
    return out, p.returncode, wall, usage.ru_maxrss * 1024, round(other, 2)


def model_dir(name):
    return name if os.sep in name else os.path.join(ROOT, "Models", name)


def kv_bytes_per_token(cfg, elem_bytes):
    h = cfg["hidden_size"]
    heads = cfg["num_attention_heads"]
    hd = cfg.get("head_dim") or h // heads
    return 2 * cfg["num_hidden_layers"] * cfg.get("num_key_value_heads", heads) * hd * elem_bytes


def bench_smol(mdir, tag):
    cmd = [SMOL, "bench", "--model", mdir, "--prompt-tokens", str(P), "--gen-tokens", str(G),
           "--repeats", str(R), "--threads", str(THREADS), "--json"]
    say(f"  smol:      {' '.join(cmd)}")
    out, rc, wall, _, other = run(cmd, os.path.join(RESULTS_DIR, f"{tag}.smol.stderr"))
    if rc != 0:
        say(f"  smol FAILED (exit {rc}); stderr in {RESULTS_DIR}/{tag}.smol.stderr")
        return None
    line = [l for l in out.splitlines() if l.strip().startswith("{")][-1]
    res = json.loads(line)
    res["wall_seconds"] = wall
    res["other_cpus_busy"] = other
    say(f"             done in {wall:.0f} s; other work used {other} cpus meanwhile")
    return res


def bench_llama(gguf, tag, extra, label):
    cmd = [LLAMA_BENCH, "-m", gguf, "-t", str(THREADS), "-r", str(R), "-o", "json"] + extra
    say(f"  llama.cpp: {' '.join(cmd)}")
    out, rc, wall, rss, other = run(cmd, os.path.join(RESULTS_DIR, f"{tag}.llama{label}.stderr"))
    if rc != 0:
        say(f"  llama-bench FAILED (exit {rc}); stderr in {RESULTS_DIR}/{tag}.llama{label}.stderr")
        return None
    try:
        rows = json.loads(out)
    except json.JSONDecodeError:
        say(f"  llama-bench printed no JSON; stdout saved to {RESULTS_DIR}/{tag}.llama{label}.stdout")
        with open(os.path.join(RESULTS_DIR, f"{tag}.llama{label}.stdout"), "w") as f:
            f.write(out)
        return None
    say(f"             done in {wall:.0f} s; other work used {other} cpus meanwhile")
    return {"rows": rows, "peak_rss_bytes": rss, "wall_seconds": wall, "other_cpus_busy": other}


def pick(rows, n_prompt, n_gen, n_depth=0):
    for r in rows or []:
        if r.get("n_prompt") == n_prompt and r.get("n_gen") == n_gen and r.get("n_depth", 0) == n_depth:
            return r
    return None


def fmt(v, spec, none="-"):
    return none if v is None else format(v, spec)


def main():
    os.makedirs(RESULTS_DIR, exist_ok=True)
    facts = machine_facts()
    have_llama = os.access(LLAMA_BENCH, os.X_OK)
    if not os.access(SMOL, os.X_OK):
        sys.exit(f"no smol binary at {SMOL}: swift build -c release --product smol")

    say(f"== SmolRuntime vs llama.cpp  ({STAMP})")
    say(f"settings: prompt {P} tokens, generate {G}, threads {THREADS}, repeats {R}"
        + (" (QUICK)" if QUICK else ""))
    say(f"results:  {RESULTS_DIR}")
    if not have_llama:
        say(f"llama-bench not found at {LLAMA_BENCH}: smol's numbers only. Build llama.cpp and the GGUFs with")
        say("  Benchmarks/build_llama_cpp.sh        (BENCH_WORK=dir to put it elsewhere; then LLAMA_BENCH=path)")
    say()
    facts["waited_for_quiet_seconds"] = wait_quiet()
    facts["busy_cpus_start"] = busy_cpus(2.0)
    if MEMBW:
        say("-- memory bandwidth (Benchmarks/membw.c)")
        facts["membw"] = membw()
        for line in facts["membw"]:
            say("  " + line)
        say()

    results = []
    for name in MODELS:
        mdir = model_dir(name)
        tag = os.path.basename(mdir.rstrip("/"))
        entry = {"model": tag, "dir": mdir}
        results.append(entry)
        say(f"-- {tag}")
        if not os.path.exists(os.path.join(mdir, "config.json")):
            hint = ("python3 scripts/make_bench_checkpoint.py" if tag == "bench-smollm3-3b-shape"
                    else "scripts/setup.sh")
            say(f"  skipped: no model at {mdir} (make it with {hint})")
            entry["skipped"] = "missing model"
            continue
        with open(os.path.join(mdir, "config.json")) as f:
            cfg = json.load(f)
        entry["kv_bytes_per_token_f16"] = kv_bytes_per_token(cfg, 2)
        entry["smol"] = bench_smol(mdir, tag)
        gguf = os.path.join(GGUF_DIR, f"{tag}-BF16.gguf")
        if have_llama and not os.path.exists(gguf):
            say(f"  llama.cpp skipped: no {gguf} (Benchmarks/build_llama_cpp.sh converts it)")
        elif have_llama:
            entry["llama"] = bench_llama(gguf, tag, ["-p", str(P), "-n", str(G)], "")
            if TG_AT_DEPTH:
                entry["llama_depth"] = bench_llama(gguf, tag, ["-p", "0", "-n", str(G), "-d", str(P)], "-depth")
        say()

    facts["loadavg_end"] = read("/proc/loadavg").split()[:3]
    report(facts, results)
    with open(os.path.join(RESULTS_DIR, "results.json"), "w") as f:
        json.dump({"facts": facts, "settings": {"prompt_tokens": P, "gen_tokens": G, "threads": THREADS,
                   "repeats": R, "llama_bench": LLAMA_BENCH, "gguf_dir": GGUF_DIR}, "results": results}, f, indent=2)


def report(facts, results):
    say("== machine")
    say(f"cpu:      {facts['cpu']} (family/model {facts['cpu_family_model']}), {facts['online_cpus']} online cpus"
        + (f", L3 {facts['l3']}" if "l3" in facts else "") + (", VM" if facts["hypervisor"] else ""))
    say(f"isa:      {' '.join(facts['isa'])}; memory {facts['mem_gib']} GiB; kernel {facts['kernel']}")
    if "openblas_core" in facts:
        say(f"openblas: core {facts['openblas_core']} ({facts['openblas_config']})")
    say(f"load avg: {' '.join(facts['loadavg_start'])} at start, {' '.join(facts['loadavg_end'])} at end"
        " (1/5/15 min)")
    b = facts["busy_cpus_start"]
    say(f"busy:     {b} of {facts['online_cpus']} cpus busy with other work just before the run"
        + ("  <-- WARNING: numbers are not clean" if b > 0.3 else ""))
    for line in facts.get("membw", []):
        say(f"membw:    {line}")
    llama_rows = [e["llama"]["rows"][0] for e in results if e.get("llama") and e["llama"]["rows"]]
    if llama_rows:
        r0 = llama_rows[0]
        say(f"llama.cpp: build {r0.get('build_commit')} ({r0.get('build_number')}), backend {r0.get('backends')}, "
            f"cpu_info '{r0.get('cpu_info')}'")
    say()

    pp, tg = f"pp{P}", f"tg{G}"
    head = (f"{'model':<24} {'engine':<10} {pp + ' t/s':>16} {tg + ' t/s':>14} {'TTFT s':>8} {'load s':>7} "
            f"{'peak RSS MB':>12} {'weights MB':>11} {'KV MB':>8} {'RSS-W-KV':>9} {'other':>6}")
    say("== results (t/s = tokens per second; smol: median of repeats; llama.cpp: mean ± stddev)")
    say(head)
    say("-" * len(head))
    for e in results:
        name = e["model"][:24]
        if e.get("skipped"):
            say(f"{name:<24} skipped: {e['skipped']}")
            continue
        s = e.get("smol")
        if s:
            w, kv, rss = s["weights_bytes"], s["kv_cache_bytes"], s["peak_rss_bytes"]
            say(f"{name:<24} {'smol':<10} {s['prefill_tokens_per_second']:>16.1f} {s['decode_tokens_per_second']:>14.2f} "
                f"{s['time_to_first_token_seconds']:>8.3f} {s['load_seconds']:>7.2f} {rss / MB:>12.0f} "
                f"{w / MB:>11.0f} {kv / MB:>8.1f} {(rss - w - kv) / MB:>9.0f} {s['other_cpus_busy']:>6.2f}")
        else:
            say(f"{name:<24} {'smol':<10} FAILED")
        name = ""
        lb = e.get("llama")
        if lb is None:
            continue
        rp, rt = pick(lb["rows"], P, 0), pick(lb["rows"], 0, G)
        w = (rp or rt or {}).get("model_size")
        # llama-bench makes a context of n_prompt + n_gen + n_depth per test; KV is f16 by default.
        kv = e["kv_bytes_per_token_f16"] * max(P, G)
        rss = lb["peak_rss_bytes"]
        pps = f"{rp['avg_ts']:.1f} ± {rp['stddev_ts']:.1f}" if rp else "-"
        tgs = f"{rt['avg_ts']:.2f} ± {rt['stddev_ts']:.2f}" if rt else "-"
        ttft = f"~{P / rp['avg_ts']:.3f}" if rp else "-"
        say(f"{name:<24} {'llama.cpp':<10} {pps:>16} {tgs:>14} {ttft:>8} {'-':>7} {rss / MB:>12.0f} "
            f"{fmt(w and w / MB, '.0f'):>11} {kv / MB:>8.1f} {fmt(w and (rss - w - kv) / MB, '.0f'):>9} "
            f"{lb['other_cpus_busy']:>6.2f}")
        ld = e.get("llama_depth")
        rd = pick(ld["rows"], 0, G, P) if ld else None
        if rd:
            tgd = f"{rd['avg_ts']:.2f} ± {rd['stddev_ts']:.2f}"
            say(f"{'':<24} {'llama@d' + str(P):<10} {'':>16} {tgd:>14} {'':>8} {'':>7} {ld['peak_rss_bytes'] / MB:>12.0f} "
                f"{'':>11} {'':>8} {'':>9} {ld['other_cpus_busy']:>6.2f}")
        if s and (rp or rt):
            rpp = f"{s['prefill_tokens_per_second'] / rp['avg_ts']:.2f}x" if rp else "-"
            rtg = f"{s['decode_tokens_per_second'] / rt['avg_ts']:.2f}x" if rt else "-"
            extra = (f"   (tg vs llama@d{P}: {s['decode_tokens_per_second'] / rd['avg_ts']:.2f}x)" if rd else "")
            say(f"{'':<24} {'smol/llama':<10} {rpp:>16} {rtg:>14}{extra}")
    say()
    say("notes: TTFT for llama.cpp is estimated as prompt/pp speed (llama-bench does not measure it or load time).")
    say(f"       smol's tg is measured after its {P}-token prefill (context {P}..{P + G}); llama-bench's tg{G} starts")
    say("       from an empty context (TG_AT_DEPTH=1 adds llama-bench -d for the like-for-like number).")
    say("       KV MB: smol reports its cache (float32, capacity prompt+gen+1); llama.cpp's is an f16 estimate for")
    say(f"       its largest test context ({max(P, G)} tokens). Peak RSS includes the mmapped weight pages touched.")
    say("       other: CPUs used on average by other processes while that engine's command ran (0 = clean; on 2")
    say("       cores, anything near 1 can halve a 2-thread run: both engines' thread pools wait on each other).")
    say()
    say("== raw")
    for e in results:
        if e.get("smol"):
            say(f"smol {e['model']}: {json.dumps(e['smol'], sort_keys=True)}")
        for key in ("llama", "llama_depth"):
            lb = e.get(key)
            if not lb:
                continue
            for r in lb["rows"]:
                keep = {k: r.get(k) for k in ("n_prompt", "n_gen", "n_depth", "n_threads", "avg_ts", "stddev_ts",
                                              "samples_ts", "model_size", "model_n_params", "type_k", "n_batch",
                                              "n_ubatch", "flash_attn")}
                say(f"{key} {e['model']}: {json.dumps(keep)}")
            say(f"{key} {e['model']}: peak_rss_bytes={lb['peak_rss_bytes']} wall_seconds={lb['wall_seconds']:.1f} "
                f"other_cpus_busy={lb['other_cpus_busy']}")


if __name__ == "__main__":
    main()
