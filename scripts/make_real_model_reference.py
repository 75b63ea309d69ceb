#!/usr/bin/env python3
"""Reference logits / greedy text for the real SmolLM2-135M-Instruct checkpoint.

Loads ``Models/SmolLM2-135M-Instruct`` (bf16 safetensors) with transformers in
float32 (weights upcast exactly), eager attention, and writes

    Tests/Fixtures/real/smollm2_135m_reference.json
    Tests/Fixtures/real/smollm2_135m_reference.safetensors

for two fixed prompts, tokenised with the folder's tokenizer.json via
AutoTokenizer (default add_special_tokens=True; this tokenizer adds no BOS):

  prompt0  raw text  "The capital of France is"
  prompt1  the literal chat-formatted string
           "<|im_start|>user\\nWhat is the capital of France?<|im_end|>\\n<|im_start|>assistant\\n"
           (NOT apply_chat_template, whose template injects a default system
           prompt; that rendering is recorded in the JSON for information only)

Per prompt the safetensors file holds (names prefixed "prompt0." / "prompt1."):

  input_ids        I64 [T]
  logits           F32 [P, 49152]  logits at the positions in logits_positions
  logits_positions I64 [P]         prompt0: all T positions; prompt1: last 4
                                   (keeps the file under ~2 MB)
  greedy_ids       I64 [32]        greedy continuation, new tokens only, EOS NOT
                                   honoured (exactly 32 tokens)

The model folder is not committed (Models/ is git-ignored); the JSON records
the sha256 of the model.safetensors / tokenizer.json used.

    python scripts/make_real_model_reference.py [--model-dir DIR] [--dtype bfloat16]

With --dtype bfloat16 the model runs in bfloat16 (transformers' arithmetic for a bf16
checkpoint: every activation rounded to bf16) and the files are
smollm2_135m_reference_bf16.{json,safetensors}; the JSON also records, per prompt, the max
|logit| difference between this bf16 run and the float32 run, the measure the Swift test's
tolerance is justified by.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

import torch

torch.set_num_threads(int(os.environ.get("FIXTURE_THREADS", "2")))
torch.use_deterministic_algorithms(True)

import safetensors  # noqa: E402
import tokenizers  # noqa: E402
import transformers  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
OUT_DIR = REPO / "Tests" / "Fixtures" / "real"
NAME = "smollm2_135m_reference"
NEW_TOKENS = 32

PROMPTS = [
    {"name": "prompt0", "kind": "raw", "text": "The capital of France is", "logits": "all"},
    {
        "name": "prompt1",
        "kind": "chat_literal",
        "text": "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n",
        "logits": 4,  # last 4 positions only
    },
]


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@torch.no_grad()
def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", default=str(REPO / "Models" / "SmolLM2-135M-Instruct"))
    ap.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    args = ap.parse_args(argv)
    model_dir = Path(args.model_dir)
    dtype = getattr(torch, args.dtype)
    name = NAME if args.dtype == "float32" else NAME + "_bf16"
    f32_model = None

    tok = AutoTokenizer.from_pretrained(model_dir)
    raw_tok = tokenizers.Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype, attn_implementation="eager")
    model.eval()
    assert all(p.dtype == dtype for p in model.parameters())
    if dtype != torch.float32:
        f32_model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="eager")
        f32_model.eval()

    # EOS must not stop generation: generate() treats eos_token_id=None in a
    # user GenerationConfig as "unset" and falls back to the checkpoint's EOS,
    # so clear it on the model itself.
    gen_cfg = GenerationConfig(
        do_sample=False, max_new_tokens=NEW_TOKENS, eos_token_id=None, pad_token_id=2, use_cache=True
    )
    model.generation_config = gen_cfg
    model.config.eos_token_id = None

    tensors: dict[str, torch.Tensor] = {}
    prompts_json = []
    for pr in PROMPTS:
        ids = tok(pr["text"])["input_ids"]
        assert ids == raw_tok.encode(pr["text"]).ids, "AutoTokenizer and tokenizers.Tokenizer disagree"
        x = torch.tensor([ids], dtype=torch.long)
        logits = model(x, use_cache=False).logits[0].float()
        T = len(ids)
        positions = list(range(T)) if pr["logits"] == "all" else list(range(max(0, T - pr["logits"]), T))

        out = model.generate(x, attention_mask=torch.ones_like(x), generation_config=gen_cfg)
        greedy = out[0, T:].tolist()
        assert len(greedy) == NEW_TOKENS, len(greedy)

        # Cache-free cross-check and per-step top-1/top-2 margins.
        seq, margins = list(ids), []
        for _ in range(NEW_TOKENS):
            last = model(torch.tensor([seq]), use_cache=False).logits[0, -1].float()
            top2 = last.topk(2).values
            margins.append(round(float(top2[0] - top2[1]), 5))
            seq.append(int(last.argmax()))
        if dtype == torch.float32:
            assert seq[T:] == greedy, ("cache/no-cache greedy mismatch", seq[T:], greedy)
        # bf16: the cached and cache-free runs may round differently; keep the cached (generate) one.
        vs_f32 = None
        if f32_model is not None:
            ref32 = f32_model(x, use_cache=False).logits[0].float()
            vs_f32 = round(float((logits[positions] - ref32[positions]).abs().max()), 5)

        n = pr["name"]
        tensors[f"{n}.input_ids"] = torch.tensor(ids, dtype=torch.int64)
        tensors[f"{n}.logits"] = logits[positions].contiguous()
        tensors[f"{n}.logits_positions"] = torch.tensor(positions, dtype=torch.int64)
        tensors[f"{n}.greedy_ids"] = torch.tensor(greedy, dtype=torch.int64)
        entry = {
            "name": n,
            "kind": pr["kind"],
            "text": pr["text"],
            "input_ids": ids,
            "tokens": tok.convert_ids_to_tokens(ids),
            "logits_positions": positions,
            "logits_note": "all positions" if pr["logits"] == "all" else f"last {pr['logits']} positions only",
            "last_position_top5": [
                {"id": int(i), "logit": round(float(v), 5), "token": tok.convert_ids_to_tokens(int(i))}
                for v, i in zip(*logits[-1].topk(5))
            ],
            "greedy_ids": greedy,
            "greedy_text": tok.decode(greedy, skip_special_tokens=False),
            "full_text": tok.decode(ids + greedy, skip_special_tokens=False),
            "greedy_step_top1_margins": margins,
        }
        if vs_f32 is not None:
            entry["max_abs_logit_diff_vs_float32"] = vs_f32
        if pr["kind"] == "chat_literal":
            rendered = tok.apply_chat_template(
                [{"role": "user", "content": "What is the capital of France?"}],
                tokenize=False,
                add_generation_prompt=True,
            )
            entry["apply_chat_template_for_information"] = {
                "text": rendered,
                "input_ids": tok(rendered)["input_ids"],
                "note": "the folder's chat template injects a default system prompt; the reference above "
                "uses the literal text without it",
            }
        prompts_json.append(entry)
        print(f"[{n}] T={T} ids={ids}\n  greedy={greedy}\n  text={entry['greedy_text']!r}\n  min margin={min(margins)}")

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(OUT_DIR / f"{name}.safetensors"), metadata={"format": "pt"})
    meta = {
        "model": "HuggingFaceTB/SmolLM2-135M-Instruct",
        "model_dir": "Models/SmolLM2-135M-Instruct",
        "model_safetensors_sha256": sha256(model_dir / "model.safetensors"),
        "tokenizer_json_sha256": sha256(model_dir / "tokenizer.json"),
        "weights_dtype": "bfloat16" + (" (upcast to float32 on load)" if dtype == torch.float32 else ""),
        "reference_compute": f"AutoModelForCausalLM.from_pretrained(dtype=torch.{args.dtype}, attn_implementation='eager'); "
        "logits = model(input_ids).logits[0]; greedy = generate(do_sample=False, max_new_tokens=32, "
        "eos_token_id disabled, use_cache=True), new tokens only, cross-checked with cache-free argmax decoding",
        "tokenization": "AutoTokenizer.from_pretrained(model_dir)(text) with default add_special_tokens "
        "(no BOS is added by this tokenizer); identical to tokenizers.Tokenizer.from_file('tokenizer.json').encode",
        "safetensors_layout": "per prompt p: p.input_ids I64[T], p.logits F32[P,49152] at p.logits_positions I64[P], "
        "p.greedy_ids I64[32]",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "safetensors": safetensors.__version__,
        "tokenizers": tokenizers.__version__,
        "prompts": prompts_json,
    }
    (OUT_DIR / f"{name}.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    print("wrote", OUT_DIR / f"{name}.json", OUT_DIR / f"{name}.safetensors")


if __name__ == "__main__":
    main(sys.argv[1:])
