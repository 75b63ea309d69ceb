#!/usr/bin/env python3
"""Image-decoding fixtures for Tests/SmolVisionTests/DecoderTests: small PNG and JPEG files of
many shapes and formats (written to Tests/Fixtures/vision/images/), and what transformers'
`load_image` makes of each (Pillow: EXIF transpose, then convert("RGB")): size and a 64-bit
FNV-1a digest of the RGB bytes, plus the SmolVLM processor's pixel_values digests for a few.
Also the bad files the decoder must refuse, each with the error it must give.

    python3 -m venv /tmp/vlm && /tmp/vlm/bin/pip install -r scripts/requirements-fixtures.txt num2words
    /tmp/vlm/bin/python scripts/make_image_fixtures.py

PNG variants Pillow cannot write (16-bit colour, low bit depths, interlaced, eXIf) come from the
small encoder below, so every colour type and depth is covered.
"""
import io
import json
import os
import struct
import zlib

import numpy as np
import PIL
import transformers
from PIL import Image
from transformers.image_utils import load_image
from transformers.models.smolvlm.image_processing_pil_smolvlm import SmolVLMImageProcessorPil

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests/Fixtures/vision/images")


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def pattern(w, h, channels=3, depth=8, seed=0, noise=0.1):
    """Smooth gradients with some texture, so JPEG and resampling have work to do."""
    rng = np.random.default_rng(seed)
    x = np.arange(w)[None, :, None] / max(w - 1, 1)
    y = np.arange(h)[:, None, None] / max(h - 1, 1)
    c = np.arange(channels)[None, None, :]
    base = 0.5 + 0.4 * np.sin(6.0 * x + 4.0 * y * (c + 1) + c) + noise * rng.standard_normal((h, w, channels))
    top = (1 << depth) - 1
    return np.clip(np.round(base * top), 0, top).astype(np.uint16 if depth == 16 else np.uint8)


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def png_bytes(samples, color_type, depth, palette=None, trns=None, exif=None, interlace=False, width=None, height=None):
    """A PNG from an array of samples [h, w, channels] (values already in range for `depth`)."""
    h, w = samples.shape[:2]

    def pack_rows(a):
        rows = []
        for row in a:
            flat = row.reshape(-1).astype(np.uint32)
            if depth == 16:
                raw = flat.astype(">u2").tobytes()
            elif depth == 8:
                raw = flat.astype(np.uint8).tobytes()
            else:
                per = 8 // depth
                padded = np.concatenate([flat, np.zeros((-len(flat)) % per, np.uint32)])
                groups = padded.reshape(-1, per)
                shifts = np.array([8 - depth * (i + 1) for i in range(per)], np.uint32)
                raw = (groups << shifts).sum(axis=1).astype(np.uint8).tobytes()
            rows.append(b"\x00" + raw)
        return b"".join(rows)

    if interlace:
        body = b""
        for x0, y0, dx, dy in ADAM7:
            sub = samples[y0::dy, x0::dx]
            if sub.shape[0] and sub.shape[1]:
                body += pack_rows(sub)
    else:
        body = pack_rows(samples)
    ihdr = struct.pack(">IIBBBBB", width if width is not None else w, height if height is not None else h,
                       depth, color_type, 0, 0, 1 if interlace else 0)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
    if exif is not None:
        out += chunk(b"eXIf", exif)
    if palette is not None:
        out += chunk(b"PLTE", bytes(np.asarray(palette, np.uint8).reshape(-1)))
    if trns is not None:
        out += chunk(b"tRNS", trns)
    return out + chunk(b"IDAT", zlib.compress(body, 9)) + chunk(b"IEND", b"")


def tiff_orientation(value):
    """A minimal little-endian TIFF block with one IFD0 entry: Orientation."""
    return b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 1) + struct.pack("<HHII", 0x0112, 3, 1, value) + b"\x00" * 4


def pil_bytes(img, fmt, **kw):
    b = io.BytesIO()
    img.save(b, fmt, **kw)
    return b.getvalue()


def good_images():
    rgb = lambda w, h, s=0, noise=0.1: Image.fromarray(pattern(w, h, seed=s, noise=noise), "RGB")
    pal = rgb(23, 15, 7).quantize(16)
    pal_t = pal.copy()
    pal_t.info["transparency"] = 3
    gray16 = pattern(21, 13, 1, 16, seed=3)
    gray16[0, :5, 0] = [0, 1, 200, 255, 256]
    yield "rgb_33x17.png", pil_bytes(rgb(33, 17), "PNG")
    yield "rgb_1x1.png", pil_bytes(rgb(1, 1, 1), "PNG")
    yield "rgb_2x2.png", pil_bytes(rgb(2, 2, 2), "PNG")
    yield "rgb_wide_4000x16.png", pil_bytes(rgb(4000, 16, 3, 0), "PNG")
    yield "rgb_tall_16x3000.png", pil_bytes(rgb(16, 3000, 4, 0), "PNG")
    yield "gray_20x12.png", pil_bytes(Image.fromarray(pattern(20, 12, 1, seed=5)[:, :, 0], "L"), "PNG")
    yield "gray_alpha_18x10.png", pil_bytes(Image.fromarray(pattern(18, 10, 2, seed=6), "LA"), "PNG")
    yield "rgba_19x14.png", pil_bytes(Image.fromarray(pattern(19, 14, 4, seed=7), "RGBA"), "PNG")
    yield "palette_23x15.png", pil_bytes(pal, "PNG")
    yield "palette_trns_23x15.png", pil_bytes(pal_t, "PNG")
    yield "gray16_21x13.png", png_bytes(gray16, 0, 16)
    yield "gray_alpha16_17x9.png", png_bytes(pattern(17, 9, 2, 16, seed=8), 4, 16)
    yield "rgb16_19x11.png", png_bytes(pattern(19, 11, 3, 16, seed=9), 2, 16)
    yield "rgba16_15x12.png", png_bytes(pattern(15, 12, 4, 16, seed=10), 6, 16)
    yield "gray1_27x9.png", png_bytes(pattern(27, 9, 1, 1, seed=11), 0, 1)
    yield "gray2_13x7.png", png_bytes(pattern(13, 7, 1, 2, seed=12), 0, 2)
    yield "gray4_11x6.png", png_bytes(pattern(11, 6, 1, 4, seed=13), 0, 4)
    yield "palette4_trns_14x9.png", png_bytes(pattern(14, 9, 1, 4, seed=14) % 5, 3, 4,
                                              palette=[[255, 0, 0], [0, 255, 0], [0, 0, 255], [9, 99, 199], [250, 250, 0]],
                                              trns=bytes([255, 0, 128]))
    yield "rgb_interlaced_37x29.png", png_bytes(pattern(37, 29, 3, 8, seed=15), 2, 8, interlace=True)
    yield "gray16_interlaced_9x10.png", png_bytes(pattern(9, 10, 1, 16, seed=16) // 200, 0, 16, interlace=True)
    for o in range(2, 9):
        yield f"rgb_exif{o}_5x3.png", png_bytes(pattern(5, 3, 3, 8, seed=17), 2, 8, exif=tiff_orientation(o))
    yield "rgb_64x48.jpg", pil_bytes(rgb(64, 48, 18), "JPEG", quality=90)
    yield "rgb_odd_37x23.jpg", pil_bytes(rgb(37, 23, 19), "JPEG", quality=75)
    yield "rgb_444_30x20.jpg", pil_bytes(rgb(30, 20, 20), "JPEG", quality=95, subsampling=0)
    yield "rgb_progressive_50x30.jpg", pil_bytes(rgb(50, 30, 21), "JPEG", quality=85, progressive=True)
    yield "gray_40x25.jpg", pil_bytes(Image.fromarray(pattern(40, 25, 1, seed=22)[:, :, 0], "L"), "JPEG")
    yield "cmyk_26x18.jpg", pil_bytes(Image.fromarray(pattern(26, 18, 4, seed=23), "CMYK"), "JPEG", quality=90)
    exif = Image.Exif()
    exif[0x0112] = 6
    yield "rgb_exif6_24x16.jpg", pil_bytes(rgb(24, 16, 24), "JPEG", quality=90, exif=exif.tobytes())
    exif[0x0112] = 5
    yield "rgb_exif5_21x13.jpg", pil_bytes(rgb(21, 13, 25), "JPEG", quality=90, exif=exif.tobytes())


def bad_images(good):
    png = good["rgb_33x17.png"]
    jpg = good["rgb_64x48.jpg"]
    yield "bad_truncated.png", png[: len(png) // 2], "truncated"
    yield "bad_truncated.jpg", jpg[: len(jpg) * 2 // 3], "truncated"
    yield "bad_huge_dimensions.png", png_bytes(np.zeros((1, 1, 3), np.uint8), 2, 8, width=100000, height=100000), "tooLarge"
    yield "bad_zero_width.png", png_bytes(np.zeros((1, 1, 3), np.uint8), 2, 8, width=0, height=1), "zeroSize"
    corrupt = bytearray(png)
    idat = corrupt.index(b"IDAT")
    corrupt[idat + 10] ^= 0xFF
    yield "bad_crc.png", bytes(corrupt), "corrupt"
    yield "bad_not_an_image.png", b"This is a text file that claims to be a PNG.\n", "unknownFormat"
    yield "bad_empty.jpg", b"", "empty"


def main():
    os.makedirs(OUT, exist_ok=True)
    proc = SmolVLMImageProcessorPil(image_mean=[0.5] * 3, image_std=[0.5] * 3, size={"longest_edge": 1536},
                                    max_image_size={"longest_edge": 384}, do_image_splitting=True)
    good = dict(good_images())
    cases = []
    for name, data in good.items():
        path = os.path.join(OUT, name)
        with open(path, "wb") as f:
            f.write(data)
        img = load_image(path)
        arr = np.asarray(img)
        assert img.mode == "RGB", (name, img.mode)
        case = {"file": name, "mode": Image.open(path).mode, "w": img.width, "h": img.height,
                "rgb": fnv1a64(arr.tobytes())}
        if name in ("rgb_33x17.png", "gray16_21x13.png", "rgba_19x14.png", "rgb_64x48.jpg", "cmyk_26x18.jpg"):
            pv = proc(images=[[img]], return_tensors="np")["pixel_values"][0]
            case["tiles"] = [fnv1a64(t.astype("<f4").tobytes()) for t in pv]
        cases.append(case)
        print(name, case["mode"], img.size)
    bad = []
    for name, data, error in bad_images(good):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        try:
            load_image(os.path.join(OUT, name)).load()
            pil = "loaded"
        except Exception as e:  # what Pillow says, for the record
            pil = type(e).__name__
        bad.append({"file": name, "error": error, "pillow": pil})
    with open(os.path.join(ROOT, "Tests/Fixtures/vision/decoded_images.json"), "w") as f:
        json.dump({"generator": f"transformers {transformers.__version__} load_image, Pillow {PIL.__version__}; "
                                "tiles: SmolVLMImageProcessorPil 1536/384, mean/std 0.5",
                   "cases": cases, "bad": bad}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
