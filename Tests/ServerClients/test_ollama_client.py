"""`smol serve`'s Ollama API, driven by the official `ollama` Python client and by the Python
edition of Claw Code (PyPI `claw-code`), which speaks only Ollama's API.

Default model (SMOL_MODEL): list, ps, show, version, chat and generate (streamed or not),
options, format, tools (generic mode), errors. Tool model (SMOL_TOOL_MODEL, scripted
SmolLM3): thinking and native tool calls.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import unittest

from server_harness import THOUGHT, TOOL_GET_WEATHER, WEATHER_QUESTION, ServerTestCase, request

try:
    import ollama
    import jsonschema
except ImportError:  # pragma: no cover
    ollama = None

QUESTION = "What is the capital of France? Answer in one sentence."


class OllamaBase(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        if ollama is None:
            raise unittest.SkipTest("the `ollama` package is not installed (pip install -r requirements-server-tests.txt)")
        super().setUpClass()
        cls.client = ollama.Client(host=cls.server.base_url, timeout=180)

    def chat(self, content=QUESTION, **kw):
        kw.setdefault("model", self.model_id)
        kw.setdefault("options", {"temperature": 0, "num_predict": 32})
        return self.client.chat(messages=[{"role": "user", "content": content}], **kw)


class OllamaDefaultModelTest(OllamaBase):
    MODEL_ENV = "SMOL_MODEL"

    def test_root_and_version(self):
        r = request(self.server, "GET", "/")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"Ollama is running")
        v = request(self.server, "GET", "/api/version").json()["version"]
        self.assertRegex(v, r"^\d+\.\d+\.\d+$")

    def test_list_ps_show(self):
        models = self.client.list().models
        self.assertEqual([m.model for m in models], [self.model_id])
        m = models[0]
        self.assertGreater(m.size, 1_000_000)
        self.assertEqual(m.details.family, "llama")
        self.assertEqual(m.details.parameter_size, "135M")
        self.assertIsNotNone(m.modified_at)
        self.assertEqual(len(m.digest), 64)
        running = self.client.ps().models
        self.assertEqual([p.model for p in running], [self.model_id])
        self.assertIsNotNone(running[0].expires_at)
        info = self.client.show(self.model_id)
        self.assertIn("<|im_start|>", info.template)
        self.assertEqual(info.modelinfo["general.architecture"], "llama")
        self.assertEqual(info.modelinfo["llama.block_count"], 30)
        self.assertIn("completion", info.capabilities)
        self.assertIn("tools", info.capabilities)
        self.assertNotIn("vision", info.capabilities)

    def test_chat_non_stream(self):
        r = self.chat()
        self.assertTrue(r.done)
        self.assertEqual(r.done_reason, "stop")
        self.assertIn("Paris", r.message.content)
        self.assertEqual(r.message.role, "assistant")
        self.assertEqual(r.model, self.model_id)
        self.assertGreater(r.prompt_eval_count, 5)
        self.assertGreater(r.eval_count, 0)
        self.assertGreater(r.total_duration, r.eval_duration)

    def test_chat_stream_equals_non_stream(self):
        whole = self.chat().message.content
        parts = list(self.chat(stream=True))
        self.assertGreater(len(parts), 2, "tokens must stream as separate lines")
        self.assertTrue(parts[-1].done)
        self.assertFalse(any(p.done for p in parts[:-1]))
        self.assertEqual("".join(p.message.content for p in parts), whole)

    def test_num_predict_gives_length(self):
        r = self.chat(options={"temperature": 0, "num_predict": 2})
        self.assertEqual(r.done_reason, "length")
        self.assertEqual(r.eval_count, 2)

    def test_generate_stream_and_not(self):
        r = self.client.generate(model=self.model_id, prompt=QUESTION, options={"temperature": 0, "num_predict": 32})
        self.assertIn("Paris", r.response)
        self.assertTrue(r.done)
        self.assertGreater(len(r.context), r.eval_count)
        parts = list(self.client.generate(model=self.model_id, prompt=QUESTION, stream=True,
                                          options={"temperature": 0, "num_predict": 32}))
        self.assertEqual("".join(p.response for p in parts), r.response)

    def test_generate_system_raw_and_context(self):
        sys_r = self.client.generate(model=self.model_id, prompt="Who are you?", system="You are a pirate. Say arr.",
                                     options={"temperature": 0, "num_predict": 16})
        plain = self.client.generate(model=self.model_id, prompt="Who are you?", options={"temperature": 0, "num_predict": 16})
        self.assertGreater(sys_r.prompt_eval_count, 0)
        self.assertNotEqual(sys_r.response, plain.response)
        raw = self.client.generate(model=self.model_id, raw=True, prompt="The capital of France is",
                                   options={"temperature": 0, "num_predict": 4})
        self.assertIn("Paris", raw.response)
        # Sending the context back continues the conversation from its tokens.
        more = self.client.generate(model=self.model_id, prompt="And of Italy?", context=plain.context,
                                    options={"temperature": 0, "num_predict": 8})
        self.assertGreater(more.prompt_eval_count, 0)
        self.assertGreater(len(more.context), len(plain.context))

    def test_options_seed_and_stop(self):
        o = {"temperature": 1.0, "seed": 7, "num_predict": 16}
        a = self.chat("Tell me a story.", options=o).message.content
        b = self.chat("Tell me a story.", options=o).message.content
        self.assertEqual(a, b)
        s = self.chat(options={"temperature": 0, "num_predict": 32, "stop": ["Paris"]})
        self.assertNotIn("Paris", s.message.content)
        self.assertEqual(s.done_reason, "stop")
        r = self.chat(options={"temperature": 0.8, "top_k": 1, "top_p": 0.5, "min_p": 0.1, "repeat_penalty": 1.1,
                               "num_ctx": 4096, "num_predict": 8})
        self.assertTrue(r.done)

    def test_format_json_and_schema(self):
        r = self.chat("Describe a dog as JSON.", format="json", options={"temperature": 0, "num_predict": 80})
        if r.done_reason == "stop":
            self.assertIsInstance(json.loads(r.message.content), dict)
        schema = {"type": "object", "properties": {"name": {"type": "string", "maxLength": 16}, "age": {"type": "integer"}},
                  "required": ["name", "age"], "additionalProperties": False}
        for seed in range(3):
            r = self.chat("Invent a person.", format=schema, options={"temperature": 1.5, "seed": seed, "num_predict": 80})
            if r.done_reason == "stop":
                jsonschema.validate(json.loads(r.message.content), schema)
        g = self.client.generate(model=self.model_id, prompt="Invent a person.", format=schema, options={"temperature": 0, "num_predict": 80})
        jsonschema.validate(json.loads(g.response), schema)

    def test_tools_generic_mode(self):
        r = self.chat(WEATHER_QUESTION, tools=[TOOL_GET_WEATHER], options={"temperature": 0, "num_predict": 80})
        calls = r.message.tool_calls or []
        if calls:
            self.assertEqual(calls[0].function.name, "get_weather")
            jsonschema.validate(dict(calls[0].function.arguments), TOOL_GET_WEATHER["function"]["parameters"])
        else:
            self.assertTrue(r.message.content)
        # The call goes back with its result: the next turn is a valid reply too.
        msgs = [{"role": "user", "content": WEATHER_QUESTION},
                {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
                {"role": "tool", "content": "Sunny, 22 C", "tool_name": "get_weather"}]
        r2 = self.client.chat(model=self.model_id, messages=msgs, tools=[TOOL_GET_WEATHER], options={"temperature": 0, "num_predict": 80})
        self.assertTrue(r2.done)

    def test_load_and_warm_up_calls(self):
        r = self.client.generate(model=self.model_id, prompt="")
        self.assertEqual(r.done_reason, "load")
        r = self.client.chat(model=self.model_id, messages=[])
        self.assertEqual(r.done_reason, "load")

    def test_errors_are_ollama_shaped(self):
        with self.assertRaises(ollama.ResponseError) as cm:
            self.client.chat(model=self.model_id, messages=[{"role": "wizard", "content": "x"}])
        self.assertEqual(cm.exception.status_code, 400)
        self.assertIn("role", cm.exception.error)
        with self.assertRaises(ollama.ResponseError) as cm:
            self.client.generate(model=self.model_id, prompt="hi", images=["aGVsbG8="])
        self.assertEqual(cm.exception.status_code, 400)
        r = request(self.server, "POST", "/api/chat", b'{"model": ')
        self.assertEqual(r.status, 400)
        self.assertIsInstance(r.json()["error"], str)
        r = request(self.server, "POST", "/api/pull", {"model": "llama3"})
        self.assertEqual(r.status, 501)
        self.assertIn("error", r.json())

    def test_context_limit_error_names_the_context(self):
        with self.assertRaises(ollama.ResponseError) as cm:
            self.chat("word " * 300, options={"num_ctx": 64, "num_predict": 4})
        self.assertIn("context length", cm.exception.error)


class OllamaToolModelTest(OllamaBase):
    MODEL_ENV = "SMOL_TOOL_MODEL"

    def test_thinking_and_native_tool_call(self):
        r = self.client.chat(model=self.model_id, messages=[{"role": "user", "content": WEATHER_QUESTION}],
                             tools=[TOOL_GET_WEATHER], think=True, options={"num_predict": 200})
        self.assertEqual(THOUGHT, (r.message.thinking or "").strip())
        self.assertEqual(len(r.message.tool_calls), 1)
        call = r.message.tool_calls[0]
        self.assertEqual(call.function.name, "get_weather")
        self.assertEqual(dict(call.function.arguments), {"city": "Paris"})
        self.assertIn("thinking", self.client.show(self.model_id).capabilities)

    def test_streamed_thinking_then_call(self):
        parts = list(self.client.chat(model=self.model_id, messages=[{"role": "user", "content": WEATHER_QUESTION}],
                                      tools=[TOOL_GET_WEATHER], stream=True, options={"num_predict": 200}))
        thinking = "".join(p.message.thinking or "" for p in parts)
        calls = [c for p in parts for c in (p.message.tool_calls or [])]
        self.assertEqual(THOUGHT, thinking.strip())
        self.assertEqual([c.function.name for c in calls], ["get_weather"])

    def test_think_false(self):
        r = self.client.chat(model=self.model_id, messages=[{"role": "user", "content": WEATHER_QUESTION}],
                             tools=[TOOL_GET_WEATHER], think=False, options={"num_predict": 200})
        self.assertFalse(r.message.thinking)
        self.assertEqual(r.message.tool_calls[0].function.name, "get_weather")


class ClawCodePythonTest(ServerTestCase):
    """The Python edition of Claw Code end to end: it probes /api/tags, then streams
    /api/generate (or not), with its settings in ~/.claude.json."""
    MODEL_ENV = "SMOL_MODEL"

    def run_claw(self, *args):
        exe = os.path.join(os.path.dirname(sys.executable), "claw-code")
        if not os.path.exists(exe):
            self.skipTest("claw-code is not installed (pip install -r requirements-server-tests.txt)")
        with tempfile.TemporaryDirectory() as home:
            with open(os.path.join(home, ".claude.json"), "w") as f:
                json.dump({"provider": "ollama", "ollama_base_url": self.server.base_url, "model": "smollm2:135m",
                           "auto_detect_vram": False}, f)
            env = {k: v for k, v in os.environ.items() if not k.startswith("OLLAMA")}
            env["HOME"] = home
            p = subprocess.run([exe, "turn-loop", QUESTION, "--max-turns", "1", *args], cwd=home, env=env,
                               capture_output=True, text=True, timeout=300)
        return p

    def test_turn_loop(self):
        p = self.run_claw()
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        self.assertIn("Paris", p.stdout, f"stdout: {p.stdout[-2000:]}\nstderr: {p.stderr[-2000:]}")
        self.assertNotIn("Error querying Ollama", p.stdout)

    def test_turn_loop_streamed(self):
        p = self.run_claw("--stream")
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        self.assertIn("Paris", p.stdout, f"stdout: {p.stdout[-2000:]}\nstderr: {p.stderr[-2000:]}")
        self.assertNotIn("Error:", p.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
