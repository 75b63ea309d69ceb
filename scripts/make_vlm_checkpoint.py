#!/usr/bin/env python3
"""Tiny random-weight SmolVLM checkpoints, shaped like the real ones but scaled down, as
standard Hugging Face folders: config.json, model.safetensors (f32), tokenizer.json (the
SmolLM2 tokenizer plus SmolVLM2's added tokens, as the real SmolVLM2 tokenizer has them),
preprocessor_config.json, processor_config.json and chat_template.json.

    python3 scripts/make_vlm_checkpoint.py --tokenizer Models/SmolLM2-135M-Instruct/tokenizer.json --out Models

Needs only numpy, so CI builds the folders itself; scripts/make_vlm_fixtures.py (torch,
transformers) builds the same folders and records the reference outputs. Weights come from
numpy's PCG64 stream, and the fixtures hold sampled weight values, so a drift is caught.

  smolvlm-256m-shape: SmolVLM2-256M/500M-like. Tiles 64 px (512-like), patch 4 (16-like),
                      scale_factor 4, longest_edge 4 tiles -> 16 image tokens per tile.
  smolvlm-2.2b-shape: SmolVLM2-2.2B-like. Tiles 48 px with patch 5, so the last 3 px of a
                      tile fall outside the patch grid (as 384 px with patch 14 does),
                      scale_factor 3 -> 9 image tokens per tile.
"""
import argparse
import json
import os
import struct

import numpy as np

# SmolVLM2's added tokens, in the order (and so with the ids) of the real tokenizer.
ADDED = ["<fake_token_around_image>", "<image>", "<end_of_utterance>", "<global-img>"] + \
        [f"<row_{r}_col_{c}>" for r in range(1, 7) for c in range(1, 7)]
VOCAB = 49280  # the real SmolVLM2 vocab_size (49152 + added tokens, padded)

# transformers' SmolVLM chat template (the one SmolVLM2 ships, with video parts).
CHAT_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{message['role'] | capitalize}}"
    "{% if message['content'][0]['type'] == 'image' %}{{':'}}{% else %}{{': '}}{% endif %}"
    "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{line['text']}}"
    "{% elif line['type'] == 'image' %}{{ '<image>' }}{% elif line['type'] == 'video' %}{{ '<video>' }}{% endif %}"
    "{% endfor %}<end_of_utterance>\n{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}")

SHAPES = {
    "smolvlm-256m-shape": dict(
        seed=256, scale_factor=4, tile=64, longest_edge=256,
        vision=dict(hidden_size=32, intermediate_size=80, num_hidden_layers=2, num_attention_heads=2,
                    image_size=64, patch_size=4),
        text=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, rope_theta=100000.0, rms_norm_eps=1e-5)),
    "smolvlm-2.2b-shape": dict(
        seed=2200, scale_factor=3, tile=48, longest_edge=192,
        vision=dict(hidden_size=48, intermediate_size=96, num_hidden_layers=2, num_attention_heads=3,
                    image_size=48, patch_size=5),
        text=dict(hidden_size=96, intermediate_size=160, num_hidden_layers=2, num_attention_heads=6,
                  num_key_value_heads=2, rope_theta=130000.0, rms_norm_eps=1e-5)),
}


# Full-size shapes for Benchmarks/vision.sh (random bf16 weights; speed depends only on shapes).
BENCH_SHAPES = {
    "bench-smolvlm2-256m-shape": dict(
        seed=1256, scale_factor=4, tile=512, longest_edge=2048,
        vision=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                    image_size=512, patch_size=16),
        text=dict(hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9,
                  num_key_value_heads=3, rope_theta=100000.0, rms_norm_eps=1e-5)),
    "bench-smolvlm2-2.2b-shape": dict(
        seed=3200, scale_factor=3, tile=384, longest_edge=1536,
        vision=dict(hidden_size=1152, intermediate_size=4304, num_hidden_layers=27, num_attention_heads=16,
                    image_size=384, patch_size=14),
        text=dict(hidden_size=2048, intermediate_size=8192, num_hidden_layers=24, num_attention_heads=32,
                  num_key_value_heads=32, rope_theta=130000.0, rms_norm_eps=1e-5)),
}


def image_seq_len(s):
    v = s["vision"]
    side = v["image_size"] // v["patch_size"]
    return side * side // (s["scale_factor"] ** 2)


def config(s):
    v = dict(s["vision"], model_type="smolvlm_vision", num_channels=3, hidden_act="gelu_pytorch_tanh",
             layer_norm_eps=1e-6)
    t = dict(s["text"], model_type="llama", vocab_size=VOCAB, hidden_act="silu", max_position_embeddings=8192,
             bos_token_id=1, eos_token_id=2, pad_token_id=2, tie_word_embeddings=False,
             architectures=["VLlama3ForCausalLM"],  # as SmolVLM2's configs (llama.cpp's converter reads it)
             head_dim=s["text"]["hidden_size"] // s["text"]["num_attention_heads"])
    return {"architectures": ["SmolVLMForConditionalGeneration"], "model_type": "smolvlm",
            "image_token_id": 49153, "scale_factor": s["scale_factor"], "tie_word_embeddings": False,
            "vision_config": v, "text_config": t, "torch_dtype": "float32"}


def weights(s):
    rng = np.random.default_rng(s["seed"])
    v, t = s["vision"], s["text"]
    W = {}

    def normal(name, shape, std):
        W[name] = (rng.standard_normal(shape) * std).astype(np.float32)

    def around_one(name, n):
        W[name] = (1.0 + 0.1 * rng.standard_normal(n)).astype(np.float32)

    vh, vi, p = v["hidden_size"], v["intermediate_size"], v["patch_size"]
    side = v["image_size"] // p
    pre = "model.vision_model."
    normal(pre + "embeddings.patch_embedding.weight", (vh, 3, p, p), 0.1)
    normal(pre + "embeddings.patch_embedding.bias", (vh,), 0.1)
    normal(pre + "embeddings.position_embedding.weight", (side * side, vh), 0.5)
    for i in range(v["num_hidden_layers"]):
        L = f"{pre}encoder.layers.{i}."
        for proj in ["q_proj", "k_proj", "v_proj", "out_proj"]:
            normal(L + f"self_attn.{proj}.weight", (vh, vh), 0.15)
            normal(L + f"self_attn.{proj}.bias", (vh,), 0.05)
        normal(L + "mlp.fc1.weight", (vi, vh), 0.15)
        normal(L + "mlp.fc1.bias", (vi,), 0.05)
        normal(L + "mlp.fc2.weight", (vh, vi), 0.1)
        normal(L + "mlp.fc2.bias", (vh,), 0.05)
        for ln in ["layer_norm1", "layer_norm2"]:
            around_one(L + ln + ".weight", vh)
            normal(L + ln + ".bias", (vh,), 0.05)
    around_one(pre + "post_layernorm.weight", vh)
    normal(pre + "post_layernorm.bias", (vh,), 0.05)

    th, ti = t["hidden_size"], t["intermediate_size"]
    hd = th // t["num_attention_heads"]
    kvd = t["num_key_value_heads"] * hd
    normal("model.connector.modality_projection.proj.weight", (th, vh * s["scale_factor"] ** 2), 0.1)
    pre = "model.text_model."
    normal(pre + "embed_tokens.weight", (VOCAB, th), 1.0)
    for i in range(t["num_hidden_layers"]):
        L = f"{pre}layers.{i}."
        normal(L + "self_attn.q_proj.weight", (th, th), 0.15)
        normal(L + "self_attn.k_proj.weight", (kvd, th), 0.15)
        normal(L + "self_attn.v_proj.weight", (kvd, th), 0.15)
        normal(L + "self_attn.o_proj.weight", (th, th), 0.1)
        normal(L + "mlp.gate_proj.weight", (ti, th), 0.15)
        normal(L + "mlp.up_proj.weight", (ti, th), 0.15)
        normal(L + "mlp.down_proj.weight", (th, ti), 0.1)
        around_one(L + "input_layernorm.weight", th)
        around_one(L + "post_attention_layernorm.weight", th)
    around_one(pre + "norm.weight", th)
    normal("lm_head.weight", (VOCAB, th), 0.3)
    return W


def write_safetensors_bf16_streaming(path, specs, seed):
    """Random N(0, std) bf16 tensors, generated one at a time (a 2B model never sits in RAM)."""
    rng = np.random.default_rng(seed)
    header, off = {}, 0
    for name, shape, _ in specs:
        n = int(np.prod(shape)) * 2
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [off, off + n]}
        off += n
    header["__metadata__"] = {"format": "pt"}
    hjson = json.dumps(header, separators=(",", ":")).encode()
    hjson += b" " * ((8 - len(hjson) % 8) % 8)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(hjson)))
        fh.write(hjson)
        for name, shape, std in specs:
            a = rng.standard_normal(shape, dtype=np.float32) * np.float32(std)
            if std == 0:  # norms: ones
                a = np.ones(shape, np.float32)
            fh.write((a.view(np.uint32) >> 16).astype("<u2").tobytes())


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        raw = np.ascontiguousarray(tensors[name], "<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [off, off + len(raw)]}
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


def tokenizer_with_vlm_tokens(path):
    tok = json.load(open(path, encoding="utf-8"))
    base = len(tok["model"]["vocab"])
    assert base == 49152, f"expected the SmolLM2 tokenizer (49152 tokens), got {base}"
    for i, content in enumerate(ADDED):
        tok["added_tokens"].append({"id": base + i, "content": content, "single_word": False, "lstrip": False,
                                    "rstrip": False, "normalized": False, "special": True})
    return tok


def bench_specs(s):
    """(name, shape, std) for every tensor of a full-size shape; std 0 means a norm (ones)."""
    v, t = s["vision"], s["text"]
    vh, vi, p = v["hidden_size"], v["intermediate_size"], v["patch_size"]
    side = v["image_size"] // p
    th, ti = t["hidden_size"], t["intermediate_size"]
    kvd = t["num_key_value_heads"] * (th // t["num_attention_heads"])
    pre = "model.vision_model."
    specs = [(pre + "embeddings.patch_embedding.weight", (vh, 3, p, p), 0.02), (pre + "embeddings.patch_embedding.bias", (vh,), 0.02),
             (pre + "embeddings.position_embedding.weight", (side * side, vh), 0.02)]
    for i in range(v["num_hidden_layers"]):
        L = f"{pre}encoder.layers.{i}."
        for proj in ["q_proj", "k_proj", "v_proj", "out_proj"]:
            specs += [(L + f"self_attn.{proj}.weight", (vh, vh), 0.02), (L + f"self_attn.{proj}.bias", (vh,), 0.02)]
        specs += [(L + "mlp.fc1.weight", (vi, vh), 0.02), (L + "mlp.fc1.bias", (vi,), 0.02),
                  (L + "mlp.fc2.weight", (vh, vi), 0.02), (L + "mlp.fc2.bias", (vh,), 0.02)]
        for ln in ["layer_norm1", "layer_norm2"]:
            specs += [(L + ln + ".weight", (vh,), 0), (L + ln + ".bias", (vh,), 0.02)]
    specs += [(pre + "post_layernorm.weight", (vh,), 0), (pre + "post_layernorm.bias", (vh,), 0.02),
              ("model.connector.modality_projection.proj.weight", (th, vh * s["scale_factor"] ** 2), 0.02)]
    pre = "model.text_model."
    specs.append((pre + "embed_tokens.weight", (VOCAB, th), 0.02))
    for i in range(t["num_hidden_layers"]):
        L = f"{pre}layers.{i}."
        specs += [(L + "self_attn.q_proj.weight", (th, th), 0.02), (L + "self_attn.k_proj.weight", (kvd, th), 0.02),
                  (L + "self_attn.v_proj.weight", (kvd, th), 0.02), (L + "self_attn.o_proj.weight", (th, th), 0.02),
                  (L + "mlp.gate_proj.weight", (ti, th), 0.02), (L + "mlp.up_proj.weight", (ti, th), 0.02),
                  (L + "mlp.down_proj.weight", (th, ti), 0.02),
                  (L + "input_layernorm.weight", (th,), 0), (L + "post_attention_layernorm.weight", (th,), 0)]
    specs += [(pre + "norm.weight", (th,), 0), ("lm_head.weight", (VOCAB, th), 0.02)]
    return specs


def build(name, tokenizer_path, out_root):
    s = SHAPES.get(name) or BENCH_SHAPES[name]
    out = os.path.join(out_root, name)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config(s), f, indent=2)
    with open(os.path.join(out, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": 1, "eos_token_id": [2, 49154], "pad_token_id": 2}, f, indent=2)
    if name in SHAPES:
        write_safetensors(os.path.join(out, "model.safetensors"), weights(s))
    else:
        write_safetensors_bf16_streaming(os.path.join(out, "model.safetensors"), bench_specs(s), s["seed"])
    with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer_with_vlm_tokens(tokenizer_path), f, ensure_ascii=False)
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "GPT2Tokenizer", "bos_token": "<|im_start|>", "eos_token": "<end_of_utterance>",
                   "pad_token": "<|im_end|>", "unk_token": "<|endoftext|>", "add_prefix_space": False,
                   "model_max_length": 8192, "clean_up_tokenization_spaces": False,
                   "extra_special_tokens": {"fake_image_token": "<fake_token_around_image>", "image_token": "<image>",
                                            "end_of_utterance_token": "<end_of_utterance>",
                                            "global_image_token": "<global-img>"}}, f, indent=2)
    pre = {"image_processor_type": "SmolVLMImageProcessor", "do_convert_rgb": True, "do_resize": True,
           "size": {"longest_edge": s["longest_edge"]}, "resample": 1, "do_rescale": True,
           "rescale_factor": 1 / 255, "do_normalize": True, "image_mean": [0.5, 0.5, 0.5],
           "image_std": [0.5, 0.5, 0.5], "do_image_splitting": True,
           "max_image_size": {"longest_edge": s["tile"]}, "do_pad": True,
           "video_sampling": {"fps": 1, "max_frames": 64, "video_size": {"longest_edge": s["tile"]}}}
    with open(os.path.join(out, "preprocessor_config.json"), "w") as f:
        json.dump(pre, f, indent=2)
    with open(os.path.join(out, "processor_config.json"), "w") as f:
        json.dump({"processor_class": "SmolVLMProcessor", "image_seq_len": image_seq_len(s)}, f, indent=2)
    with open(os.path.join(out, "chat_template.json"), "w") as f:
        json.dump({"chat_template": CHAT_TEMPLATE}, f, indent=2)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokenizer", required=True, help="SmolLM2 tokenizer.json (the default model's)")
    ap.add_argument("--out", required=True, help="folder to create the checkpoint folders in")
    ap.add_argument("--bench", action="store_true", help="the full-size benchmark shapes instead (several GB, bf16)")
    args = ap.parse_args()
    for name in (BENCH_SHAPES if args.bench else SHAPES):
        print(build(name, args.tokenizer, args.out))


if __name__ == "__main__":
    main()
