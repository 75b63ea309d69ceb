#!/usr/bin/env python3
"""Writes a random-weight bf16 checkpoint with the exact shape of SmolLM3-3B, for benchmarks.

The folder is a normal Hugging Face model folder:
  config.json, generation_config.json, tokenizer.json, tokenizer_config.json
      copied at run time from the reference folder (default /work/shared/models/SmolLM3-3B);
      chat_template.jinja and special_tokens_map.json are copied too when present.
  model-0000N-of-0000M.safetensors + model.safetensors.index.json
      same tensor names and the same shard assignment as the reference index;
      shapes derived from config.json. Weights ~ N(0, 0.02), norm weights ~ 1.

Pure numpy; tensors are generated in chunks and streamed to disk shard by shard, so memory
stays low (a few hundred MB) while writing ~6.2 GB. The output is deterministic for a seed.

  python3 scripts/make_bench_checkpoint.py                      # -> Models/bench-smollm3-3b-shape
  python3 scripts/make_bench_checkpoint.py --out /tmp/x --seed 1
"""
import argparse
import json
import os
import shutil
import struct
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_REF = "/work/shared/models/SmolLM3-3B"
DEFAULT_OUT = os.path.join(ROOT, "Models", "bench-smollm3-3b-shape")
COPY_REQUIRED = ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json"]
COPY_OPTIONAL = ["chat_template.jinja", "special_tokens_map.json"]
CHUNK = 1 << 24  # elements generated at a time (64 MB of float32)


def tensor_shape(name, cfg):
    """Shape of a Llama/SmolLM3 tensor from its HF name and config.json."""
    h = cfg["hidden_size"]
    n_heads = cfg["num_attention_heads"]
    n_kv = cfg.get("num_key_value_heads", n_heads)
    hd = cfg.get("head_dim") or h // n_heads
    inter = cfg["intermediate_size"]
    vocab = cfg["vocab_size"]
    if name in ("model.embed_tokens.weight", "lm_head.weight"):
        return (vocab, h)
    if name == "model.norm.weight":
        return (h,)
    suffix = name.split(".", 3)[3] if name.startswith("model.layers.") else None
    shapes = {
        "input_layernorm.weight": (h,),
        "post_attention_layernorm.weight": (h,),
        "self_attn.q_proj.weight": (n_heads * hd, h),
        "self_attn.k_proj.weight": (n_kv * hd, h),
        "self_attn.v_proj.weight": (n_kv * hd, h),
        "self_attn.o_proj.weight": (h, n_heads * hd),
        "mlp.gate_proj.weight": (inter, h),
        "mlp.up_proj.weight": (inter, h),
        "mlp.down_proj.weight": (h, inter),
    }
    if suffix in shapes:
        return shapes[suffix]
    if suffix is not None and suffix.startswith("self_attn.") and suffix.endswith("_proj.bias"):
        proj = suffix[len("self_attn."):-len(".bias")]
        return (shapes[f"self_attn.{proj}.weight"][0],)
    raise SystemExit(f"make_bench_checkpoint: don't know the shape of tensor {name!r}")


def is_norm(name):
    return name.endswith("norm.weight")


def f32_to_bf16(a):
    """float32 array -> uint16 bf16 bits, round to nearest even (no NaNs in our data)."""
    u = a.view(np.uint32)
    rounding = ((u >> 16) & 1) + np.uint32(0x7FFF)
    return ((u + rounding) >> 16).astype(np.uint16)


def write_shard(path, names, cfg, rng, std):
    header = {"__metadata__": {"format": "pt"}}
    offset = 0
    shapes = {}
    for n in names:
        shape = tensor_shape(n, cfg)
        shapes[n] = shape
        nbytes = int(np.prod(shape)) * 2
        header[n] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    hjson = json.dumps(header, separators=(",", ":")).encode()
    hjson += b" " * ((8 - len(hjson) % 8) % 8)  # keep the data 8-byte aligned
    tmp = path + ".part"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for n in names:
            count = int(np.prod(shapes[n]))
            done = 0
            while done < count:
                k = min(CHUNK, count - done)
                x = rng.standard_normal(k, dtype=np.float32)
                x *= std
                if is_norm(n):
                    x += 1.0
                f.write(f32_to_bf16(x).tobytes())
                done += k
    os.replace(tmp, path)
    return offset


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ref", default=DEFAULT_REF, help="reference HF folder (config, index, tokenizer)")
    ap.add_argument("--out", default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--std", type=float, default=0.02)
    ap.add_argument("--force", action="store_true", help="rewrite even if the output looks complete")
    ap.add_argument("--small", action="store_true",
                    help="a small SmolLM3-shaped model instead (8 layers, hidden 512, 8/4 heads of 64, MLP 1536, the real "
                         "vocabulary and template; ~92M parameters) for quick serving benchmarks; default --out "
                         "Models/bench-smollm3-small")
    args = ap.parse_args()
    if args.small and args.out == DEFAULT_OUT:
        args.out = os.path.join(ROOT, "Models", "bench-smollm3-small")

    with open(os.path.join(args.ref, "config.json")) as f:
        cfg = json.load(f)
    with open(os.path.join(args.ref, "model.safetensors.index.json")) as f:
        index = json.load(f)
    weight_map = index["weight_map"]
    if args.small:
        layers = 8
        cfg.update(hidden_size=512, num_attention_heads=8, num_key_value_heads=4, head_dim=64, intermediate_size=1536,
                   num_hidden_layers=layers, max_window_layers=layers)
        for key in ("no_rope_layers", "layer_types"):
            if isinstance(cfg.get(key), list):
                cfg[key] = cfg[key][:layers]
        keep = {}
        for n in weight_map:
            if n.startswith("model.layers.") and int(n.split(".")[2]) >= layers:
                continue
            keep[n] = "model-00001-of-00001.safetensors"
        weight_map = keep
        index = {"metadata": {}, "weight_map": weight_map}

    shards = {}
    for name, shard in weight_map.items():
        shards.setdefault(shard, []).append(name)
    expected_total = sum(int(np.prod(tensor_shape(n, cfg))) * 2 for n in weight_map)
    ref_total = index.get("metadata", {}).get("total_size")
    if ref_total is not None and int(ref_total) != expected_total:
        sys.exit(f"make_bench_checkpoint: shapes from config give {expected_total} bytes, index says {ref_total}")

    os.makedirs(args.out, exist_ok=True)
    out_index = os.path.join(args.out, "model.safetensors.index.json")
    if not args.force and os.path.exists(out_index):
        sizes_ok = True
        with open(out_index) as f:
            old = json.load(f)
        for shard in shards:
            p = os.path.join(args.out, shard)
            if not os.path.exists(p):
                sizes_ok = False
        if sizes_ok and old.get("weight_map") == weight_map and old.get("metadata", {}).get("seed") == args.seed:
            print(f"[make_bench_checkpoint] {args.out} is already complete (use --force to rewrite)")
            return

    for fn in COPY_REQUIRED:
        shutil.copyfile(os.path.join(args.ref, fn), os.path.join(args.out, fn))
    if args.small:
        with open(os.path.join(args.out, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
    for fn in COPY_OPTIONAL:
        src = os.path.join(args.ref, fn)
        if os.path.exists(src):
            shutil.copyfile(src, os.path.join(args.out, fn))

    rng = np.random.default_rng(args.seed)
    t0 = time.time()
    total = 0
    for shard in sorted(shards):
        names = sorted(shards[shard])
        t1 = time.time()
        nbytes = write_shard(os.path.join(args.out, shard), names, cfg, rng, args.std)
        total += nbytes
        print(f"[make_bench_checkpoint] {shard}: {len(names)} tensors, {nbytes / 1e9:.2f} GB "
              f"in {time.time() - t1:.1f} s", flush=True)

    meta = {"total_size": total, "total_parameters": total // 2, "random_weights": True,
            "seed": args.seed, "std": args.std}
    with open(out_index + ".part", "w") as f:
        json.dump({"metadata": meta, "weight_map": weight_map}, f, indent=2)
    os.replace(out_index + ".part", out_index)
    print(f"[make_bench_checkpoint] wrote {args.out}: {total / 1e9:.2f} GB of bf16 "
          f"({total // 2:,} parameters) in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
