#!/usr/bin/env python3
"""Golden tiles from transformers' SmolVLM image processor (PIL path, Lanczos), for
Tests/SmolVisionTests: per image the grid (rows, cols), the pixel_values shape and a 64-bit
FNV-1a digest of every tile's float32 bytes. Writes Tests/Fixtures/vision/smolvlm_tiles.json.

    python3 -m venv --system-site-packages /tmp/vlm && /tmp/vlm/bin/pip install pillow==12.2.0 num2words
    /tmp/vlm/bin/python scripts/make_vlm_tile_fixtures.py      # transformers 5.23.0, no torchvision

Pillow is pinned to 12.2.0: Pillow 13.0 runs the vertical pass first for some sizes, which
changes some pixels by a few levels (see Sources/CSmolKernels/resample.c).
Images come from a formula that the Swift test computes too.
"""
import json
import os

import numpy as np
import PIL
import transformers
from PIL import Image
from transformers.models.smolvlm.image_processing_pil_smolvlm import SmolVLMImageProcessorPil

CONFIGS = {
    # SmolVLM2-2.2B: 1536 / 384; 256M and 500M: 2048 / 512; "A0": no splitting.
    "A": dict(size={"longest_edge": 1536}, max_image_size={"longest_edge": 384}, do_image_splitting=True),
    "B": dict(size={"longest_edge": 2048}, max_image_size={"longest_edge": 512}, do_image_splitting=True),
    "A0": dict(size={"longest_edge": 1536}, max_image_size={"longest_edge": 384}, do_image_splitting=False),
}
CASES = [("A", 500, 300), ("A", 13, 7), ("A", 1, 1), ("A", 1000, 200), ("B", 777, 1234), ("A0", 300, 500)]


def pattern(w, h):
    x = np.arange(w)[None, :, None]
    y = np.arange(h)[:, None, None]
    c = np.arange(3)[None, None, :]
    return ((x * 37 + y * 101 + c * 59 + ((x * y) % 13) * 17) % 256).astype(np.uint8)


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = []
    for cfg, w, h in CASES:
        p = SmolVLMImageProcessorPil(image_mean=[0.5] * 3, image_std=[0.5] * 3, **CONFIGS[cfg])
        r = p(images=[[Image.fromarray(pattern(w, h), "RGB")]], return_tensors="np", return_row_col_info=True)
        pv = r["pixel_values"][0]
        out.append({"cfg": cfg, "w": w, "h": h, "rows": int(r["rows"][0][0]), "cols": int(r["cols"][0][0]),
                    "shape": list(pv.shape), "tiles": [fnv1a64(t.astype("<f4").tobytes()) for t in pv]})
        print(cfg, w, h, pv.shape)
    # A batch of two samples with different numbers of images and tiles: padded with all-zero
    # tiles (mask 0) up to the largest sample.
    p = SmolVLMImageProcessorPil(image_mean=[0.5] * 3, image_std=[0.5] * 3, **CONFIGS["A"])
    samples = [[(500, 300), (13, 7)], [(40, 30)]]
    r = p(images=[[Image.fromarray(pattern(w, h), "RGB") for w, h in s] for s in samples], return_tensors="np")
    pv, mask = r["pixel_values"], r["pixel_attention_mask"]
    batch = {"samples": samples, "shape": list(pv.shape), "mask_shape": list(mask.shape), "dtype": str(pv.dtype),
             "tiles": [[fnv1a64(t.astype("<f4").tobytes()) for t in sample] for sample in pv],
             "mask_sums": [[int(m.sum()) for m in sample] for sample in mask]}
    print("batch", pv.shape, mask.shape)
    path = os.path.join(root, "Tests/Fixtures/vision/smolvlm_tiles.json")
    with open(path, "w") as f:
        json.dump({"generator": f"transformers {transformers.__version__} SmolVLMImageProcessorPil, Pillow {PIL.__version__}",
                   "cases": out, "batch": batch}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
