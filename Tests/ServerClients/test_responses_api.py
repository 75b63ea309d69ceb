"""`POST /v1/responses` (stateless) driven by the official `openai` client: `responses.create`
and `responses.stream`, structured output with `responses.parse`, function tools and the
reasoning item (scripted SmolLM3), the SSE event sequence OpenAI defines.
"""
from __future__ import annotations

import json
import unittest

from server_harness import THOUGHT, WEATHER_QUESTION
from test_openai_client import OpenAIBase

try:
    import openai
    import pydantic
except ImportError:  # pragma: no cover
    openai = None

WEATHER_TOOL = {"type": "function", "name": "get_weather", "description": "Get the weather for a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                               "additionalProperties": False}}


class City(pydantic.BaseModel if openai else object):  # type: ignore[misc]
    name: str = pydantic.Field(max_length=20) if openai else ""
    country: str = pydantic.Field(max_length=20) if openai else ""


class ResponsesBase(OpenAIBase):
    pass


class ResponsesDefaultModelTest(ResponsesBase):
    MODEL_ENV = "SMOL_MODEL"

    def test_create_text(self):
        r = self.client.responses.create(model=self.model_id, input="What is the capital of France?", max_output_tokens=24,
                                         temperature=0)
        self.assertEqual(r.object, "response")
        self.assertEqual(r.status, "completed")
        self.assertIn("Paris", r.output_text)
        self.assertEqual(r.model, self.model_id)
        self.assertEqual([o.type for o in r.output], ["message"])
        self.assertGreater(r.usage.input_tokens, 5)
        self.assertEqual(r.usage.total_tokens, r.usage.input_tokens + r.usage.output_tokens)

    def test_instructions_and_items(self):
        r = self.client.responses.create(
            model=self.model_id, instructions="You are a pirate.", temperature=0, max_output_tokens=16,
            input=[{"role": "user", "content": [{"type": "input_text", "text": "Hello"}]},
                   {"role": "assistant", "content": [{"type": "output_text", "text": "Arr!"}]},
                   {"role": "user", "content": "Who are you?"}])
        self.assertEqual(r.instructions, "You are a pirate.")
        self.assertTrue(r.output_text)

    def test_stream_event_sequence(self):
        with self.client.responses.stream(model=self.model_id, input="What is the capital of France?",
                                          max_output_tokens=24, temperature=0) as s:
            events = list(s)
            final = s.get_final_response()
        types = [e.type for e in events]
        self.assertEqual(types[:4], ["response.created", "response.in_progress", "response.output_item.added",
                                     "response.content_part.added"])
        self.assertEqual(types[-4:], ["response.output_text.done", "response.content_part.done", "response.output_item.done",
                                      "response.completed"])
        self.assertEqual([e.sequence_number for e in events], list(range(len(events))))
        deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
        self.assertEqual(deltas, final.output_text)
        plain = self.client.responses.create(model=self.model_id, input="What is the capital of France?",
                                             max_output_tokens=24, temperature=0)
        self.assertEqual(final.output_text, plain.output_text)

    def test_incomplete_at_max_output_tokens(self):
        r = self.client.responses.create(model=self.model_id, input="Tell me a long story.", max_output_tokens=3)
        self.assertEqual(r.status, "incomplete")
        self.assertEqual(r.incomplete_details.reason, "max_output_tokens")

    def test_parse_structured_output(self):
        r = self.client.responses.parse(model=self.model_id, input="Give the capital of Italy as JSON.", text_format=City,
                                        temperature=0, max_output_tokens=160)
        self.assertIsInstance(r.output_parsed, City)
        self.assertTrue(r.output_parsed.name)

    def test_stateless_errors(self):
        with self.assertRaises(openai.BadRequestError) as cm:
            self.client.responses.create(model=self.model_id, input="hi", previous_response_id="resp_123")
        self.assertIn("previous_response_id", str(cm.exception))
        with self.assertRaises(openai.BadRequestError) as cm:
            self.client.responses.create(model=self.model_id, input="hi", tools=[{"type": "web_search"}])
        self.assertIn("function", str(cm.exception))
        with self.assertRaises(openai.BadRequestError) as cm:
            self.client.responses.create(model=self.model_id, input=[{"type": "mystery"}])
        self.assertIn("mystery", str(cm.exception))

    def test_function_tool_on_a_template_without_tools(self):
        r = self.client.responses.create(model=self.model_id, input=WEATHER_QUESTION, tools=[WEATHER_TOOL],
                                         tool_choice="required", temperature=0, max_output_tokens=80)
        calls = [o for o in r.output if o.type == "function_call"]
        self.assertEqual([c.name for c in calls], ["get_weather"])
        self.assertIn("city", json.loads(calls[0].arguments))


class ResponsesToolModelTest(ResponsesBase):
    MODEL_ENV = "SMOL_TOOL_MODEL"

    def test_reasoning_then_call_then_answer(self):
        r = self.client.responses.create(model=self.model_id, input=WEATHER_QUESTION, tools=[WEATHER_TOOL], max_output_tokens=200)
        self.assertEqual([o.type for o in r.output], ["reasoning", "function_call"])
        self.assertEqual(r.output[0].summary[0].text.strip(), THOUGHT)
        call = r.output[1]
        self.assertEqual((call.name, json.loads(call.arguments)), ("get_weather", {"city": "Paris"}))
        items = [{"role": "user", "content": WEATHER_QUESTION}] + [o.model_dump(exclude_none=True) for o in r.output]
        items.append({"type": "function_call_output", "call_id": call.call_id, "output": "Sunny, 22 C"})
        r2 = self.client.responses.create(model=self.model_id, input=items, tools=[WEATHER_TOOL], max_output_tokens=200)
        self.assertIn("sunny", r2.output_text.lower())

    def test_streamed_reasoning_and_call_events(self):
        with self.client.responses.stream(model=self.model_id, input=WEATHER_QUESTION, tools=[WEATHER_TOOL],
                                          max_output_tokens=200) as s:
            types = [e.type for e in s]
            final = s.get_final_response()
        self.assertIn("response.reasoning_summary_text.delta", types)
        i = types.index("response.function_call_arguments.done")
        self.assertLess(types.index("response.reasoning_summary_text.done"), i)
        self.assertEqual(types[-1], "response.completed")
        self.assertEqual([o.type for o in final.output], ["reasoning", "function_call"])

    def test_effort_none_turns_thinking_off(self):
        r = self.client.responses.create(model=self.model_id, input=WEATHER_QUESTION, tools=[WEATHER_TOOL],
                                         reasoning={"effort": "none"}, max_output_tokens=200)
        self.assertEqual([o.type for o in r.output], ["function_call"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
