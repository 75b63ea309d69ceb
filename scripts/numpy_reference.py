#!/usr/bin/env python3
"""Pure-numpy reference implementation of a Llama-architecture HF checkpoint.

Why: it is the ground truth SmolRuntime's Swift kernels can be compared
against (logits, greedy tokens) without torch, and it checks that the folder
written by fetch_default_model.py is a faithful HF checkpoint: it follows
transformers' LlamaForCausalLM exactly (RMSNorm in float32, RoPE with
rotate_half, grouped-query attention, SiLU-gated MLP, tied lm_head).

Usage:
    python3 scripts/numpy_reference.py [--model Models/SmolLM2-135M-Instruct]
        [--prompt "What is the capital of France?"] [--max-new-tokens 15]
        [--raw]            # prompt is already a fully formatted string
        [--dump-logits F]  # save the first step's last-position logits (.npy)

Needs numpy and tokenizers (scripts/requirements-model.txt).
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
import time
from pathlib import Path

import numpy as np

DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "Models" / "SmolLM2-135M-Instruct"

_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16}


def load_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Read a .safetensors file into float32 arrays (BF16 widened exactly)."""
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    (hlen,) = struct.unpack("<Q", raw[:8].tobytes())
    header = json.loads(raw[8:8 + hlen].tobytes())
    base = 8 + hlen
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in _DTYPES:
            raise ValueError(f"{name}: unsupported dtype {info['dtype']}")
        start, end = info["data_offsets"]
        arr = np.frombuffer(raw[base + start:base + end], dtype=_DTYPES[info["dtype"]])
        if info["dtype"] == "BF16":
            # bf16 is the top half of a float32.
            arr = (arr.astype(np.uint32) << 16).view(np.float32)
        out[name] = arr.astype(np.float32).reshape(info["shape"])
    return out


class LlamaNumpy:
    def __init__(self, folder: Path, weights: dict[str, np.ndarray] | None = None):
        cfg = json.loads((folder / "config.json").read_text())
        self.cfg = cfg
        self.n_layers = cfg["num_hidden_layers"]
        self.n_head = cfg["num_attention_heads"]
        self.n_kv = cfg.get("num_key_value_heads", self.n_head)
        self.head_dim = cfg.get("head_dim", cfg["hidden_size"] // self.n_head)
        self.eps = cfg["rms_norm_eps"]
        self.w = weights if weights is not None else load_safetensors(folder / "model.safetensors")
        self.embed = self.w["model.embed_tokens.weight"]
        self.lm_head = (self.embed if cfg.get("tie_word_embeddings", False)
                        else self.w["lm_head.weight"])
        theta = cfg.get("rope_theta", (cfg.get("rope_parameters") or {}).get("rope_theta", 10000.0))
        if cfg.get("rope_scaling"):
            raise NotImplementedError("rope_scaling is not implemented")
        # transformers' default RoPE: inv_freq over even dims, duplicated halves.
        # SmolLM3's NoPE layers (no_rope_layers[i] == 0 skips RoPE in layer i).
        self.use_rope = [bool(u) for u in cfg.get("no_rope_layers", [1] * self.n_layers)]
        self.inv_freq = 1.0 / (theta ** (np.arange(0, self.head_dim, 2, dtype=np.float32)
                                         / self.head_dim))
        self.reset()

    def reset(self) -> None:
        self.k_cache = [None] * self.n_layers
        self.v_cache = [None] * self.n_layers
        self.pos = 0

    def rms_norm(self, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        var = np.mean(x * x, axis=-1, keepdims=True)
        return (x / np.sqrt(var + self.eps)) * w

    @staticmethod
    def rotate_half(x: np.ndarray) -> np.ndarray:
        half = x.shape[-1] // 2
        return np.concatenate([-x[..., half:], x[..., :half]], axis=-1)

    def rope(self, x: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """x: [T, heads, head_dim]."""
        freqs = positions[:, None].astype(np.float32) * self.inv_freq[None, :]
        emb = np.concatenate([freqs, freqs], axis=-1)  # [T, head_dim]
        cos, sin = np.cos(emb)[:, None, :], np.sin(emb)[:, None, :]
        return x * cos + self.rotate_half(x) * sin

    def forward(self, ids: list[int]) -> np.ndarray:
        """Feed `ids` after the cached context; returns logits of the last one."""
        T = len(ids)
        positions = np.arange(self.pos, self.pos + T)
        x = self.embed[np.asarray(ids)]  # [T, hidden]
        group = self.n_head // self.n_kv
        for i in range(self.n_layers):
            p = f"model.layers.{i}."
            h = self.rms_norm(x, self.w[p + "input_layernorm.weight"])
            q = (h @ self.w[p + "self_attn.q_proj.weight"].T).reshape(T, self.n_head, self.head_dim)
            k = (h @ self.w[p + "self_attn.k_proj.weight"].T).reshape(T, self.n_kv, self.head_dim)
            v = (h @ self.w[p + "self_attn.v_proj.weight"].T).reshape(T, self.n_kv, self.head_dim)
            if self.use_rope[i]:
                q, k = self.rope(q, positions), self.rope(k, positions)
            if self.k_cache[i] is not None:
                k = np.concatenate([self.k_cache[i], k], axis=0)
                v = np.concatenate([self.v_cache[i], v], axis=0)
            self.k_cache[i], self.v_cache[i] = k, v
            S = k.shape[0]
            # GQA: query head j reads kv head j // group (repeat_kv in HF).
            k_rep = np.repeat(k, group, axis=1).transpose(1, 2, 0)  # [H, D, S]
            v_rep = np.repeat(v, group, axis=1).transpose(1, 0, 2)  # [H, S, D]
            scores = (q.transpose(1, 0, 2) @ k_rep) / np.sqrt(self.head_dim)  # [H, T, S]
            causal = positions[:, None] >= np.arange(S)[None, :]
            scores = np.where(causal[None], scores, -np.inf)
            scores -= scores.max(axis=-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(axis=-1, keepdims=True)
            attn = (probs @ v_rep).transpose(1, 0, 2).reshape(T, self.n_head * self.head_dim)
            x = x + attn @ self.w[p + "self_attn.o_proj.weight"].T

            h = self.rms_norm(x, self.w[p + "post_attention_layernorm.weight"])
            gate = h @ self.w[p + "mlp.gate_proj.weight"].T
            up = h @ self.w[p + "mlp.up_proj.weight"].T
            silu = gate / (1.0 + np.exp(-gate))
            x = x + (silu * up) @ self.w[p + "mlp.down_proj.weight"].T
        self.pos += T
        x = self.rms_norm(x[-1:], self.w["model.norm.weight"])
        return (x @ self.lm_head.T)[0]


def chat_prompt(user: str) -> str:
    """The Instruct chat format, without the template's default system turn
    (matching the prompt used to validate the conversion)."""
    return f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"


def greedy(model: LlamaNumpy, ids: list[int], max_new_tokens: int, stop: set[int],
           dump_logits: Path | None = None) -> list[int]:
    model.reset()
    logits = model.forward(ids)
    if dump_logits is not None:
        np.save(dump_logits, logits)
    out: list[int] = []
    for _ in range(max_new_tokens):
        nxt = int(np.argmax(logits))
        if nxt in stop:
            break
        out.append(nxt)
        logits = model.forward([nxt])
    return out


def generate(folder: Path, user_prompt: str, max_new_tokens: int = 15,
             raw: bool = False, verbose: bool = False,
             dump_logits: Path | None = None) -> str:
    from tokenizers import Tokenizer

    folder = Path(folder)
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    gen_cfg = json.loads((folder / "generation_config.json").read_text())
    eos = gen_cfg.get("eos_token_id", 2)
    stop = set(eos if isinstance(eos, list) else [eos])
    text = user_prompt if raw else chat_prompt(user_prompt)
    ids = tok.encode(text).ids
    t0 = time.time()
    model = LlamaNumpy(folder)
    t1 = time.time()
    new = greedy(model, ids, max_new_tokens, stop, dump_logits)
    t2 = time.time()
    if verbose:
        print(f"prompt ids ({len(ids)}): {ids}")
        print(f"generated ids ({len(new)}): {new}")
        print(f"load {t1 - t0:.1f}s, generate {t2 - t1:.1f}s")
    return tok.decode(new, skip_special_tokens=True)


def main() -> int:
    ap = argparse.ArgumentParser(description="Greedy generation with a numpy Llama.")
    ap.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    ap.add_argument("--prompt", default="What is the capital of France?")
    ap.add_argument("--max-new-tokens", type=int, default=15)
    ap.add_argument("--raw", action="store_true", help="do not wrap in the chat format")
    ap.add_argument("--dump-logits", type=Path, help="save first-step logits to this .npy")
    args = ap.parse_args()
    if not (args.model / "config.json").is_file():
        print(f"error: {args.model} is not a model folder; run "
              f"scripts/fetch_default_model.sh first", file=sys.stderr)
        return 1
    text = generate(args.model, args.prompt, args.max_new_tokens, args.raw,
                    verbose=True, dump_logits=args.dump_logits)
    print(f"output: {text!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
