#!/usr/bin/env python3
"""Replays a Claw Code agent session against `smol serve` and llama-server, same weights, same run.

The trace (../shared/data/agent-trace: trace.jsonl, trace_meta.jsonl) holds 15 /v1/chat/completions
bodies from a main agent and two sub-agents, interleaved. The replay is closed-loop: a request is
sent when every request it depends on (trace_meta depends_on) has finished, so independent
conversations run concurrently, as in the session. Every request generates exactly --gen tokens
(max_tokens plus ignore_eos, which both servers accept), so the two servers do the same work.

Per request it prints the time to first token, prompt tokens, the prompt tokens the server actually
computed (smol: prompt - usage.prompt_tokens_details.cached_tokens; llama-server: timings.prompt_n)
and the wall time; then totals, and the aggregate decode rate with 1, 2, 4 and 8 concurrent streams.

  python3 Benchmarks/agent_replay.py --model-dir Models/bench-smollm3-small \\
      --gguf /work/bench-work/gguf/bench-smollm3-small-BF16.gguf \\
      --llama-server /work/bench-work/llama.cpp-build/build/bin/llama-server

Without --gguf/--llama-server only smol runs. --json FILE writes every measurement. Standard
library only. Both servers get --threads (default 2) and a context for the longest request.
"""
import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_TRACE = os.path.join(os.path.dirname(ROOT), "shared", "data", "agent-trace")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Server:
    def __init__(self, name, argv, port, log_path):
        self.name, self.port = name, port
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 600
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"{name} exited ({self.proc.returncode}); see {log_path}")
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                c.request("GET", "/v1/models")
                if c.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise SystemExit(f"{name} did not start; see {log_path}")

    def rss_mib(self):
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            return None

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(30)
        except (OSError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


def stream(port, body, timeout=3600):
    """Sends one streaming chat request; returns timing and usage."""
    t0 = time.monotonic()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    data = json.dumps(body).encode()
    c.request("POST", "/v1/chat/completions", body=data, headers={"Content-Type": "application/json"})
    r = c.getresponse()
    if r.status != 200:
        raise RuntimeError(f"HTTP {r.status}: {r.read()[:400]!r}")
    ttft = None
    t_first = t_last = None
    usage, timings, pieces = None, None, 0
    for raw in r:
        line = raw.decode("utf-8", "replace").strip()
        if not line.startswith("data:"):
            continue
        payload = line[5:].strip()
        if payload == "[DONE]":
            break
        obj = json.loads(payload)
        if "error" in obj:
            raise RuntimeError(f"stream error: {obj['error']}")
        if obj.get("usage"):
            usage = obj["usage"]
        if obj.get("timings"):
            timings = obj["timings"]
        for ch in obj.get("choices") or []:
            d = ch.get("delta") or {}
            if d.get("content") or d.get("reasoning_content") or d.get("tool_calls"):
                now = time.monotonic()
                pieces += 1
                if ttft is None:
                    ttft, t_first = now - t0, now
                t_last = now
    wall = time.monotonic() - t0
    c.close()
    prompt = (usage or {}).get("prompt_tokens")
    cached = ((usage or {}).get("prompt_tokens_details") or {}).get("cached_tokens")
    if timings and "prompt_n" in timings:
        computed = timings["prompt_n"]
        cached = timings.get("cache_n", cached)
        if prompt is None and cached is not None:
            prompt = computed + cached
    else:
        computed = None if prompt is None or cached is None else prompt - cached
    return {"ttft": ttft, "wall": wall, "prompt": prompt, "cached": cached, "computed": computed,
            "completion": (usage or {}).get("completion_tokens"), "t_first": t_first, "t_last": t_last, "pieces": pieces}


def replay(port, bodies, meta, gen, model):
    """Closed-loop replay; returns per-request results (trace order) and the total wall time."""
    done = {}
    results = [None] * len(bodies)
    lock = threading.Condition()
    errors = []

    def ready(i):
        # depends_on holds line numbers of trace.jsonl.
        return all(d in done for d in meta[i].get("depends_on", []))

    def run(i):
        b = dict(bodies[i])
        b.update(model=model, max_tokens=gen, ignore_eos=True, stream=True, stream_options={"include_usage": True})
        try:
            results[i] = stream(port, b)
        except Exception as e:  # noqa: BLE001 - reported
            errors.append((i, e))
            results[i] = None
        with lock:
            done[i] = time.monotonic()
            lock.notify_all()

    t0 = time.monotonic()
    started = set()
    threads = []
    with lock:
        while len(done) < len(bodies):
            for i in range(len(bodies)):
                # Arrival order: a request starts once its dependencies are done and every earlier
                # request of the trace has been sent.
                if i in started:
                    continue
                if all(j in started for j in range(i)) and ready(i):
                    started.add(i)
                    t = threading.Thread(target=run, args=(i,), daemon=True)
                    t.start()
                    threads.append(t)
            lock.wait(1.0)
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"replay failed: {errors[:3]}")
    return results, time.monotonic() - t0


def decode_scaling(port, model, gen, streams):
    """Aggregate decode tokens/s with `streams` concurrent requests of short, distinct prompts
    (usage.completion_tokens, which both servers report)."""
    res = [None] * streams

    def run(i):
        body = {"model": model, "messages": [{"role": "user", "content": f"Request {i}: tell a long story about the number {i * 7919}."}],
                "max_tokens": gen, "ignore_eos": True, "temperature": 0, "stream": True,
                "stream_options": {"include_usage": True}}
        res[i] = stream(port, body)
    ts = [threading.Thread(target=run, args=(i,)) for i in range(streams)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    # From the first token of any stream to the last token of any: with more streams than
    # --parallel the later ones queue, and the rate shows it.
    t0 = min(r["t_first"] for r in res)
    t1 = max(r["t_last"] for r in res)
    if t1 <= t0:
        return None
    return sum((r["completion"] or r["pieces"]) - 1 for r in res) / (t1 - t0)


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trace", default=DEFAULT_TRACE)
    ap.add_argument("--model-dir", required=True, help="HF folder for smol serve")
    ap.add_argument("--gguf", help="the same weights as GGUF, for llama-server")
    ap.add_argument("--llama-server", help="llama-server binary")
    ap.add_argument("--smol", default=None, help="smol binary (default: .build/release/smol)")
    ap.add_argument("--gen", type=int, default=24, help="tokens generated per request (default 24)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--parallel", type=int, default=4)
    ap.add_argument("--context", type=int, default=16384, help="per-conversation context (default 16384)")
    ap.add_argument("--scaling", default="1 2 4 8", help="concurrent streams for the decode test ('' to skip)")
    ap.add_argument("--scaling-gen", type=int, default=48)
    ap.add_argument("--smol-args", default="", help="extra smol serve flags")
    ap.add_argument("--llama-args", default="", help="extra llama-server flags")
    ap.add_argument("--only", choices=["smol", "llama"], help="run one server")
    ap.add_argument("--skip-replay", action="store_true", help="only the decode scaling test")
    ap.add_argument("--json", help="write the measurements here")
    ap.add_argument("--log-dir", default="/tmp")
    args = ap.parse_args()

    with open(os.path.join(args.trace, "trace.jsonl")) as f:
        bodies = [json.loads(l) for l in f if l.strip()]
    with open(os.path.join(args.trace, "trace_meta.jsonl")) as f:
        meta = [json.loads(l) for l in f if l.strip()]
    model_id = bodies[0].get("model", "smollm3:3b")
    smol = args.smol or os.path.join(ROOT, ".build", "release", "smol")
    servers = []
    if args.only != "llama":
        port = free_port()
        servers.append(("smol", lambda port=port: Server("smol", [
            smol, "serve", "--model", args.model_dir, "--port", str(port), "--threads", str(args.threads),
            "--parallel", str(args.parallel), "--context", str(args.context), "--model-id", model_id,
            "--max-queue", "64"] + args.smol_args.split(), port, os.path.join(args.log_dir, "replay-smol.log"))))
    if args.only != "smol" and args.gguf and args.llama_server:
        port = free_port()
        # Its best settings for this workload: a slot per conversation, prompt-cache reuse by KV
        # shifting, and a RAM cache of evicted prompts. -c is shared by the slots.
        servers.append(("llama-server", lambda port=port: Server("llama-server", [
            args.llama_server, "-m", args.gguf, "--port", str(port), "-t", str(args.threads), "-tb", str(args.threads),
            "--parallel", str(args.parallel), "-c", str(args.context * args.parallel), "--jinja",
            "--cache-reuse", "256", "--cache-ram", "8192", "-fa", "on", "--no-webui"] + args.llama_args.split(),
            port, os.path.join(args.log_dir, "replay-llama.log"))))

    report = {"trace": args.trace, "gen": args.gen, "threads": args.threads, "parallel": args.parallel, "servers": {}}
    for name, start in servers:
        print(f"== {name}", flush=True)
        srv = start()
        try:
            results, wall = replay(srv.port, bodies, meta, args.gen, model_id) if not args.skip_replay else ([], 0.0)
            scaling = {}
            for k in [int(x) for x in args.scaling.split()]:
                scaling[k] = decode_scaling(srv.port, model_id, args.scaling_gen, k)
                print(f"   decode with {k} streams: {fmt(scaling[k], '.2f')} tok/s aggregate", flush=True)
            report["servers"][name] = {"requests": results, "wall": wall, "decode_scaling": scaling,
                                       "peak_rss_mib": srv.rss_mib()}
        finally:
            srv.stop()

    print()
    if args.skip_replay:
        return
    names = list(report["servers"])
    head = f"{'#':>2} {'session':<7} {'req':>3} {'prompt':>6}"
    for n in names:
        head += f" | {n[:12]:>12}: {'ttft s':>7} {'computed':>8} {'cached':>6} {'wall s':>7}"
    print(head)
    for i, m in enumerate(meta):
        row = f"{i:>2} {m['session']:<7} {m['request']:>3}"
        first = report["servers"][names[0]]["requests"][i] if names else None
        row += f" {fmt(first and first['prompt'], 'd'):>6}"
        for n in names:
            r = report["servers"][n]["requests"][i]
            row += f" | {'':>12}  {fmt(r['ttft'], '7.2f')} {fmt(r['computed'], '8d')} {fmt(r['cached'], '6d')} {fmt(r['wall'], '7.2f')}"
        print(row)
    for n in names:
        s = report["servers"][n]
        comp = sum(r["computed"] or 0 for r in s["requests"])
        prompt = sum(r["prompt"] or 0 for r in s["requests"])
        ttfts = [r["ttft"] for r in s["requests"] if r["ttft"] is not None]
        print(f"{n}: wall {s['wall']:.1f} s, prompt tokens {prompt}, computed {comp}, "
              f"max TTFT {max(ttfts):.1f} s, peak RSS {fmt(s['peak_rss_mib'], '.0f')} MiB")
    if len(names) == 2:
        a, b = (report["servers"][n]["wall"] for n in names)
        print(f"wall time {names[0]} / {names[1]} = {a / b:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
