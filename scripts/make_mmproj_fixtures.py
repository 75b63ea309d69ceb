#!/usr/bin/env python3
"""mmproj GGUF fixtures (developer-only; CI reads the committed files).

Converts the tiny SmolVLM checkpoints (scripts/make_vlm_checkpoint.py builds them in Models/,
deterministically from numpy's PCG64) with llama.cpp's own converter, `convert_hf_to_gguf.py
--mmproj --outtype f32`, to Tests/Fixtures/gguf/<shape>-mmproj-f32.gguf: the vision tower and
connector as llama.cpp ships SmolVLM2's projector files, written by an independent tool.
`GGUFVisionTests` loads them next to the folders and must get the folders' image features.

    python3 scripts/make_mmproj_fixtures.py --llama-cpp /work/bench-work/llama_cpp_python-0.3.36/vendor/llama.cpp \\
        --python /work/bench-work/venv/bin/python

The converter needs torch, transformers and sentencepiece (Benchmarks/build_llama_cpp.sh makes that venv).
"""
import argparse
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHAPES = ["smolvlm-256m-shape", "smolvlm-2.2b-shape"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--llama-cpp", required=True, help="llama.cpp source tree (convert_hf_to_gguf.py)")
    ap.add_argument("--python", default="python3", help="a Python with the converter's requirements")
    a = ap.parse_args()
    for shape in SHAPES:
        src = ROOT / "Models" / shape
        if not (src / "config.json").exists():
            raise SystemExit(f"{src} missing: python3 scripts/make_vlm_checkpoint.py --tokenizer Models/SmolLM2-135M-Instruct/tokenizer.json --out Models")
        out = ROOT / "Tests" / "Fixtures" / "gguf" / f"{shape}-mmproj-f32.gguf"
        subprocess.run([a.python, str(Path(a.llama_cpp) / "convert_hf_to_gguf.py"), str(src), "--mmproj", "--outtype", "f32",
                        "--outfile", str(out)], check=True)
        print("wrote", out, out.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
