#!/usr/bin/env python3
"""Render chat-template cases with the installed transformers + jinja2 and save them as
fixtures for the Swift SmolTemplates tests (byte-for-byte expected output).

Run from the repository root:  python3 scripts/make_template_fixtures.py
Writes Tests/SmolTemplatesTests/Fixtures/template_cases.json (a list of cases) and
template_cases_versions.json (library versions used).
"""
import datetime as _dt
import json
import os
import sys

import jinja2
import transformers
from transformers.utils import chat_template_utils
from transformers.utils.chat_template_utils import render_jinja_template

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(REPO, "Tests", "SmolTemplatesTests", "Fixtures")
SMOLLM3_PATH = "../shared/models/SmolLM3-3B/chat_template.jinja"  # relative to the repo root
SMOLLM2_CONFIG = os.path.join(REPO, "..", "main", "Models", "SmolLM2-135M-Instruct", "tokenizer_config.json")
if not os.path.exists(SMOLLM2_CONFIG):
    SMOLLM2_CONFIG = os.path.join(REPO, "Models", "SmolLM2-135M-Instruct", "tokenizer_config.json")

# strftime_now must be deterministic: the Swift tests inject the same wall-clock time.
FIXED_NOW = _dt.datetime(2026, 11, 22, 14, 5, 9)


class _FixedDatetime(_dt.datetime):
    @classmethod
    def now(cls, tz=None):
        return FIXED_NOW


chat_template_utils.datetime = _FixedDatetime

SMOLVLM2_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{message['role'] | capitalize}}"
    "{% if message['content'][0]['type'] == 'image' %}{{':'}}{% else %}{{': '}}{% endif %}"
    "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{line['text']}}"
    "{% elif line['type'] == 'image' %}{{ '<image>' }}{% elif line['type'] == 'video' %}{{ '<video>' }}"
    "{% endif %}{% endfor %}<end_of_utterance>\n{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"
)

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the weather in a city. Returns °C, e.g. \"22.5\" or 'n/a'.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name, e.g. Zürich"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"},
                "days": {"type": "integer", "minimum": 1, "maximum": 7.0},
            },
            "required": ["city"],
        },
    },
}
SEARCH_TOOL = {
    "type": "function",
    "function": {"name": "search", "description": "Search the web", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"], "strict": True, "extra": None}},
}
PY_TOOL = {"name": "calculator", "description": "Evaluate a math expression like 2**10", "arguments": {"expression": "str"}, "returns": 1.5}


def render(template, messages=None, tools=None, documents=None, add_generation_prompt=False, kwargs=None):
    out, _ = render_jinja_template(
        conversations=[messages or []],
        tools=tools,
        documents=documents,
        chat_template=template,
        add_generation_prompt=add_generation_prompt,
        **(kwargs or {}),
    )
    return out[0]


CASES = []


def case(name, template=None, template_path=None, messages=None, tools=None, documents=None,
         add_generation_prompt=False, kwargs=None, expect_error=False):
    source = template
    if template_path is not None:
        with open(os.path.normpath(os.path.join(REPO, template_path)), encoding="utf-8") as f:
            source = f.read()
    entry = {
        "name": name,
        "messages": messages or [],
        "tools": tools,
        "documents": documents,
        "add_generation_prompt": add_generation_prompt,
        "kwargs": kwargs or {},
    }
    if template_path is not None:
        entry["template_path"] = template_path
    else:
        entry["template"] = template
    try:
        entry["expected"] = render(source, messages, tools, documents, add_generation_prompt, kwargs)
        if expect_error:
            raise SystemExit(f"case {name} was expected to fail but rendered {entry['expected']!r}")
    except Exception as e:  # noqa: BLE001 - we record the failure as the expectation
        if not expect_error:
            raise SystemExit(f"case {name} failed: {type(e).__name__}: {e}")
        entry["error"] = type(e).__name__
        entry["error_message"] = str(e)
    CASES.append(entry)


# ---------------------------------------------------------------- (a) SmolLM3
U = lambda c: {"role": "user", "content": c}  # noqa: E731
A = lambda c: {"role": "assistant", "content": c}  # noqa: E731
S = lambda c: {"role": "system", "content": c}  # noqa: E731

case("smollm3_default_thinking", template_path=SMOLLM3_PATH, messages=[U("Hi there!")], add_generation_prompt=True)
case("smollm3_enable_thinking_false", template_path=SMOLLM3_PATH, messages=[U("Hi")], add_generation_prompt=True, kwargs={"enable_thinking": False})
case("smollm3_enable_thinking_true_no_prompt", template_path=SMOLLM3_PATH, messages=[U("Hi")], kwargs={"enable_thinking": True})
case("smollm3_system_think", template_path=SMOLLM3_PATH, messages=[S("Be brief. /think"), U("2+2?")], add_generation_prompt=True, kwargs={"enable_thinking": False})
case("smollm3_system_no_think", template_path=SMOLLM3_PATH, messages=[S("You are a pirate. /no_think  "), U("Hello")], add_generation_prompt=True)
case("smollm3_system_override", template_path=SMOLLM3_PATH, messages=[S("/system_override Only this text.  "), U("Q")], add_generation_prompt=True)
case("smollm3_system_plain", template_path=SMOLLM3_PATH, messages=[S("Custom instructions here."), U("Hey")], add_generation_prompt=True)
case("smollm3_xml_tools", template_path=SMOLLM3_PATH, messages=[S("Use tools wisely."), U("Weather in Paris?")], add_generation_prompt=True,
     kwargs={"xml_tools": [WEATHER_TOOL, SEARCH_TOOL]})
case("smollm3_tools_param", template_path=SMOLLM3_PATH, messages=[U("Weather in Paris?")], tools=[WEATHER_TOOL], add_generation_prompt=True,
     kwargs={"enable_thinking": False})
case("smollm3_python_tools", template_path=SMOLLM3_PATH, messages=[U("Compute 2**10")], add_generation_prompt=True, kwargs={"python_tools": [PY_TOOL]})
case("smollm3_xml_and_python_tools", template_path=SMOLLM3_PATH, messages=[U("Both")], add_generation_prompt=True,
     kwargs={"xml_tools": [SEARCH_TOOL], "python_tools": [PY_TOOL], "enable_thinking": False})
case("smollm3_multi_turn", template_path=SMOLLM3_PATH, messages=[
    S("Be helpful."), U("What's the capital of France?"), A("\n\nParis is the capital."),
    U("And of Italy? Use the tool."), A('<tool_call>\n{"name": "search", "arguments": {"q": "capital of Italy"}}\n</tool_call>'),
    {"role": "tool", "content": "Rome"}, A("It's Rome."), U("Thanks! ünïcödé 😀")], add_generation_prompt=True)
case("smollm3_multi_turn_no_think", template_path=SMOLLM3_PATH, messages=[
    U("Hi"), A("\nHello!"), U("Bye")], add_generation_prompt=False, kwargs={"enable_thinking": False})
case("smollm3_no_system_no_prompt", template_path=SMOLLM3_PATH, messages=[U("Only user")])
case("smollm3_list_content", template_path=SMOLLM3_PATH, messages=[
    {"role": "user", "content": [{"type": "text", "text": "ignored list content"}]}, A("ok")], add_generation_prompt=True)
case("smollm3_assistant_last", template_path=SMOLLM3_PATH, messages=[S("/no_think"), U("a"), A("\n\n\nb")])

# ---------------------------------------------------------------- (b) SmolLM2 ChatML
with open(SMOLLM2_CONFIG, encoding="utf-8") as f:
    SMOLLM2_TEMPLATE = json.load(f)["chat_template"]
case("smollm2_no_system", template=SMOLLM2_TEMPLATE, messages=[U("Hello!")], add_generation_prompt=True)
case("smollm2_with_system", template=SMOLLM2_TEMPLATE, messages=[S("You are terse."), U("Hello!")], add_generation_prompt=True)
case("smollm2_multi_turn_no_prompt", template=SMOLLM2_TEMPLATE, messages=[U("a"), A("b"), U("c")], add_generation_prompt=False)
case("smollm2_unicode", template=SMOLLM2_TEMPLATE, messages=[U("Grüße 👋 \"quotes\" 'single' \\ back\nnew line")], add_generation_prompt=True)

# ---------------------------------------------------------------- (c) SmolVLM2
IMG = {"type": "image"}
VID = {"type": "video"}
T = lambda t: {"type": "text", "text": t}  # noqa: E731
case("smolvlm2_image_first", template=SMOLVLM2_TEMPLATE, messages=[{"role": "user", "content": [IMG, T("What is in this image?")]}], add_generation_prompt=True)
case("smolvlm2_text_then_video", template=SMOLVLM2_TEMPLATE, messages=[{"role": "user", "content": [T("Describe this video:"), VID]}], add_generation_prompt=True)
case("smolvlm2_multi_turn", template=SMOLVLM2_TEMPLATE, messages=[
    {"role": "system", "content": [T("You are a vision model.")]},
    {"role": "user", "content": [IMG, IMG, T("Compare.")]},
    {"role": "assistant", "content": [T(" The first is a cat.")]},
    {"role": "user", "content": [T("And the video?"), VID]}], add_generation_prompt=False)

# ---------------------------------------------------------------- (d) synthetic feature cases
USERS = [{"name": "Ann", "age": 31, "admin": True}, {"name": "bob", "age": 25, "admin": False}, {"name": "Cid", "age": 40}]
NESTED = {"s": "it's \"quoted\" \\ é 中文 😀\n\t", "i": 1, "f": 1.0, "g": 0.1, "e": 1e-05, "b": True, "n": None,
          "l": [1, 2.5, "x", [], {}], "d": {"inner": [False, None]}}
CHAT = [S("sys"), U("hello"), A("hi"), {"role": "tool", "content": "42"}, U("bye")]

synthetic = [
    ("ws_trim_blocks", "{% if true %}\nA\n{% endif %}\nB\n{% for i in [1, 2] %}\n{{ i }}\n{% endfor %}\nC", {}),
    ("ws_lstrip_blocks", "  {% if true %}\n  X\n  {% endif %}\nY\n\t {% for i in [1] %}{{ i }}{% endfor %} tail", {}),
    ("ws_dash_control", "a  {{- 'b' -}}  c\n{%- if true -%}  d  {%- endif -%}\n e {{ 'f' -}}\n\n g", {}),
    ("ws_plus_control", "  {%+ if true %}x{% endif +%}\nz\n  {%+ if true -%} y {% endif %}", {}),
    ("ws_comments", "a{# c #}\nb  {#- c -#}  c\n  {# line #}\nd {#+ keep #}\ne", {}),
    ("ws_variable_no_trim", "{{ 'x' }}\ny\n    {{ 'z' }}\n", {}),
    ("ws_lstrip_mid_line", "A  {% if true %}B{% endif %}\n\t{% if true %}\nC{% endif %}\n  \n  {% if true %}D{% endif %}", {}),
    ("ws_trailing_newline_dropped", "line\n", {}),
    ("ws_crlf", "a\r\n{% if true %}\r\nb\r\n{% endif %}\r\nc", {}),
    ("raw_block", "{% raw %}{{ not parsed }} {% if %}{% endraw %}|{%- raw -%}  x  {%- endraw -%}  |", {}),
    ("string_escapes", "{{ 'a\\nb\\tc\\\\d\\'e' }}|{{ \"q\\\"q\" }}|{{ '\\u00e9\\x41\\101' }}|{{ 'unknown \\d' }}", {}),
    ("literals", "{{ 1 }} {{ 1.0 }} {{ 1.5e3 }} {{ True }} {{ false }} {{ none }} {{ None }} {{ 0.1 + 0.2 }} {{ 1e-5 }} {{ 1e16 }} {{ 10**15 * 1.0 }} {{ 'a' 'b' }} {{ 1_000 }} {{ 0x1F }}", {}),
    ("arithmetic", "{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 7.5 // 2 }} {{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 2**3**2 }} {{ -2 ** 2 }} {{ 5 - 7 }} {{ 1.5 * 2 }} {{ -7.5 % 2 }} {{ True + 1 }} {{ 4 / 2 }}", {}),
    ("concat_and_repeat", "{{ 'a' ~ 1 ~ none ~ [1] ~ 2.0 }} {{ 'a' + 'b' }} {{ [1] + [2] }} {{ 'ab' * 3 }} {{ 2 * [0] }} {{ x ~ 'y' }}", {}),
    ("comparisons", "{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 1 == 1.0 }} {{ 'a' < 'b' }} {{ [1,2] < [1,3] }} {{ 1 != 2 }} {{ True == 1 }} {{ 2 >= 2 }} {{ 'B' < 'a' }}", {}),
    ("membership", "{{ 'a' in 'cat' }} {{ 2 in [1,2] }} {{ 'k' in {'k':1} }} {{ 3 not in [1] }} {{ 'x' in nope }} {{ 'at' not in 'cat' }} {{ 1 in (1, 2) }}", {}),
    ("logic_short_circuit", "{{ 0 or 'x' }} {{ 1 and 'y' }} {{ '' and 'z' }} {{ none or [] }} {{ not 0 }} {{ not 'a' }} {{ false or nope is defined }} {{ nope and nope.x }}", {}),
    ("conditional_expr", "{{ 'a' if x else 'b' }} [{{ 'c' if x }}] {{ ('d' if x) is defined }} {{ 1 if x else 2 if not x else 3 }}", {"x": False}),
    ("repr_nested", "{{ d }}", {"d": NESTED}),
    ("repr_strings", "{{ items }}", {"items": ["it's", 'say "hi"', "both ' \"", "tab\t", "é ü 中文 😀", "\x00\x7f\x85", "\u200b\u2028\xa0", "back\\slash", "\r\n", ""]}),
    ("repr_tuples_and_keys", "{{ {'a': (1, 2), 'b': {'c': none}, 1: 'x', 2.5: true} }} {{ (1,) }} {{ () }} {{ (1, 'two') }}", {}),
    ("tojson_default", "{{ d | tojson }}", {"d": NESTED}),
    ("tojson_indent", "{{ d | tojson(indent=2) }}", {"d": NESTED}),
    ("tojson_empty_and_nested", "{{ [] | tojson(indent=4) }}{{ {} | tojson(indent=4) }}{{ [1,[2,{'a':[]}]] | tojson(indent=4) }}{{ 'x' | tojson }}{{ none | tojson }}", {}),
    ("tojson_sort_keys_separators", "{{ {'b':1,'a':2} | tojson(sort_keys=true) }} {{ {'a':[1,2]} | tojson(separators=(',', ':')) }} {{ {1: 'int key', 'k': (1, 2)} | tojson }}", {}),
    ("tojson_ascii", "{{ 'é😀' | tojson(ensure_ascii=true) }} {{ s | tojson }}", {"s": "é😀\n\u0001\"\\/\x7f</script>"}),
    ("tojson_floats", "{{ vals | tojson }} {{ vals }}", {"vals": [1.0, 0.5, 1e-7, 1e20, 3, -0.0, 123456789.123, 0.1 + 0.2, 1 / 3, 1e-4, 1e15, 1e16, 2.5e-10, -1.5, 100.0, 5e-324]}),
    ("int_float_distinct", "{{ x }} {{ y }} {{ x | tojson }} {{ y | tojson }} {{ x == y }} {{ x is integer }} {{ y is float }}", {"x": 1, "y": 1.0}),
    ("string_filter", "{{ d | string }} {{ 1.0 | string }} {{ none | string }} {{ [true] | string }}", {"d": {"a": "b'c"}}),
    ("case_filters", "{{ 'hello world-foo (bar) [baz]' | title }} {{ 'hELLO wORLD' | capitalize }} {{ 'abc' | upper }} {{ 'ABC' | lower }} {{ \"they're o'neil\" | title }}", {}),
    ("trim_filter", "[{{ '  x  ' | trim }}] [{{ 'xxaxx' | trim('x') }}] [{{ '\n\t y \n' | trim }}]", {}),
    ("length_filter", "{{ 'héllo' | length }} {{ [1,2] | count }} {{ {'a':1} | length }} {{ nope | length }} {{ 'é😀a' | length }}", {}),
    ("join_filter", "{{ [1,2,3] | join(', ') }} {{ ['a','b'] | join }} {{ users | join(', ', attribute='name') }} {{ [none, 1.0, [2]] | join('|') }}", {"users": USERS}),
    ("replace_filter", "{{ 'aaa' | replace('a', 'b') }} {{ 'aaa' | replace('a','b', 2) }} {{ 'abc' | replace('', '-') }}", {}),
    ("default_filter", "{{ nope | default('d') }} [{{ '' | default('e') }}] {{ '' | default('f', true) }} {{ none | d('g') }} {{ 0 | d('h', boolean=true) }} {{ nope | d }}|", {}),
    ("items_filter", "{% for k, v in d | items %}{{ k }}={{ v }};{% endfor %}{{ nope | items | list }}", {"d": {"z": 1, "a": [2]}}),
    ("first_last", "{{ [1,2,3] | first }} {{ [1,2,3] | last }} {{ 'abc' | first }} {{ 'abc' | last }} {{ [] | first is defined }} {{ {'k': 1} | first }}", {}),
    ("list_filter", "{{ 'abc' | list }} {{ {'a':1,'b':2} | list }} {{ (1, 2) | list }}", {}),
    ("escape_safe", "{{ '<b>&\"\\'' | e }} {{ '<b>' | safe }} {{ '<i>' | escape }} {{ [1] | safe }}", {}),
    ("int_float_filters", "{{ '42' | int }} {{ '4.7' | int }} {{ 'x' | int }} {{ 'x' | int(7) }} {{ 3.9 | int }} {{ -3.9 | int }} {{ '1.5' | float }} {{ 2 | float }} {{ 'z' | float }} {{ True | int }} {{ ' 12 ' | int }} {{ '0x1A' | int(0, 16) }} {{ none | int }}", {}),
    ("abs_round", "{{ -3 | abs }} {{ -2.5 | abs }} {{ 2.5 | round }} {{ 3.5 | round }} {{ 2.675 | round(2) }} {{ 1.234 | round(1, 'ceil') }} {{ 1.27 | round(1, 'floor') }} {{ 7 | round }} {{ 0.125 | round(2) }} {{ 1234.5 | round(-2) }}", {}),
    ("reverse_filter", "{{ 'abc' | reverse }} {{ [1,2,3] | reverse | list }} {{ 'héllo😀' | reverse }}", {}),
    ("sort_filter", "{{ [3,1,2] | sort }} {{ ['b','A','c'] | sort }} {{ ['b','A','c'] | sort(case_sensitive=true) }} {{ [3,1,2] | sort(reverse=true) }} {{ users | sort(attribute='age') | map(attribute='name') | join(',') }} {{ users | sort(attribute='name') | map(attribute='name') | join(',') }}", {"users": USERS}),
    ("unique_filter", "{{ [1,2,1,3,2] | unique | list }} {{ ['a','A','b'] | unique | list }} {{ ['a','A','b'] | unique(case_sensitive=true) | list }}", {}),
    ("map_filter", "{{ users | map(attribute='name') | list }} {{ ['a','b'] | map('upper') | list }} {{ users | map(attribute='admin', default='?') | list }} {{ [' a ', 'b '] | map('trim') | join }} {{ ['x', 'y'] | map('replace', 'x', 'z') | list }}", {"users": USERS}),
    ("select_reject", "{{ [1,2,3,4] | select('even') | list }} {{ [1,2,3,4] | reject('odd') | list }} {{ [0,1,'',None,'x'] | select | list }} {{ [1,5,10] | select('gt', 3) | list }} {{ ['a', 1, none] | select('string') | list }}", {}),
    ("selectattr_rejectattr", "{{ messages | selectattr('role', 'equalto', 'user') | map(attribute='content') | list }} {{ messages | rejectattr('role', 'eq', 'user') | list | length }} {{ users | selectattr('admin') | map(attribute='name') | join }} {{ users | selectattr('admin', 'defined') | list | length }} {{ users | rejectattr('admin', 'undefined') | map(attribute='name') | first }}", {"users": USERS, "messages_alias": True}),
    ("indent_filter", "{{ 'a\\nb\\n\\nc' | indent }}|{{ 'a\\nb' | indent(2, true) }}|{{ 'a\\n\\nb' | indent(2, blank=true) }}|{{ 'x\\ny' | indent('> ') }}|{{ 'tail\\n' | indent(3) }}|", {}),
    ("dictsort_filter", "{{ {'b':1,'A':2,'c':0} | dictsort }} {{ {'b':1,'a':2} | dictsort(by='value') }} {{ {'b':1,'a':2} | dictsort(reverse=true) }} {{ {'b':1,'A':2} | dictsort(true) }}", {}),
    ("min_max_sum", "{{ [3,1,2] | min }} {{ [3,1,2] | max }} {{ [1,2,3] | sum }} {{ users | sum(attribute='age') }} {{ ['b','A'] | min }} {{ users | max(attribute='age') }} {{ [0.5, 1] | sum(start=1) }} {{ [] | max is defined }}", {"users": USERS}),
    ("attr_filter", "{% set ns = namespace(x=5) %}{{ ns | attr('x') }} {{ d | attr('a') is defined }} {{ (d | attr('items'))() | list }}", {"d": {"a": 1}}),
    ("format_filter", "{{ '%s-%d-%.2f-%5s-%-4s|%r' | format('a', 3, 1.5, 'b', 'c', 'q') }} {{ '%(a)s+%(b)s' | format(a=1, b=2) }} {{ '%x %o %05d %+d %%' | format(255, 8, 42, 5) }} {{ '%s' | format([1, 'a']) }} {{ '%.3e %g' | format(12345.678, 0.0001) }}", {}),
    ("percent_operator", "{{ '%s' % 5 }} {{ '%s and %s' % ('a', 'b') }} {{ '%d%%' % 50 }} {{ '%s' % nope }}|", {}),
    ("wordcount_center_truncate", "{{ 'hello big world' | wordcount }} [{{ 'ab' | center(7) }}] {{ 'the quick brown fox jumps over' | truncate(15) }} {{ 'abcdefghijklmnopqrstuvwxyz' | truncate(10, true) }} {{ 'short' | truncate(3, leeway=5) }}", {}),
    ("batch_filter", "{{ [1,2,3,4,5] | batch(2) | list }} {{ [1,2,3] | batch(2, 'x') | list }}", {}),
    ("tests_types", "{{ 1 is integer }} {{ 1.0 is integer }} {{ 1.0 is float }} {{ true is boolean }} {{ 1 is number }} {{ true is number }} {{ 'a' is string }} {{ {} is mapping }} {{ [] is iterable }} {{ 'a' is sequence }} {{ none is none }} {{ 1 is none }} {{ true is true }} {{ 1 is true }} {{ false is false }} {{ 0 is false }} {{ 5 is iterable }} {{ {} is sequence }}", {}),
    ("tests_values", "{{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(4) }} {{ 2 is in [1,2] }} {{ 1 is eq 1 }} {{ 1 is equalto 2 }} {{ 1 is ne 2 }} {{ 1 is lt 2 }} {{ 2 is gt 1 }} {{ 2 is le 2 }} {{ 2 is ge 3 }} {{ range is callable }} {{ 'x' is callable }} {{ x is defined }} {{ x is undefined }} {{ x is not defined }} {{ 'abc' is lower }} {{ 'ABC' is upper }} {{ none is sameas none }} {{ 'upper' is filter }} {{ 'odd' is test }} {{ 'nope' is filter }}", {}),
    ("loop_variables", "{% for x in ['a','b','c'] %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.revindex }}{{ loop.revindex0 }}{% if not loop.first %}<{{ loop.previtem }}{% endif %}{% if not loop.last %}>{{ loop.nextitem }}{% endif %}{{ loop.depth }};{% endfor %}", {}),
    ("loop_filter_else", "{% for x in [1,2,3,4] if x is even %}{{ x }}:{{ loop.index }}/{{ loop.length }} {% endfor %}{% for y in [] %}no{% else %}empty{% endfor %}{% for z in nope %}n{% else %}!{% endfor %}", {}),
    ("loop_unpacking", "{% for k, v in {'a': 1, 'b': [2]}.items() %}{{ k }}={{ v }} {% endfor %}{% for a, b in [(1,2),[3,4]] %}{{ a + b }}{% endfor %}{% for (a, b), c in [((1, 2), 3)] %}{{ a }}{{ b }}{{ c }}{% endfor %}", {}),
    ("loop_break_continue", "{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i > 4 %}{% break %}{% endif %}{{ i }}{% endfor %}", {}),
    ("loop_nested", "{% for i in range(2) %}{% for j in range(2) %}{{ loop.index }}{{ i }}{{ j }}{{ loop.depth }} {% endfor %}{{ loop.index }}|{% endfor %}", {}),
    ("loop_cycle_changed", "{% for i in [1, 1, 2, 3, 3] %}{{ loop.cycle('o', 'e') }}{% if loop.changed(i) %}{{ i }}{% endif %} {% endfor %}", {}),
    ("loop_scoping", "{% set y = 5 %}{% for i in range(3) %}{{ y }}{% set y = i %}{{ y }}{% endfor %}{{ y }}{% if true %}{% set z = 1 %}{% endif %}{{ z }}", {}),
    ("loop_over_dict_and_string", "{% for k in {'b': 1, 'a': 2} %}{{ k }}{% endfor %} {% for c in 'hé😀' %}[{{ c }}]{% endfor %}", {}),
    ("namespace", "{% set ns = namespace(count=0, items=[], flag=false) %}{% for i in range(3) %}{% set ns.count = ns.count + i %}{% set ns.items = ns.items + [i] %}{% endfor %}{% set ns.flag = true %}{{ ns.count }} {{ ns.items }} {{ ns.flag }} {{ ns.missing is defined }}", {}),
    ("set_tuple", "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set t = 1, %}{{ t }}{% set c, d = 'xy' %}{{ d }}{{ c }}", {}),
    ("set_block", "{% set x %}\n  hello {{ 1 + 1 }}\n{% endset %}[{{ x }}]{% set y | upper %}abc{% endset %}{{ y }}", {}),
    ("macro_basic", "{% macro greet(name, greeting='Hello') %}{{ greeting }}, {{ name }}!{% endmacro %}{{ greet('Bob') }} {{ greet('Amy', greeting='Hi') }} {{ greet('X', 'Yo') }} [{{ greet() }}]", {}),
    ("macro_varargs_kwargs", "{% macro m(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, 3, k=4) }}", {}),
    ("macro_recursion_and_scope", "{% set outer = 'O' %}{% macro f(n) %}{% if n > 0 %}{{ n }}{{ outer }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(3) }}", {}),
    ("call_block", "{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('b') %}inner {{ 1 }}{% endcall %}{% macro lst(items) %}{% for i in items %}{{ caller(i) }}{% endfor %}{% endmacro %}{% call(x) lst([1,2]) %}[{{ x }}]{% endcall %}", {}),
    ("filter_block", "{% filter upper %}hello {{ 'w' }}{% endfilter %}|{% filter replace('a', 'b') | upper %}aaa{% endfilter %}", {}),
    ("generation_block", "{% for m in messages %}{% generation %}{{ m.content }}{% endgeneration %}|{% endfor %}", {}),
    ("with_block", "{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}{{ a is defined }}", {}),
    ("slicing", "{{ 'abcdef'[1:4] }} {{ 'abcdef'[::-1] }} {{ 'abcdef'[::2] }} {{ [1,2,3,4,5][-2:] }} {{ [1,2,3,4,5][:-2] }} {{ [1,2,3,4,5][::-2] }} {{ 'abc'[-1] }} {{ [1,2,3][5:] }} {{ 'héllo'[1:3] }} {{ [1,2,3,4][3:0:-1] }} {{ [1,2,3][:] }} {{ 'abc'[-10:10] }} {{ (1, 2, 3)[1:] }}", {}),
    ("attribute_and_item_access", "{{ d.a }} {{ d['a'] }} {{ d.missing is defined }} {{ l.0 }} {{ l[-1] }} {{ l[10] is defined }} {{ d.get('a') }} {{ d.get('zz', 'dflt') }} {{ d.get('zz') }} {{ d.keys() | list }} {{ d.values() | list }} {{ d['items'] }} {{ d.nested.x }} {{ d['nested']['x'] }}", {"d": {"a": 1, "items": "key wins for []", "nested": {"x": "deep"}}, "l": [10, 20, 30]}),
    ("dict_iteration", "{% for k in d %}{{ k }}{% endfor %} {{ d.items() | list }} {% for k, v in d.items() %}{{ k }}{{ v }}{% endfor %}", {"d": {"z": 1, "a": 2, "m": 3}}),
    ("string_methods_strip_affix", "{{ 'Hello'.startswith('He') }} {{ 'Hello'.endswith(('x','lo')) }} [{{ '  a  '.strip() }}|{{ 'xxaxx'.lstrip('x') }}|{{ 'xxaxx'.rstrip('x') }}|{{ '\\n\\nhi'.lstrip('\\n') }}|{{ ' r '.rstrip() }}]", {}),
    ("string_methods_split", "{{ 'a,b,,c'.split(',') }} {{ ' a  b \\n c '.split() }} {{ 'a,b,c'.split(',', 1) }} {{ 'a,b,c'.rsplit(',', 1) }} {{ 'a b c'.split(none, 1) }} {{ '  a b  '.rsplit(none, 1) }} {{ 'x'.split('y') }} {{ ''.split() }}", {}),
    ("string_methods_case_replace", "{{ 'aXbX'.replace('X', '-') }} {{ 'aXbX'.replace('X', '-', 1) }} {{ 'hello world'.title() }} {{ \"they're\".title() }} {{ 'hELLO'.capitalize() }} {{ 'abc'.upper() }} {{ 'ABC'.lower() }}", {}),
    ("string_methods_search_format", "{{ 'hello'.find('l') }} {{ 'hello'.rfind('l') }} {{ 'hello'.find('z') }} {{ 'hello'.count('l') }} {{ '{} and {}'.format('a', 1) }} {{ '{0}{name}'.format('x', name='y') }} {{ '-'.join(['a','b']) }} {{ '123'.isdigit() }} {{ 'abc'.isalpha() }} {{ ' \\t'.isspace() }} {{ 'a1'.isdigit() }} {{ 'héllo'.find('l') }} {{ '{:>5}|{:.2f}'.format('r', 3.14159) }}", {}),
    ("list_methods", "{{ [1,2,3].index(2) }} {{ [1,2,2].count(2) }}", {}),
    ("range_global", "{{ range(3) | list }} {{ range(1, 7, 2) | list }} {{ range(5, 0, -2) | list }} {{ range(0) | list }}", {}),
    ("dict_global", "{{ dict(a=1, b='x') }} {{ dict() }} {{ dict({'k': 1}, z=2) }}", {}),
    ("strftime_now", "{{ strftime_now('%d %B %Y') }}|{{ strftime_now('%Y-%m-%d %H:%M:%S %a %A %b %j %p %I %y %e %%') }}", {}),
    ("undefined_semantics", "[{{ nope }}][{{ nope | string }}][{{ nope | default('z') }}][{% for x in nope %}x{% endfor %}][{{ nope is defined }}][{{ nope ~ 'a' }}][{{ nope | list }}][{{ nope == nope }}][{{ messages[5] is defined }}]", {}),
    ("chat_variables", "{{ bos_token }}{% for m in messages %}{{ m['role'] }}:{{ m.content }};{% endfor %}{{ add_generation_prompt }} {{ tools is none }} {{ documents is none }} {{ tools is defined }} {{ eos_token }} {{ custom_kw }}", {"bos_token": "<s>", "eos_token": "</s>", "custom_kw": {"nested": [1]}}),
    ("reasoning_alias", "{% for m in messages %}{{ m | tojson }}\n{% endfor %}", {}),
    ("unicode_index", "{{ 'é😀a'[1] }} {{ 'e\\u0301' | length }} {{ 'e\\u0301' == 'é' }}", {}),
    ("filter_chain", "{{ 'a,b' | replace(',', ' ') | upper | list | join('-') }} {{ -1 | abs }} {{ -3|abs + 1 }} {{ ('ab' | upper)[0] }}", {}),
    ("equality_mixed", "{{ 1 == '1' }} {{ none == none }} {{ [1, 2] == [1, 2] }} {{ {'a': 1, 'b': 2} == {'b': 2, 'a': 1} }} {{ (1, 2) == [1, 2] }} {{ 1.0 in [1] }}", {}),
    ("is_not_none", "{% if x is not none %}yes{% endif %}{% if y is not none %}no{% endif %}{% if y is none %}none{% endif %}", {"x": 1, "y": None}),
    ("select_in_test", "{{ messages | map(attribute='role') | select('in', ['user', 'tool']) | list }}", {}),
    ("tool_call_style", "{% for m in messages %}{% if m.tool_calls %}{% for tc in m.tool_calls %}<tool_call>\n{{ {'name': tc.function.name, 'arguments': tc.function.arguments} | tojson }}\n</tool_call>{% endfor %}{% else %}{{ m.content }}{% endif %}\n{% endfor %}{% for t in tools %}{{ t.function | tojson(indent=2) }}\n{% endfor %}", {}),
    ("mixed_realistic_chatml", "{%- for message in messages %}\n    {%- if message.role == 'system' %}\n        {{- '<|system|>\\n' + message.content + '\\n' }}\n    {%- elif message.role == 'user' %}\n        {{- '<|user|>\\n' + message.content | trim + '\\n' }}\n    {%- else %}\n        {{- '<|' ~ message.role ~ '|>\\n' ~ message.content ~ eos_token ~ '\\n' }}\n    {%- endif %}\n{%- endfor %}\n{%- if add_generation_prompt %}\n    {{- '<|assistant|>\\n' }}\n{%- endif %}\n", {"eos_token": "</s>"}),
    ("macro_in_loop_with_dict_literal", "{% macro fmt(d) %}{% for k, v in d.items() %}{{ k }}={{ v | tojson }}{% if not loop.last %}, {% endif %}{% endfor %}{% endmacro %}{% for m in messages %}({{ fmt({'role': m.role, 'len': m.content | length}) }}){% endfor %}", {}),
    ("ws_edges", "{%- if true -%}\n  A\n{%- endif %}\n{{- ' B' }}\n  {#- c #}\n x {# same line #} y\n{% if true -%}\n\n{{ 'C' }}\n{%- endif %}", {}),
    ("ws_raw_lstrip", "  {% raw %}  keep {{ x }}\n  {% endraw %}\nafter", {}),
    ("precedence_mix", "{{ 3 / 2 | round }} {{ -2 | abs }} {{ not true or true }} {{ 1 ~ 2 * 3 }} {{ 'a' ~ (1 + 2) }} {{ 2 * 3 ** 2 }} {{ 10 - 2 - 3 }}", {}),
    ("format_specs", "{{ '%5.1f|%-6.2f|%e' % (3.14159, 2.5, 0.000123) }} {{ '{:5d}|{:<4}|{:^7}|{{x}}'.format(42, 'ab', 'mid') }} {{ '%c%c' % (72, 'i') }}", {}),
    ("loop_previtem_edges", "{% for x in [1, 2] %}[{{ loop.previtem }}|{{ loop.nextitem }}]{% endfor %}", {}),
    ("unicode_separators_json", "{{ s | tojson }} {{ s }} {{ [s] }}", {"s": "a\u2028b\u0085c\x1fd"}),
    ("comments_and_raise_not_taken", "{# {{ raise_exception('never') }} #}{% if false %}{{ raise_exception('no') }}{% endif %}ok", {}),
]

for name, tpl, kw in synthetic:
    messages = CHAT
    tools = None
    if name == "reasoning_alias":
        messages = [U("q"), {"role": "assistant", "content": "a", "reasoning": "because"},
                    {"role": "assistant", "reasoning_content": "rc", "content": "b", "thinking": None}]
    if name == "tool_call_style":
        messages = [U("weather?"), {"role": "assistant", "content": None, "tool_calls": [
            {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Zürich", "days": 2}}}]},
            {"role": "tool", "content": "22.5°C"}]
        tools = [WEATHER_TOOL]
    kw = {k: v for k, v in kw.items() if k != "messages_alias"}
    case("syn_" + name, template=tpl, messages=messages, tools=tools, add_generation_prompt=(name == "mixed_realistic_chatml"), kwargs=kw)

# Errors the Swift side must also raise (checked for kind/message there).
errors = [
    ("raise_exception", "{{ raise_exception('Bad role: ' ~ messages[0].role) }}"),
    ("unknown_filter", "{{ 'x' | no_such_filter }}"),
    ("unknown_test", "{% if 1 is no_such_test %}{% endif %}"),
    ("syntax_unclosed", "{% if true %}never closed"),
    ("syntax_bad_token", "{{ 1 + }}"),
    ("list_append_blocked", "{% set l = [] %}{{ l.append(1) }}"),
    ("range_too_big", "{% for i in range(100001) %}{% endfor %}"),
    ("undefined_attribute_chain", "{{ nope.attr }}"),
    ("undefined_call", "{{ nope() }}"),
    ("undefined_arithmetic", "{{ nope + 1 }}"),
    ("type_error_concat", "{{ 'a' + 1 }}"),
    ("division_by_zero", "{{ 1 / 0 }}"),
    ("namespace_underscore", "{% set ns = namespace() %}{% set ns._x = 1 %}"),
    ("unknown_tag", "{% do [] %}"),
]
for name, tpl in errors:
    case("err_" + name, template=tpl, messages=CHAT, expect_error=True)

os.makedirs(OUT_DIR, exist_ok=True)
with open(os.path.join(OUT_DIR, "template_cases.json"), "w", encoding="utf-8") as f:
    json.dump(CASES, f, ensure_ascii=False, indent=1)
    f.write("\n")
versions = {"python": sys.version.split()[0], "transformers": transformers.__version__, "jinja2": jinja2.__version__,
            "fixed_now": FIXED_NOW.isoformat()}
with open(os.path.join(OUT_DIR, "template_cases_versions.json"), "w", encoding="utf-8") as f:
    json.dump(versions, f, indent=1)
    f.write("\n")
print(json.dumps(versions))
print(f"wrote {len(CASES)} cases ({sum('error' in c for c in CASES)} error cases)")
