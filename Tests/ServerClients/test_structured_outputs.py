"""Structured outputs and constrained tool calls, driven by the official `openai` client and
checked with a JSON Schema validator (`jsonschema`).

Default model (SMOL_MODEL, SmolLM2-135M-Instruct, whose chat template has no tools):
`response_format` json_object / json_schema (`chat.completions.parse` with pydantic), many
schemas sampled at temperature 1.5 so that sampling explores, llama-server's `grammar` field,
and tools through the generic JSON-envelope mode.
Tool model (SMOL_TOOL_MODEL, scripted SmolLM3): native `<tool_call>` bodies constrained to
the tools' schemas.
"""
from __future__ import annotations

import json
import unittest
from typing import List, Literal, Optional

from server_harness import TOOL_GET_WEATHER, WEATHER_QUESTION
from test_openai_client import OpenAIBase

try:
    import openai
    import pydantic
    import jsonschema
except ImportError:  # pragma: no cover
    openai = None

# Schemas of the kinds pydantic, instructor and OpenAI's strict mode emit. Strings are bounded
# so that a reply sampled at temperature 1.5 ends within the token budget.
SCHEMAS = [
    {"type": "object", "properties": {"name": {"type": "string", "maxLength": 20}, "age": {"type": "integer", "minimum": 0, "maximum": 120}},
     "required": ["name", "age"], "additionalProperties": False},
    {"type": "object", "properties": {"color": {"enum": ["red", "green", "blue"]}, "ok": {"type": "boolean"}, "none": {"type": "null"}},
     "required": ["color", "ok"], "additionalProperties": False},
    {"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "string", "maxLength": 8}, "minItems": 1, "maxItems": 3}},
     "required": ["tags"], "additionalProperties": False},
    {"type": "object", "properties": {"point": {"$ref": "#/$defs/P"}, "label": {"anyOf": [{"type": "string", "maxLength": 10}, {"type": "null"}]}},
     "required": ["point", "label"], "additionalProperties": False,
     "$defs": {"P": {"type": "object", "properties": {"x": {"type": "number", "minimum": -5, "maximum": 5}, "y": {"type": "integer"}},
                     "required": ["x", "y"], "additionalProperties": False}}},
    {"type": "object", "properties": {"id": {"type": "string", "format": "uuid"}, "day": {"type": "string", "format": "date"},
                                      "code": {"type": "string", "pattern": "^[A-Z]{2}-[0-9]{3}$"}},
     "required": ["id", "day", "code"], "additionalProperties": False},
    {"type": "array", "prefixItems": [{"type": "integer"}, {"const": "x"}], "items": False, "minItems": 2},
]


class Person(pydantic.BaseModel if openai else object):  # type: ignore[misc]
    name: str
    age: int
    # A 135M model at temperature 0 repeats list items until the budget ends: bounded.
    hobbies: List[str] = pydantic.Field(max_length=3) if openai else None
    kind: Literal["human", "robot"]
    nickname: Optional[str]


class StructuredBase(OpenAIBase):
    @classmethod
    def setUpClass(cls):
        if openai is None:
            raise unittest.SkipTest("openai / pydantic / jsonschema are not installed (pip install -r requirements-server-tests.txt)")
        super().setUpClass()


class StructuredOutputDefaultModelTest(StructuredBase):
    MODEL_ENV = "SMOL_MODEL"

    def ask(self, content, **kw):
        kw.setdefault("model", self.model_id)
        kw.setdefault("max_tokens", 200)
        return self.client.chat.completions.create(messages=[{"role": "user", "content": content}], **kw)

    def test_json_object_parses(self):
        r = self.ask("Describe a cat.", response_format={"type": "json_object"}, temperature=0, max_tokens=120)
        if r.choices[0].finish_reason == "stop":
            self.assertIsInstance(json.loads(r.choices[0].message.content), dict)
        else:
            # Cut off by the budget: still a prefix of an object.
            self.assertTrue(r.choices[0].message.content.lstrip().startswith("{"))

    def test_parse_with_pydantic(self):
        r = self.client.chat.completions.parse(
            model=self.model_id, messages=[{"role": "user", "content": "Invent a person with two hobbies."}],
            response_format=Person, max_tokens=300, temperature=0)
        msg = r.choices[0].message
        self.assertEqual(r.choices[0].finish_reason, "stop", msg.content)
        self.assertIsInstance(msg.parsed, Person)
        jsonschema.validate(json.loads(msg.content), Person.model_json_schema())

    def test_sampled_outputs_validate(self):
        # Every schema x several samples at temperature 1.5: each finished reply validates.
        finished = 0
        for i, schema in enumerate(SCHEMAS):
            for seed in range(3):
                r = self.ask("Reply with JSON.", temperature=1.5, seed=seed, max_tokens=160,
                             response_format={"type": "json_schema", "json_schema": {"name": f"s{i}", "schema": schema, "strict": True}})
                c = r.choices[0]
                if c.finish_reason != "stop":
                    continue
                finished += 1
                try:
                    jsonschema.validate(json.loads(c.message.content), schema, format_checker=jsonschema.FormatChecker())
                except Exception as e:  # pragma: no cover - the failure message is the point
                    self.fail(f"schema {i} seed {seed}: {c.message.content!r} does not validate: {e}")
        self.assertGreaterEqual(finished, len(SCHEMAS) * 3 // 2, "most sampled replies should end within the budget")

    def test_streamed_json_schema(self):
        schema = SCHEMAS[0]
        stream = self.ask("Invent a person.", stream=True, temperature=0,
                          response_format={"type": "json_schema", "json_schema": {"name": "p", "schema": schema}})
        text = "".join(ch.choices[0].delta.content or "" for ch in stream if ch.choices)
        jsonschema.validate(json.loads(text), schema)

    def test_unsupported_keyword_is_400_naming_its_path(self):
        schema = {"type": "object", "properties": {"n": {"type": "integer", "multipleOf": 3}}}
        with self.assertRaises(openai.BadRequestError) as cm:
            self.ask("x", response_format={"type": "json_schema", "json_schema": {"name": "m", "schema": schema}})
        self.assertIn("multipleOf", str(cm.exception))
        self.assertIn("properties/n", str(cm.exception))

    def test_gbnf_grammar_field(self):
        r = self.ask("Is the sky blue?", temperature=1.0, max_tokens=8,
                     extra_body={"grammar": 'root ::= ("yes" | "no") "."'})
        self.assertIn(r.choices[0].message.content, ("yes.", "no."))
        with self.assertRaises(openai.BadRequestError) as cm:
            self.ask("x", extra_body={"grammar": 'root ::= missing'})
        self.assertIn("grammar", str(cm.exception))

    # -- tools on a template without tool support: the generic envelope ------------------
    def test_tool_choice_required_calls_with_valid_arguments(self):
        r = self.ask(WEATHER_QUESTION, tools=[TOOL_GET_WEATHER], tool_choice="required", temperature=0)
        c = r.choices[0]
        self.assertEqual(c.finish_reason, "tool_calls", c.message.content)
        self.assertEqual(len(c.message.tool_calls), 1)
        call = c.message.tool_calls[0]
        self.assertEqual(call.function.name, "get_weather")
        jsonschema.validate(json.loads(call.function.arguments), TOOL_GET_WEATHER["function"]["parameters"])
        self.assertFalse(c.message.content)

    def test_sampled_tool_calls_always_parse(self):
        tools = [TOOL_GET_WEATHER, {"type": "function", "function": {
            "name": "add", "description": "Add two integers",
            "parameters": {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                           "required": ["a", "b"], "additionalProperties": False}}}]
        by_name = {t["function"]["name"]: t["function"]["parameters"] for t in tools}
        for seed in range(4):
            r = self.ask("What is 2 + 3? And the weather in Rome?", tools=tools, tool_choice="required",
                         temperature=1.5, seed=seed, max_tokens=120)
            c = r.choices[0]
            if c.finish_reason == "length":
                continue
            self.assertEqual(c.finish_reason, "tool_calls", c.message.content)
            for call in c.message.tool_calls:
                self.assertIn(call.function.name, by_name)
                jsonschema.validate(json.loads(call.function.arguments), by_name[call.function.name])

    def test_parallel_tool_calls_true_allows_a_list(self):
        r = self.ask(WEATHER_QUESTION, tools=[TOOL_GET_WEATHER], tool_choice="required", temperature=0,
                     parallel_tool_calls=True, max_tokens=200)
        c = r.choices[0]
        if c.finish_reason == "tool_calls":
            self.assertGreaterEqual(len(c.message.tool_calls), 1)
            for call in c.message.tool_calls:
                self.assertEqual(call.function.name, "get_weather")

    def test_tool_call_streams(self):
        stream = self.ask(WEATHER_QUESTION, tools=[TOOL_GET_WEATHER], tool_choice="required", temperature=0, stream=True)
        names, args, finish = [], "", None
        for ch in stream:
            if not ch.choices:
                continue
            d = ch.choices[0].delta
            for tc in d.tool_calls or []:
                if tc.function.name:
                    names.append(tc.function.name)
                args += tc.function.arguments or ""
            finish = ch.choices[0].finish_reason or finish
        self.assertEqual(names, ["get_weather"])
        self.assertEqual(finish, "tool_calls")
        jsonschema.validate(json.loads(args), TOOL_GET_WEATHER["function"]["parameters"])

    def test_tool_choice_auto_may_answer_in_text(self):
        r = self.ask("Say hello.", tools=[TOOL_GET_WEATHER], tool_choice="auto", temperature=0)
        c = r.choices[0]
        self.assertIn(c.finish_reason, ("stop", "tool_calls"))
        if c.finish_reason == "stop":
            self.assertTrue(c.message.content)
            self.assertNotIn('"response"', c.message.content, "the envelope must be unwrapped")

    def test_tool_result_round_trip(self):
        msgs = [{"role": "user", "content": WEATHER_QUESTION},
                {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": "Sunny, 22 C"}]
        r = self.client.chat.completions.create(model=self.model_id, messages=msgs, tools=[TOOL_GET_WEATHER],
                                                temperature=0, max_tokens=120)
        c = r.choices[0]
        self.assertIn(c.finish_reason, ("stop", "tool_calls", "length"))
        if c.finish_reason == "stop":
            self.assertTrue(c.message.content)

    def test_constrain_off_on_request(self):
        # Constraining off and tool_choice auto: the reply is whatever the model writes.
        r = self.ask(WEATHER_QUESTION, tools=[TOOL_GET_WEATHER], temperature=0, max_tokens=30,
                     extra_body={"constrain_tool_calls": False})
        self.assertIn(r.choices[0].finish_reason, ("stop", "length", "tool_calls"))


class StructuredOutputToolModelTest(StructuredBase):
    """The scripted SmolLM3: native <tool_call> bodies, constrained."""
    MODEL_ENV = "SMOL_TOOL_MODEL"

    def test_native_call_validates_and_parallel_false(self):
        r = self.client.chat.completions.create(
            model=self.model_id, messages=[{"role": "system", "content": "/no_think"}, {"role": "user", "content": WEATHER_QUESTION}],
            tools=[TOOL_GET_WEATHER], tool_choice="required", parallel_tool_calls=False, max_tokens=200)
        c = r.choices[0]
        self.assertEqual(c.finish_reason, "tool_calls")
        self.assertEqual(len(c.message.tool_calls), 1)
        jsonschema.validate(json.loads(c.message.tool_calls[0].function.arguments), TOOL_GET_WEATHER["function"]["parameters"])

    def test_response_format_with_thinking_left_free(self):
        schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"], "additionalProperties": False}
        r = self.client.chat.completions.create(
            model=self.model_id, messages=[{"role": "user", "content": "Is it sunny?"}], max_tokens=200,
            response_format={"type": "json_schema", "json_schema": {"name": "ok", "schema": schema}})
        c = r.choices[0]
        if c.finish_reason == "stop":
            jsonschema.validate(json.loads(c.message.content), schema)


if __name__ == "__main__":
    unittest.main(verbosity=2)
