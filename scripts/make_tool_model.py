#!/usr/bin/env python3
"""Build a tiny *scripted* SmolLM3 checkpoint that acts like a tool-calling agent.

Usage: python3 make_tool_model.py --shared ../shared/models/SmolLM3-3B --out DIR

Needs only numpy (the `tokenizers` package is optional: when importable, the hard-coded
token ids below are checked against the real tokenizer). Writes config.json,
generation_config.json and model.safetensors (bf16, written by hand) and copies the
tokenizer files + chat template from --shared.

The network is one NoPE layer (no_rope_layers=[0]) with hand-set weights:

* Residual layout (hidden_size 64): every token embeds as BIAS + one "class" unit vector
  (its own class for the ~30 script tokens, a shared UNK class for every other token),
  plus a KEY_T / KEY_R unit for the marker tokens.
* Attention, position independent (NoPE) with a constant query and keys that are only
  non-zero on marker tokens, turns "some marker occurs anywhere in the context" into a flag
  (softmax puts ~all weight on the markers if there are any, values are 1 on markers and
  0 elsewhere):
    T ("thinking is done / not wanted")  markers: "_th" (from "Reasoning Mode: /no_think"
                                          in the system header) and "Hmm" (first token of the
                                          scripted thought)
    R ("a tool result arrived")          markers: "unny" (from "Sunny") and " Sunny"
  `</think>` is NOT usable as a marker: the default thinking-mode system prompt contains
  "<think> Thought section </think>". `<tool_call>` is not usable either (tools prompt).
* lm_head is a bigram table over the class units (each script token has one successor);
  only "\n" (198, the last token of every generation prompt, also emitted after
  </think>) branches on the flags:  T=0 -> <think>,  T=1,R=0 -> <tool_call>,
  T=1,R=1 -> the answer.  UNK (any other token) -> <|im_end|>; <|im_end|> also gets a
  baseline logit from the BIAS unit.
MLP weights are zero.
"""
import argparse
import json
import os
import shutil
import struct
import sys

import numpy as np

# --------------------------------------------------------------------------------------
# Token ids (SmolLM3 / Llama-3 tokenizer). Hard-coded; verified with `tokenizers` if present.
# --------------------------------------------------------------------------------------
NL = 198             # "\n"   (also what "assistant\n" and "</think>\n" end with)
THINK = 128002       # "<think>"
END_THINK = 128003   # "</think>"
IM_END = 128012      # "<|im_end|>"  (eos)
TOOL_CALL = 128015   # "<tool_call>"
END_TOOL_CALL = 128016  # "</tool_call>"

# Thought: "<think>Hmm, I should call the tool</think>\n"
THOUGHT_TEXT = "Hmm, I should call the tool"
THOUGHT = [81122,   # "Hmm"
           11,      # ","
           358,     # " I"
           1288,    # " should"
           1650,    # " call"
           279,     # " the"
           5507]    # " tool"

# Tool call JSON. Whitespace chosen so that every token has a unique successor:
# {"name": "get_weather","arguments":{"city":"Paris"}}
TOOL_JSON_TEXT = '{"name": "get_weather","arguments":{"city":"Paris"}}'
TOOL_JSON = [5018,   # '{"'
             609,    # 'name'
             794,    # '":'
             330,    # ' "'
             456,    # 'get'
             70464,  # '_weather'
             2247,   # '","'
             16774,  # 'arguments'
             23118,  # '":{"'
             9103,   # 'city'
             3332,   # '":"'
             60704,  # 'Paris'
             32075]  # '"}}'

# Answer: "It is sunny in Paris."
ANSWER_TEXT = "It is sunny in Paris."
ANSWER = [2181,    # "It"
          374,     # " is"
          40798,   # " sunny"
          304,     # " in"
          12366,   # " Paris"
          13]      # "."

# Flag markers.
MARK_NO_THINK = 5978   # "_th"   ("/no_think" -> "/no","_th","ink"; " /no_think" -> " /","no","_th","ink")
MARK_THOUGHT = 81122   # "Hmm"   (first token of the scripted thought)
MARK_SUNNY_A = 28397   # "unny"  ("Sunny" -> "S","unny"; '"Sunny' -> '"S','unny')
MARK_SUNNY_B = 56138   # " Sunny"
T_MARKERS = [MARK_NO_THINK, MARK_THOUGHT]
R_MARKERS = [MARK_SUNNY_A, MARK_SUNNY_B]

# (text, ids) pairs checked against the tokenizer when available.
TOKEN_CHECKS = [
    ("\n", [NL]), ("<think>", [THINK]), ("</think>", [END_THINK]), ("<|im_end|>", [IM_END]),
    ("<tool_call>", [TOOL_CALL]), ("</tool_call>", [END_TOOL_CALL]),
    ("<|im_start|>assistant\n", [128011, 78191, NL]),
    ("<|im_start|>assistant\n<think>\n\n</think>\n", [128011, 78191, NL, THINK, 271, END_THINK, NL]),
    (THOUGHT_TEXT, THOUGHT), (TOOL_JSON_TEXT, TOOL_JSON), (ANSWER_TEXT, ANSWER),
    ("Reasoning Mode: /no_think", [26197, 287, 14904, 25, 611, 2201, MARK_NO_THINK, 771]),
    ("/no_think", [34200, MARK_NO_THINK, 771]),
    ("Sunny, 22 C", [50, MARK_SUNNY_A, 11, 220, 1313, 356]),
    (" Sunny", [MARK_SUNNY_B]),
]

# --------------------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------------------
VOCAB = 128256
HIDDEN = 64
N_HEADS, N_KV, HEAD_DIM = 4, 2, 16
INTERMEDIATE = 32
EPS = 1e-6

D_BIAS, D_T, D_R, D_KEY_T, D_KEY_R, D_UNK = 0, 1, 2, 3, 4, 5
FIRST_CLASS = 6

S_BIGRAM = 6.0   # weight successor <- current class
E_BASE = 3.0     # eos baseline (BIAS unit)
A_BRANCH = 6.0   # branch targets <- class of "\n"
B_FLAG = 3.0     # flag weights
QK = 2.0         # q and k gains (score on a marker ~ 26 after the 1/sqrt(head_dim) scaling)


def successor_table():
    """Bigram successors of every script token except "\\n" (which branches)."""
    chains = [
        [THINK] + THOUGHT + [END_THINK, NL],
        [TOOL_CALL] + TOOL_JSON + [END_TOOL_CALL, IM_END],
        ANSWER + [IM_END],
    ]
    succ = {}
    for ch in chains:
        for a, b in zip(ch, ch[1:]):
            if a in succ and succ[a] != b:
                raise SystemExit(f"token {a} has two successors {succ[a]} and {b}")
            succ[a] = b
    assert NL not in succ
    return succ


def build_weights():
    succ = successor_table()
    script = [NL] + sorted(succ)
    cls = {tok: FIRST_CLASS + i for i, tok in enumerate(script)}
    assert FIRST_CLASS + len(script) <= HIDDEN, "hidden_size too small"
    for m in T_MARKERS + R_MARKERS:
        assert m != NL and m not in (THINK, END_THINK, TOOL_CALL, END_TOOL_CALL)

    f32 = np.float32
    emb = np.zeros((VOCAB, HIDDEN), f32)
    emb[:, D_BIAS] = 1.0
    emb[:, D_UNK] = 1.0
    for tok, c in cls.items():
        emb[tok, D_UNK] = 0.0
        emb[tok, c] = 1.0
    for m in T_MARKERS:
        emb[m, D_KEY_T] = 1.0
    for m in R_MARKERS:
        emb[m, D_KEY_R] = 1.0

    # RMS-normed size of the KEY unit of a marker token (3 unit components): sqrt(D/3)
    x_marker = np.sqrt(HIDDEN / 3.0)

    q = np.zeros((N_HEADS * HEAD_DIM, HIDDEN), f32)
    k = np.zeros((N_KV * HEAD_DIM, HIDDEN), f32)
    v = np.zeros((N_KV * HEAD_DIM, HIDDEN), f32)
    o = np.zeros((HIDDEN, N_HEADS * HEAD_DIM), f32)
    # kv head 0 (query head 0): flag T; kv head 1 (query head 2): flag R.
    # query heads 1 and 3 are unused (zero query, zero o_proj columns).
    for qh, kvh, key_dim, out_dim in ((0, 0, D_KEY_T, D_T), (2, 1, D_KEY_R, D_R)):
        q[qh * HEAD_DIM, D_BIAS] = QK
        k[kvh * HEAD_DIM, key_dim] = QK
        v[kvh * HEAD_DIM, key_dim] = 1.0 / x_marker
        o[out_dim, qh * HEAD_DIM] = 1.0

    lm = np.zeros((VOCAB, HIDDEN), f32)
    lm[IM_END, D_BIAS] = E_BASE
    lm[IM_END, D_UNK] = S_BIGRAM
    for a, b in succ.items():
        lm[b, cls[a]] = S_BIGRAM
    n = cls[NL]
    it = ANSWER[0]
    # logit(<think>)     = A[nl] - B*T
    # logit(<tool_call>) = A[nl] - B*(1-T) - B*R
    # logit(answer)      = A[nl] - B*(1-T) - B*(1-R)
    # (BIAS unit == 1 == size of a saturated flag, so "1-x" is BIAS - x)
    lm[THINK, n] = A_BRANCH
    lm[THINK, D_T] = -B_FLAG
    lm[TOOL_CALL, n] = A_BRANCH
    lm[TOOL_CALL, D_BIAS] = -B_FLAG
    lm[TOOL_CALL, D_T] = B_FLAG
    lm[TOOL_CALL, D_R] = -B_FLAG
    lm[it, n] = A_BRANCH
    lm[it, D_BIAS] = -2 * B_FLAG
    lm[it, D_T] = B_FLAG
    lm[it, D_R] = B_FLAG

    tensors = {
        "model.embed_tokens.weight": emb,
        "model.layers.0.input_layernorm.weight": np.ones(HIDDEN, f32),
        "model.layers.0.post_attention_layernorm.weight": np.ones(HIDDEN, f32),
        "model.layers.0.self_attn.q_proj.weight": q,
        "model.layers.0.self_attn.k_proj.weight": k,
        "model.layers.0.self_attn.v_proj.weight": v,
        "model.layers.0.self_attn.o_proj.weight": o,
        "model.layers.0.mlp.gate_proj.weight": np.zeros((INTERMEDIATE, HIDDEN), f32),
        "model.layers.0.mlp.up_proj.weight": np.zeros((INTERMEDIATE, HIDDEN), f32),
        "model.layers.0.mlp.down_proj.weight": np.zeros((HIDDEN, INTERMEDIATE), f32),
        "model.norm.weight": np.ones(HIDDEN, f32),
        "lm_head.weight": lm,
    }
    return tensors


# --------------------------------------------------------------------------------------
# bf16 + safetensors (by hand)
# --------------------------------------------------------------------------------------
def to_bf16_bits(a):
    u = np.ascontiguousarray(a, np.float32).view(np.uint32).astype(np.uint64)
    r = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return r.astype(np.uint16)


def from_bf16_bits(b):
    return (b.astype(np.uint32) << 16).view(np.float32)


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        bits = to_bf16_bits(tensors[name])
        raw = bits.astype("<u2").tobytes()
        header[name] = {"dtype": "BF16", "shape": list(tensors[name].shape),
                        "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    header["__metadata__"] = {"format": "pt"}
    hjson = json.dumps(header, separators=(",", ":")).encode()
    hjson += b" " * ((8 - len(hjson) % 8) % 8)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(hjson)))
        fh.write(hjson)
        for raw in blobs:
            fh.write(raw)


# --------------------------------------------------------------------------------------
# numpy reference forward (self-check, same math as transformers' SmolLM3 NoPE layer)
# --------------------------------------------------------------------------------------
def rmsnorm(x, w):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + EPS) * w


def last_logits(W, ids):
    e = W["model.embed_tokens.weight"][ids]
    x = rmsnorm(e, W["model.layers.0.input_layernorm.weight"])
    q = (x[-1] @ W["model.layers.0.self_attn.q_proj.weight"].T).reshape(N_HEADS, HEAD_DIM)
    k = (x @ W["model.layers.0.self_attn.k_proj.weight"].T).reshape(len(ids), N_KV, HEAD_DIM)
    v = (x @ W["model.layers.0.self_attn.v_proj.weight"].T).reshape(len(ids), N_KV, HEAD_DIM)
    out = np.zeros((N_HEADS, HEAD_DIM), np.float32)
    for h in range(N_HEADS):
        kv = h // (N_HEADS // N_KV)
        s = k[:, kv] @ q[h] / np.sqrt(HEAD_DIM)
        p = np.exp(s - s.max())
        p /= p.sum()
        out[h] = p @ v[:, kv]
    hid = e[-1] + out.reshape(-1) @ W["model.layers.0.self_attn.o_proj.weight"].T
    # MLP is all zeros -> contributes exactly 0.
    hid = rmsnorm(hid, W["model.norm.weight"])
    return W["lm_head.weight"] @ hid


def greedy(W, ids, max_new=60):
    ids, out, margins = list(ids), [], []
    for _ in range(max_new):
        lg = last_logits(W, ids)
        top2 = np.partition(lg, -2)[-2:]
        nxt = int(lg.argmax())
        margins.append(float(top2[1] - top2[0]))
        out.append(nxt)
        ids.append(nxt)
        if nxt == IM_END:
            break
    return out, min(margins)


def self_check(W):
    filler = [9906, 11, 1234, 279, 220, 128011, 882, 128012] * 50  # arbitrary non-marker tokens
    think_prompt = filler + [THINK, 36287, 220, END_THINK] + [128011, 78191, NL]  # "</think>" in sys prompt
    no_think = filler + [611, 2201, MARK_NO_THINK, 771] + [128011, 78191, NL, THINK, 271, END_THINK, NL]
    result = [128011, 882, NL, 50, MARK_SUNNY_A, 11, 220, 1313, 356, IM_END, NL]
    call = [TOOL_CALL] + TOOL_JSON + [END_TOOL_CALL, IM_END]
    answer = ANSWER + [IM_END]
    thought = [THINK] + THOUGHT + [END_THINK, NL]
    cases = [
        ("no-think, tool call", no_think, call),
        ("no-think, answer", filler + result + no_think, answer),
        ("think, tool call", think_prompt, thought + call),
        ("think, answer", filler + result + think_prompt, thought + answer),
        ("unknown last token", filler, [IM_END]),
    ]
    worst = 1e9
    for name, prompt, want in cases:
        got, m = greedy(W, prompt)
        if got != want:
            raise SystemExit(f"self-check failed ({name}): got {got}, want {want}")
        worst = min(worst, m)
    return worst


def check_tokenizer(shared):
    try:
        from tokenizers import Tokenizer
    except ImportError:
        print("tokenizers not importable; skipping token id check")
        return
    tok = Tokenizer.from_file(os.path.join(shared, "tokenizer.json"))
    for text, ids in TOKEN_CHECKS:
        got = tok.encode(text, add_special_tokens=False).ids
        assert got == ids, f"tokenization of {text!r}: {got} != {ids}"
    print(f"token ids verified with tokenizers ({len(TOKEN_CHECKS)} strings)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", required=True, help="folder with the SmolLM3-3B tokenizer files")
    ap.add_argument("--out", required=True, help="output model folder")
    args = ap.parse_args()

    check_tokenizer(args.shared)
    W = build_weights()
    Wq = {n: from_bf16_bits(to_bf16_bits(t)).reshape(t.shape) for n, t in W.items()}
    margin = self_check(Wq)
    print(f"numpy self-check passed (min top1-top2 logit margin {margin:.2f})")

    os.makedirs(args.out, exist_ok=True)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                 "chat_template.jinja"):
        src = os.path.join(args.shared, name)
        if os.path.exists(src):
            shutil.copyfile(src, os.path.join(args.out, name))
        elif name != "special_tokens_map.json":
            raise SystemExit(f"missing {src}")

    config = {
        "architectures": ["SmolLM3ForCausalLM"],
        "model_type": "smollm3",
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": 128000,
        "eos_token_id": IM_END,
        "pad_token_id": 128004,
        "hidden_act": "silu",
        "hidden_size": HIDDEN,
        "intermediate_size": INTERMEDIATE,
        "initializer_range": 0.02,
        "num_hidden_layers": 1,
        "num_attention_heads": N_HEADS,
        "num_key_value_heads": N_KV,
        "head_dim": HEAD_DIM,
        "layer_types": ["full_attention"],
        "no_rope_layers": [0],
        "no_rope_layer_interval": 4,
        "max_position_embeddings": 4096,
        "max_window_layers": 1,
        "mlp_bias": False,
        "rms_norm_eps": EPS,
        "rope_scaling": None,
        "rope_theta": 5000000.0,
        "sliding_window": None,
        "use_sliding_window": False,
        "use_cache": True,
        "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
        "vocab_size": VOCAB,
    }
    gen = {"bos_token_id": 128000, "eos_token_id": IM_END, "pad_token_id": 128004,
           "do_sample": False}
    with open(os.path.join(args.out, "config.json"), "w") as fh:
        json.dump(config, fh, indent=2)
        fh.write("\n")
    with open(os.path.join(args.out, "generation_config.json"), "w") as fh:
        json.dump(gen, fh, indent=2)
        fh.write("\n")
    write_safetensors(os.path.join(args.out, "model.safetensors"), W)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    sys.exit(main())
