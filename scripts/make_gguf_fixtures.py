#!/usr/bin/env python3
"""GGUF fixtures for the tests (developer-only; CI reads the committed files).

Writes Tests/Fixtures/gguf/:

* quants.gguf — one (8, 256) tensor per ggml type SmolRuntime reads (F32, F16, BF16, Q8_0,
  Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K, IQ4_NL), filled with random blocks: random bytes
  for the quants and scale nibbles, and finite f16 block scales drawn from normal, small,
  subnormal and zero values. Its metadata holds one key of every GGUF value type.
* quants_expected.gguf — the same names as F32 tensors: `gguf.quants.dequantize` of each
  (the reference that Swift's dequantization must equal bit for bit).
* llama_tied_f32.gguf, llama_tied_q8_0.gguf, smollm3_tied_f32.gguf, smollm3_tied_q4_0.gguf —
  the tiny checkpoints of Tests/Fixtures/models/ written the way llama.cpp's
  convert_hf_to_gguf.py writes them: tensor names mapped, q/k rows permuted for ggml's
  rotary layout (LlamaModel.permute), tied output dropped, a 256-token byte-level gpt2
  vocabulary (no merges). Quantized with gguf-py's reference quantizer (norms stay F32).
* llama_tied_q8_0.reference.safetensors, smollm3_tied_q4_0.reference.safetensors — logits of
  scripts/numpy_reference.py on the quantized files' dequantized weights (the exact target for
  a runtime reading them; the F32 files use the transformers references of Tests/Fixtures/models).

Written with gguf-py's own GGUFWriter, so that the reader is tested on files made by an
independent writer. Needs only numpy and gguf (scripts/requirements-model.txt):

    Models/.venv/bin/python scripts/make_gguf_fixtures.py
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import gguf
import numpy as np
from gguf import GGMLQuantizationType as T

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "Tests" / "Fixtures" / "gguf"
MODELS = REPO / "Tests" / "Fixtures" / "models"

ROWS, COLS = 8, 256


def f16_scales(rng: np.random.Generator, n: int) -> np.ndarray:
    """Finite f16 scales: mostly normal magnitudes, some tiny, subnormal, zero and negative."""
    kind = rng.integers(0, 10, n)
    v = rng.normal(0, 0.05, n)
    v[kind == 7] = rng.normal(0, 1e-4, (kind == 7).sum())
    v[kind == 8] = rng.choice([6e-8, 3e-6, -2e-7], (kind == 8).sum())  # subnormal in f16
    v[kind == 9] = 0.0
    return v.astype(np.float16)


def random_blocks(rng: np.random.Generator, qtype: T, nblocks: int) -> np.ndarray:
    """Raw bytes of `nblocks` blocks, with the f16 fields made finite."""
    _, bsize = gguf.GGML_QUANT_SIZES[qtype]
    b = rng.integers(0, 256, (nblocks, bsize), dtype=np.uint8)
    # Byte offsets of the f16 fields of each block layout (ggml-common.h).
    f16_fields = {
        T.Q8_0: [0], T.Q4_0: [0], T.IQ4_NL: [0], T.Q5_0: [0],
        T.Q4_1: [0, 2], T.Q5_1: [0, 2],
        T.Q4_K: [0, 2], T.Q5_K: [0, 2],
        T.Q6_K: [208],
    }[qtype]
    for off in f16_fields:
        b[:, off:off + 2] = f16_scales(rng, nblocks).view(np.uint8).reshape(nblocks, 2)
    return b


def quant_fixtures() -> None:
    rng = np.random.default_rng(20261203)
    w = gguf.GGUFWriter(str(OUT / "quants.gguf"), "llama")
    e = gguf.GGUFWriter(str(OUT / "quants_expected.gguf"), "llama")
    # One key of every value type (the reader's typed accessors are tested on them).
    w.add_uint8("test.u8", 200)
    w.add_int8("test.i8", -100)
    w.add_uint16("test.u16", 65000)
    w.add_int16("test.i16", -32000)
    w.add_uint32("test.u32", 4_000_000_000)
    w.add_int32("test.i32", -2_000_000_000)
    w.add_float32("test.f32", 0.15625)
    w.add_bool("test.bool", True)
    w.add_string("test.string", "héllo ✓")
    w.add_uint64("test.u64", 2**63 + 5)
    w.add_int64("test.i64", -(2**62))
    w.add_float64("test.f64", 1e-300)
    w.add_array("test.array_str", ["a", "", "ü"])
    w.add_array("test.array_i32", [1, -2, 3])
    w.add_array("test.array_nested", [[1, 2], [3]])
    names = []
    floats = {
        T.F32: lambda: rng.normal(0, 1, (ROWS, COLS)).astype(np.float32),
        T.F16: lambda: f16_scales(rng, ROWS * COLS).reshape(ROWS, COLS) * np.float16(20),
        T.BF16: None,
    }
    for qtype in [T.F32, T.F16, T.BF16, T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1,
                  T.Q4_K, T.Q5_K, T.Q6_K, T.IQ4_NL]:
        name = qtype.name.lower()
        if qtype == T.BF16:
            # Random finite bf16 bit patterns (the top 16 bits of random f32s, some subnormal).
            x = rng.normal(0, 1, (ROWS, COLS)).astype(np.float32)
            x[0, :16] = np.array([1e-39, -1e-40, 0.0, -0.0] * 4, dtype=np.float32)
            raw = (x.view(np.uint32) >> 16).astype(np.uint16)
            w.add_tensor(name, raw, raw_dtype=T.BF16)
            expected = gguf.quants.dequantize(raw.view(np.uint8), T.BF16)
        elif qtype in floats:
            x = floats[qtype]()
            w.add_tensor(name, x)
            expected = x.astype(np.float32)
        else:
            bs, _ = gguf.GGML_QUANT_SIZES[qtype]
            raw = random_blocks(rng, qtype, ROWS * COLS // bs).reshape(ROWS, -1)
            w.add_tensor(name, raw, raw_dtype=qtype)
            expected = gguf.quants.dequantize(raw, qtype)
        expected = np.ascontiguousarray(expected, dtype=np.float32).reshape(ROWS, COLS)
        e.add_tensor(name, expected)
        names.append(name)
    for writer in (w, e):
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
    print("quants:", ", ".join(names))


def quantize_fixtures() -> None:
    """f32 input and gguf.quants.quantize's Q8_0 / Q4_0 / Q4_1 / Q5_0 / Q5_1 blocks of it (the reference for
    smol's quantizers; gguf-py follows ggml's quantize_row_*_ref)."""
    rng = np.random.default_rng(7)
    x = rng.normal(0, 1, (ROWS, COLS)).astype(np.float32)
    x[0, :32] = 0.0                                        # an all-zero block (d = 0)
    x[0, 32:64] = 0.25                                     # a constant block
    x[1, :32] = np.linspace(-1, 1, 32, dtype=np.float32)   # exact halves after scaling
    x[1, 32:64] *= 1e-6                                    # tiny values: subnormal f16 scales
    x[2, :32] = rng.normal(0, 1, 32).astype(np.float32) * 3e4  # large values
    x[2, 32:64] = -np.abs(x[2, 32:64])                     # all negative
    w = gguf.GGUFWriter(str(OUT / "quantize.gguf"), "llama")
    w.add_tensor("input", x)
    for qtype in (T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1):
        w.add_tensor(qtype.name.lower(), gguf.quants.quantize(x, qtype), raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


# MARK: tiny models

def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    dtypes = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        buf = data[8 + n + a:8 + n + b]
        if info["dtype"] == "BF16":
            arr = (np.frombuffer(buf, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)
        else:
            arr = np.frombuffer(buf, dtype=dtypes[info["dtype"]]).astype(np.float32)
        out[name] = arr.reshape(info["shape"])
    return out


def permute(w: np.ndarray, n_head: int, n_head_kv: int | None) -> np.ndarray:
    """convert_hf_to_gguf.py LlamaModel.permute: HF rotate_half rows -> ggml's interleaved pairs."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
            .swapaxes(1, 2)
            .reshape(w.shape))


def bytes_to_unicode() -> list[str]:
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    table = dict(zip(bs, cs))
    return [chr(table[b]) for b in range(256)]


HF_TO_GGUF = {
    "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down", "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
}


def tiny_model(case: str, out_name: str, qtype: T) -> None:
    src = MODELS / case
    cfg = json.loads((src / "config.json").read_text())
    arch = cfg["model_type"]
    tensors = read_safetensors(src / "model.safetensors")
    heads, kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    head_dim = cfg.get("head_dim", cfg["hidden_size"] // heads)
    rope = cfg.get("rope_parameters") or {}
    w = gguf.GGUFWriter(str(OUT / out_name), arch)
    w.add_name(case)
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_head_count(heads)
    w.add_head_count_kv(kv)
    w.add_rope_dimension_count(head_dim)
    w.add_rope_freq_base(rope.get("rope_theta", cfg.get("rope_theta", 10000.0)))
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    w.add_vocab_size(cfg["vocab_size"])
    w.add_file_type(int({T.F32: 0, T.Q8_0: 7, T.Q4_0: 2}[qtype]))
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("default")
    w.add_token_list(bytes_to_unicode()[:cfg["vocab_size"]])
    w.add_token_types([1] * cfg["vocab_size"])
    w.add_token_merges([])
    w.add_bos_token_id(cfg["bos_token_id"])
    w.add_eos_token_id(cfg["eos_token_id"])
    w.add_pad_token_id(cfg["pad_token_id"])
    w.add_add_bos_token(False)

    def put(name: str, x: np.ndarray) -> None:
        if x.ndim == 2 and qtype != T.F32:
            q = gguf.quants.quantize(x.astype(np.float32), qtype)
            w.add_tensor(name, q, raw_dtype=qtype)
        else:
            w.add_tensor(name, x.astype(np.float32))

    put("token_embd.weight", tensors["model.embed_tokens.weight"])
    for i in range(cfg["num_hidden_layers"]):
        for hf, gg in HF_TO_GGUF.items():
            x = tensors[f"model.layers.{i}.{hf}.weight"]
            if gg == "attn_q":
                x = permute(x, heads, heads)
            elif gg == "attn_k":
                x = permute(x, heads, kv)
            put(f"blk.{i}.{gg}.weight", x)
    put("output_norm.weight", tensors["model.norm.weight"])
    if not cfg.get("tie_word_embeddings", False):
        put("output.weight", tensors["lm_head.weight"])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(out_name, "from", case, qtype.name)


def unpermute(w: np.ndarray, n_head: int) -> np.ndarray:
    """Inverse of permute: ggml's interleaved rotary pairs -> HF rotate_half rows."""
    return (w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:])
            .swapaxes(1, 2)
            .reshape(w.shape))


def write_safetensors(path: Path, tensors: dict[str, np.ndarray]) -> None:
    header, blobs, off = {}, [], 0
    for name, a in tensors.items():
        b = np.ascontiguousarray(a).tobytes()
        dtype = {np.dtype(np.float32): "F32", np.dtype(np.int64): "I64"}[a.dtype]
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    path.write_bytes(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def quantized_reference(gguf_name: str, case: str) -> None:
    """Logits of the numpy reference model (scripts/numpy_reference.py) run on the GGUF's
    dequantized weights (gguf.quants.dequantize, q/k rows un-permuted): what a runtime that
    reads the GGUF exactly must produce, to float32 rounding."""
    import sys
    sys.path.insert(0, str(REPO / "scripts"))
    from numpy_reference import LlamaNumpy

    src = MODELS / case
    cfg = json.loads((src / "config.json").read_text())
    heads, kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    r = gguf.GGUFReader(str(OUT / gguf_name))
    inverse = {v: k for k, v in HF_TO_GGUF.items()}
    weights = {}
    for t in r.tensors:
        x = gguf.quants.dequantize(np.asarray(t.data), t.tensor_type).astype(np.float32)
        x = x.reshape([int(d) for d in reversed(t.shape)]) if x.ndim != len(t.shape) else x
        name = t.name
        if name == "token_embd.weight":
            hf = "model.embed_tokens.weight"
        elif name == "output_norm.weight":
            hf = "model.norm.weight"
        elif name == "output.weight":
            hf = "lm_head.weight"
        else:
            _, i, kind, _ = name.split(".")
            hf = f"model.layers.{i}.{inverse[kind]}.weight"
            if kind == "attn_q":
                x = unpermute(x, heads)
            elif kind == "attn_k":
                x = unpermute(x, kv)
        weights[hf] = x
    model = LlamaNumpy(src, weights)
    ref = read_safetensors(src / "reference.safetensors")
    ids = [int(i) for i in ref["input_ids"].reshape(-1)]
    logits = np.stack([model.forward([i]) for i in ids]).astype(np.float32)
    against_float = float(np.abs(logits - ref["logits"].reshape(logits.shape)).max())
    write_safetensors(OUT / gguf_name.replace(".gguf", ".reference.safetensors"),
                      {"input_ids": np.asarray(ids, dtype=np.int64), "logits": logits})
    print(f"{gguf_name}: numpy reference, max |diff| to the float model {against_float:.4g}")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    quant_fixtures()
    quantize_fixtures()
    tiny_model("llama_tied_f32", "llama_tied_f32.gguf", T.F32)
    tiny_model("llama_tied_f32", "llama_tied_q8_0.gguf", T.Q8_0)
    tiny_model("smollm3_tied_f32", "smollm3_tied_f32.gguf", T.F32)
    tiny_model("smollm3_tied_f32", "smollm3_tied_q4_0.gguf", T.Q4_0)
    # (The F32 files give 1.7e-5 against transformers this way: the numpy path is checked.)
    for name, case in [("llama_tied_q8_0.gguf", "llama_tied_f32"), ("smollm3_tied_q4_0.gguf", "smollm3_tied_f32")]:
        quantized_reference(name, case)
    (OUT / "versions.json").write_text(json.dumps(
        {"gguf": gguf.__version__ if hasattr(gguf, "__version__") else "see requirements-model.txt",
         "numpy": np.__version__}, indent=2) + "\n")


if __name__ == "__main__":
    main()
