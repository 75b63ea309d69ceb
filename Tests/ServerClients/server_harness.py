"""Shared harness for the `smol serve` integration tests.

Starts `$SMOL_BIN serve --model DIR --port 0 ...`, waits for the readiness line
`smol serve: listening on http://HOST:PORT` on stderr (up to 120 s), captures
stdout+stderr into a log file, prints the log tail when a test fails and always
kills the process (tearDownClass, atexit and SIGTERM of the test runner).

Environment:
  SMOL_BIN          path to the `smol` executable
  SMOL_MODEL        folder of the default model (SmolLM2-135M-Instruct)
  SMOL_TOOL_MODEL   folder of the scripted SmolLM3 tool/thinking fixture
  SMOL_TEST_LOG_DIR where server logs go (default: a fresh temp dir)
  SMOL_STARTUP_TIMEOUT seconds to wait for the readiness line (default 120)

Only the Python standard library is used here; the client-library tests import
`openai` / `anthropic` themselves.
"""
from __future__ import annotations

import atexit
import http.client
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

READY_RE = re.compile(r"smol serve: listening on http://(\[[^\]]*\]|[^\s:/]+):(\d+)")
STARTUP_TIMEOUT = float(os.environ.get("SMOL_STARTUP_TIMEOUT", "120"))

TOOL_GET_WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}

ANTHROPIC_TOOL_GET_WEATHER = {
    "name": "get_weather",
    "description": "Get the weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
}

WEATHER_QUESTION = "What is the weather in Paris?"
TOOL_RESULT_TEXT = "Sunny, 22 C"
FINAL_ANSWER = "It is sunny in Paris."
# The scripted thought of the fixture (scripts/make_tool_model.py).
THOUGHT = "Hmm, I should call the tool"
CAPITAL_QUESTION = "What is the capital of France?"


# --------------------------------------------------------------------------
# environment helpers
# --------------------------------------------------------------------------

def env(name: str) -> Optional[str]:
    value = os.environ.get(name)
    return value if value else None


def missing_env(*names: str) -> List[str]:
    return [n for n in names if not env(n)]


def skip_unless_env(*names: str) -> None:
    """Raise unittest.SkipTest (and say so on stderr) when a variable is unset."""
    missing = missing_env(*names)
    if missing:
        reason = "environment variable(s) not set: " + ", ".join(missing)
        print(f"\n*** SKIPPING: {reason}", file=sys.stderr, flush=True)
        raise unittest.SkipTest(reason)


_log_dir: Optional[str] = None


def log_dir() -> str:
    global _log_dir
    if _log_dir is None:
        _log_dir = env("SMOL_TEST_LOG_DIR") or tempfile.mkdtemp(prefix="smol-servertests-")
        os.makedirs(_log_dir, exist_ok=True)
    return _log_dir


# --------------------------------------------------------------------------
# server process management
# --------------------------------------------------------------------------

class ServerStartError(RuntimeError):
    pass


_ALL_SERVERS: List["SmolServer"] = []
_ALL_LOCK = threading.Lock()
_counter = 0


class SmolServer:
    """One `smol serve` process."""

    def __init__(self, model_dir: str, args: Sequence[str] = (), *, api_key: Optional[str] = None,
                 name: str = "server", startup_timeout: float = STARTUP_TIMEOUT,
                 bin_path: Optional[str] = None):
        global _counter
        self.model_dir = model_dir
        self.args = list(args)
        self.api_key = api_key
        self.bin = bin_path or env("SMOL_BIN")
        if not self.bin:
            raise ServerStartError("SMOL_BIN is not set")
        self.startup_timeout = startup_timeout
        with _ALL_LOCK:
            _counter += 1
            n = _counter
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
        self.log_path = os.path.join(log_dir(), f"{n:02d}-{safe}.log")
        self.proc: Optional[subprocess.Popen] = None
        self.port: Optional[int] = None
        self.bound_host: Optional[str] = None
        self.host = "127.0.0.1"   # where the tests connect
        self._log_file = None

    # -- lifecycle ---------------------------------------------------------
    def command(self) -> List[str]:
        cmd = [self.bin, "serve", "--model", self.model_dir, "--port", "0"]
        cmd += self.args
        if self.api_key is not None and "--api-key" not in self.args:
            cmd += ["--api-key", self.api_key]
        return cmd

    def spawn(self) -> subprocess.Popen:
        """Start the process without waiting for readiness."""
        self._log_file = open(self.log_path, "wb")
        self._log_file.write(("$ " + " ".join(self.command()) + "\n").encode())
        self._log_file.flush()
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                     stdout=self._log_file, stderr=self._log_file)
        with _ALL_LOCK:
            _ALL_SERVERS.append(self)
        return self.proc

    def start(self) -> "SmolServer":
        self.spawn()
        deadline = time.monotonic() + self.startup_timeout
        while True:
            m = READY_RE.search(self.log_text())
            if m:
                self.bound_host = m.group(1)
                self.port = int(m.group(2))
                if self.port <= 0:
                    self.stop()
                    raise ServerStartError(f"readiness line has port {self.port}\n{self.log_tail()}")
                return self
            if self.proc.poll() is not None:
                raise ServerStartError(
                    f"`smol serve` exited with code {self.proc.returncode} before becoming ready\n"
                    f"{self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise ServerStartError(
                    f"`smol serve` printed no readiness line within {self.startup_timeout:.0f}s\n"
                    f"{self.log_tail()}")
            time.sleep(0.05)

    def wait_exit(self, timeout: float) -> Optional[int]:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self, timeout: float = 15.0) -> Optional[int]:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._note(f"[harness] no exit {timeout:.0f}s after SIGTERM: killing pid {self.proc.pid}")
                try:
                    self.proc.kill()
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=30)
        if self._log_file is not None:
            try:
                self._log_file.close()
            except Exception:
                pass
            self._log_file = None
        return self.proc.returncode

    def _note(self, text: str) -> None:
        try:
            if self._log_file is not None:
                self._log_file.write((text + "\n").encode())
                self._log_file.flush()
        except Exception:
            pass

    # -- logs --------------------------------------------------------------
    def log_text(self) -> str:
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 80) -> str:
        text = self.log_text().splitlines()
        tail = "\n".join(text[-lines:])
        return f"----- server log {self.log_path} (last {min(lines, len(text))} lines) -----\n{tail}\n----- end of server log -----"

    # -- urls --------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        return self.base_url + "/v1"

    def auth_headers(self) -> Dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}


def _kill_all() -> None:
    with _ALL_LOCK:
        servers = list(_ALL_SERVERS)
    for s in servers:
        try:
            s.stop(timeout=5)
        except Exception:
            pass


atexit.register(_kill_all)


def _install_signal_handlers() -> None:
    def handler(signum, frame):  # turn SIGTERM/SIGHUP into a normal exit so atexit runs
        raise SystemExit(128 + signum)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        try:
            if signal.getsignal(sig) in (signal.SIG_DFL, None):
                signal.signal(sig, handler)
        except (ValueError, OSError):
            pass


if threading.current_thread() is threading.main_thread():
    _install_signal_handlers()


# Shared servers: one per (model, args, key) configuration, reused by every test
# class in the process that asks for the same configuration.
_SHARED: Dict[Tuple, SmolServer] = {}


def shared_server(model_env: str, args: Sequence[str] = (), api_key: Optional[str] = None) -> SmolServer:
    key = (model_env, tuple(args), api_key)
    s = _SHARED.get(key)
    if s is not None and s.alive():
        return s
    if s is not None:
        print(f"\n*** shared server {key} died (exit {s.proc.returncode}); restarting\n{s.log_tail(40)}",
              file=sys.stderr, flush=True)
    s = SmolServer(env(model_env), args, api_key=api_key,
                   name=f"shared-{model_env}-{'_'.join(args) or 'default'}").start()
    _SHARED[key] = s
    return s


# --------------------------------------------------------------------------
# HTTP helpers (standard library only)
# --------------------------------------------------------------------------

@dataclass
class Response:
    status: int
    reason: str
    headers: Dict[str, str]           # lower-cased names (last value wins)
    header_list: List[Tuple[str, str]]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    def header(self, name: str) -> Optional[str]:
        return self.headers.get(name.lower())

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.headers.get('content-type')} {self.body[:300]!r}>"


def request(server_or_port, method: str, path: str, body: Any = None, *,
            headers: Optional[Dict[str, str]] = None, timeout: float = 120.0,
            auth: bool = True) -> Response:
    """One HTTP request over a fresh http.client connection; reads the whole body."""
    if isinstance(server_or_port, SmolServer):
        host, port = server_or_port.host, server_or_port.port
        hdrs = dict(server_or_port.auth_headers()) if auth else {}
    else:
        host, port = "127.0.0.1", int(server_or_port)
        hdrs = {}
    if headers:
        hdrs.update(headers)
    data: Optional[bytes]
    if body is None:
        data = None
    elif isinstance(body, (bytes, bytearray)):
        data = bytes(body)
    elif isinstance(body, str):
        data = body.encode("utf-8")
    else:
        data = json.dumps(body).encode("utf-8")
    if data is not None and not any(k.lower() == "content-type" for k in hdrs):
        hdrs["Content-Type"] = "application/json"
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        skip_host = any(k.lower() == "host" for k in hdrs)
        conn.putrequest(method, path, skip_host=skip_host, skip_accept_encoding=True)
        for k, v in hdrs.items():
            conn.putheader(k, v)
        if data is not None:
            conn.putheader("Content-Length", str(len(data)))
        conn.endheaders(data)
        resp = conn.getresponse()
        payload = resp.read()
        hl = [(k, v) for k, v in resp.getheaders()]
        return Response(resp.status, resp.reason, {k.lower(): v for k, v in hl}, hl, payload)
    finally:
        conn.close()


def get_model_id(server: SmolServer) -> str:
    r = request(server, "GET", "/v1/models", timeout=30)
    if r.status != 200:
        raise AssertionError(f"GET /v1/models -> {r.status}: {r.body[:500]!r}")
    data = r.json()
    return data["data"][0]["id"]


# -- streaming over http.client ------------------------------------------------

@dataclass
class SSEEvent:
    event: Optional[str]
    data: str
    t: float                      # monotonic arrival time of the event's last line
    raw: bytes = b""

    def json(self) -> Any:
        return json.loads(self.data)


class StreamingResponse:
    """POST and read the response incrementally (http.client de-chunks)."""

    def __init__(self, server: SmolServer, path: str, body: Any, *, headers: Optional[Dict[str, str]] = None,
                 timeout: float = 120.0):
        self.t0 = time.monotonic()
        self.conn = http.client.HTTPConnection(server.host, server.port, timeout=timeout)
        hdrs = {"Content-Type": "application/json", **server.auth_headers(), **(headers or {})}
        data = body if isinstance(body, (bytes, bytearray)) else json.dumps(body).encode()
        self.conn.request("POST", path, body=data, headers=hdrs)
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.headers = {k.lower(): v for k, v in self.resp.getheaders()}
        self.raw = bytearray()

    def lines(self) -> Iterator[Tuple[bytes, float]]:
        """Yield raw lines (with their terminator) and arrival times."""
        while True:
            line = self.resp.readline()
            if not line:
                return
            self.raw += line
            yield line, time.monotonic()

    def events(self) -> Iterator[SSEEvent]:
        """Parse the stream per the SSE spec (LF, CRLF or CR line ends)."""
        ev_name: Optional[str] = None
        data_lines: List[str] = []
        raw = bytearray()
        for line, t in self.lines():
            raw += line
            text = line.decode("utf-8").rstrip("\r\n")
            if text == "":
                if ev_name is not None or data_lines:
                    yield SSEEvent(ev_name, "\n".join(data_lines), t, bytes(raw))
                ev_name, data_lines, raw = None, [], bytearray()
                continue
            if text.startswith(":"):
                continue
            name, _, value = text.partition(":")
            if value.startswith(" "):
                value = value[1:]
            if name == "event":
                ev_name = value
            elif name == "data":
                data_lines.append(value)
        if ev_name is not None or data_lines:
            yield SSEEvent(ev_name, "\n".join(data_lines), time.monotonic(), bytes(raw))

    def read_all(self) -> bytes:
        rest = self.resp.read()
        self.raw += rest
        return bytes(self.raw)

    def close(self) -> None:
        """Really drop the TCP connection (the response object holds its own reference)."""
        sock = self.conn.sock
        try:
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        for obj in (self.resp, self.conn):
            try:
                obj.close()
            except Exception:
                pass


def stream_request(server: SmolServer, path: str, body: Any, **kw) -> StreamingResponse:
    return StreamingResponse(server, path, body, **kw)


# -- raw sockets ----------------------------------------------------------------

@dataclass
class RawResponse:
    status: int
    reason: str
    headers: Dict[str, str]
    body: bytes
    raw: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


class HTTPParseError(Exception):
    pass


def _read_until(sock: socket.socket, buf: bytearray, marker: bytes, deadline: float) -> int:
    while True:
        i = buf.find(marker)
        if i >= 0:
            return i
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("timed out waiting for response")
        sock.settimeout(remaining)
        chunk = sock.recv(65536)
        if not chunk:
            raise HTTPParseError(f"connection closed while waiting for {marker!r}; got {bytes(buf[:300])!r}")
        buf += chunk


def read_http_response(sock: socket.socket, timeout: float = 60.0, buf: Optional[bytearray] = None) -> RawResponse:
    """Parse one HTTP/1.x response from `sock` (Content-Length, chunked or close-delimited)."""
    deadline = time.monotonic() + timeout
    buf = buf if buf is not None else bytearray()
    end = _read_until(sock, buf, b"\r\n\r\n", deadline)
    head = bytes(buf[:end]).decode("iso-8859-1")
    del buf[:end + 4]
    lines = head.split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise HTTPParseError(f"bad status line {lines[0]!r}")
    status = int(parts[1])
    reason = parts[2] if len(parts) > 2 else ""
    headers: Dict[str, str] = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        headers[k.strip().lower()] = v.strip()
    body = bytearray()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        while True:
            i = _read_until(sock, buf, b"\r\n", deadline)
            size = int(bytes(buf[:i]).split(b";")[0].strip(), 16)
            del buf[:i + 2]
            if size == 0:
                _read_until(sock, buf, b"\r\n", deadline)   # (no trailers expected)
                j = buf.find(b"\r\n")
                del buf[:j + 2]
                break
            while len(buf) < size + 2:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise socket.timeout("timed out reading chunk")
                sock.settimeout(remaining)
                c = sock.recv(65536)
                if not c:
                    raise HTTPParseError("connection closed inside a chunk")
                buf += c
            body += buf[:size]
            del buf[:size + 2]
    elif "content-length" in headers:
        n = int(headers["content-length"])
        while len(buf) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout("timed out reading body")
            sock.settimeout(remaining)
            c = sock.recv(65536)
            if not c:
                raise HTTPParseError(f"connection closed after {len(buf)} of {n} body bytes")
            buf += c
        body += buf[:n]
        del buf[:n]
    elif status in (204, 304) or 100 <= status < 200:
        pass
    else:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout("timed out reading close-delimited body")
            sock.settimeout(remaining)
            c = sock.recv(65536)
            if not c:
                break
            buf += c
        body += buf
        buf.clear()
    return RawResponse(status, reason, headers, bytes(body))


def connect(server_or_port, timeout: float = 30.0) -> socket.socket:
    port = server_or_port.port if isinstance(server_or_port, SmolServer) else int(server_or_port)
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def build_request(method: str, path: str, *, host: str, body: bytes = b"",
                  headers: Optional[Dict[str, str]] = None, content_length: Optional[int] = None) -> bytes:
    hdrs = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    for k, v in (headers or {}).items():
        hdrs.append(f"{k}: {v}")
    if body or method in ("POST", "PUT") or content_length is not None:
        hdrs.append(f"Content-Length: {len(body) if content_length is None else content_length}")
    return ("\r\n".join(hdrs) + "\r\n\r\n").encode("latin-1") + body


def raw_roundtrip(server_or_port, data: bytes, timeout: float = 60.0) -> RawResponse:
    s = connect(server_or_port, timeout)
    try:
        s.sendall(data)
        return read_http_response(s, timeout)
    finally:
        s.close()


def send_large_body(server: SmolServer, path: str, total_size: int, *, prefix: bytes = b'{"padding":"',
                    headers: Optional[Dict[str, str]] = None, timeout: float = 60.0) -> Tuple[Optional[RawResponse], int, str]:
    """Send a POST with a declared `total_size`-byte JSON body, stopping as soon as
    the server answers. Returns (response or None, bytes of body sent, note)."""
    hdrs = {"Content-Type": "application/json", **server.auth_headers(), **(headers or {})}
    head = build_request("POST", path, host=f"127.0.0.1:{server.port}", headers=hdrs, content_length=total_size)
    s = connect(server, timeout)
    sent = 0
    note = ""
    try:
        s.sendall(head)
        chunk = 1 << 20
        filler = b"a" * chunk
        suffix = b'"}'
        while sent < total_size:
            r, _, _ = select.select([s], [], [], 0)
            if r:
                note = "server answered before the body was complete"
                break
            n = min(chunk, total_size - sent)
            if sent == 0:
                piece = (prefix + filler)[:n]
            elif sent + n == total_size:
                piece = (filler[:max(0, n - len(suffix))] + suffix)[-n:]
            else:
                piece = filler[:n]
            try:
                s.settimeout(timeout)
                s.sendall(piece)
            except (BrokenPipeError, ConnectionResetError) as e:
                note = f"send failed after {sent} bytes: {e!r}"
                break
            sent += n
        try:
            return read_http_response(s, timeout), sent, note
        except (ConnectionResetError, HTTPParseError, socket.timeout) as e:
            return None, sent, note + f"; reading the response failed: {e!r}"
    finally:
        s.close()


# --------------------------------------------------------------------------
# SSE checks shared by the suites
# --------------------------------------------------------------------------

def split_sse_frames(body: bytes) -> List[bytes]:
    """Split an SSE body on blank lines (exact `\\n\\n`)."""
    assert body.endswith(b"\n\n"), f"SSE body must end with a blank line: ...{body[-80:]!r}"
    frames = body.split(b"\n\n")
    assert frames[-1] == b""
    return frames[:-1]


def parse_openai_sse(body: bytes, tc: unittest.TestCase) -> List[Dict[str, Any]]:
    """Strict byte-level check of an OpenAI chat.completion.chunk stream.
    Returns the decoded chunks (without [DONE])."""
    tc.assertNotIn(b"\r", body, "SSE framing must use bare \\n")
    frames = split_sse_frames(body)
    tc.assertGreaterEqual(len(frames), 2, f"too few SSE frames: {body[:500]!r}")
    chunks = []
    for i, fr in enumerate(frames):
        if fr.startswith(b":"):
            continue  # SSE comment (keep-alive) is allowed
        tc.assertTrue(fr.startswith(b"data: "), f"frame {i} does not start with 'data: ': {fr[:200]!r}")
        tc.assertNotIn(b"\n", fr, f"frame {i} must be exactly one data line: {fr[:200]!r}")
        payload = fr[len(b"data: "):]
        if payload == b"[DONE]":
            tc.assertEqual(i, len(frames) - 1, "[DONE] must be the last frame")
            continue
        obj = json.loads(payload.decode("utf-8"))
        chunks.append(obj)
    tc.assertEqual(frames[-1], b"data: [DONE]", "stream must end with 'data: [DONE]\\n\\n'")
    return chunks


def check_openai_chunks(chunks: List[Dict[str, Any]], tc: unittest.TestCase, *, model_id: str,
                        include_usage: bool) -> Dict[str, Any]:
    """Semantic checks; returns a summary dict with text, reasoning, tool calls, finish_reason, usage."""
    tc.assertTrue(chunks, "no chunks")
    ids = {c.get("id") for c in chunks}
    tc.assertEqual(len(ids), 1, f"all chunks must share one id, got {ids}")
    cid = ids.pop()
    tc.assertIsInstance(cid, str)
    tc.assertTrue(cid)
    created = {c.get("created") for c in chunks}
    tc.assertEqual(len(created), 1, "all chunks must share one `created`")
    for c in chunks:
        tc.assertEqual(c.get("object"), "chat.completion.chunk")
        tc.assertEqual(c.get("model"), model_id)
        tc.assertIsInstance(c.get("created"), int)
        tc.assertNotIn("error", c, "chunks must not carry an `error` key (clients treat it as an error)")
        tc.assertIsInstance(c.get("choices"), list)
    first_choice_chunks = [c for c in chunks if c["choices"]]
    tc.assertTrue(first_choice_chunks, "no chunk has choices")
    first_delta = first_choice_chunks[0]["choices"][0]["delta"]
    tc.assertEqual(first_delta.get("role"), "assistant", "first delta must carry role 'assistant'")
    text, reasoning = [], []
    tool_calls: Dict[int, Dict[str, Any]] = {}
    finish = []
    roles = 0
    order = []  # sequence of 'reasoning' / 'content' / 'tool' in arrival order
    for c in chunks:
        for ch in c["choices"]:
            tc.assertEqual(ch.get("index"), 0)
            d = ch.get("delta")
            tc.assertIsInstance(d, dict, "every choice needs a `delta` object")
            if d.get("role") is not None:
                roles += 1
            if d.get("content"):
                text.append(d["content"])
                order.append("content")
            if d.get("reasoning_content"):
                reasoning.append(d["reasoning_content"])
                order.append("reasoning")
            for tcall in d.get("tool_calls") or []:
                idx = tcall["index"]
                tc.assertIsInstance(idx, int)
                order.append("tool")
                slot = tool_calls.get(idx)
                if slot is None:
                    tc.assertIsInstance(tcall.get("id"), str, "first fragment of a tool call needs an id")
                    tc.assertTrue(tcall["id"])
                    tc.assertEqual(tcall.get("type"), "function", "first fragment needs type 'function'")
                    tc.assertIsInstance(tcall.get("function", {}).get("name"), str,
                                        "first fragment needs function.name")
                    slot = tool_calls[idx] = {"id": tcall["id"], "name": tcall["function"]["name"], "arguments": ""}
                else:
                    # openai-python's accumulator concatenates repeated strings
                    tc.assertFalse(tcall.get("id"), "tool call id must only be sent in the first fragment")
                    tc.assertFalse((tcall.get("function") or {}).get("name"),
                                   "function.name must only be sent in the first fragment")
                args = (tcall.get("function") or {}).get("arguments")
                if args:
                    slot["arguments"] += args
            if ch.get("finish_reason") is not None:
                finish.append(ch["finish_reason"])
    tc.assertEqual(roles, 1, "role must be sent exactly once (openai-python concatenates repeated role strings)")
    tc.assertEqual(len(finish), 1, f"exactly one finish_reason expected, got {finish}")
    tc.assertIn(finish[0], ("stop", "length", "tool_calls"))
    usage = None
    usage_chunks = [c for c in chunks if c.get("usage")]
    if include_usage:
        last = chunks[-1]
        tc.assertEqual(last.get("choices"), [], "usage chunk must have empty choices")
        tc.assertIsInstance(last.get("usage"), dict, "last chunk before [DONE] must carry usage")
        tc.assertEqual(len(usage_chunks), 1, "exactly one chunk may carry non-null usage")
        usage = last["usage"]
        check_openai_usage(usage, tc)
        # the finish_reason chunk comes before the usage chunk
        tc.assertTrue(chunks[-2]["choices"] and chunks[-2]["choices"][0].get("finish_reason"),
                      "the chunk before the usage chunk must carry the finish_reason")
    else:
        tc.assertFalse(usage_chunks, "no usage chunk unless stream_options.include_usage")
        tc.assertTrue(all(c["choices"] for c in chunks), "no empty-choices chunk unless include_usage")
    return {"id": cid, "text": "".join(text), "reasoning": "".join(reasoning), "tool_calls": tool_calls,
            "finish_reason": finish[0], "usage": usage, "order": order}


def check_openai_usage(usage: Dict[str, Any], tc: unittest.TestCase) -> None:
    for k in ("prompt_tokens", "completion_tokens", "total_tokens"):
        tc.assertIsInstance(usage.get(k), int, f"usage.{k} must be an int: {usage}")
        tc.assertGreaterEqual(usage[k], 0)
    tc.assertEqual(usage["total_tokens"], usage["prompt_tokens"] + usage["completion_tokens"])
    tc.assertGreater(usage["prompt_tokens"], 0)
    details = usage.get("prompt_tokens_details")
    tc.assertIsInstance(details, dict, "usage.prompt_tokens_details must be an object")
    tc.assertIsInstance(details.get("cached_tokens"), int)
    tc.assertLessEqual(details["cached_tokens"], usage["prompt_tokens"])


def parse_anthropic_sse(body: bytes, tc: unittest.TestCase) -> List[Tuple[str, Dict[str, Any]]]:
    """Strict byte-level check of an Anthropic Messages stream; returns (event, data) pairs (pings dropped)."""
    tc.assertNotIn(b"\r", body, "SSE framing must use bare \\n")
    frames = split_sse_frames(body)
    out = []
    for i, fr in enumerate(frames):
        if fr.startswith(b":"):
            continue
        lines = fr.split(b"\n")
        tc.assertEqual(len(lines), 2, f"frame {i} must be 'event: NAME\\ndata: JSON': {fr[:300]!r}")
        tc.assertTrue(lines[0].startswith(b"event: "), f"frame {i} first line: {lines[0][:100]!r}")
        tc.assertTrue(lines[1].startswith(b"data: "), f"frame {i} second line: {lines[1][:100]!r}")
        name = lines[0][len(b"event: "):].decode()
        data = json.loads(lines[1][len(b"data: "):].decode("utf-8"))
        tc.assertEqual(data.get("type"), name, f"event name and data.type differ in frame {i}")
        if name == "ping":
            continue
        out.append((name, data))
    return out


def check_anthropic_events(events: List[Tuple[str, Dict[str, Any]]], tc: unittest.TestCase, *,
                           model_id: str) -> Dict[str, Any]:
    """Grammar: message_start (block_start delta* block_stop)* message_delta message_stop."""
    names = [n for n, _ in events]
    tc.assertEqual(names[0], "message_start", names)
    tc.assertEqual(names[-1], "message_stop", names)
    tc.assertEqual(names[-2], "message_delta", names)
    tc.assertEqual(names.count("message_start"), 1)
    tc.assertEqual(names.count("message_delta"), 1)
    msg = events[0][1]["message"]
    tc.assertIsInstance(msg.get("id"), str)
    tc.assertTrue(msg["id"])
    tc.assertEqual(msg.get("type"), "message")
    tc.assertEqual(msg.get("role"), "assistant")
    tc.assertEqual(msg.get("content"), [], "message_start.message.content must be []")
    tc.assertEqual(msg.get("model"), model_id)
    tc.assertIn("stop_reason", msg)
    tc.assertIsNone(msg["stop_reason"])
    tc.assertIsInstance(msg.get("usage"), dict, "message_start.message.usage is required")
    tc.assertIsInstance(msg["usage"].get("input_tokens"), int)
    tc.assertIsInstance(msg["usage"].get("output_tokens"), int)
    blocks: List[Dict[str, Any]] = []
    json_bufs: Dict[int, str] = {}
    open_index: Optional[int] = None
    for name, data in events[1:-2]:
        if name == "content_block_start":
            tc.assertIsNone(open_index, "a block started before the previous one stopped")
            idx = data["index"]
            tc.assertEqual(idx, len(blocks), "content block indices must be 0,1,2,... in order")
            cb = data["content_block"]
            t = cb.get("type")
            if t == "text":
                tc.assertEqual(cb.get("text"), "", "text block start must carry text ''")
                blocks.append({"type": "text", "text": ""})
            elif t == "thinking":
                tc.assertEqual(cb.get("thinking"), "", "thinking block start must carry thinking ''")
                tc.assertIsInstance(cb.get("signature"), str, "thinking block start must carry a signature string")
                blocks.append({"type": "thinking", "thinking": "", "signature": cb["signature"]})
            elif t == "tool_use":
                tc.assertIsInstance(cb.get("id"), str)
                tc.assertTrue(cb["id"])
                tc.assertIsInstance(cb.get("name"), str)
                tc.assertEqual(cb.get("input"), {}, "tool_use block start must carry input {}")
                blocks.append({"type": "tool_use", "id": cb["id"], "name": cb["name"], "input": None})
                json_bufs[idx] = ""
            else:
                tc.fail(f"unexpected content block type {t!r}")
            open_index = idx
        elif name == "content_block_delta":
            tc.assertEqual(data["index"], open_index, "delta for a block that is not open")
            d = data["delta"]
            b = blocks[open_index]
            if d["type"] == "text_delta":
                tc.assertEqual(b["type"], "text")
                b["text"] += d["text"]
            elif d["type"] == "thinking_delta":
                tc.assertEqual(b["type"], "thinking")
                b["thinking"] += d["thinking"]
            elif d["type"] == "signature_delta":
                tc.assertEqual(b["type"], "thinking")
                b["signature"] = d["signature"]
            elif d["type"] == "input_json_delta":
                tc.assertEqual(b["type"], "tool_use")
                tc.assertIsInstance(d.get("partial_json"), str)
                json_bufs[open_index] += d["partial_json"]
            else:
                tc.fail(f"unexpected delta type {d['type']!r}")
        elif name == "content_block_stop":
            tc.assertEqual(data["index"], open_index)
            b = blocks[open_index]
            if b["type"] == "tool_use":
                b["input"] = json.loads(json_bufs[open_index] or "{}")
            open_index = None
        else:
            tc.fail(f"unexpected event {name!r} between message_start and message_delta")
    tc.assertIsNone(open_index, "a content block was never stopped")
    md = events[-2][1]
    tc.assertIn(md["delta"].get("stop_reason"), ("end_turn", "max_tokens", "stop_sequence", "tool_use"))
    tc.assertIn("stop_sequence", md["delta"], "message_delta.delta.stop_sequence must be present (null ok)")
    tc.assertIsInstance(md.get("usage"), dict, "message_delta.usage is required")
    tc.assertIsInstance(md["usage"].get("output_tokens"), int)
    return {"message": msg, "blocks": blocks, "stop_reason": md["delta"]["stop_reason"],
            "stop_sequence": md["delta"].get("stop_sequence"), "usage": md["usage"]}


def assert_openai_error(tc: unittest.TestCase, r, status: int, *, mentions: Optional[str] = None,
                        code: Optional[str] = None) -> Dict[str, Any]:
    tc.assertEqual(r.status, status, f"expected HTTP {status}, got {r.status}: {r.body[:500]!r}")
    ct = (r.headers.get("content-type") or "")
    tc.assertTrue(ct.startswith("application/json"), f"error Content-Type must be JSON, got {ct!r}")
    body = r.json()
    tc.assertIsInstance(body, dict)
    err = body.get("error")
    tc.assertIsInstance(err, dict, f"body must be {{'error': {{...}}}}: {body}")
    tc.assertIsInstance(err.get("message"), str)
    tc.assertTrue(err["message"].strip(), "error.message must not be empty")
    tc.assertIsInstance(err.get("type"), str)
    tc.assertIn("param", err, "error.param must be present (null allowed)")
    tc.assertIn("code", err, "error.code must be present (null allowed)")
    if mentions:
        hay = (err["message"] + " " + str(err.get("param") or "")).lower()
        tc.assertIn(mentions.lower(), hay, f"error must name {mentions!r}: {err}")
    if code is not None:
        tc.assertEqual(err.get("code"), code)
    return err


def assert_anthropic_error(tc: unittest.TestCase, r, status: int, etype: Optional[str] = None) -> Dict[str, Any]:
    tc.assertEqual(r.status, status, f"expected HTTP {status}, got {r.status}: {r.body[:500]!r}")
    ct = (r.headers.get("content-type") or "")
    tc.assertTrue(ct.startswith("application/json"), f"error Content-Type must be JSON, got {ct!r}")
    body = r.json()
    tc.assertEqual(body.get("type"), "error", f"Anthropic error body must have type 'error': {body}")
    err = body.get("error")
    tc.assertIsInstance(err, dict)
    tc.assertIsInstance(err.get("type"), str)
    tc.assertIsInstance(err.get("message"), str)
    tc.assertTrue(err["message"].strip())
    if etype:
        tc.assertEqual(err["type"], etype)
    return err


# --------------------------------------------------------------------------
# unittest base class
# --------------------------------------------------------------------------

class ServerTestCase(unittest.TestCase):
    """A test class that needs one running server.

    Subclasses set MODEL_ENV, SERVER_ARGS, API_KEY. With SHARED = True the server is
    shared with other classes of the same configuration in this process and stopped
    at exit; otherwise it is stopped in tearDownClass.
    """
    MODEL_ENV = "SMOL_MODEL"
    SERVER_ARGS: Sequence[str] = ()
    API_KEY: Optional[str] = None
    SHARED = True
    server: SmolServer
    model_id: str

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        skip_unless_env("SMOL_BIN", cls.MODEL_ENV)
        if cls.SHARED:
            cls.server = shared_server(cls.MODEL_ENV, cls.SERVER_ARGS, cls.API_KEY)
        else:
            cls.server = SmolServer(env(cls.MODEL_ENV), cls.SERVER_ARGS, api_key=cls.API_KEY,
                                    name=cls.__name__).start()
        try:
            cls.model_id = get_model_id(cls.server)
        except Exception:
            print(cls.server.log_tail(), file=sys.stderr)
            if not cls.SHARED:
                cls.server.stop()
            raise

    @classmethod
    def tearDownClass(cls) -> None:
        srv = getattr(cls, "server", None)
        if srv is not None and not cls.SHARED:
            srv.stop()
        super().tearDownClass()

    def run(self, result=None):
        if result is None:
            return super().run(result)
        before = len(result.failures) + len(result.errors)
        out = super().run(result)
        after = len(result.failures) + len(result.errors)
        srv = getattr(type(self), "server", None)
        if after > before and srv is not None:
            extra = "" if srv.alive() else f"\n*** server process is DEAD (exit code {srv.proc.returncode})"
            print(f"\n*** {self.id()} failed{extra}\n{srv.log_tail()}", file=sys.stderr, flush=True)
        return out

    def assertServerAlive(self) -> None:
        self.assertTrue(self.server.alive(), f"server died\n{self.server.log_tail()}")
        r = request(self.server, "GET", "/v1/models", timeout=30)
        self.assertEqual(r.status, 200, f"server no longer answers GET /v1/models: {r!r}")

    # convenience ---------------------------------------------------------
    def chat_body(self, content: str = CAPITAL_QUESTION, **extra) -> Dict[str, Any]:
        body = {"model": self.model_id, "messages": [{"role": "user", "content": content}],
                "max_tokens": 16, "temperature": 0}
        body.update(extra)
        return body

    def post(self, path: str, body: Any, **kw) -> Response:
        return request(self.server, "POST", path, body, **kw)
