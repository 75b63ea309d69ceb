#!/usr/bin/env python3
"""Check the scripted tool model with the real transformers stack (torch + transformers).

Usage: python3 verify_tool_model.py --model DIR [--dtype float32|bfloat16|both]

Renders each scenario with tokenizer.apply_chat_template(add_generation_prompt=True),
greedy-generates up to 60 tokens, prints the decoded output (special tokens kept) and the
smallest top1-top2 logit margin per scenario, and asserts the expected text.
"""
import argparse
import json
import re
import sys

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

TOOLS = [{
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name"}},
            "required": ["city"],
        },
    },
}]
USER_Q = {"role": "user", "content": "What is the weather in Paris?"}
# What our server writes into the assistant content for a tool call.
ASSISTANT_CALL = {"role": "assistant", "content": "" + "\n<tool_call>\n"
                  + json.dumps({"name": "get_weather", "arguments": {"city": "Paris"}})
                  + "\n</tool_call>"}
TOOL_RESULT = {"role": "tool", "content": "Sunny, 22 C"}

CALL = '<tool_call>{"name": "get_weather","arguments":{"city":"Paris"}}</tool_call><|im_end|>'
ANSWER = "It is sunny in Paris.<|im_end|>"
THOUGHT = "<think>Hmm, I should call the tool</think>\n"

PROSE = ("You are a meticulous assistant working for a travel agency. Customers ask about "
         "destinations, opening hours, local customs, prices and the weather. Always be polite, "
         "precise and brief, prefer metric units, and never invent facts you cannot check. When a "
         "question can be answered with one of the available functions, use it rather than guessing. "
         "Keep answers short unless the customer asks for details; mention caveats where relevant. ")
LONG_SYSTEM = (PROSE * 8)[:3000]


def scenarios():
    s1 = [USER_Q]
    s2 = [USER_Q, ASSISTANT_CALL, TOOL_RESULT]
    long1 = [{"role": "system", "content": LONG_SYSTEM}, USER_Q]
    return [
        ("1 no-think, tools, question", s1, dict(tools=TOOLS, enable_thinking=False), CALL),
        ("2 no-think, tools, after tool result", s2, dict(tools=TOOLS, enable_thinking=False), ANSWER),
        ("3 thinking, tools, question", s1, dict(tools=TOOLS, enable_thinking=True), THOUGHT + CALL),
        ("4 thinking, tools, after tool result", s2, dict(tools=TOOLS, enable_thinking=True), THOUGHT + ANSWER),
        ("5a no tools, enable_thinking=False, Hello", [{"role": "user", "content": "Hello"}],
         dict(enable_thinking=False), CALL),
        ("5b no tools, system '/no_think', Hello",
         [{"role": "system", "content": "You are terse. /no_think"}, {"role": "user", "content": "Hello"}],
         dict(), CALL),
        ("6a long system prompt, no-think, tools", long1, dict(tools=TOOLS, enable_thinking=False), CALL),
        ("6b long system prompt, thinking, tools", long1, dict(tools=TOOLS, enable_thinking=True), THOUGHT + CALL),
        ("6c long system prompt, thinking, after tool result",
         [{"role": "system", "content": LONG_SYSTEM}] + s2, dict(tools=TOOLS, enable_thinking=True),
         THOUGHT + ANSWER),
        ("7 xml_tools instead of tools, no-think", s1, dict(xml_tools=TOOLS, enable_thinking=False), CALL),
        ("8 no tools, thinking (default system prompt has '<think> ... </think>')",
         [{"role": "user", "content": "Hello"}], dict(enable_thinking=True), THOUGHT + CALL),
        ("9 raw prompt ending in an unknown token (no generation prompt)",
         "<|im_start|>user\nHello", None, "<|im_end|>"),
    ]


def check_call(text):
    m = re.search(r"<tool_call>(.*?)</tool_call>", text, re.S)
    if not m:
        return
    obj = json.loads(m.group(1))
    assert obj == {"name": "get_weather", "arguments": {"city": "Paris"}}, obj


def run(model_dir, dtype):
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype)
    model.eval()
    print(f"\n=== dtype {dtype} ===")
    worst, failures = 1e9, 0
    for name, msgs, kw, want in scenarios():
        if isinstance(msgs, str):
            prompt = msgs
        else:
            prompt = tok.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False, **kw)
        ids = tok(prompt, add_special_tokens=False, return_tensors="pt").input_ids
        with torch.no_grad():
            out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=60,
                                 do_sample=False, output_logits=True, return_dict_in_generate=True,
                                 pad_token_id=128012)
        new = out.sequences[0, ids.shape[1]:].tolist()
        text = tok.decode(new, skip_special_tokens=False)
        margins = []
        for lg in out.logits:
            top = torch.topk(lg[0].float(), 2).values
            margins.append(float(top[0] - top[1]))
        m = min(margins)
        worst = min(worst, m)
        ok = text == want
        if ok:
            check_call(text)
        failures += not ok
        print(f"[{'ok' if ok else 'FAIL'}] {name}: prompt {ids.shape[1]} tokens, "
              f"ends {prompt[-30:]!r}")
        print(f"      -> {text!r}   ids {new}   min margin {m:.2f}")
        if not ok:
            print(f"      expected {want!r}")
    print(f"min margin over all steps ({dtype}): {worst:.2f}")
    return failures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--dtype", default="both", choices=["float32", "bfloat16", "both"])
    args = ap.parse_args()
    torch.set_num_threads(2)
    dtypes = ["float32", "bfloat16"] if args.dtype == "both" else [args.dtype]
    failures = sum(run(args.model, getattr(torch, d)) for d in dtypes)
    print("\nALL OK" if failures == 0 else f"\n{failures} FAILURES")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
