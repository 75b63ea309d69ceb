#!/usr/bin/env python3
"""Golden outputs of Pillow's uint8 Lanczos resize, the filter transformers' SmolVLM image
processor uses (PIL path, no torchvision). Writes Tests/Fixtures/vision/resize_lanczos.json.

    python3 -m venv /tmp/pil && /tmp/pil/bin/pip install pillow==12.2.0
    /tmp/pil/bin/python scripts/make_resize_fixtures.py

Source images are computed from a formula (the Swift test computes the same pixels), so no
image file is committed. Outputs are stored as a 64-bit FNV-1a digest (and the bytes, base64,
when small).
"""
import base64
import json
import os

import PIL
from PIL import Image


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def pattern(kind, w, h):
    """RGB bytes, row-major. 'smooth': gradients with a little texture; 'edges': hard 8x8
    blocks of extreme values, which make Lanczos overshoot and exercise the clipping."""
    out = bytearray()
    for y in range(h):
        for x in range(w):
            for c in range(3):
                if kind == "smooth":
                    v = (x * 37 + y * 101 + c * 59 + ((x * y) % 13) * 17) % 256
                else:
                    v = 255 if ((x // 8) + (y // 8) + c) % 2 else 0
                out.append(v)
    return bytes(out)


CASES = [
    ("smooth", 37, 23, 80, 50),     # upscale both ways
    ("smooth", 300, 200, 37, 91),   # downscale both ways
    ("smooth", 64, 48, 64, 20),     # vertical pass only
    ("smooth", 50, 50, 17, 50),     # horizontal pass only
    ("smooth", 1, 1, 5, 3),         # a single pixel
    ("smooth", 200, 150, 200, 150), # identity: no pass
    ("edges", 96, 64, 41, 27),      # overshoot and clipping, downscale
    ("edges", 24, 16, 97, 61),      # overshoot and clipping, upscale
    ("smooth", 1000, 3, 364, 1),    # extreme aspect ratio
    ("smooth", 16, 3000, 2, 256),   # over 100x taller than wide: Pillow shrinks vertically first
    ("edges", 9, 1200, 5, 77),      # same rule, another shape
    ("edges", 513, 389, 384, 291),  # SmolVLM-like: longest edge to 384
]


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cases = []
    for kind, w, h, ow, oh in CASES:
        img = Image.frombytes("RGB", (w, h), pattern(kind, w, h))
        out = img.resize((ow, oh), resample=Image.Resampling.LANCZOS, reducing_gap=None).tobytes()
        case = {"pattern": kind, "width": w, "height": h, "out_width": ow, "out_height": oh,
                "fnv1a64": fnv1a64(out)}
        if len(out) <= 4096:
            case["bytes_b64"] = base64.b64encode(out).decode()
        cases.append(case)
    doc = {"generator": f"Pillow {PIL.__version__} Image.resize(LANCZOS, reducing_gap=None), RGB uint8",
           "cases": cases}
    path = os.path.join(root, "Tests/Fixtures/vision/resize_lanczos.json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"wrote {path}: {len(cases)} cases")


if __name__ == "__main__":
    main()
