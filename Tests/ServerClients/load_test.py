#!/usr/bin/env python3
"""Load test for `smol serve`: N concurrent streaming clients x M requests each.

Every request is a short streaming chat (POST /v1/chat/completions, stream,
stream_options.include_usage) to the default model. Checks: no 5xx (nor any
other non-200), every stream complete ([DONE] seen, a finish_reason seen, a
usage chunk seen), and the server's resident memory (VmRSS from
/proc/PID/status) is flat after warm-up. Reports latency p50/p90/p99 for time
to first token and total time, and aggregate completion tokens/s.

Either point it at a running server:
    load_test.py --base-url http://127.0.0.1:8080 --pid 12345 [--api-key K]
or let it start one through the harness (needs SMOL_BIN and SMOL_MODEL):
    load_test.py --clients 8 --requests 25

Exit code: 0 = pass, 1 = failures, 2 = usage error. Without --base-url and
without SMOL_BIN/SMOL_MODEL it prints SKIP and exits 0.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

PROMPTS = [
    "What is the capital of France?",
    "Name a color of the sky.",
    "Say hello in Spanish.",
    "What is two plus two?",
    "Give me one word that rhymes with cat.",
    "What animal says moo?",
]


@dataclass
class Result:
    client: int
    seq: int
    status: int = 0
    ok: bool = False
    error: str = ""
    ttft: Optional[float] = None
    total: float = 0.0
    completion_tokens: int = 0
    finish_reason: Optional[str] = None
    done: bool = False
    usage_seen: bool = False
    t_end: float = 0.0


@dataclass
class Shared:
    completed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    rss_warm: Optional[int] = None
    kv_warm: int = 0
    warm_at: int = 0
    pid: Optional[int] = None


def read_rss_kb(pid: Optional[int]) -> Optional[int]:
    if not pid:
        return None
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return None


# --mix: what each request of a client is, in turn. "stream": a streamed chat; "plain": not
# streamed; "cancel": streamed, dropped after its first token; "bad": an invalid field (must be a
# 400, never a 5xx); "shared": a streamed chat behind a long system prompt every client shares
# (the prefix cache copies it between conversations).
# "ollama": a streamed /api/chat (NDJSON); "schema": a non-streamed chat under a JSON Schema
# (response_format), whose finished reply must parse.
KINDS = ("stream", "plain", "cancel", "bad", "shared", "ollama", "schema")
SCHEMA = {"type": "object", "properties": {"answer": {"type": "string", "maxLength": 40}, "sure": {"type": "boolean"}},
          "required": ["answer", "sure"], "additionalProperties": False}
SHARED_SYSTEM = "You are a helpful assistant for a team of engineers. " + " ".join(
    f"Guideline {i}: keep answers short, concrete and polite." for i in range(40))


def one_request(host: str, port: int, model: str, max_tokens: int, api_key: Optional[str], client: int,
                seq: int, timeout: float, kind: str = "stream") -> Result:
    res = Result(client, seq)
    prompt = f"{PROMPTS[(client + seq) % len(PROMPTS)]} (request {client}-{seq})"
    messages = [{"role": "user", "content": prompt}]
    if kind == "shared":
        messages.insert(0, {"role": "system", "content": SHARED_SYSTEM})
    req = {"model": model, "messages": messages, "max_tokens": max_tokens, "temperature": 0.7,
           "seed": client * 1000 + seq, "stream": kind != "plain", "stream_options": {"include_usage": True}}
    if kind in ("plain", "schema"):
        del req["stream_options"]
        req["stream"] = False
    if kind == "schema":
        req["response_format"] = {"type": "json_schema", "json_schema": {"name": "a", "schema": SCHEMA, "strict": True}}
        req["max_tokens"] = max(max_tokens, 48)
    if kind == "bad":
        req["temperature"] = 7.5
    path = "/v1/chat/completions"
    if kind == "ollama":
        path = "/api/chat"
        req = {"model": model, "messages": messages, "stream": True,
               "options": {"temperature": 0.7, "seed": client * 1000 + seq, "num_predict": max_tokens}}
    body = json.dumps(req).encode()
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    t0 = time.monotonic()
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("POST", path, body=body, headers=headers)
        resp = conn.getresponse()
        res.status = resp.status
        if kind == "ollama":
            if resp.status != 200:
                res.error = f"HTTP {resp.status}: {resp.read()[:300]!r}"
                return res
            for line in resp:
                if not line.strip():
                    continue
                obj = json.loads(line)
                if "error" in obj:
                    res.error = f"error line: {line[:300]!r}"
                    return res
                if res.ttft is None and (obj.get("message") or {}).get("content"):
                    res.ttft = time.monotonic() - t0
                if obj.get("done"):
                    res.done = res.usage_seen = True
                    res.finish_reason = obj.get("done_reason")
                    res.completion_tokens = int(obj.get("eval_count", 0))
            res.ok = res.done and res.finish_reason in ("stop", "length") and res.completion_tokens <= max_tokens
            if not res.ok:
                res.error = f"ollama stream: done {res.done}, done_reason {res.finish_reason}, eval_count {res.completion_tokens}"
            return res
        if kind == "bad":
            payload = resp.read()
            if resp.status == 400 and b"temperature" in payload:
                res.ok = True
            else:
                res.error = f"bad request: expected 400 naming temperature, got {resp.status} {payload[:200]!r}"
            return res
        if kind in ("plain", "schema"):
            payload = resp.read()
            if resp.status != 200:
                res.error = f"HTTP {resp.status}: {payload[:300]!r}"
                return res
            b = json.loads(payload)
            res.finish_reason = b["choices"][0]["finish_reason"]
            res.completion_tokens = int(b["usage"]["completion_tokens"])
            res.done = res.usage_seen = True
            res.ok = res.completion_tokens <= req["max_tokens"] and res.finish_reason is not None
            if kind == "schema" and res.finish_reason == "stop":
                try:
                    v = json.loads(b["choices"][0]["message"]["content"])
                    res.ok = res.ok and isinstance(v, dict) and set(v) == {"answer", "sure"} and isinstance(v["sure"], bool)
                except ValueError:
                    res.ok = False
            if not res.ok:
                res.error = f"{kind} reply: {payload[:200]!r}"
            return res
        if resp.status != 200:
            res.error = f"HTTP {resp.status}: {resp.read()[:300]!r}"
            return res
        if not resp.getheader("content-type", "").startswith("text/event-stream"):
            res.error = f"bad content-type {resp.getheader('content-type')!r}"
            return res
        data_lines: List[str] = []
        while True:
            line = resp.readline()
            if not line:
                break
            text = line.decode("utf-8").rstrip("\r\n")
            if text.startswith("data:"):
                data_lines.append(text[5:].lstrip(" "))
                continue
            if text != "" or not data_lines:
                continue
            payload = "\n".join(data_lines)
            data_lines = []
            if payload == "[DONE]":
                res.done = True
                break
            chunk = json.loads(payload)
            if "error" in chunk:
                res.error = f"error chunk: {payload[:300]}"
                return res
            for ch in chunk.get("choices") or []:
                d = ch.get("delta") or {}
                if res.ttft is None and (d.get("content") or d.get("reasoning_content") or d.get("tool_calls")):
                    res.ttft = time.monotonic() - t0
                    if kind == "cancel":
                        # Drop the stream mid-generation: the server must stop it and carry on.
                        res.ok, res.finish_reason = True, "cancelled"
                        return res
                if ch.get("finish_reason"):
                    res.finish_reason = ch["finish_reason"]
            if chunk.get("usage"):
                res.usage_seen = True
                res.completion_tokens = int(chunk["usage"].get("completion_tokens", 0))
        res.total = time.monotonic() - t0
        problems = []
        if not res.done:
            problems.append("no [DONE]")
        if not res.finish_reason:
            problems.append("no finish_reason")
        if not res.usage_seen:
            problems.append("no usage chunk")
        if res.completion_tokens > max_tokens:
            problems.append(f"completion_tokens {res.completion_tokens} > max_tokens {max_tokens}")
        if problems:
            res.error = ", ".join(problems)
        else:
            res.ok = True
        return res
    except Exception as e:  # connection reset, timeout, bad JSON ...
        res.error = f"{type(e).__name__}: {e}"
        return res
    finally:
        res.t_end = time.monotonic()
        if not res.total:
            res.total = res.t_end - t0
        conn.close()


def kv_bytes(host, port, headers) -> int:
    """Bytes the server's KV cache pool holds (GET /health), 0 if it does not say."""
    try:
        c = http.client.HTTPConnection(host, port, timeout=30)
        c.request("GET", "/health", headers=headers)
        h = json.loads(c.getresponse().read())
        c.close()
        return int((h.get("kv_cache") or {}).get("bytes", 0))
    except Exception:  # noqa: BLE001
        return 0


def pct(values: List[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def fmt_ms(x: float) -> str:
    return f"{x * 1000:8.0f} ms"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=8, help="concurrent streaming clients (default 8)")
    ap.add_argument("--requests", type=int, default=25, help="requests per client (default 25)")
    ap.add_argument("--max-tokens", type=int, default=16)
    ap.add_argument("--base-url", help="use a running server, e.g. http://127.0.0.1:8080")
    ap.add_argument("--pid", type=int, help="pid of the running server (for VmRSS)")
    ap.add_argument("--api-key", default=os.environ.get("SMOL_API_KEY"))
    ap.add_argument("--model", help="model id (default: first id from GET /v1/models)")
    ap.add_argument("--server-args", default="", help="extra args when starting a server, e.g. '--max-queue 64'")
    ap.add_argument("--timeout", type=float, default=300.0, help="per-request socket timeout (s)")
    ap.add_argument("--deadline", type=float, default=1800.0, help="hard limit for the whole run (s)")
    ap.add_argument("--rss-growth-limit", type=float, default=0.10,
                    help="max relative VmRSS growth from warm-up to end (default 0.10)")
    ap.add_argument("--no-rss-check", action="store_true")
    ap.add_argument("--mix", default="stream",
                    help=f"comma-separated request kinds each client cycles through: {', '.join(KINDS)} "
                         "(default stream; a soak: stream,plain,cancel,bad,shared,ollama,schema)")
    ap.add_argument("--duration", type=float, default=0,
                    help="run for this many seconds (each client keeps sending) instead of --requests each")
    args = ap.parse_args(argv)
    if args.clients < 1 or args.requests < 1:
        ap.error("--clients and --requests must be >= 1")
    args.kinds = [k.strip() for k in args.mix.split(",") if k.strip()]
    if not args.kinds or any(k not in KINDS for k in args.kinds):
        ap.error(f"--mix takes kinds from {', '.join(KINDS)}")
    if args.duration > 0:
        args.deadline = max(args.deadline, args.duration + 600)

    server = None
    if args.base_url:
        u = urllib.parse.urlparse(args.base_url)
        host, port = u.hostname or "127.0.0.1", u.port or 80
        pid = args.pid
    else:
        missing = [n for n in ("SMOL_BIN", "SMOL_MODEL") if not os.environ.get(n)]
        if missing:
            print(f"SKIP load test: {', '.join(missing)} not set and no --base-url given")
            return 0
        from server_harness import SmolServer
        extra = args.server_args.split() if args.server_args else []
        # room for every client at once unless the caller chose otherwise
        if "--max-queue" not in extra:
            extra += ["--max-queue", str(max(args.clients, 1) + 4)]
        server = SmolServer(os.environ["SMOL_MODEL"], extra, api_key=args.api_key, name="load-test")
        try:
            server.start()
        except Exception as e:
            print(f"FAIL: could not start server: {e}")
            return 1
        host, port, pid = "127.0.0.1", server.port, server.pid
        print(f"started server pid {pid} on port {port} (log {server.log_path})")

    try:
        return run(args, host, port, pid, server)
    finally:
        if server is not None:
            server.stop()


def run(args, host, port, pid, server) -> int:
    # model id
    model = args.model
    headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}
    if not model:
        c = http.client.HTTPConnection(host, port, timeout=30)
        c.request("GET", "/v1/models", headers=headers)
        r = c.getresponse()
        body = r.read()
        c.close()
        if r.status != 200:
            print(f"FAIL: GET /v1/models -> {r.status} {body[:200]!r}")
            return 1
        model = json.loads(body)["data"][0]["id"]

    total_requests = args.clients * args.requests
    # A timed soak warms up for its first minute (or tenth).
    shared = Shared(pid=pid, warm_at=max(1, total_requests // 10 if not args.duration else args.clients * 4))
    rss_before = read_rss_kb(pid)
    results: List[Result] = []
    results_lock = threading.Lock()
    deadline = time.monotonic() + args.deadline
    stop = threading.Event()

    t_end = time.monotonic() + args.duration if args.duration > 0 else None

    def client_loop(ci: int):
        seq = 0
        while (seq < args.requests) if t_end is None else (time.monotonic() < t_end):
            if stop.is_set() or time.monotonic() > deadline:
                return
            kind = args.kinds[(ci + seq) % len(args.kinds)]
            res = one_request(host, port, model, args.max_tokens, args.api_key, ci, seq, args.timeout, kind)
            seq += 1
            with results_lock:
                results.append(res)
            with shared.lock:
                shared.completed += 1
                if shared.completed == shared.warm_at:
                    shared.rss_warm = read_rss_kb(pid)
                    shared.kv_warm = kv_bytes(host, port, headers)
            if res.status >= 500:
                stop.set()      # a 5xx is a failure; no point hammering a broken server

    print(f"load test: {args.clients} clients x {args.requests} requests, max_tokens {args.max_tokens}, "
          f"model {model!r}, server {host}:{port}" + (f", pid {pid}" if pid else ""))
    t_start = time.monotonic()
    threads = [threading.Thread(target=client_loop, args=(i,), daemon=True) for i in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()) + 5)
    wall = time.monotonic() - t_start
    timed_out = any(t.is_alive() for t in threads)
    rss_end = read_rss_kb(pid)

    ok = [r for r in results if r.ok]
    bad = [r for r in results if not r.ok]
    five = [r for r in results if r.status >= 500]
    ttfts = [r.ttft for r in ok if r.ttft is not None]
    totals = [r.total for r in ok]
    tokens = sum(r.completion_tokens for r in ok)

    print(f"\nrequests: {len(results)}/{total_requests} finished in {wall:.1f}s; ok {len(ok)}, failed {len(bad)}, "
          f"5xx {len(five)}")
    if ttfts:
        print(f"time to first token: p50 {fmt_ms(pct(ttfts, 50))}  p90 {fmt_ms(pct(ttfts, 90))}  "
              f"p99 {fmt_ms(pct(ttfts, 99))}")
    if totals:
        print(f"total time:          p50 {fmt_ms(pct(totals, 50))}  p90 {fmt_ms(pct(totals, 90))}  "
              f"p99 {fmt_ms(pct(totals, 99))}  mean {fmt_ms(statistics.mean(totals))}")
    print(f"completion tokens: {tokens} total, {tokens / wall if wall > 0 else 0:.1f} tok/s aggregate")
    finish = {}
    for r in ok:
        finish[r.finish_reason] = finish.get(r.finish_reason, 0) + 1
    print(f"finish reasons: {finish}")

    if args.duration > 0:
        total_requests = len(results)
    print(f"mix: {', '.join(args.kinds)}")
    failures = []
    # The KV pool is back within its budget with nothing running.
    time.sleep(1.0)
    try:
        c = http.client.HTTPConnection(host, port, timeout=30)
        c.request("GET", "/health", headers=headers)
        health = json.loads(c.getresponse().read())
        c.close()
        kv = health.get("kv_cache") or {}
        print(f"KV cache: {kv}")
        if kv:
            if kv.get("in_use", 0) != 0:
                failures.append(f"{kv['in_use']} KV caches still in use with no request running")
            if kv.get("bytes", 0) > kv.get("budget", 0) and kv.get("entries", 0) > 1:
                failures.append(f"KV cache holds {kv['bytes']} bytes, over its budget {kv['budget']}")
    except Exception as e:  # noqa: BLE001
        failures.append(f"GET /health failed at the end: {e}")
    if timed_out or len(results) < total_requests:
        failures.append(f"only {len(results)} of {total_requests} requests finished within --deadline")
    if five:
        failures.append(f"{len(five)} responses were 5xx")
    if bad:
        failures.append(f"{len(bad)} requests failed")
        by_error = {}
        for r in bad:
            by_error.setdefault(r.error, []).append(f"{r.client}-{r.seq}")
        for err, who in list(by_error.items())[:10]:
            print(f"  FAILED x{len(who)} ({', '.join(who[:5])}{'...' if len(who) > 5 else ''}): {err}")

    if pid:
        def kb(x):
            return f"{x / 1024:.1f} MiB" if x is not None else "n/a"
        print(f"VmRSS: before {kb(rss_before)}, after warm-up ({shared.warm_at} requests) {kb(shared.rss_warm)}, "
              f"end {kb(rss_end)}")
        if rss_end is None:
            failures.append("server process gone at the end (VmRSS unreadable)")
        elif shared.rss_warm and not args.no_rss_check:
            # Conversations kept in the KV cache pool (under its budget) are not a leak: count
            # the growth of everything else.
            kv_growth_kb = (kv_bytes(host, port, headers) - shared.kv_warm) // 1024
            growth = (rss_end - kv_growth_kb - shared.rss_warm) / shared.rss_warm
            verdict = "flat" if growth < args.rss_growth_limit else "GROWING"
            print(f"VmRSS growth after warm-up, less {kv_growth_kb / 1024:.1f} MiB more kept KV: {growth * 100:+.1f}% "
                  f"({verdict}, limit {args.rss_growth_limit * 100:.0f}%)")
            if growth >= args.rss_growth_limit:
                failures.append(f"VmRSS grew {growth * 100:.1f}% after warm-up")
    else:
        print("VmRSS: no --pid given, memory not checked")
    if server is not None and not server.alive():
        failures.append(f"server exited with code {server.proc.returncode}")

    if failures:
        print("\nLOAD TEST FAILED: " + "; ".join(failures))
        if server is not None:
            print(server.log_tail(40))
        print(f"load: {len(ok)} passed, {len(results) - len(ok) + (total_requests - len(results))} failed")
        return 1
    print("\nLOAD TEST PASSED")
    print(f"load: {len(ok)} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
