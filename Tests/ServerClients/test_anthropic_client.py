"""`smol serve` driven by the official `anthropic` Python client (see requirements-server-tests.txt).

Notes on the client (anthropic 2.x):
* It authenticates with `Authorization: Bearer KEY` (not x-api-key) and sends
  `anthropic-version`; the server must accept both header styles.
* `messages.create()` has no typed `temperature` / `top_p` parameters any more:
  they are sent through `extra_body=`.
* The streaming accumulator (`messages.stream()`) needs message_start with
  message.content [] and message.usage, content_block_start carrying a full
  block skeleton (text "", thinking ""+signature, tool_use id/name/input {}),
  indices 0..n in order, and message_delta with a `usage` object.
"""
from __future__ import annotations

import base64
import json
import unittest

from server_harness import (
    THOUGHT,
    ANTHROPIC_TOOL_GET_WEATHER, CAPITAL_QUESTION, FINAL_ANSWER, TOOL_RESULT_TEXT, WEATHER_QUESTION,
    ServerTestCase, request,
)

try:
    import anthropic
except ImportError:  # pragma: no cover
    anthropic = None

GREEDY = {"temperature": 0}

# 1x1 transparent PNG
TINY_PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d4944415478da63f8ffff3f0005fe02fea7d6a4ab0000000049454e44ae426082")).decode()


class AnthropicBase(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        if anthropic is None:
            raise unittest.SkipTest("the `anthropic` package is not installed (pip install -r requirements-server-tests.txt)")
        super().setUpClass()
        cls.client = anthropic.Anthropic(base_url=cls.server.base_url, api_key=cls.server.api_key or "unused",
                                         max_retries=0, timeout=120)

    @classmethod
    def tearDownClass(cls):
        c = getattr(cls, "client", None)
        if c is not None:
            c.close()
        super().tearDownClass()

    def create(self, content=CAPITAL_QUESTION, **kw):
        kw.setdefault("model", self.model_id)
        kw.setdefault("max_tokens", 16)
        eb = dict(GREEDY)
        eb.update(kw.pop("extra_body", None) or {})
        if "messages" not in kw:
            kw["messages"] = [{"role": "user", "content": content}]
        return self.client.messages.create(extra_body=eb, **kw)

    def text_of(self, msg):
        return "".join(b.text for b in msg.content if b.type == "text")


# ============================================================================
# Default model
# ============================================================================

class AnthropicDefaultModelTest(AnthropicBase):
    MODEL_ENV = "SMOL_MODEL"

    def test_capital_of_france(self):
        m = self.create(max_tokens=24)
        self.assertEqual(m.type, "message")
        self.assertEqual(m.role, "assistant")
        self.assertEqual(m.model, self.model_id)
        self.assertTrue(m.id)
        self.assertEqual([b.type for b in m.content], ["text"])
        self.assertIn("Paris", m.content[0].text)
        self.assertIn(m.stop_reason, ("end_turn", "max_tokens"))
        self.assertIsNone(m.stop_sequence)
        self.assertGreater(m.usage.input_tokens + (m.usage.cache_read_input_tokens or 0), 5)
        self.assertGreater(m.usage.output_tokens, 0)
        self.assertLessEqual(m.usage.output_tokens, 24)
        self.assertIsInstance(m.usage.cache_read_input_tokens, int)

    def test_system_string_equals_system_blocks(self):
        # Longer than the default system prompt SmolLM2's template inserts when none is given.
        sys_text = ("You are a concise assistant. Answer every question in one short sentence, without "
                    "preamble, lists, or follow-up questions, and never repeat the question back.")
        a = self.create(max_tokens=12, system=sys_text)
        b = self.create(max_tokens=12, system=[{"type": "text", "text": sys_text}])
        c = self.create(max_tokens=12)
        self.assertEqual(self.text_of(a), self.text_of(b))
        self.assertEqual(a.usage.input_tokens + a.usage.cache_read_input_tokens,
                         b.usage.input_tokens + b.usage.cache_read_input_tokens)
        self.assertGreater(a.usage.input_tokens + a.usage.cache_read_input_tokens,
                           c.usage.input_tokens + c.usage.cache_read_input_tokens, "system prompt was dropped")

    def test_content_blocks_equal_string(self):
        a = self.create(max_tokens=12)
        b = self.create(max_tokens=12, messages=[{"role": "user", "content": [
            {"type": "text", "text": CAPITAL_QUESTION}]}])
        self.assertEqual(self.text_of(a), self.text_of(b))

    def test_max_tokens_stop_reason(self):
        m = self.create(max_tokens=1)
        self.assertEqual(m.stop_reason, "max_tokens")
        self.assertEqual(m.usage.output_tokens, 1)

    def test_stop_sequences(self):
        m = self.create(max_tokens=24, stop_sequences=["Paris"])
        self.assertEqual(m.stop_reason, "stop_sequence")
        self.assertEqual(m.stop_sequence, "Paris")
        self.assertNotIn("Paris", self.text_of(m))

    def test_stop_sequences_streamed(self):
        full = self.text_of(self.create(max_tokens=24))
        i = full.find("Paris")
        self.assertGreaterEqual(i, 0, full)
        with self.client.messages.stream(model=self.model_id, max_tokens=24, stop_sequences=["Paris"],
                                         messages=[{"role": "user", "content": CAPITAL_QUESTION}],
                                         extra_body=GREEDY) as stream:
            text = "".join(stream.text_stream)
            final = stream.get_final_message()
        self.assertEqual(text, full[:i])
        self.assertEqual(final.stop_reason, "stop_sequence")
        self.assertEqual(final.stop_sequence, "Paris")

    def test_stream_helper(self):
        with self.client.messages.stream(model=self.model_id, max_tokens=24,
                                         messages=[{"role": "user", "content": CAPITAL_QUESTION}],
                                         extra_body=GREEDY) as stream:
            types = []
            for ev in stream:
                types.append(ev.type)
            final = stream.get_final_message()
        self.assertEqual(types[0], "message_start")
        self.assertEqual(types[-1], "message_stop")
        self.assertIn("content_block_start", types)
        self.assertIn("text", types)          # helper-synthesised TextEvent
        self.assertEqual([b.type for b in final.content], ["text"])
        self.assertIn("Paris", final.content[0].text)
        self.assertIn(final.stop_reason, ("end_turn", "max_tokens"))
        self.assertGreater(final.usage.output_tokens, 0)
        self.assertLessEqual(final.usage.output_tokens, 24)
        self.assertEqual(final.model, self.model_id)
        # same as non-streaming
        self.assertEqual(final.content[0].text, self.text_of(self.create(max_tokens=24)))

    def test_raw_stream_events(self):
        stream = self.create(max_tokens=8, stream=True)
        events = list(stream)
        kinds = [e.type for e in events]
        self.assertEqual(kinds[0], "message_start")
        self.assertEqual(kinds[-2:], ["message_delta", "message_stop"])
        start = events[0].message
        self.assertEqual(start.content, [])
        self.assertIsNotNone(start.usage)
        self.assertGreater(start.usage.input_tokens + (start.usage.cache_read_input_tokens or 0), 0)
        md = events[-2]
        self.assertIsNotNone(md.usage)
        self.assertIn(md.delta.stop_reason, ("end_turn", "max_tokens"))

    def test_count_tokens_matches_usage(self):
        msgs = [{"role": "user", "content": CAPITAL_QUESTION}]
        sys_text = ("You are a concise assistant. Answer every question in one short sentence, without "
                    "preamble, lists, or follow-up questions, and never repeat the question back.")
        n = self.client.messages.count_tokens(model=self.model_id, messages=msgs, system=sys_text).input_tokens
        m = self.create(max_tokens=2, messages=msgs, system=sys_text)
        self.assertEqual(n, m.usage.input_tokens + m.usage.cache_read_input_tokens,
                         "count_tokens must count exactly what messages.create bills as input")
        n2 = self.client.messages.count_tokens(model=self.model_id, messages=msgs).input_tokens
        self.assertLess(n2, n)

    def test_prompt_cache_reports_cache_read(self):
        sys_text = ("You are a helpful geography assistant. Answer questions about capitals, rivers and "
                    "mountains briefly and accurately.")
        m1 = [{"role": "user", "content": CAPITAL_QUESTION}]
        r1 = self.create(max_tokens=12, system=sys_text, messages=m1)
        m2 = m1 + [{"role": "assistant", "content": self.text_of(r1)},
                   {"role": "user", "content": "And the capital of Italy?"}]
        r2 = self.create(max_tokens=8, system=sys_text, messages=m2)
        self.assertGreater(r2.usage.cache_read_input_tokens, 0)
        total1 = r1.usage.input_tokens + r1.usage.cache_read_input_tokens
        self.assertGreaterEqual(r2.usage.cache_read_input_tokens, total1 // 2)
        self.assertGreater(r2.usage.input_tokens, 0, "the new turn is not cached")

    def test_thinking_disabled_on_plain_model(self):
        m = self.create(max_tokens=12, thinking={"type": "disabled"})
        self.assertEqual([b.type for b in m.content], ["text"])

    def test_claude_model_name_is_answered_by_the_served_model(self):
        # Claude Code-style harnesses send their own model names; one model answers them all
        # (--strict-model-names restores 404s, tested in test_raw_http).
        r = self.create(model="claude-sonnet-4-5")
        self.assertEqual(r.model, self.model_id)

    def test_bad_request_shape(self):
        with self.assertRaises(anthropic.BadRequestError) as cm:
            self.create(messages=[{"role": "user", "content": 123}])
        body = cm.exception.body
        self.assertEqual(body.get("type"), "error")
        self.assertEqual(body["error"]["type"], "invalid_request_error")

    def test_image_block_does_not_crash(self):
        """Text-only model: an image block is either ignored (200) or rejected with a 400 — never a 5xx."""
        body = {"model": self.model_id, "max_tokens": 4, "temperature": 0, "messages": [{"role": "user", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": TINY_PNG}},
            {"type": "text", "text": "Describe the image."}]}]}
        r = request(self.server, "POST", "/v1/messages", body, headers={"anthropic-version": "2023-06-01"})
        self.assertIn(r.status, (200, 400), r)
        if r.status == 400:
            self.assertEqual(r.json()["type"], "error")
        self.assertServerAlive()


# ============================================================================
# Tool / thinking model (scripted SmolLM3 fixture)
# ============================================================================

def tool_use_history(thinking_block=None, tool_id="toolu_01", result_content=TOOL_RESULT_TEXT):
    assistant = []
    if thinking_block is not None:
        assistant.append(thinking_block)
    assistant.append({"type": "tool_use", "id": tool_id, "name": "get_weather", "input": {"city": "Paris"}})
    return [
        {"role": "user", "content": WEATHER_QUESTION},
        {"role": "assistant", "content": assistant},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_id, "content": result_content}]},
    ]


class AnthropicToolModelTest(AnthropicBase):
    MODEL_ENV = "SMOL_TOOL_MODEL"
    THINK = {"type": "enabled", "budget_tokens": 1024}

    def ask(self, **kw):
        kw.setdefault("tools", [ANTHROPIC_TOOL_GET_WEATHER])
        kw.setdefault("max_tokens", 2048)
        return self.create(WEATHER_QUESTION, **kw)

    def assert_weather_tool_use(self, m, expect_thinking):
        types = [b.type for b in m.content]
        self.assertEqual(m.stop_reason, "tool_use", types)
        self.assertEqual(types.count("tool_use"), 1, types)
        self.assertEqual(types[-1], "tool_use")
        tu = m.content[-1]
        self.assertEqual(tu.name, "get_weather")
        self.assertEqual(tu.input, {"city": "Paris"})
        self.assertIsInstance(tu.id, str)
        self.assertTrue(tu.id)
        for b in m.content:
            if b.type == "text":
                self.assertFalse(b.text.strip(), f"unexpected visible text {b.text!r}")
                self.assertNotIn("<tool_call>", b.text)
        if expect_thinking:
            self.assertEqual(types[0], "thinking")
            self.assertEqual(THOUGHT, m.content[0].thinking.strip())
            self.assertNotIn("<think>", m.content[0].thinking)
            self.assertIsInstance(m.content[0].signature, str, "thinking blocks need a `signature` string")
        else:
            self.assertNotIn("thinking", types)

    def test_tool_use_without_thinking(self):
        self.assert_weather_tool_use(self.ask(), expect_thinking=False)

    def test_tool_use_thinking_disabled(self):
        self.assert_weather_tool_use(self.ask(thinking={"type": "disabled"}), expect_thinking=False)

    def test_tool_use_with_thinking(self):
        self.assert_weather_tool_use(self.ask(thinking=self.THINK), expect_thinking=True)

    def test_stream_with_thinking(self):
        with self.client.messages.stream(model=self.model_id, max_tokens=2048, thinking=self.THINK,
                                         tools=[ANTHROPIC_TOOL_GET_WEATHER],
                                         messages=[{"role": "user", "content": WEATHER_QUESTION}],
                                         extra_body=GREEDY) as stream:
            kinds = [ev.type for ev in stream]
            final = stream.get_final_message()
        self.assertIn("thinking", kinds)       # helper ThinkingEvent
        self.assertIn("input_json", kinds)     # helper InputJsonEvent
        self.assert_weather_tool_use(final, expect_thinking=True)

    def test_stream_without_thinking(self):
        with self.client.messages.stream(model=self.model_id, max_tokens=2048,
                                         tools=[ANTHROPIC_TOOL_GET_WEATHER],
                                         messages=[{"role": "user", "content": WEATHER_QUESTION}],
                                         extra_body=GREEDY) as stream:
            final = stream.get_final_message()
        self.assert_weather_tool_use(final, expect_thinking=False)

    def test_tool_result_answer(self):
        m = self.create(messages=tool_use_history(), tools=[ANTHROPIC_TOOL_GET_WEATHER], max_tokens=2048)
        self.assertIn(FINAL_ANSWER, self.text_of(m))
        self.assertEqual(m.stop_reason, "end_turn")
        self.assertNotIn("tool_use", [b.type for b in m.content])

    def test_tool_result_blocks_content(self):
        m = self.create(messages=tool_use_history(result_content=[{"type": "text", "text": TOOL_RESULT_TEXT}]),
                        tools=[ANTHROPIC_TOOL_GET_WEATHER], max_tokens=2048)
        self.assertIn(FINAL_ANSWER, self.text_of(m))

    def test_tool_result_with_thinking_history_streamed(self):
        """Claude-Code style: the earlier thinking block (with signature) is sent back."""
        history = tool_use_history(thinking_block={"type": "thinking", "thinking": "I should check the weather tool.",
                                                   "signature": ""})
        with self.client.messages.stream(model=self.model_id, max_tokens=2048, thinking=self.THINK,
                                         tools=[ANTHROPIC_TOOL_GET_WEATHER], messages=history,
                                         extra_body=GREEDY) as stream:
            text = "".join(stream.text_stream)
            final = stream.get_final_message()
        self.assertIn(FINAL_ANSWER, text)
        self.assertEqual(final.stop_reason, "end_turn")
        self.assertEqual(final.content[0].type, "thinking")
        self.assertEqual(THOUGHT, final.content[0].thinking.strip())

    def test_tool_choice_tool(self):
        self.assert_weather_tool_use(self.ask(tool_choice={"type": "tool", "name": "get_weather"}),
                                     expect_thinking=False)

    def test_tool_choice_any(self):
        self.assert_weather_tool_use(self.ask(tool_choice={"type": "any"}), expect_thinking=False)

    def test_tool_choice_none(self):
        m = self.ask(tool_choice={"type": "none"}, max_tokens=40)
        self.assertNotIn("tool_use", [b.type for b in m.content])
        self.assertNotEqual(m.stop_reason, "tool_use")

    def test_prompt_cache_across_tool_round_trip(self):
        first = self.ask()
        tu = first.content[-1]
        m = self.create(messages=tool_use_history(tool_id=tu.id), tools=[ANTHROPIC_TOOL_GET_WEATHER],
                        max_tokens=2048)
        self.assertGreater(m.usage.cache_read_input_tokens, 0)
        self.assertIn(FINAL_ANSWER, self.text_of(m))

    def test_count_tokens_with_tools(self):
        msgs = [{"role": "user", "content": WEATHER_QUESTION}]
        with_tools = self.client.messages.count_tokens(model=self.model_id, messages=msgs,
                                                       tools=[ANTHROPIC_TOOL_GET_WEATHER]).input_tokens
        without = self.client.messages.count_tokens(model=self.model_id, messages=msgs).input_tokens
        self.assertGreater(with_tools, without, "tool definitions are part of the prompt")


if __name__ == "__main__":
    unittest.main(verbosity=2)
