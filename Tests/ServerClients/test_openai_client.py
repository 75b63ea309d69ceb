"""`smol serve` driven by the official `openai` Python client (see requirements-server-tests.txt).

Default model (SMOL_MODEL, SmolLM2-135M-Instruct): sampling params, stop, seed,
streaming, usage, prompt cache, concurrency.
Tool model (SMOL_TOOL_MODEL, scripted SmolLM3): tool calls, tool_choice, tool
results, reasoning_content with thinking on/off.

Notes on the client (openai 3.x):
* Extra response fields such as `reasoning_content` are kept by the pydantic
  models (extra="allow") and read with getattr / model_extra.
* Unknown request fields go through `extra_body=`.
* `max_retries=0` everywhere so a 429/5xx is not silently retried.
"""
from __future__ import annotations

import json
import threading
import unittest

from server_harness import (
    THOUGHT,
    CAPITAL_QUESTION, FINAL_ANSWER, TOOL_GET_WEATHER, TOOL_RESULT_TEXT, WEATHER_QUESTION, ServerTestCase,
)

try:
    import openai
except ImportError:  # pragma: no cover
    openai = None


def extra(obj, name):
    """Read a non-standard field (e.g. reasoning_content) from an openai pydantic model."""
    if obj is None:
        return None
    val = getattr(obj, name, None)
    if val is None:
        val = (getattr(obj, "model_extra", None) or {}).get(name)
    return val


class OpenAIBase(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        if openai is None:
            raise unittest.SkipTest("the `openai` package is not installed (pip install -r requirements-server-tests.txt)")
        super().setUpClass()
        cls.client = openai.OpenAI(base_url=cls.server.openai_base_url, api_key=cls.server.api_key or "unused",
                                   max_retries=0, timeout=120)

    @classmethod
    def tearDownClass(cls):
        c = getattr(cls, "client", None)
        if c is not None:
            c.close()
        super().tearDownClass()

    def create(self, content=CAPITAL_QUESTION, client=None, **kw):
        kw.setdefault("model", self.model_id)
        if "max_completion_tokens" not in kw:
            kw.setdefault("max_tokens", 16)
        kw.setdefault("temperature", 0)
        if "messages" not in kw:
            kw["messages"] = [{"role": "user", "content": content}]
        return (client or self.client).chat.completions.create(**kw)

    def stream_collect(self, content=CAPITAL_QUESTION, client=None, **kw):
        """create(stream=True) and collect text / reasoning / tool calls / finish / usage."""
        kw["stream"] = True
        stream = self.create(content, client=client, **kw)
        out = {"text": "", "reasoning": "", "tool_calls": {}, "finish": [], "usage": None, "chunks": 0,
               "roles": [], "order": []}
        for chunk in stream:
            out["chunks"] += 1
            self.assertEqual(chunk.object, "chat.completion.chunk")
            self.assertEqual(chunk.model, self.model_id)
            if chunk.usage is not None:
                out["usage"] = chunk.usage
            for ch in chunk.choices:
                d = ch.delta
                if d.role:
                    out["roles"].append(d.role)
                if d.content:
                    out["text"] += d.content
                    out["order"].append("content")
                r = extra(d, "reasoning_content")
                if r:
                    out["reasoning"] += r
                    out["order"].append("reasoning")
                for tc in d.tool_calls or []:
                    out["order"].append("tool")
                    slot = out["tool_calls"].setdefault(tc.index, {"id": None, "name": "", "arguments": "",
                                                                    "type": None})
                    if tc.id:
                        slot["id"] = (slot["id"] or "") + tc.id
                    if tc.type:
                        slot["type"] = tc.type
                    if tc.function and tc.function.name:
                        slot["name"] += tc.function.name
                    if tc.function and tc.function.arguments:
                        slot["arguments"] += tc.function.arguments
                if ch.finish_reason:
                    out["finish"].append(ch.finish_reason)
        return out


# ============================================================================
# Default model
# ============================================================================

class OpenAIDefaultModelTest(OpenAIBase):
    MODEL_ENV = "SMOL_MODEL"

    def test_models_list(self):
        models = self.client.models.list()
        ids = [m.id for m in models.data]
        self.assertEqual(ids, [self.model_id])
        m = models.data[0]
        self.assertEqual(m.object, "model")
        self.assertEqual(m.owned_by, "smolruntime")
        self.assertIn(":", m.id)

    def test_capital_of_france_non_stream(self):
        r = self.create(max_tokens=24)
        self.assertEqual(r.object, "chat.completion")
        self.assertEqual(r.model, self.model_id)
        self.assertTrue(r.id)
        self.assertEqual(len(r.choices), 1)
        msg = r.choices[0].message
        self.assertEqual(msg.role, "assistant")
        self.assertIn("Paris", msg.content)
        self.assertIn(r.choices[0].finish_reason, ("stop", "length"))
        self.assertFalse(msg.tool_calls)
        u = r.usage
        self.assertGreater(u.prompt_tokens, 5)
        self.assertGreater(u.completion_tokens, 0)
        self.assertLessEqual(u.completion_tokens, 24)
        self.assertEqual(u.total_tokens, u.prompt_tokens + u.completion_tokens)
        self.assertIsNotNone(u.prompt_tokens_details)
        self.assertIsInstance(u.prompt_tokens_details.cached_tokens, int)

    def test_capital_of_france_stream_with_usage(self):
        out = self.stream_collect(max_tokens=24, stream_options={"include_usage": True})
        self.assertIn("Paris", out["text"])
        self.assertEqual(out["roles"], ["assistant"])
        self.assertEqual(len(out["finish"]), 1)
        self.assertIsNotNone(out["usage"], "include_usage must produce a usage chunk")
        self.assertLessEqual(out["usage"].completion_tokens, 24)
        self.assertEqual(out["usage"].total_tokens, out["usage"].prompt_tokens + out["usage"].completion_tokens)

    def test_stream_helper_accumulates(self):
        """client.chat.completions.stream(): the accumulating helper must work unmodified."""
        with self.client.chat.completions.stream(
                model=self.model_id, messages=[{"role": "user", "content": CAPITAL_QUESTION}],
                max_tokens=24, temperature=0, stream_options={"include_usage": True}) as stream:
            deltas = []
            for event in stream:
                if event.type == "content.delta":
                    deltas.append(event.delta)
            snap = stream.current_completion_snapshot
        msg = snap.choices[0].message
        self.assertEqual(msg.role, "assistant", "role must arrive exactly once (it is concatenated)")
        self.assertEqual(msg.content, "".join(deltas))
        self.assertIn("Paris", msg.content)
        self.assertIsNotNone(snap.usage)
        self.assertEqual(snap.usage.completion_tokens > 0, True)
        if snap.choices[0].finish_reason == "stop":
            final = stream.get_final_completion()
            self.assertEqual(final.choices[0].message.content, msg.content)

    def test_greedy_is_deterministic_and_stream_equals_non_stream(self):
        a = self.create(max_tokens=12).choices[0].message.content
        b = self.create(max_tokens=12).choices[0].message.content
        c = self.stream_collect(max_tokens=12)["text"]
        self.assertEqual(a, b)
        self.assertEqual(a, c)

    def test_max_tokens_one_gives_length(self):
        r = self.create(max_tokens=1)
        self.assertEqual(r.choices[0].finish_reason, "length")
        self.assertEqual(r.usage.completion_tokens, 1)

    def test_max_completion_tokens(self):
        r = self.create(max_completion_tokens=2)
        self.assertEqual(r.choices[0].finish_reason, "length")
        self.assertEqual(r.usage.completion_tokens, 2)

    def test_huge_max_tokens_is_not_an_error(self):
        stream = self.create(max_tokens=64000, stream=True)
        got = False
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                got = True
                break
        stream.close()
        self.assertTrue(got)

    def test_stop_list(self):
        r = self.create(max_tokens=24, stop=["Paris"])
        self.assertNotIn("Paris", r.choices[0].message.content or "")
        self.assertEqual(r.choices[0].finish_reason, "stop")
        self.assertLess(r.usage.completion_tokens, 24)

    def test_stop_string(self):
        r = self.create(max_tokens=24, stop="Paris")
        self.assertNotIn("Paris", r.choices[0].message.content or "")
        self.assertEqual(r.choices[0].finish_reason, "stop")

    def test_stop_in_stream_is_not_leaked(self):
        full = self.create(max_tokens=24).choices[0].message.content
        i = full.find("Paris")
        self.assertGreaterEqual(i, 0, full)
        out = self.stream_collect(max_tokens=24, stop=["Paris"])
        self.assertNotIn("Paris", out["text"])
        self.assertEqual(out["text"], full[:i], "stream must stop exactly before the stop string")
        self.assertEqual(out["finish"], ["stop"])

    def test_stop_that_spans_tokens(self):
        full = self.create(max_tokens=24).choices[0].message.content
        i = full.find("Paris")
        self.assertGreaterEqual(i, 0, full)
        stop = full[max(0, i - 3):i + 2]      # straddles token boundaries
        r = self.create(max_tokens=24, stop=[stop])
        self.assertEqual(r.choices[0].message.content, full[:full.find(stop)])
        self.assertEqual(r.choices[0].finish_reason, "stop")

    def test_seed_reproducible_at_temperature_one(self):
        kw = dict(content="Tell me a short story about a cat.", max_tokens=16, temperature=1.0)
        a = self.create(seed=1234, **kw).choices[0].message.content
        b = self.create(seed=1234, **kw).choices[0].message.content
        self.assertEqual(a, b, "same seed + temperature 1 must give the same text")
        others = {self.create(seed=s, **kw).choices[0].message.content for s in (1, 2, 3)}
        others.add(a)
        self.assertGreater(len(others), 1, "different seeds at temperature 1 all gave identical text: sampling ignored?")

    def test_seed_reproducible_when_streaming(self):
        kw = dict(content="Tell me a short story about a cat.", max_tokens=12, temperature=1.0, seed=77)
        self.assertEqual(self.create(**kw).choices[0].message.content, self.stream_collect(**kw)["text"])

    def test_tiny_top_p_equals_greedy(self):
        greedy = self.create("Tell me a short story about a cat.", max_tokens=12).choices[0].message.content
        for seed in (5, 6):
            r = self.create("Tell me a short story about a cat.", max_tokens=12, temperature=1.0, top_p=1e-6,
                            seed=seed)
            self.assertEqual(r.choices[0].message.content, greedy, "top_p≈0 must keep only the top token")

    def test_frequency_penalty_changes_repetitive_output(self):
        prompt = "Repeat the word hello twenty times."
        base = self.create(prompt, max_tokens=24).choices[0].message.content
        if base.lower().count("hello") < 3:
            self.skipTest(f"greedy output is not repetitive enough to judge: {base!r}")
        pen = self.create(prompt, max_tokens=24, frequency_penalty=2.0).choices[0].message.content
        self.assertNotEqual(pen, base, "frequency_penalty=2 had no effect on a repetitive output")
        pres = self.create(prompt, max_tokens=24, presence_penalty=2.0).choices[0].message.content
        self.assertNotEqual(pres, base, "presence_penalty=2 had no effect on a repetitive output")

    def test_thinking_switches_accepted_on_non_thinking_model(self):
        base = self.create(max_tokens=12).choices[0].message.content
        r1 = self.create(max_tokens=12, reasoning_effort="none")
        r2 = self.create(max_tokens=12, extra_body={"chat_template_kwargs": {"enable_thinking": False}})
        for r in (r1, r2):
            self.assertEqual(r.choices[0].message.content, base)
            self.assertFalse(extra(r.choices[0].message, "reasoning_content"))

    def test_system_message_changes_prompt(self):
        r1 = self.create(max_tokens=4)
        r2 = self.create(max_tokens=4, messages=[
            # Longer than the default system prompt SmolLM2's template inserts when none is given.
            {"role": "system", "content": "You are a helpful assistant that answers in French, in one short "
                                          "sentence, without preamble, lists, or follow-up questions."},
            {"role": "user", "content": CAPITAL_QUESTION}])
        self.assertGreater(r2.usage.prompt_tokens, r1.usage.prompt_tokens + 5)

    def test_content_parts_equal_string(self):
        a = self.create(max_tokens=12).choices[0].message.content
        b = self.create(max_tokens=12, messages=[{"role": "user", "content": [
            {"type": "text", "text": CAPITAL_QUESTION}]}]).choices[0].message.content
        self.assertEqual(a, b, "content as [{type:text}] parts must render like the plain string")

    def test_prompt_cache_reports_cached_tokens(self):
        sys_prompt = ("You are a helpful geography assistant. Answer questions about capitals, rivers and "
                      "mountains briefly and accurately.")
        m1 = [{"role": "system", "content": sys_prompt}, {"role": "user", "content": CAPITAL_QUESTION}]
        r1 = self.create(messages=m1, max_tokens=12)
        m2 = m1 + [{"role": "assistant", "content": r1.choices[0].message.content},
                   {"role": "user", "content": "And the capital of Italy?"}]
        r2 = self.create(messages=m2, max_tokens=8)
        cached = r2.usage.prompt_tokens_details.cached_tokens
        self.assertGreater(cached, 0, "the repeated conversation prefix must be served from the prompt cache")
        self.assertGreaterEqual(cached, r1.usage.prompt_tokens // 2)
        self.assertLess(cached, r2.usage.prompt_tokens)

    def test_logprobs_and_top_logprobs(self):
        r = self.create(max_tokens=12, temperature=0, logprobs=True, top_logprobs=3)
        c = r.choices[0]
        lps = c.logprobs.content
        self.assertEqual(len(lps), r.usage.completion_tokens)
        self.assertEqual("".join(t.token for t in lps), c.message.content)
        for t in lps:
            self.assertLessEqual(t.logprob, 0.0)
            self.assertEqual(bytes(t.bytes).decode("utf-8", "replace"), t.token)
            self.assertEqual(len(t.top_logprobs), 3)
            tops = [x.logprob for x in t.top_logprobs]
            self.assertEqual(tops, sorted(tops, reverse=True))
            # Greedy: the chosen token is the most likely one.
            self.assertEqual(t.top_logprobs[0].token, t.token)
            self.assertAlmostEqual(t.top_logprobs[0].logprob, t.logprob, places=5)
        # Streamed: the same tokens and values, attached to the chunks that carry their text.
        streamed = []
        for ch in self.client.chat.completions.create(model=self.model_id, messages=[{"role": "user", "content": CAPITAL_QUESTION}],
                                                      max_tokens=12, temperature=0, logprobs=True, top_logprobs=3, stream=True):
            if ch.choices and ch.choices[0].logprobs and ch.choices[0].logprobs.content:
                streamed += ch.choices[0].logprobs.content
        self.assertEqual([(t.token, round(t.logprob, 5)) for t in streamed], [(t.token, round(t.logprob, 5)) for t in lps])
        off = self.create(max_tokens=4, temperature=0)
        self.assertIsNone(off.choices[0].logprobs)

    def test_logprobs_errors(self):
        with self.assertRaises(openai.BadRequestError) as cm:
            self.create(top_logprobs=3)
        self.assertIn("top_logprobs", str(cm.exception))
        with self.assertRaises(openai.BadRequestError):
            self.create(logprobs=True, top_logprobs=21)

    def test_n_choices_share_the_prompt(self):
        r = self.create(content="Tell me a story.", n=3, temperature=1.0, seed=11, max_tokens=12)
        self.assertEqual([c.index for c in r.choices], [0, 1, 2])
        texts = [c.message.content for c in r.choices]
        self.assertGreater(len(set(texts)), 1, f"sampled choices should differ: {texts}")
        again = self.create(content="Tell me a story.", n=3, temperature=1.0, seed=11, max_tokens=12)
        self.assertEqual([c.message.content for c in again.choices], texts)
        # Usage: the prompt once, the completions of all choices added up.
        self.assertLessEqual(r.usage.completion_tokens, 36)
        self.assertGreater(r.usage.completion_tokens, 12 if any(c.finish_reason == "length" for c in r.choices) else 2)
        self.assertEqual(r.usage.prompt_tokens, self.create(content="Tell me a story.", max_tokens=1).usage.prompt_tokens)
        # Greedy choices are the same reply n times.
        g = self.create(n=2, temperature=0, max_tokens=10)
        self.assertEqual(g.choices[0].message.content, g.choices[1].message.content)
        # Streamed: every index gets its text and its own finish.
        out, finish = {}, {}
        for ch in self.client.chat.completions.create(model=self.model_id, messages=[{"role": "user", "content": CAPITAL_QUESTION}],
                                                      n=2, max_tokens=10, temperature=0, stream=True):
            for c in ch.choices:
                out[c.index] = out.get(c.index, "") + (c.delta.content or "")
                if c.finish_reason:
                    finish[c.index] = c.finish_reason
        self.assertEqual(set(finish), {0, 1})
        self.assertEqual(out[0], g.choices[0].message.content)
        self.assertEqual(out[1], out[0])
        with self.assertRaises(openai.BadRequestError):
            self.create(n=0)

    # -- /v1/completions (legacy text completions: the prompt as it is, no chat template) ------
    def test_completions_text_logprobs_and_stream(self):
        r = self.client.completions.create(model=self.model_id, prompt="The capital of France is", max_tokens=6,
                                           temperature=0, logprobs=2)
        c = r.choices[0]
        self.assertEqual(r.object, "text_completion")
        self.assertTrue(c.text.startswith(" Paris"), c.text)
        self.assertEqual("".join(c.logprobs.tokens), c.text)
        self.assertEqual(len(c.logprobs.token_logprobs), r.usage.completion_tokens)
        self.assertEqual(c.logprobs.text_offset[0], 0)
        self.assertEqual(list(c.logprobs.top_logprobs[0].keys())[0], c.logprobs.tokens[0])
        streamed = "".join(ch.choices[0].text for ch in self.client.completions.create(
            model=self.model_id, prompt="The capital of France is", max_tokens=6, temperature=0, stream=True) if ch.choices)
        self.assertEqual(streamed, c.text)

    def test_completions_token_ids_echo_and_prompt_lists(self):
        ids = self.client.completions.create(model=self.model_id, prompt="The capital of France is", max_tokens=1,
                                             temperature=0).usage.prompt_tokens
        self.assertEqual(ids, 5)
        by_text = self.client.completions.create(model=self.model_id, prompt="The capital of France is", max_tokens=4, temperature=0)
        by_ids = self.client.completions.create(model=self.model_id, prompt=[504, 3575, 282, 4649, 314], max_tokens=4, temperature=0)
        self.assertEqual(by_ids.choices[0].text, by_text.choices[0].text)
        r = self.client.completions.create(model=self.model_id, prompt=["The capital of France is", "The capital of Italy is"],
                                           max_tokens=3, temperature=0, echo=True, n=2)
        self.assertEqual([c.index for c in r.choices], [0, 1, 2, 3])
        self.assertTrue(r.choices[0].text.startswith("The capital of France is"))
        self.assertTrue(r.choices[2].text.startswith("The capital of Italy is"))
        self.assertEqual(r.choices[0].text, r.choices[1].text)
        with self.assertRaises(openai.BadRequestError) as cm:
            self.client.completions.create(model=self.model_id, prompt="def f(", suffix="return 1", max_tokens=4)
        self.assertIn("suffix", str(cm.exception))
        with self.assertRaises(openai.BadRequestError) as cm:
            self.client.completions.create(model=self.model_id, prompt=[1, 2, 10 ** 9], max_tokens=4)
        self.assertIn("vocabulary", str(cm.exception))

    def test_other_model_name_is_answered_with_the_real_id(self):
        r = self.create(model="gpt-4o", max_tokens=2)
        self.assertEqual(r.model, self.model_id)

    def test_bad_request_surfaces_param(self):
        with self.assertRaises(openai.BadRequestError) as cm:
            self.create(max_tokens=-5)
        e = cm.exception
        self.assertIn("max_tokens", (e.message or "") + " " + str(e.param))

    def test_concurrent_requests_are_isolated(self):
        """Concurrent (queued) requests must each get the same greedy answer."""
        expected = self.create(max_tokens=10).choices[0].message.content
        results, errors = [], []

        def worker(stream):
            try:
                c = openai.OpenAI(base_url=self.server.openai_base_url, api_key="unused", max_retries=0, timeout=120)
                if stream:
                    results.append(self.stream_collect(client=c, max_tokens=10)["text"])
                else:
                    results.append(self.create(client=c, max_tokens=10).choices[0].message.content)
                c.close()
            except Exception as e:  # pragma: no cover
                errors.append(repr(e))
        ts = [threading.Thread(target=worker, args=(i % 2 == 0,)) for i in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(180)
        self.assertFalse(errors, errors)
        self.assertEqual(results, [expected] * 4)


    def test_interleaved_conversations_hit_their_own_cache(self):
        """A main agent and a sub-agent, streamed at the same time through the client: the main
        agent's next turn reuses its whole previous prompt (usage.prompt_tokens_details)."""
        main = [{"role": "system", "content": "You are the main agent. Plan the work step by step and delegate."},
                {"role": "user", "content": "Add a --verbose flag to the CLI."}]
        sub = [{"role": "system", "content": "You are an explore sub-agent. Read code, change nothing."},
               {"role": "user", "content": "Where are the CLI arguments parsed?"}]
        first = self.client.chat.completions.create(model=self.model_id, messages=main, max_tokens=8, temperature=0)
        out, errors = {}, []

        def run(name, msgs):
            try:
                c = openai.OpenAI(base_url=self.server.openai_base_url, api_key="unused", max_retries=0, timeout=120)
                chunks = list(c.chat.completions.create(model=self.model_id, messages=msgs, max_tokens=8, temperature=0,
                                                        stream=True, stream_options={"include_usage": True}))
                out[name] = [ch.usage for ch in chunks if ch.usage][-1]
                c.close()
            except Exception as e:  # pragma: no cover
                errors.append(repr(e))
        main2 = main + [{"role": "assistant", "content": first.choices[0].message.content},
                        {"role": "user", "content": "Go on."}]
        ts = [threading.Thread(target=run, args=("sub", sub)), threading.Thread(target=run, args=("main", main2))]
        for t in ts:
            t.start()
        for t in ts:
            t.join(180)
        self.assertFalse(errors, errors)
        cached = out["main"].prompt_tokens_details.cached_tokens
        self.assertGreaterEqual(cached, first.usage.prompt_tokens - 1, (first.usage, out))
        self.assertLess(cached, out["main"].prompt_tokens)


# ============================================================================
# Tool / thinking model (scripted SmolLM3 fixture)
# ============================================================================

NO_THINK_SYSTEM = {"role": "system", "content": "/no_think"}


def tool_result_messages(system=None, call_id="call_abc123"):
    msgs = [system] if system else []
    msgs += [
        {"role": "user", "content": WEATHER_QUESTION},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": call_id, "type": "function",
             "function": {"name": "get_weather", "arguments": json.dumps({"city": "Paris"})}}]},
        {"role": "tool", "tool_call_id": call_id, "content": TOOL_RESULT_TEXT},
    ]
    return msgs


class OpenAIToolModelTest(OpenAIBase):
    MODEL_ENV = "SMOL_TOOL_MODEL"

    def ask(self, system=None, **kw):
        msgs = ([system] if system else []) + [{"role": "user", "content": WEATHER_QUESTION}]
        kw.setdefault("tools", [TOOL_GET_WEATHER])
        kw.setdefault("max_tokens", 200)
        return self.create(messages=msgs, **kw)

    def assert_single_weather_call(self, message, finish_reason):
        self.assertEqual(finish_reason, "tool_calls")
        self.assertIsNotNone(message.tool_calls)
        self.assertEqual(len(message.tool_calls), 1)
        call = message.tool_calls[0]
        self.assertEqual(call.type, "function")
        self.assertIsInstance(call.id, str)
        self.assertTrue(call.id)
        self.assertEqual(call.function.name, "get_weather")
        self.assertEqual(json.loads(call.function.arguments), {"city": "Paris"})
        self.assertNotIn("<tool_call>", message.content or "")
        self.assertFalse((message.content or "").strip(), f"no visible text expected: {message.content!r}")

    def assert_stream_weather_call(self, out, expect_reasoning):
        self.assertEqual(out["finish"], ["tool_calls"])
        self.assertEqual(list(out["tool_calls"]), [0])
        call = out["tool_calls"][0]
        self.assertEqual(call["name"], "get_weather", "name must be sent once (fragments are concatenated)")
        self.assertEqual(call["type"], "function")
        self.assertTrue(call["id"])
        self.assertEqual(json.loads(call["arguments"]), {"city": "Paris"})
        self.assertNotIn("<tool_call>", out["text"])
        if expect_reasoning:
            self.assertEqual(THOUGHT, out["reasoning"].strip())
            self.assertLess(out["order"].index("reasoning"), out["order"].index("tool"))
        else:
            self.assertEqual(out["reasoning"], "")

    # -- thinking off ------------------------------------------------------
    def test_no_think_system_tool_call(self):
        r = self.ask(system=NO_THINK_SYSTEM)
        self.assert_single_weather_call(r.choices[0].message, r.choices[0].finish_reason)
        self.assertFalse(extra(r.choices[0].message, "reasoning_content"))

    def test_enable_thinking_false_tool_call_stream(self):
        out = self.stream_collect(messages=[{"role": "user", "content": WEATHER_QUESTION}],
                                  tools=[TOOL_GET_WEATHER], max_tokens=200,
                                  extra_body={"chat_template_kwargs": {"enable_thinking": False}},
                                  stream_options={"include_usage": True})
        self.assert_stream_weather_call(out, expect_reasoning=False)
        self.assertIsNotNone(out["usage"])

    def test_reasoning_effort_none_tool_call(self):
        r = self.ask(reasoning_effort="none")
        self.assert_single_weather_call(r.choices[0].message, r.choices[0].finish_reason)
        self.assertFalse(extra(r.choices[0].message, "reasoning_content"))

    # -- thinking on (default) ------------------------------------------------
    def test_thinking_default_non_stream(self):
        r = self.ask()
        msg = r.choices[0].message
        reasoning = extra(msg, "reasoning_content")
        self.assertIsInstance(reasoning, str, "message.reasoning_content expected with thinking on")
        self.assertEqual(THOUGHT, reasoning.strip())
        self.assertNotIn("<think>", reasoning)
        self.assertNotIn("<think>", msg.content or "")
        self.assert_single_weather_call(msg, r.choices[0].finish_reason)

    def test_thinking_default_stream(self):
        out = self.stream_collect(messages=[{"role": "user", "content": WEATHER_QUESTION}],
                                  tools=[TOOL_GET_WEATHER], max_tokens=200)
        self.assert_stream_weather_call(out, expect_reasoning=True)
        self.assertNotIn("think>", out["text"] + out["reasoning"])

    def test_stream_helper_with_strict_tool(self):
        strict_tool = json.loads(json.dumps(TOOL_GET_WEATHER))
        strict_tool["function"]["strict"] = True
        with self.client.chat.completions.stream(
                model=self.model_id, messages=[NO_THINK_SYSTEM, {"role": "user", "content": WEATHER_QUESTION}],
                tools=[strict_tool], max_tokens=200, temperature=0) as stream:
            done_events = [e for e in stream if e.type == "tool_calls.function.arguments.done"]
        final = stream.get_final_completion()
        call = final.choices[0].message.tool_calls[0]
        self.assertEqual(call.function.name, "get_weather")
        self.assertEqual(call.function.parsed_arguments, {"city": "Paris"})
        self.assertEqual(len(done_events), 1)
        self.assertEqual(done_events[0].parsed_arguments, {"city": "Paris"})

    # -- tool results -------------------------------------------------------
    def test_tool_result_no_think(self):
        r = self.create(messages=tool_result_messages(NO_THINK_SYSTEM), tools=[TOOL_GET_WEATHER], max_tokens=200)
        msg = r.choices[0].message
        self.assertIn(FINAL_ANSWER, msg.content)
        self.assertEqual(r.choices[0].finish_reason, "stop")
        self.assertFalse(msg.tool_calls)

    def test_tool_result_thinking_stream(self):
        out = self.stream_collect(messages=tool_result_messages(), tools=[TOOL_GET_WEATHER], max_tokens=200)
        self.assertIn(FINAL_ANSWER, out["text"])
        self.assertEqual(THOUGHT, out["reasoning"].strip())
        self.assertEqual(out["finish"], ["stop"])
        self.assertFalse(out["tool_calls"])
        self.assertNotIn("think>", out["text"])

    def test_tool_result_as_content_parts(self):
        msgs = tool_result_messages(NO_THINK_SYSTEM)
        msgs[-1]["content"] = [{"type": "text", "text": TOOL_RESULT_TEXT}]
        r = self.create(messages=msgs, tools=[TOOL_GET_WEATHER], max_tokens=200)
        self.assertIn(FINAL_ANSWER, r.choices[0].message.content)

    # -- tool_choice ----------------------------------------------------------
    def test_tool_choice_none(self):
        r = self.ask(system=NO_THINK_SYSTEM, tool_choice="none", max_tokens=40)
        self.assertFalse(r.choices[0].message.tool_calls)
        self.assertNotEqual(r.choices[0].finish_reason, "tool_calls")

    def test_tool_choice_required(self):
        r = self.ask(system=NO_THINK_SYSTEM, tool_choice="required")
        self.assert_single_weather_call(r.choices[0].message, r.choices[0].finish_reason)

    def test_tool_choice_named_function(self):
        r = self.ask(system=NO_THINK_SYSTEM,
                     tool_choice={"type": "function", "function": {"name": "get_weather"}})
        self.assert_single_weather_call(r.choices[0].message, r.choices[0].finish_reason)

    def test_tool_choice_auto(self):
        r = self.ask(system=NO_THINK_SYSTEM, tool_choice="auto")
        self.assert_single_weather_call(r.choices[0].message, r.choices[0].finish_reason)

    # -- prompt cache across the tool round trip ----------------------------
    def test_prompt_cache_across_tool_round_trip(self):
        r1 = self.ask(system=NO_THINK_SYSTEM)
        call = r1.choices[0].message.tool_calls[0]
        msgs = tool_result_messages(NO_THINK_SYSTEM, call_id=call.id)
        r2 = self.create(messages=msgs, tools=[TOOL_GET_WEATHER], max_tokens=200)
        self.assertGreater(r2.usage.prompt_tokens_details.cached_tokens, 0)
        self.assertIn(FINAL_ANSWER, r2.choices[0].message.content)


if __name__ == "__main__":
    unittest.main(verbosity=2)
