#!/usr/bin/env python3
"""Independent NumPy re-implementation that cross-checks Tests/Fixtures/models.

It does NOT use transformers or torch: it parses config.json (both the
``rope_parameters`` and the classic ``rope_theta``/``rope_scaling`` forms),
reads the safetensors files byte by byte (F32 / F16 / BF16 -> f32 upcast, the
same way the Swift runtime does), runs a float64 forward pass and compares the
logits and a cache-free greedy decode with reference.safetensors.

It documents the exact semantics the fixtures encode (NoPE layers, GQA,
explicit head_dim, YaRN incl. its attention factor, tied/untied heads).

    python scripts/check_fixtures_numpy.py [case ...]
    python scripts/check_fixtures_numpy.py --real   # Tests/Fixtures/real vs Models/SmolLM2-135M-Instruct
"""

from __future__ import annotations

import json
import math
import struct
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
ROOT = REPO / "Tests" / "Fixtures" / "models"


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        buf = raw[base + a : base + b]
        dt = info["dtype"]
        if dt == "F32":
            arr = np.frombuffer(buf, dtype="<f4")
        elif dt == "F16":
            arr = np.frombuffer(buf, dtype="<f2").astype(np.float32)
        elif dt == "BF16":
            arr = (np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        elif dt == "I64":
            arr = np.frombuffer(buf, dtype="<i8")
        else:
            raise ValueError(dt)
        out[name] = arr.reshape(info["shape"])
    return out


def load_weights(d: Path) -> dict[str, np.ndarray]:
    idx = d / "model.safetensors.index.json"
    if idx.exists():
        files = sorted(set(json.loads(idx.read_text())["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    w = {}
    for f in files:
        w.update(read_safetensors(d / f))
    return {k: v.astype(np.float64) for k, v in w.items()}


def rope_inv_freq(cfg: dict, head_dim: int) -> tuple[np.ndarray, float]:
    rp = cfg.get("rope_parameters")
    if rp is None:  # classic form
        rp = dict(cfg.get("rope_scaling") or {})
        rp.setdefault("rope_type", rp.get("type", "default"))
        rp["rope_theta"] = cfg["rope_theta"]
    base = rp["rope_theta"]
    dim = head_dim
    pos_freqs = base ** (np.arange(0, dim, 2, dtype=np.float64) / dim)
    if rp["rope_type"] == "default":
        return 1.0 / pos_freqs, 1.0
    assert rp["rope_type"] == "yarn", rp
    factor = rp["factor"]
    ompe = rp.get("original_max_position_embeddings", cfg["max_position_embeddings"])
    af = rp.get("attention_factor")
    if af is None:
        af = 0.1 * math.log(factor) + 1.0 if factor > 1 else 1.0
    beta_fast = rp.get("beta_fast") or 32
    beta_slow = rp.get("beta_slow") or 1
    truncate = rp.get("truncate", True)

    def corr_dim(rot):
        return (dim * math.log(ompe / (rot * 2 * math.pi))) / (2 * math.log(base))

    low, high = corr_dim(beta_fast), corr_dim(beta_slow)
    if truncate:
        low, high = math.floor(low), math.ceil(high)
    low, high = max(low, 0), min(high, dim - 1)
    if low == high:
        high += 0.001
    ramp = np.clip((np.arange(dim // 2, dtype=np.float64) - low) / (high - low), 0, 1)
    extrap_factor = 1 - ramp
    inv_extrap = 1.0 / pos_freqs
    inv_interp = 1.0 / (factor * pos_freqs)
    return inv_interp * (1 - extrap_factor) + inv_extrap * extrap_factor, af


def rms_norm(x, w, eps):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w


def rotate_half(x):
    h = x.shape[-1] // 2
    return np.concatenate([-x[..., h:], x[..., :h]], axis=-1)


def forward(cfg: dict, w: dict, ids: list[int]) -> np.ndarray:
    H = cfg["hidden_size"]
    nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim") or H // nh
    L = cfg["num_hidden_layers"]
    eps = cfg["rms_norm_eps"]
    use_rope = cfg.get("no_rope_layers") or [1] * L  # Llama: every layer uses RoPE
    T = len(ids)
    inv_freq, att_factor = rope_inv_freq(cfg, hd)
    ang = np.arange(T, dtype=np.float64)[:, None] * inv_freq[None, :]
    emb = np.concatenate([ang, ang], -1)
    cos, sin = np.cos(emb) * att_factor, np.sin(emb) * att_factor
    mask = np.triu(np.full((T, T), -np.inf), 1)

    x = w["model.embed_tokens.weight"][ids]
    for i in range(L):
        p = f"model.layers.{i}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = (h @ w[p + "self_attn.q_proj.weight"].T).reshape(T, nh, hd).transpose(1, 0, 2)
        k = (h @ w[p + "self_attn.k_proj.weight"].T).reshape(T, nkv, hd).transpose(1, 0, 2)
        v = (h @ w[p + "self_attn.v_proj.weight"].T).reshape(T, nkv, hd).transpose(1, 0, 2)
        if use_rope[i]:
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
        rep = nh // nkv
        k, v = np.repeat(k, rep, axis=0), np.repeat(v, rep, axis=0)
        s = q @ k.transpose(0, 2, 1) * hd**-0.5 + mask
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        a = (s @ v).transpose(1, 0, 2).reshape(T, nh * hd)
        x = x + a @ w[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        g = h @ w[p + "mlp.gate_proj.weight"].T
        u = h @ w[p + "mlp.up_proj.weight"].T
        x = x + ((g / (1 + np.exp(-g))) * u) @ w[p + "mlp.down_proj.weight"].T
    x = rms_norm(x, w["model.norm.weight"], eps)
    head = w.get("lm_head.weight")
    if head is None:
        assert cfg.get("tie_word_embeddings", True)
        head = w["model.embed_tokens.weight"]
    return x @ head.T


def check(d: Path) -> bool:
    cfg = json.loads((d / "config.json").read_text())
    w = load_weights(d)
    ref = read_safetensors(d / "reference.safetensors")
    ids = ref["input_ids"].tolist()
    logits = forward(cfg, w, ids)
    err = np.abs(logits - ref["logits"]).max()
    seq = list(ids)
    for _ in range(len(ref["greedy_ids"])):
        seq.append(int(forward(cfg, w, seq)[-1].argmax()))
    greedy_ok = seq[len(ids):] == ref["greedy_ids"].tolist()
    ok = err < 1e-3 and greedy_ok
    print(f"{d.name:28s} max|dlogit|={err:.2e} greedy={'ok' if greedy_ok else 'MISMATCH'} -> {'PASS' if ok else 'FAIL'}")
    return ok


def check_real() -> bool:
    d = REPO / "Models" / "SmolLM2-135M-Instruct"
    cfg = json.loads((d / "config.json").read_text())
    w = load_weights(d)
    ref = read_safetensors(REPO / "Tests" / "Fixtures" / "real" / "smollm2_135m_reference.safetensors")
    ok = True
    for p in ("prompt0", "prompt1"):
        ids = ref[p + ".input_ids"].tolist()
        greedy = ref[p + ".greedy_ids"].tolist()
        # one teacher-forced pass over prompt + greedy tokens checks both
        lg = forward(cfg, w, ids + greedy)
        err = np.abs(lg[ref[p + ".logits_positions"]] - ref[p + ".logits"]).max()
        greedy_ok = lg[len(ids) - 1 : -1].argmax(-1).tolist() == greedy
        good = err < 1e-3 and greedy_ok
        ok &= good
        print(f"real {p:10s} max|dlogit|={err:.2e} greedy={'ok' if greedy_ok else 'MISMATCH'} -> {'PASS' if good else 'FAIL'}")
    return ok


def main(argv):
    if argv == ["--real"]:
        sys.exit(0 if check_real() else 1)
    dirs = [ROOT / a for a in argv] if argv else sorted(p for p in ROOT.iterdir() if (p / "config.json").exists())
    results = [check(d) for d in dirs]
    print(f"{sum(results)} passed, {len(results) - sum(results)} failed")
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main(sys.argv[1:])
