#!/usr/bin/env python3
"""Generate tiny random-weight reference fixtures for SmolRuntime.

For every case a tiny SmolLM3 / Llama model is built with transformers, every
parameter (RMSNorm weights included) is randomised with a fixed seed, the model
is cast to the case's weight dtype and saved with ``save_pretrained``
(safetensors).  The saved checkpoint is then RELOADED in float32 with eager
attention (so bf16/f16 weights are upcast exactly as the Swift runtime does)
and used to compute:

* ``logits``     F32 [T, V]  logits for every position of ``input_ids``
* ``input_ids``  I64 [T]
* ``greedy_ids`` I64 [12]    greedy continuation (new tokens only), no EOS stop

Outputs go to ``Tests/Fixtures/models/<case>/``: the checkpoint files
(config.json, generation_config.json, model.safetensors or shards + index),
``reference.safetensors`` and ``reference.json``.

Usage (from the repo root, in an env made from scripts/requirements-fixtures.txt):

    python scripts/make_fixtures.py            # all cases
    python scripts/make_fixtures.py llama_tied_f32 smollm3_yarn_f16

CI never runs this; its outputs are committed.  Re-running with the pinned
versions reproduces the files bit for bit (CPU, fixed seeds).
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import shutil
import sys
from pathlib import Path

import torch

torch.set_num_threads(int(os.environ.get("FIXTURE_THREADS", "2")))
torch.use_deterministic_algorithms(True)

import numpy as np  # noqa: E402
import safetensors  # noqa: E402
import tokenizers  # noqa: E402
import transformers  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402
from transformers import (  # noqa: E402
    GenerationConfig,
    LlamaConfig,
    LlamaForCausalLM,
    SmolLM3Config,
    SmolLM3ForCausalLM,
)

REPO = Path(__file__).resolve().parent.parent
OUT_ROOT = REPO / "Tests" / "Fixtures" / "models"
NEW_TOKENS = 12
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}

# Special ids used by every tiny config (all inside the vocab).  EOS is *not*
# honoured during the reference generation (eos_token_id=None), so exactly
# NEW_TOKENS tokens are always produced.
BOS, EOS, PAD = 1, 2, 0

# Std multiplier of o_proj / down_proj (see randomize()).  Seeds below were picked
# (from a handful of candidates) so that greedy tokens vary and the top-1 / top-2
# logit margins are not razor thin.
OUT_GAIN = 2.5


def versions() -> dict:
    return {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "safetensors": safetensors.__version__,
        "numpy": np.__version__,
        "tokenizers": tokenizers.__version__,
    }


# --------------------------------------------------------------------------
# Case definitions
# --------------------------------------------------------------------------

CASES: dict[str, dict] = {
    "smollm3_tied_f32": dict(
        arch="smollm3",
        seed=1002,
        dtype="float32",
        seq_len=16,
        note="SmolLM3, tied embeddings, f32, 4 layers, 4 heads / 2 kv heads (GQA 2), "
        "no_rope_layers [1,1,1,0] (layer 3 is NoPE), rope_theta 1e4.",
        config=dict(
            vocab_size=256,
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=4,
            num_attention_heads=4,
            num_key_value_heads=2,
            no_rope_layers=[1, 1, 1, 0],
            rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
            max_position_embeddings=128,
            rms_norm_eps=1e-6,
            tie_word_embeddings=True,
        ),
    ),
    "smollm3_untied_bf16": dict(
        arch="smollm3",
        seed=1007,
        dtype="bfloat16",
        seq_len=18,
        note="SmolLM3, untied (lm_head.weight saved), bf16 weights, 5 layers, 8 heads / 2 kv "
        "heads (GQA 4), explicit head_dim 16 with hidden 96 (hidden/heads would be 12), "
        "no_rope_layers [0,1,1,0,1], rope_theta 5e5, rms_norm_eps 1e-5.",
        config=dict(
            vocab_size=256,
            hidden_size=96,
            intermediate_size=144,
            num_hidden_layers=5,
            num_attention_heads=8,
            num_key_value_heads=2,
            head_dim=16,
            no_rope_layers=[0, 1, 1, 0, 1],
            rope_parameters={"rope_type": "default", "rope_theta": 500000.0},
            max_position_embeddings=128,
            rms_norm_eps=1e-5,
            tie_word_embeddings=False,
        ),
    ),
    "smollm3_yarn_f16": dict(
        arch="smollm3",
        seed=1005,
        dtype="float16",
        seq_len=40,
        note="SmolLM3, tied, f16 weights, YaRN rope (factor 4, original_max_position_embeddings 16, "
        "max_position_embeddings 64, transformers defaults for beta_fast/beta_slow/attention_factor/"
        "truncate), 40 input tokens (> 16) + 12 generated, 3 layers, no_rope_layers [1,0,1].",
        config=dict(
            vocab_size=256,
            hidden_size=64,
            intermediate_size=160,
            num_hidden_layers=3,
            num_attention_heads=4,
            num_key_value_heads=2,
            no_rope_layers=[1, 0, 1],
            rope_parameters={
                "rope_type": "yarn",
                "rope_theta": 10000.0,
                "factor": 4.0,
                "original_max_position_embeddings": 16,
            },
            max_position_embeddings=64,
            rms_norm_eps=1e-6,
            tie_word_embeddings=True,
        ),
    ),
    "llama_tied_f32": dict(
        arch="llama",
        seed=1007,
        dtype="float32",
        seq_len=14,
        note="Llama (SmolLM2-like): tied, f32, 3 layers, 4 heads / 1 kv head (GQA 4), rope_theta 1e5.",
        config=dict(
            vocab_size=256,
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=3,
            num_attention_heads=4,
            num_key_value_heads=1,
            rope_parameters={"rope_type": "default", "rope_theta": 100000.0},
            max_position_embeddings=128,
            rms_norm_eps=1e-5,
            tie_word_embeddings=True,
        ),
    ),
    "llama_sharded_bf16": dict(
        arch="llama",
        seed=1008,
        dtype="bfloat16",
        seq_len=15,
        max_shard_size="150KB",
        note="Llama, untied, bf16 weights, saved with max_shard_size=150KB -> several "
        "model-0000x-of-0000N.safetensors shards + model.safetensors.index.json.",
        config=dict(
            vocab_size=320,
            hidden_size=64,
            intermediate_size=160,
            num_hidden_layers=3,
            num_attention_heads=4,
            num_key_value_heads=2,
            rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
            max_position_embeddings=128,
            rms_norm_eps=1e-5,
            tie_word_embeddings=False,
        ),
    ),
}

# Case 6 is derived from case 1 (same weights, classic config.json form).
CLASSIC_CASE = "smollm3_classic_config"
CLASSIC_SOURCE = "smollm3_tied_f32"


# --------------------------------------------------------------------------
# Model construction
# --------------------------------------------------------------------------


def build_config(case: dict):
    cfg = dict(case["config"])
    cfg.update(bos_token_id=BOS, eos_token_id=EOS, pad_token_id=PAD, attn_implementation="eager")
    if case["arch"] == "smollm3":
        return SmolLM3Config(**cfg), SmolLM3ForCausalLM
    return LlamaConfig(**cfg), LlamaForCausalLM


@torch.no_grad()
def randomize(model: torch.nn.Module, gen: torch.Generator, out_gain: float = 1.0) -> None:
    """Overwrite every parameter with seeded random values.

    * RMSNorm weights: 1 + 0.2 * N(0, 1)
    * embedding / lm_head: N(0, 0.4^2) so logits (after the final RMSNorm) have
      a standard deviation of ~0.4 * sqrt(hidden) ~ 3.
    * q/k projections: N(0, (1.5/sqrt(fan_in))^2) so attention is not uniform.
    * o_proj / down_proj: N(0, (out_gain/sqrt(fan_in))^2); out_gain > 1 makes the
      layers dominate the residual stream, which stops tied-embedding models from
      simply repeating the current token.
    * other linears: N(0, (1/sqrt(fan_in))^2).
    """
    for name, p in model.named_parameters():
        noise = torch.randn(p.shape, generator=gen, dtype=torch.float32)
        if "norm" in name:
            val = 1.0 + 0.2 * noise
        elif "embed_tokens" in name or "lm_head" in name:
            val = 0.4 * noise
        else:
            fan_in = p.shape[-1]
            if "q_proj" in name or "k_proj" in name:
                gain = 1.5
            elif "o_proj" in name or "down_proj" in name:
                gain = out_gain
            else:
                gain = 1.0
            val = noise * (gain / math.sqrt(fan_in))
        p.copy_(val.to(p.dtype))


def make_input_ids(case: dict, vocab: int) -> list[int]:
    g = torch.Generator().manual_seed(case["seed"] + 7)
    # ids 3.. keep clear of PAD/BOS/EOS so the prompt is "ordinary" text
    return torch.randint(3, vocab, (case["seq_len"],), generator=g).tolist()


# --------------------------------------------------------------------------
# Reference computation
# --------------------------------------------------------------------------


@torch.no_grad()
def compute_reference(model_dir: Path, input_ids: list[int]) -> tuple[torch.Tensor, list[int]]:
    model = transformers.AutoModelForCausalLM.from_pretrained(
        model_dir, dtype=torch.float32, attn_implementation="eager"
    )
    model.eval()
    for p in model.parameters():
        assert p.dtype == torch.float32, p.dtype

    ids = torch.tensor([input_ids], dtype=torch.long)
    logits = model(ids, use_cache=False).logits[0].float().contiguous()

    gen_cfg = GenerationConfig(
        do_sample=False,
        max_new_tokens=NEW_TOKENS,
        eos_token_id=None,
        pad_token_id=PAD,
        bos_token_id=BOS,
        use_cache=True,
    )
    # generate() merges a user GenerationConfig with model.generation_config and
    # treats eos_token_id=None as "unset" (it then stops at the checkpoint's EOS),
    # so clear EOS on the model itself.
    model.generation_config = gen_cfg
    model.config.eos_token_id = None
    out = model.generate(ids, attention_mask=torch.ones_like(ids), generation_config=gen_cfg)
    greedy = out[0, len(input_ids):].tolist()
    assert len(greedy) == NEW_TOKENS, f"generate produced {len(greedy)} tokens (EOS stop?)"

    # Cross-check: cache-free greedy with full-sequence forwards.
    seq = list(input_ids)
    margins = []
    for _ in range(NEW_TOKENS):
        last = model(torch.tensor([seq]), use_cache=False).logits[0, -1]
        top2 = last.topk(2).values
        margins.append(float(top2[0] - top2[1]))
        seq.append(int(last.argmax()))
    assert seq[len(input_ids):] == greedy, ("cache/no-cache greedy mismatch", seq[len(input_ids):], greedy)
    assert int(logits[-1].argmax()) == greedy[0]
    return logits, greedy, min(margins)


def yarn_details(config) -> dict:
    """Effective YaRN parameters as transformers resolves them (defaults included)."""
    rp = dict(config.rope_parameters)
    factor = rp["factor"]
    af = rp.get("attention_factor")
    if af is None:
        af = 0.1 * math.log(factor) + 1.0 if factor > 1 else 1.0
    return {
        "rope_parameters_in_config": rp,
        "effective": {
            "factor": factor,
            "original_max_position_embeddings": rp["original_max_position_embeddings"],
            "beta_fast": rp.get("beta_fast") or 32,
            "beta_slow": rp.get("beta_slow") or 1,
            "attention_factor": af,
            "attention_factor_rule": "0.1*ln(factor)+1 (mscale/mscale_all_dim unset), multiplies cos and sin",
            "truncate": rp.get("truncate", True),
            "mscale": rp.get("mscale"),
            "mscale_all_dim": rp.get("mscale_all_dim"),
        },
    }


def logit_stats(logits: torch.Tensor) -> dict:
    return {
        "std": round(float(logits.std()), 4),
        "abs_max": round(float(logits.abs().max()), 4),
        "min_top1_margin": round(float((lambda t: (t[:, 0] - t[:, 1]).min())(logits.topk(2, dim=-1).values)), 5),
    }


def write_reference(out: Path, input_ids, logits, greedy, meta: dict) -> None:
    save_file(
        {
            "logits": logits.to(torch.float32).contiguous(),
            "input_ids": torch.tensor(input_ids, dtype=torch.int64),
            "greedy_ids": torch.tensor(greedy, dtype=torch.int64),
        },
        str(out / "reference.safetensors"),
        metadata={"format": "pt"},
    )
    ref = {"input_ids": input_ids, "greedy_ids": greedy, **versions(), **meta}
    (out / "reference.json").write_text(json.dumps(ref, indent=2) + "\n")


def clean_dir(out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)


# --------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------


def run_case(name: str) -> None:
    case = CASES[name]
    out = OUT_ROOT / name
    clean_dir(out)
    torch.manual_seed(case["seed"])
    config, cls = build_config(case)
    model = cls(config).eval()
    gen = torch.Generator().manual_seed(case["seed"])
    randomize(model, gen, out_gain=case.get("out_gain", OUT_GAIN))
    model = model.to(DTYPES[case["dtype"]])
    save_kwargs = {"safe_serialization": True}
    if "max_shard_size" in case:
        save_kwargs["max_shard_size"] = case["max_shard_size"]
    model.save_pretrained(out, **save_kwargs)
    del model

    input_ids = make_input_ids(case, config.vocab_size)
    logits, greedy, greedy_margin = compute_reference(out, input_ids)
    saved_cfg = json.loads((out / "config.json").read_text())
    meta = {
        "weights_dtype": case["dtype"],
        "case": name,
        "note": case["note"],
        "reference_compute": "reloaded with from_pretrained(dtype=torch.float32, attn_implementation='eager'); "
        "logits = model(input_ids).logits[0] (all positions); greedy = generate(do_sample=False, "
        f"max_new_tokens={NEW_TOKENS}, eos_token_id=None, use_cache=True), new tokens only; "
        "cross-checked against cache-free argmax decoding.",
        "logit_stats": {**logit_stats(logits), "min_greedy_top1_margin": round(greedy_margin, 5)},
        "seed": case["seed"],
    }
    if case["config"].get("rope_parameters", {}).get("rope_type") == "yarn":
        loaded = transformers.AutoConfig.from_pretrained(out)
        meta["yarn"] = yarn_details(loaded)
    write_reference(out, input_ids, logits, greedy, meta)
    files = sorted(p.name for p in out.iterdir())
    print(f"[{name}] files={files}\n  greedy={greedy}\n  stats={meta['logit_stats']}")
    print(f"  rope keys in config.json: "
          f"{ {k: saved_cfg.get(k) for k in ('rope_parameters', 'rope_scaling', 'rope_theta') if k in saved_cfg} }")


def run_classic_case() -> None:
    """Case 1's weights with a classic (transformers 4.x / real SmolLM3-3B style) config.json."""
    src = OUT_ROOT / CLASSIC_SOURCE
    if not (src / "model.safetensors").exists():
        raise SystemExit(f"{CLASSIC_SOURCE} must be generated first")
    src_cfg = json.loads((src / "config.json").read_text())
    if "rope_parameters" not in src_cfg:
        print(f"[{CLASSIC_CASE}] transformers wrote the classic form already; skipping")
        return
    out = OUT_ROOT / CLASSIC_CASE
    clean_dir(out)
    shutil.copy2(src / "model.safetensors", out / "model.safetensors")
    shutil.copy2(src / "generation_config.json", out / "generation_config.json")

    cfg = copy.deepcopy(src_cfg)
    rp = cfg.pop("rope_parameters")
    assert rp.get("rope_type") == "default", rp
    # Classic form, key order as in the real SmolLM3-3B config.json.
    cfg["rope_scaling"] = None
    cfg["rope_theta"] = rp["rope_theta"]
    cfg["torch_dtype"] = cfg.pop("dtype")
    cfg["transformers_version"] = "4.54.0.dev0"
    cfg = dict(sorted(cfg.items()))
    (out / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")

    ref = load_file(str(src / "reference.safetensors"))
    input_ids = ref["input_ids"].tolist()
    logits, greedy, _ = compute_reference(out, input_ids)
    loaded = transformers.AutoConfig.from_pretrained(out)
    assert torch.equal(logits, ref["logits"]), float((logits - ref["logits"]).abs().max())
    assert greedy == ref["greedy_ids"].tolist()
    shutil.copy2(src / "reference.safetensors", out / "reference.safetensors")
    src_ref = json.loads((src / "reference.json").read_text())
    src_ref.update(
        case=CLASSIC_CASE,
        note=f"Same weights and references as {CLASSIC_SOURCE}, but config.json in the classic form "
        "(top-level rope_theta, rope_scaling: null, torch_dtype, no rope_parameters) like the real "
        "SmolLM3-3B config. Verified: transformers loads it "
        f"(rope_parameters -> {dict(loaded.rope_parameters)}) and gives bit-identical logits and greedy ids.",
    )
    (out / "reference.json").write_text(json.dumps(src_ref, indent=2) + "\n")
    print(f"[{CLASSIC_CASE}] bit-identical to {CLASSIC_SOURCE}; loaded rope_parameters={dict(loaded.rope_parameters)}")


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cases", nargs="*", help=f"subset of: {', '.join([*CASES, CLASSIC_CASE])}")
    args = ap.parse_args(argv)
    names = args.cases or [*CASES, CLASSIC_CASE]
    for n in names:
        if n == CLASSIC_CASE:
            run_classic_case()
        elif n in CASES:
            run_case(n)
        else:
            raise SystemExit(f"unknown case {n!r}")
    print("versions:", versions())


if __name__ == "__main__":
    main(sys.argv[1:])
