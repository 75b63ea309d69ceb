"""Byte-level / protocol tests for `smol serve` using only the standard library.

Covers: SSE framing (OpenAI and Anthropic), response shapes, every error case
of the contract, auth, the Host-header (DNS-rebinding) check, the request
queue (429 + Retry-After), client-disconnect cancellation, the non-loopback
bind refusal, and a request in the exact shape Claw Code sends.

Run:  SMOL_BIN=... SMOL_MODEL=... SMOL_TOOL_MODEL=... python -m unittest -v test_raw_http
"""
from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
import unittest

from server_harness import (
    THOUGHT,
    ANTHROPIC_TOOL_GET_WEATHER, CAPITAL_QUESTION, FINAL_ANSWER, TOOL_GET_WEATHER, TOOL_RESULT_TEXT,
    WEATHER_QUESTION, ServerTestCase, SmolServer, assert_anthropic_error, assert_openai_error,
    build_request, check_anthropic_events, check_openai_chunks, check_openai_usage, connect, env,
    parse_anthropic_sse, parse_openai_sse, raw_roundtrip, read_http_response, request,
    send_large_body, skip_unless_env, stream_request,
)

LONG_PROMPT = "Count from 1 to 1000, one number per line."


def anthropic_headers():
    return {"anthropic-version": "2023-06-01"}


# ============================================================================
# Happy-path protocol shapes on the default model
# ============================================================================

class RawProtocolTest(ServerTestCase):
    MODEL_ENV = "SMOL_MODEL"

    def test_models_list_shape(self):
        r = request(self.server, "GET", "/v1/models")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.header("content-type").startswith("application/json"))
        body = r.json()
        self.assertEqual(body.get("object"), "list")
        self.assertIsInstance(body.get("data"), list)
        self.assertEqual(len(body["data"]), 1, body)
        m = body["data"][0]
        self.assertIsInstance(m.get("id"), str)
        self.assertIn(":", m["id"], "model id should look like 'smollm2:135m-instruct'")
        self.assertEqual(m.get("object"), "model")
        self.assertIsInstance(m.get("created"), int)
        self.assertGreater(m["created"], 1_000_000_000)
        self.assertEqual(m.get("owned_by"), "smolruntime")

    def test_openai_sse_bytes_with_usage(self):
        body = self.chat_body(stream=True, stream_options={"include_usage": True}, max_tokens=8)
        r = self.post("/v1/chat/completions", body)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.header("content-type").startswith("text/event-stream"), r.header("content-type"))
        self.assertTrue(r.body.endswith(b"data: [DONE]\n\n"), r.body[-100:])
        chunks = parse_openai_sse(r.body, self)
        s = check_openai_chunks(chunks, self, model_id=self.model_id, include_usage=True)
        self.assertIn(s["finish_reason"], ("stop", "length"))
        self.assertLessEqual(s["usage"]["completion_tokens"], 8)
        self.assertGreater(s["usage"]["completion_tokens"], 0)
        if s["finish_reason"] == "length":
            self.assertEqual(s["usage"]["completion_tokens"], 8)
        self.assertTrue(s["text"], "no content streamed")
        self.assertFalse(s["tool_calls"])
        self.assertEqual(s["reasoning"], "", "default model has no thinking")

    def test_openai_sse_without_usage(self):
        r = self.post("/v1/chat/completions", self.chat_body(stream=True, max_tokens=4))
        self.assertEqual(r.status, 200, r)
        chunks = parse_openai_sse(r.body, self)
        check_openai_chunks(chunks, self, model_id=self.model_id, include_usage=False)

    def test_openai_stream_matches_non_stream(self):
        body = self.chat_body(max_tokens=12)
        ns = self.post("/v1/chat/completions", body).json()
        st = self.post("/v1/chat/completions", {**body, "stream": True})
        s = check_openai_chunks(parse_openai_sse(st.body, self), self, model_id=self.model_id, include_usage=False)
        self.assertEqual(s["text"], ns["choices"][0]["message"]["content"],
                         "greedy stream and non-stream must produce the same text")
        self.assertEqual(s["finish_reason"], ns["choices"][0]["finish_reason"])

    def test_openai_stream_is_incremental(self):
        """Chunks must be flushed as tokens are produced, not buffered to the end."""
        body = self.chat_body(LONG_PROMPT, stream=True, max_tokens=40)
        sr = stream_request(self.server, "/v1/chat/completions", body)
        try:
            self.assertEqual(sr.status, 200)
            times = []
            n_content = 0
            for ev in sr.events():
                if ev.data == "[DONE]":
                    times.append(("done", ev.t))
                    break
                c = ev.json()
                if c["choices"] and c["choices"][0]["delta"].get("content"):
                    n_content += 1
                    times.append(("content", ev.t))
        finally:
            sr.close()
        if n_content < 20:
            self.skipTest(f"model stopped after {n_content} content chunks; cannot judge streaming")
        first = next(t for k, t in times if k == "content")
        done = times[-1][1]
        self.assertGreater(done - first, 0.1,
                           "all chunks arrived at once: the server must flush each SSE chunk as it is produced")

    def test_openai_non_stream_shape(self):
        r = self.post("/v1/chat/completions", self.chat_body(max_tokens=8))
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.header("content-type").startswith("application/json"))
        b = r.json()
        self.assertIsInstance(b.get("id"), str)
        self.assertTrue(b["id"])
        self.assertEqual(b.get("object"), "chat.completion")
        self.assertIsInstance(b.get("created"), int)
        self.assertEqual(b.get("model"), self.model_id)
        self.assertEqual(len(b.get("choices", [])), 1)
        ch = b["choices"][0]
        self.assertEqual(ch.get("index"), 0)
        self.assertIn(ch.get("finish_reason"), ("stop", "length"))
        msg = ch["message"]
        self.assertEqual(msg.get("role"), "assistant")
        self.assertIsInstance(msg.get("content"), str)
        # Claw Code deserialises tool_calls as a list with serde(default): null breaks it.
        self.assertIsNot(msg.get("tool_calls", []), None, "omit tool_calls (or send []) rather than null")
        self.assertNotIn("error", b)
        check_openai_usage(b["usage"], self)
        self.assertLessEqual(b["usage"]["completion_tokens"], 8)

    def test_unknown_fields_ignored(self):
        body = self.chat_body(max_tokens=2, user="u-1", some_future_field={"x": [1, 2, 3]},
                              logit_bias={}, n=1, metadata={"k": "v"}, parallel_tool_calls=False)
        r = self.post("/v1/chat/completions", body)
        self.assertEqual(r.status, 200, r)

    def test_keep_alive_connection_reuse(self):
        """If the server does not announce `Connection: close`, the connection must stay usable."""
        s = connect(self.server)
        try:
            req = build_request("GET", "/v1/models", host=f"127.0.0.1:{self.server.port}")
            s.sendall(req)
            r1 = read_http_response(s, 30)
            self.assertEqual(r1.status, 200)
            if "close" in r1.headers.get("connection", "").lower():
                self.skipTest("server closes connections after each response (announced)")
            body = json.dumps(self.chat_body(max_tokens=2)).encode()
            s.sendall(build_request("POST", "/v1/chat/completions", host=f"127.0.0.1:{self.server.port}",
                                    body=body, headers={"Content-Type": "application/json"}))
            r2 = read_http_response(s, 60)
            self.assertEqual(r2.status, 200)
            self.assertEqual(r2.json()["object"], "chat.completion")
        finally:
            s.close()

    # -- Anthropic ------------------------------------------------------------
    def anthropic_body(self, **extra):
        body = {"model": self.model_id, "max_tokens": 8, "temperature": 0,
                "messages": [{"role": "user", "content": CAPITAL_QUESTION}]}
        body.update(extra)
        return body

    def test_anthropic_sse_bytes(self):
        r = self.post("/v1/messages", self.anthropic_body(stream=True), headers=anthropic_headers())
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.header("content-type").startswith("text/event-stream"))
        self.assertNotIn(b"[DONE]", r.body, "Anthropic streams have no [DONE] sentinel")
        events = parse_anthropic_sse(r.body, self)
        s = check_anthropic_events(events, self, model_id=self.model_id)
        self.assertEqual([b["type"] for b in s["blocks"]], ["text"])
        self.assertTrue(s["blocks"][0]["text"])
        self.assertIn(s["stop_reason"], ("end_turn", "max_tokens"))
        self.assertGreater(s["usage"]["output_tokens"], 0)
        self.assertLessEqual(s["usage"]["output_tokens"], 8)
        self.assertGreater(s["message"]["usage"]["input_tokens"], 0)

    def test_anthropic_non_stream_shape(self):
        r = self.post("/v1/messages", self.anthropic_body(), headers=anthropic_headers())
        self.assertEqual(r.status, 200, r)
        b = r.json()
        self.assertIsInstance(b.get("id"), str)
        self.assertTrue(b["id"])
        self.assertEqual(b.get("type"), "message")
        self.assertEqual(b.get("role"), "assistant")
        self.assertEqual(b.get("model"), self.model_id)
        self.assertIsInstance(b.get("content"), list)
        self.assertEqual(b["content"][0]["type"], "text")
        self.assertIsInstance(b["content"][0]["text"], str)
        self.assertIn(b.get("stop_reason"), ("end_turn", "max_tokens"))
        self.assertIn("stop_sequence", b)
        u = b.get("usage")
        self.assertIsInstance(u, dict)
        self.assertIsInstance(u.get("input_tokens"), int)
        self.assertIsInstance(u.get("output_tokens"), int)
        self.assertIsInstance(u.get("cache_read_input_tokens"), int)
        self.assertGreater(u["input_tokens"] + u["cache_read_input_tokens"], 0)

    def test_anthropic_count_tokens_shape(self):
        body = {"model": self.model_id, "messages": [{"role": "user", "content": CAPITAL_QUESTION}]}
        r = self.post("/v1/messages/count_tokens", body, headers=anthropic_headers())
        self.assertEqual(r.status, 200, r)
        b = r.json()
        self.assertEqual(set(b), {"input_tokens"}, b)
        self.assertIsInstance(b["input_tokens"], int)
        self.assertGreater(b["input_tokens"], 3)
        longer = {"model": self.model_id,
                  "messages": [{"role": "user", "content": CAPITAL_QUESTION + " Please answer carefully and explain."}]}
        b2 = self.post("/v1/messages/count_tokens", longer, headers=anthropic_headers()).json()
        self.assertGreater(b2["input_tokens"], b["input_tokens"])


# ============================================================================
# Error handling (default config)
# ============================================================================

class RawErrorsTest(ServerTestCase):
    MODEL_ENV = "SMOL_MODEL"

    def tearDown(self):
        # After every error the server must still be up.
        if getattr(type(self), "server", None) is not None:
            self.assertServerAlive()

    def test_malformed_json(self):
        r = self.post("/v1/chat/completions", b'{"model": "x", "messages": [')
        assert_openai_error(self, r, 400)

    def test_body_not_an_object(self):
        r = self.post("/v1/chat/completions", b'[1, 2, 3]')
        assert_openai_error(self, r, 400)

    def test_messages_wrong_type(self):
        r = self.post("/v1/chat/completions", {"model": self.model_id, "messages": "x"})
        assert_openai_error(self, r, 400, mentions="messages")

    def test_messages_missing(self):
        r = self.post("/v1/chat/completions", {"model": self.model_id})
        assert_openai_error(self, r, 400, mentions="messages")

    def test_temperature_wrong_type(self):
        r = self.post("/v1/chat/completions", self.chat_body(temperature="hot"))
        assert_openai_error(self, r, 400, mentions="temperature")

    def test_max_tokens_negative(self):
        r = self.post("/v1/chat/completions", self.chat_body(max_tokens=-1))
        assert_openai_error(self, r, 400, mentions="max_tokens")

    def test_role_missing(self):
        r = self.post("/v1/chat/completions",
                      {"model": self.model_id, "messages": [{"content": "hi"}], "max_tokens": 2})
        err = assert_openai_error(self, r, 400)
        hay = (err["message"] + " " + str(err.get("param"))).lower()
        self.assertTrue("role" in hay or "messages" in hay, f"error must name messages[0].role: {err}")

    def test_deeply_nested_json(self):
        depth = 10_000
        body = ('{"model": %s, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2, "x": '
                % json.dumps(self.model_id)) + "[" * depth + "]" * depth + "}"
        r = self.post("/v1/chat/completions", body.encode())
        assert_openai_error(self, r, 400)

    def test_body_over_default_cap_40mib(self):
        resp, sent, note = send_large_body(self.server, "/v1/chat/completions", 40 * 1024 * 1024)
        self.assertIsNotNone(resp, f"no HTTP response to a 40 MiB body ({note}). The server must answer 413 "
                                   f"(and should drain or half-close instead of resetting the connection)")
        assert_openai_error(self, resp, 413)

    def test_any_model_name_is_the_served_model(self):
        # One model served: any name is answered by it (as llama-server and LM Studio do),
        # and the response carries the real id.
        for name in ("no-such-model:1b", "openai/gpt-4o", "ollama/smollm3"):
            r = self.post("/v1/chat/completions", {**self.chat_body(), "model": name, "max_tokens": 2})
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["model"], self.model_id)

    def test_unknown_path_get(self):
        r = request(self.server, "GET", "/v1/does-not-exist")
        self.assertEqual(r.status, 404)
        self.assertTrue(r.header("content-type").startswith("application/json"), r)
        self.assertIn("error", r.json())

    def test_unknown_path_post(self):
        r = self.post("/v2/chat/completions", self.chat_body())
        self.assertEqual(r.status, 404)
        self.assertIn("error", r.json())

    def test_invalid_utf8_body(self):
        r = self.post("/v1/chat/completions",
                      b'{"model": "m", "messages": [{"role": "user", "content": "\xff\xfe"}]}')
        assert_openai_error(self, r, 400)

    # -- Anthropic endpoint errors use the Anthropic shape -----------------------
    def test_anthropic_malformed_json(self):
        r = self.post("/v1/messages", b'{"model": ', headers=anthropic_headers())
        assert_anthropic_error(self, r, 400, "invalid_request_error")

    def test_anthropic_messages_wrong_type(self):
        r = self.post("/v1/messages", {"model": self.model_id, "max_tokens": 4, "messages": "x"},
                      headers=anthropic_headers())
        err = assert_anthropic_error(self, r, 400, "invalid_request_error")
        self.assertIn("messages", err["message"])

    def test_anthropic_any_model_name(self):
        r = self.post("/v1/messages", {"model": "claude-sonnet-4-5", "max_tokens": 2,
                                       "messages": [{"role": "user", "content": "hi"}]},
                      headers=anthropic_headers())
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["model"], self.model_id)

    def test_anthropic_count_tokens_bad_request(self):
        r = self.post("/v1/messages/count_tokens", {"model": self.model_id, "messages": 5},
                      headers=anthropic_headers())
        assert_anthropic_error(self, r, 400, "invalid_request_error")


class RawStrictModelNamesTest(ServerTestCase):
    """--strict-model-names: only the model's own names are answered."""
    SERVER_ARGS = ("--strict-model-names",)
    SHARED = False

    def test_unknown_model_is_404_naming_the_id(self):
        r = self.post("/v1/chat/completions", {"model": "no-such-model:1b", "max_tokens": 2,
                                               "messages": [{"role": "user", "content": "hi"}]})
        err = assert_openai_error(self, r, 404, code="model_not_found")
        self.assertIn(self.model_id, err["message"])
        r = self.post("/v1/messages", {"model": "no-such-model:1b", "max_tokens": 4,
                                       "messages": [{"role": "user", "content": "hi"}]},
                      headers=anthropic_headers())
        assert_anthropic_error(self, r, 404, "not_found_error")
        r = self.post("/api/chat", {"model": "no-such-model:1b", "stream": False,
                                    "messages": [{"role": "user", "content": "hi"}]})
        self.assertEqual(r.status, 404, r)
        self.assertIn("no-such-model:1b", r.json()["error"])

    def test_own_id_is_answered(self):
        r = self.post("/v1/chat/completions", {"model": self.model_id, "max_tokens": 2,
                                               "messages": [{"role": "user", "content": "hi"}]})
        self.assertEqual(r.status, 200, r)


# ============================================================================
# Limits: small context and a small body cap
# ============================================================================

# Claw Code (rust/crates/api, commit 08106b0c) starts its automatic compaction only when a
# context error's text contains one of these.
CLAW_CONTEXT_PHRASES = ("maximum context length", "context length", "context window", "prompt is too long",
                        "input is too long", "too many tokens", "exceeds the available context size",
                        "exceed_context_size")


class RawLimitsTest(ServerTestCase):
    MODEL_ENV = "SMOL_MODEL"
    SERVER_ARGS = ("--context", "256", "--max-body-bytes", "1000000")
    SHARED = False

    def tearDown(self):
        if getattr(type(self), "server", None) is not None:
            self.assertServerAlive()

    def test_prompt_longer_than_context_openai(self):
        long_text = "hello " * 2000
        r = self.post("/v1/chat/completions", self.chat_body(long_text))
        err = assert_openai_error(self, r, 400)
        # OpenAI's own wording: Claw Code compacts the conversation only on phrases it knows and
        # reads the limit from "maximum context length is N tokens".
        m = re.match(r"This model's maximum context length is 256 tokens\. However, your messages resulted in (\d+) tokens",
                     err["message"])
        self.assertIsNotNone(m, err["message"])
        self.assertGreater(int(m.group(1)), 256)
        self.assertEqual(err.get("code"), "context_length_exceeded")
        self.assertTrue(any(p in err["message"].lower() for p in CLAW_CONTEXT_PHRASES))

    def test_prompt_longer_than_context_anthropic(self):
        r = self.post("/v1/messages", {"model": self.model_id, "max_tokens": 4,
                                       "messages": [{"role": "user", "content": "hello " * 2000}]},
                      headers=anthropic_headers())
        err = assert_anthropic_error(self, r, 400, "invalid_request_error")
        m = re.match(r"prompt is too long: (\d+) tokens > 255 maximum$", err["message"])
        self.assertIsNotNone(m, err["message"])
        self.assertGreater(int(m.group(1)), 256)
        self.assertTrue(any(p in err["message"].lower() for p in CLAW_CONTEXT_PHRASES))

    def test_prompt_longer_than_context_streaming_is_http_error(self):
        """The error must come as an HTTP 400, not inside a 200 event stream."""
        r = self.post("/v1/chat/completions", self.chat_body("hello " * 2000, stream=True))
        assert_openai_error(self, r, 400)

    def test_body_over_custom_cap(self):
        resp, sent, note = send_large_body(self.server, "/v1/chat/completions", 2_000_000)
        self.assertIsNotNone(resp, f"no HTTP response to a 2 MB body ({note})")
        assert_openai_error(self, resp, 413)

    def test_body_under_custom_cap_accepted(self):
        body = self.chat_body(max_tokens=1)
        body["padding_field_ignored"] = "x" * 900_000
        r = self.post("/v1/chat/completions", body)
        self.assertEqual(r.status, 200, f"a 900 kB body is under the 1,000,000-byte cap: {r!r}")

    def test_huge_max_tokens_is_clamped(self):
        r = self.post("/v1/chat/completions", self.chat_body(LONG_PROMPT, max_tokens=64000))
        self.assertEqual(r.status, 200, f"max_tokens 64000 must be clamped, not rejected: {r!r}")
        b = r.json()
        u = b["usage"]
        self.assertLessEqual(u["prompt_tokens"] + u["completion_tokens"], 256)
        if b["choices"][0]["finish_reason"] == "length":
            self.assertGreaterEqual(u["prompt_tokens"] + u["completion_tokens"], 256 - 8,
                                    "max_tokens should be clamped to the context left, not to something smaller")


# ============================================================================
# Host header check (DNS-rebinding defence) without an API key
# ============================================================================

class RawHostCheckTest(ServerTestCase):
    MODEL_ENV = "SMOL_MODEL"

    def get_models_with_host(self, host: str):
        return raw_roundtrip(self.server, build_request("GET", "/v1/models", host=host), timeout=30)

    def test_loopback_hosts_allowed(self):
        p = self.server.port
        for host in (f"127.0.0.1:{p}", "127.0.0.1", f"localhost:{p}", "localhost", "LOCALHOST:1234",
                     f"[::1]:{p}", "[::1]"):
            with self.subTest(host=host):
                r = self.get_models_with_host(host)
                self.assertEqual(r.status, 200, f"Host {host!r} must be allowed: {r.body[:200]!r}")

    def test_foreign_hosts_forbidden(self):
        p = self.server.port
        for host in ("evil.example.com", f"evil.example.com:{p}", f"127.0.0.1.evil.example:{p}",
                     f"localhost.evil.example:{p}", "192.168.1.10", f"10.0.0.1:{p}", "0.0.0.0"):
            with self.subTest(host=host):
                r = self.get_models_with_host(host)
                self.assertEqual(r.status, 403, f"Host {host!r} must be rejected: {r.status} {r.body[:200]!r}")
                self.assertIn("error", r.json())

    def test_foreign_host_on_post(self):
        body = json.dumps(self.chat_body(max_tokens=2)).encode()
        r = raw_roundtrip(self.server, build_request("POST", "/v1/chat/completions", host="attacker.example",
                                                     body=body, headers={"Content-Type": "application/json"}))
        self.assertEqual(r.status, 403)
        r = raw_roundtrip(self.server, build_request("POST", "/v1/messages", host="attacker.example",
                                                     body=body, headers={"Content-Type": "application/json"}))
        self.assertEqual(r.status, 403)


# ============================================================================
# API key
# ============================================================================

class RawAuthTest(ServerTestCase):
    MODEL_ENV = "SMOL_MODEL"
    API_KEY = "sk-test-0123456789"
    SHARED = False

    def req(self, method, path, body=None, headers=None):
        return request(self.server, method, path, body, headers=headers, auth=False)

    def test_missing_key_rejected(self):
        assert_openai_error(self, self.req("GET", "/v1/models"), 401)
        assert_openai_error(self, self.req("POST", "/v1/chat/completions", self.chat_body(max_tokens=2)), 401)

    def test_ollama_routes_need_the_key_and_answer_in_ollama_shape(self):
        for method, path, body in (("GET", "/api/tags", None), ("POST", "/api/chat",
                                   {"model": self.model_id, "messages": [{"role": "user", "content": "hi"}]})):
            r = self.req(method, path, body)
            self.assertEqual(r.status, 401, r)
            self.assertIsInstance(r.json()["error"], str)
        r = self.req("GET", "/api/tags", headers={"Authorization": f"Bearer {self.API_KEY}"})
        self.assertEqual(r.status, 200, r)

    def test_missing_key_rejected_anthropic_shape(self):
        r = self.req("POST", "/v1/messages", {"model": self.model_id, "max_tokens": 2,
                                              "messages": [{"role": "user", "content": "hi"}]})
        assert_anthropic_error(self, r, 401, "authentication_error")

    def test_wrong_keys_rejected(self):
        for h in ({"Authorization": "Bearer wrong"}, {"x-api-key": "wrong"},
                  {"Authorization": f"Bearer {self.API_KEY}x"}, {"Authorization": f"Bearer {self.API_KEY[:-1]}"},
                  {"Authorization": self.API_KEY}, {"x-api-key": ""}):
            with self.subTest(headers=h):
                assert_openai_error(self, self.req("GET", "/v1/models", headers=h), 401)

    def test_bearer_key_accepted(self):
        r = self.req("GET", "/v1/models", headers={"Authorization": f"Bearer {self.API_KEY}"})
        self.assertEqual(r.status, 200)
        r = self.req("POST", "/v1/chat/completions", self.chat_body(max_tokens=2),
                     headers={"Authorization": f"Bearer {self.API_KEY}"})
        self.assertEqual(r.status, 200, r)

    def test_x_api_key_accepted(self):
        r = self.req("POST", "/v1/messages", {"model": self.model_id, "max_tokens": 2,
                                              "messages": [{"role": "user", "content": "hi"}]},
                     headers={"x-api-key": self.API_KEY, **anthropic_headers()})
        self.assertEqual(r.status, 200, r)
        r = self.req("GET", "/v1/models", headers={"x-api-key": self.API_KEY})
        self.assertEqual(r.status, 200)

    def test_key_allows_non_loopback_host(self):
        """With an API key the server is meant to be reachable by name/LAN address."""
        r = raw_roundtrip(self.server, build_request("GET", "/v1/models", host="my-box.lan:8080",
                                                     headers={"Authorization": f"Bearer {self.API_KEY}"}))
        self.assertEqual(r.status, 200, r.body[:200])
        r = raw_roundtrip(self.server, build_request("GET", "/v1/models", host="my-box.lan:8080"))
        self.assertEqual(r.status, 401)

    def test_openai_client_with_key(self):
        try:
            import openai
        except ImportError:
            self.skipTest("openai not installed")
        ok = openai.OpenAI(base_url=self.server.openai_base_url, api_key=self.API_KEY, max_retries=0)
        self.assertEqual(ok.models.list().data[0].id, self.model_id)
        bad = openai.OpenAI(base_url=self.server.openai_base_url, api_key="nope", max_retries=0)
        with self.assertRaises(openai.AuthenticationError):
            bad.models.list()

    def test_anthropic_client_with_key(self):
        try:
            import anthropic
        except ImportError:
            self.skipTest("anthropic not installed")
        ok = anthropic.Anthropic(base_url=self.server.base_url, api_key=self.API_KEY, max_retries=0)
        m = ok.messages.create(model=self.model_id, max_tokens=2, messages=[{"role": "user", "content": "hi"}])
        self.assertEqual(m.type, "message")
        bad = anthropic.Anthropic(base_url=self.server.base_url, api_key="nope", max_retries=0)
        with self.assertRaises(anthropic.AuthenticationError):
            bad.messages.create(model=self.model_id, max_tokens=2, messages=[{"role": "user", "content": "hi"}])


# ============================================================================
# Binding to a non-loopback address
# ============================================================================

class RawNonLoopbackBindTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        skip_unless_env("SMOL_BIN", "SMOL_MODEL")

    def test_refuses_without_key_or_insecure(self):
        s = SmolServer(env("SMOL_MODEL"), ["--host", "0.0.0.0"], name="refuse-0.0.0.0")
        s.spawn()
        try:
            code = s.wait_exit(120)
            log = s.log_text()
            self.assertIsNotNone(code, "server kept running on 0.0.0.0 without --api-key/--insecure\n" + s.log_tail())
            self.assertNotEqual(code, 0, "must exit non-zero\n" + s.log_tail())
            self.assertIn("--api-key", log, "the error must mention --api-key\n" + s.log_tail())
            self.assertNotIn("listening on", log)
        finally:
            s.stop()

    def test_insecure_allows_non_loopback(self):
        s = SmolServer(env("SMOL_MODEL"), ["--host", "0.0.0.0", "--insecure"], name="insecure-0.0.0.0")
        try:
            s.start()
            r = request(s, "GET", "/v1/models", timeout=30)
            self.assertEqual(r.status, 200)
        finally:
            s.stop()

    def test_api_key_allows_non_loopback(self):
        s = SmolServer(env("SMOL_MODEL"), ["--host", "0.0.0.0"], api_key="k-123", name="key-0.0.0.0")
        try:
            s.start()
            self.assertEqual(request(s, "GET", "/v1/models", timeout=30).status, 200)
            self.assertEqual(request(s, "GET", "/v1/models", timeout=30, auth=False).status, 401)
        finally:
            s.stop()


# ============================================================================
# Queue (429) and client disconnects
# ============================================================================

class RawQueueTest(ServerTestCase):
    MODEL_ENV = "SMOL_MODEL"
    # One generation at a time, so that the second request waits in the single queue slot.
    SERVER_ARGS = ("--max-queue", "1", "--parallel", "1", "--keep-alive", "0.5")
    SHARED = False

    def test_queued_stream_gets_headers_first_chunk_and_keep_alives(self):
        """A stream waiting behind another gets its role chunk at once and SSE comments while it waits."""
        a = stream_request(self.server, "/v1/chat/completions",
                           self.chat_body(LONG_PROMPT, stream=True, max_tokens=300, temperature=0, ignore_eos=True))
        self.assertEqual(a.status, 200)
        try:
            for ev in a.events():
                c = ev.json()
                if c["choices"] and c["choices"][0]["delta"].get("content"):
                    break
            t0 = time.monotonic()
            b = stream_request(self.server, "/v1/chat/completions", self.chat_body(stream=True, max_tokens=4))
            self.assertEqual(b.status, 200)
            self.assertLess(time.monotonic() - t0, 2, "a queued stream's headers must not wait for the running request")
            first, t_first = next(b.lines())
            self.assertTrue(first.startswith(b"data: "), first)
            self.assertEqual(json.loads(first[6:])["choices"][0]["delta"].get("role"), "assistant")
            self.assertLess(t_first - t0, 2)
            comments = 0
            for line, _ in b.lines():
                if line.startswith(b":"):
                    comments += 1
                if comments >= 2:
                    break
                if line.startswith(b"data: ") and b'"content":"' in line and b'"content":""' not in line:
                    break
            self.assertGreaterEqual(comments, 2, "expected keep-alive comments while queued behind a 300-token generation")
            b.close()
        finally:
            a.close()

    def test_queue_full_gives_429_with_retry_after(self):
        # A: a long generation occupying the generator (ignore_eos: its length must not depend on
        # where the model's greedy reply happens to end).
        a = stream_request(self.server, "/v1/chat/completions",
                           self.chat_body(LONG_PROMPT, stream=True, max_tokens=400, ignore_eos=True))
        self.assertEqual(a.status, 200)
        events = a.events()
        for ev in events:                                  # wait until A is really generating
            c = ev.json()
            if c["choices"] and c["choices"][0]["delta"].get("content"):
                break
        # B: waits in the single queue slot.
        b_result = {}

        def run_b():
            t0 = time.monotonic()
            try:
                b_result["resp"] = self.post("/v1/chat/completions", self.chat_body(max_tokens=4), timeout=120)
            except Exception as e:  # pragma: no cover - reported below
                b_result["exc"] = e
            b_result["t"] = time.monotonic() - t0
        tb = threading.Thread(target=run_b, daemon=True)
        tb.start()
        time.sleep(1.0)
        self.assertTrue(tb.is_alive(), f"B should be waiting in the queue, it finished: {b_result}")
        try:
            # C (OpenAI) and D (Anthropic) exceed the queue.
            t0 = time.monotonic()
            c = self.post("/v1/chat/completions", self.chat_body(max_tokens=4), timeout=30)
            self.assertLess(time.monotonic() - t0, 5, "429 must be immediate, not after waiting")
            assert_openai_error(self, c, 429)
            ra = c.header("retry-after")
            self.assertIsNotNone(ra, "429 needs a Retry-After header")
            self.assertRegex(ra.strip(), r"^\d+$", "Retry-After must be integer seconds (Claw Code parses u64)")
            d = self.post("/v1/messages", {"model": self.model_id, "max_tokens": 4,
                                           "messages": [{"role": "user", "content": "hi"}]},
                          headers=anthropic_headers(), timeout=30)
            assert_anthropic_error(self, d, 429)
            self.assertIsNotNone(d.header("retry-after"))
            # Non-generating endpoints stay available while saturated.
            self.assertEqual(request(self.server, "GET", "/v1/models", timeout=10).status, 200)
            self.assertTrue(tb.is_alive(), "B must still be queued while A generates")
        finally:
            a.close()
        tb.join(60)
        self.assertFalse(tb.is_alive(), "queued request B never completed after A disconnected")
        self.assertNotIn("exc", b_result, b_result.get("exc"))
        self.assertEqual(b_result["resp"].status, 200, b_result["resp"])
        # queue drained: a fresh request works
        self.assertEqual(self.post("/v1/chat/completions", self.chat_body(max_tokens=2)).status, 200)


class RawDisconnectTest(ServerTestCase):
    MODEL_ENV = "SMOL_MODEL"
    SHARED = False

    def _start_and_abandon(self, path, body, marker: bytes):
        s = connect(self.server)
        data = json.dumps(body).encode()
        s.sendall(build_request("POST", path, host=f"127.0.0.1:{self.server.port}", body=data,
                                headers={"Content-Type": "application/json", **anthropic_headers()}))
        buf = b""
        deadline = time.monotonic() + 60
        while marker not in buf:
            self.assertLess(time.monotonic(), deadline, f"no {marker!r} within 60 s: {buf[:300]!r}")
            chunk = s.recv(4096)
            self.assertTrue(chunk, f"connection closed early: {buf[:300]!r}")
            buf += chunk
        self.assertIn(b" 200 ", buf.split(b"\r\n", 1)[0])
        s.shutdown(socket.SHUT_RDWR)
        s.close()

    def _assert_quick_followup(self):
        t0 = time.monotonic()
        r = self.post("/v1/chat/completions", self.chat_body(max_tokens=8), timeout=60)
        dt = time.monotonic() - t0
        self.assertEqual(r.status, 200)
        self.assertLess(dt, 8.0, f"follow-up took {dt:.1f}s: the abandoned generation was not cancelled")

    def test_openai_stream_disconnect_cancels_generation(self):
        self._start_and_abandon("/v1/chat/completions",
                                self.chat_body(LONG_PROMPT, stream=True, max_tokens=2000), b'"content"')
        self._assert_quick_followup()

    def test_anthropic_stream_disconnect_cancels_generation(self):
        body = {"model": self.model_id, "max_tokens": 2000, "temperature": 0, "stream": True,
                "messages": [{"role": "user", "content": LONG_PROMPT}]}
        self._start_and_abandon("/v1/messages", body, b"text_delta")
        self._assert_quick_followup()


# ============================================================================
# Tool / thinking model: raw SSE, and Claw Code's exact request shape
# ============================================================================

CLAW_SYSTEM = (
    "You are Claw, an interactive coding agent running in the user's terminal. Use the available tools to "
    "answer questions about the outside world; never invent tool results. Be concise.\n\n"
    "# Environment\n- Working directory: /home/user/project\n- Platform: linux\n- Date: 2025-01-01"
)


class RawToolModelTest(ServerTestCase):
    MODEL_ENV = "SMOL_TOOL_MODEL"

    def test_openai_stream_thinking_then_tool_call(self):
        body = {"model": self.model_id, "messages": [{"role": "user", "content": WEATHER_QUESTION}],
                "tools": [TOOL_GET_WEATHER], "stream": True, "stream_options": {"include_usage": True},
                "temperature": 0, "max_tokens": 256}
        r = self.post("/v1/chat/completions", body)
        self.assertEqual(r.status, 200, r)
        s = check_openai_chunks(parse_openai_sse(r.body, self), self, model_id=self.model_id, include_usage=True)
        self.assertEqual(THOUGHT, s["reasoning"].strip())
        self.assertNotIn("<think>", s["reasoning"] + s["text"])
        self.assertNotIn("</think>", s["reasoning"] + s["text"])
        self.assertNotIn("<tool_call>", s["text"])
        self.assertEqual(s["finish_reason"], "tool_calls")
        self.assertEqual(len(s["tool_calls"]), 1)
        call = s["tool_calls"][0]
        self.assertEqual(call["name"], "get_weather")
        self.assertEqual(json.loads(call["arguments"]), {"city": "Paris"})
        order = s["order"]
        self.assertEqual(order[0], "reasoning")
        self.assertGreater(order.index("tool"), max(i for i, k in enumerate(order) if k == "reasoning"),
                           "reasoning must be streamed before the tool call")

    def test_anthropic_stream_thinking_then_tool_use(self):
        body = {"model": self.model_id, "max_tokens": 256, "stream": True, "temperature": 0,
                "thinking": {"type": "enabled", "budget_tokens": 128},
                "tools": [ANTHROPIC_TOOL_GET_WEATHER],
                "messages": [{"role": "user", "content": WEATHER_QUESTION}]}
        r = self.post("/v1/messages", body, headers=anthropic_headers())
        self.assertEqual(r.status, 200, r)
        s = check_anthropic_events(parse_anthropic_sse(r.body, self), self, model_id=self.model_id)
        types = [b["type"] for b in s["blocks"]]
        self.assertEqual(types[0], "thinking")
        self.assertEqual(types[-1], "tool_use")
        self.assertNotIn("tool_use", types[:-1])
        for b in s["blocks"]:
            if b["type"] == "text":
                self.assertFalse(b["text"].strip(), f"unexpected text block {b}")
        self.assertEqual(THOUGHT, s["blocks"][0]["thinking"].strip())
        tu = s["blocks"][-1]
        self.assertEqual(tu["name"], "get_weather")
        self.assertEqual(tu["input"], {"city": "Paris"})
        self.assertEqual(s["stop_reason"], "tool_use")

    def _claw_request(self, with_tool_result: bool):
        messages = [{"role": "system", "content": CLAW_SYSTEM},
                    {"role": "user", "content": WEATHER_QUESTION}]
        if with_tool_result:
            messages += [
                {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "toolu_01A", "type": "function",
                     "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
                {"role": "tool", "tool_call_id": "toolu_01A", "content": TOOL_RESULT_TEXT, "is_error": False},
            ]
        return {
            "model": self.model_id,
            "max_tokens": 64000,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
            "tools": [TOOL_GET_WEATHER],
            "tool_choice": "auto",
            "temperature": 0.0,
        }

    def test_claw_code_first_turn(self):
        r = self.post("/v1/chat/completions", self._claw_request(with_tool_result=False))
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.body.endswith(b"data: [DONE]\n\n"))
        s = check_openai_chunks(parse_openai_sse(r.body, self), self, model_id=self.model_id, include_usage=True)
        self.assertEqual(s["finish_reason"], "tool_calls")
        self.assertEqual([c["name"] for c in s["tool_calls"].values()], ["get_weather"])
        self.assertEqual(json.loads(s["tool_calls"][0]["arguments"]), {"city": "Paris"})
        self.assertGreater(s["usage"]["prompt_tokens"], 20)

    def test_claw_code_tool_result_turn(self):
        r = self.post("/v1/chat/completions", self._claw_request(with_tool_result=True))
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.body.endswith(b"data: [DONE]\n\n"))
        s = check_openai_chunks(parse_openai_sse(r.body, self), self, model_id=self.model_id, include_usage=True)
        self.assertIn(FINAL_ANSWER, s["text"])
        self.assertEqual(s["finish_reason"], "stop")
        self.assertFalse(s["tool_calls"])
        self.assertIsNotNone(s["usage"])
        self.assertGreater(s["usage"]["completion_tokens"], 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)


# ============================================================================
# Several conversations at once: continuous batching and the prefix cache
# ============================================================================

class RawParallelTest(ServerTestCase):
    MODEL_ENV = "SMOL_MODEL"
    SERVER_ARGS = ("--parallel", "3")
    SHARED = False

    def test_streams_run_together(self):
        """With --parallel, a second stream gets tokens while the first is still generating."""
        a = stream_request(self.server, "/v1/chat/completions",
                           self.chat_body(LONG_PROMPT, stream=True, max_tokens=200, temperature=0))
        self.assertEqual(a.status, 200)
        try:
            got_a = 0
            for ev in a.events():
                if ev.data != "[DONE]" and ev.json()["choices"] and ev.json()["choices"][0]["delta"].get("content"):
                    got_a += 1
                    if got_a >= 3:
                        break
            b = self.post("/v1/chat/completions", self.chat_body("Say hi.", max_tokens=8, temperature=0), timeout=60)
            self.assertEqual(b.status, 200)
            # A is still streaming after B finished: they ran together.
            more = 0
            for ev in a.events():
                if ev.data == "[DONE]":
                    break
                more += 1
            self.assertGreater(more, 0, "A ended before B: the requests did not run together")
        finally:
            a.close()

    def test_batched_greedy_equals_alone(self):
        """Greedy replies are the same whether a request runs alone or next to others."""
        prompts = ["Name a color.", "Count to five.", LONG_PROMPT]
        alone = [self.post("/v1/chat/completions", self.chat_body(p, max_tokens=24, temperature=0)).json()
                 ["choices"][0]["message"]["content"] for p in prompts]
        results = [None] * len(prompts)

        def run(i):
            results[i] = self.post("/v1/chat/completions", self.chat_body(prompts[i], max_tokens=24, temperature=0),
                                   timeout=120).json()["choices"][0]["message"]["content"]
        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(prompts))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(results, alone)

    def test_interleaved_conversations_keep_their_cache(self):
        """An agent and a sub-agent alternate: each request reuses its own conversation's prefix."""
        def convo(system, turns):
            msgs = [{"role": "system", "content": system}]
            for t in turns:
                msgs.append({"role": "user", "content": t})
            return msgs

        def ask(msgs):
            r = self.post("/v1/chat/completions", {"model": self.model_id, "messages": msgs, "max_tokens": 6,
                                                   "temperature": 0})
            self.assertEqual(r.status, 200, r)
            b = r.json()
            return b["choices"][0]["message"]["content"], b["usage"]
        main_sys = "You are the main agent. " + LONG_PROMPT
        sub_sys = "You are a sub-agent that explores code. " + LONG_PROMPT[::-1]
        main = convo(main_sys, ["Plan the change."])
        reply, u1 = ask(main)
        sub = convo(sub_sys, ["Find the CLI parser."])
        _, us = ask(sub)
        main += [{"role": "assistant", "content": reply}, {"role": "user", "content": "Go on."}]
        _, u2 = ask(main)
        # Everything of the first main request's prompt is reused, although a sub-agent ran between.
        self.assertGreaterEqual(u2["prompt_tokens_details"]["cached_tokens"], u1["prompt_tokens"] - 1, (u1, us, u2))


class RawPromptCacheRestartTest(unittest.TestCase):
    """--prompt-cache: a restarted server reads a known prompt's KV from disk instead of prefilling it."""

    def setUp(self):
        if not env("SMOL_MODEL"):
            self.skipTest("SMOL_MODEL is not set")

    def test_restart_reuses_the_prompt_from_disk(self):
        import tempfile
        cache_dir = tempfile.mkdtemp(prefix="smol-prompt-cache-")
        system = "You are a careful assistant. " + " ".join(f"Rule {i}: answer in plain words." for i in range(120))
        body = {"model": "m", "max_tokens": 4, "temperature": 0,
                "messages": [{"role": "system", "content": system}, {"role": "user", "content": "Say hi."}]}

        def once(name):
            s = SmolServer(env("SMOL_MODEL"), ["--prompt-cache", cache_dir, "--model-id", "m"], name=name)
            try:
                s.start()
                r = request(s, "POST", "/v1/chat/completions", body, timeout=120)
                self.assertEqual(r.status, 200, r)
                return r.json()
            finally:
                s.stop()
        cold = once("prompt-cache-cold")
        self.assertEqual(cold["usage"]["prompt_tokens_details"]["cached_tokens"], 0)
        self.assertGreater(cold["usage"]["prompt_tokens"], 1024)
        files = [f for f in os.listdir(cache_dir) if f.endswith(".kv")]
        self.assertGreaterEqual(len(files), cold["usage"]["prompt_tokens"] // 256)
        warm = once("prompt-cache-warm")
        cached = warm["usage"]["prompt_tokens_details"]["cached_tokens"]
        self.assertEqual(cached, (cold["usage"]["prompt_tokens"] - 1) // 256 * 256)
        self.assertEqual(warm["choices"][0]["message"]["content"], cold["choices"][0]["message"]["content"])
        # A damaged block is ignored with a warning, never trusted: the server still answers the same.
        for f in files:
            with open(os.path.join(cache_dir, f), "r+b") as fh:
                fh.truncate(1000)
        s = SmolServer(env("SMOL_MODEL"), ["--prompt-cache", cache_dir, "--model-id", "m"], name="prompt-cache-damaged")
        try:
            s.start()
            r = request(s, "POST", "/v1/chat/completions", body, timeout=120)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["usage"]["prompt_tokens_details"]["cached_tokens"], 0)
            self.assertEqual(r.json()["choices"][0]["message"]["content"], cold["choices"][0]["message"]["content"])
            self.assertIn("ignoring the prompt cache file", s.log_text())
        finally:
            s.stop()
