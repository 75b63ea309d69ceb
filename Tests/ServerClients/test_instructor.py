"""`instructor` (structured output through the openai client) against `smol serve` on the
default model, whose chat template has no tool support: JSON_SCHEMA mode (response_format) and
TOOLS mode (a forced tool call, answered through the generic JSON-envelope mode). Runs in a venv
of its own (requirements-instructor.txt): instructor pins an older jiter than the openai client
of the other suites.
"""
from __future__ import annotations

import unittest
from typing import List

from server_harness import ServerTestCase

try:
    import instructor
    import openai
    import pydantic
except ImportError:  # pragma: no cover
    instructor = None


class Person(pydantic.BaseModel if instructor else object):  # type: ignore[misc]
    name: str = pydantic.Field(max_length=24) if instructor else ""
    age: int = 0
    hobbies: List[str] = pydantic.Field(default_factory=list, max_length=3) if instructor else None


class InstructorDefaultModelTest(ServerTestCase):
    MODEL_ENV = "SMOL_MODEL"

    @classmethod
    def setUpClass(cls):
        if instructor is None:
            raise unittest.SkipTest("instructor is not installed (pip install -r requirements-instructor.txt)")
        super().setUpClass()
        cls.openai = openai.OpenAI(base_url=cls.server.openai_base_url, api_key="unused", max_retries=0, timeout=180)

    def extract(self, mode):
        client = instructor.from_openai(self.openai, mode=mode)
        return client.chat.completions.create(
            model=self.model_id, response_model=Person, max_retries=0, temperature=0, max_tokens=200,
            messages=[{"role": "user", "content": "Bob is 30 and likes chess and tennis. Extract the person."}])

    def test_json_schema_mode(self):
        p = self.extract(instructor.Mode.JSON_SCHEMA)
        self.assertIsInstance(p, Person)
        self.assertTrue(p.name)

    def test_tools_mode(self):
        p = self.extract(instructor.Mode.TOOLS)
        self.assertIsInstance(p, Person)
        self.assertTrue(p.name)


if __name__ == "__main__":
    unittest.main(verbosity=2)
