#!/usr/bin/env python3
"""Writes a deterministic 1024x768 RGB PNG (smooth gradients and edges; Python stdlib only)
for the vision benchmarks:  python3 Benchmarks/make_bench_image.py OUT.png [WIDTH HEIGHT]"""
import math
import struct
import sys
import zlib


def main():
    out = sys.argv[1]
    w, h = (int(sys.argv[2]), int(sys.argv[3])) if len(sys.argv) > 3 else (1024, 768)
    rows = []
    for y in range(h):
        row = bytearray(b"\x00")
        for x in range(w):
            r = int(127 + 120 * math.sin(x / 37.0 + y / 91.0))
            g = int(127 + 120 * math.sin(x / 53.0 - y / 29.0))
            b = 255 if (x // 64 + y // 64) % 2 else 40
            row += bytes((r, g, b))
        rows.append(bytes(row))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(b"".join(rows), 6)) + chunk(b"IEND", b"")
    with open(out, "wb") as f:
        f.write(png)


if __name__ == "__main__":
    main()
