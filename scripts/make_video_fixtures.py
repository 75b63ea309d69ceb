#!/usr/bin/env python3
"""SmolVLM2 video sampling and video prompt goldens from transformers (its frame sampling and
prompt code are pure Python; the frame pixels need torchvision, which we keep out):
per case the sampled frame indices and the exact text that replaces `<video>`.
Writes Tests/Fixtures/vision/video_prompts.json.

    /tmp/vlm/bin/python scripts/make_video_fixtures.py    # transformers 5.23.0, num2words
"""
import json
import os

import numpy as np
import transformers
from transformers.models.smolvlm.processing_smolvlm import SmolVLMProcessor
from transformers.models.smolvlm.video_processing_smolvlm import SmolVLMVideoProcessor
from transformers.video_utils import VideoMetadata

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# (total frames, video fps, sampling fps, max frames)
CASES = [(300, 30.0, 1, 64), (2400, 24.0, 1, 64), (2100, 30.0, 1, 64), (5, 1.0, 1, 64), (1, 25.0, 1, 64),
         (90, 29.97, 1, 64), (4500, 25.0, 1, 64), (100000, 30.0, 1, 64), (240, 24.0, 2, 8), (61, 1.0, 1, 64),
         (3, 10.0, 1, 64), (7200, 24.0, 0.5, 16)]


def main():
    sampler = SmolVLMVideoProcessor.__new__(SmolVLMVideoProcessor)  # sample_frames reads only its arguments
    proc = SmolVLMProcessor.__new__(SmolVLMProcessor)
    proc.image_seq_len, proc.image_token = 2, "<image>"
    proc.fake_image_token, proc.global_image_token = "<fake_token_around_image>", "<global-img>"
    out = []
    for total, vfps, fps, maxf in CASES:
        meta = VideoMetadata(total_num_frames=total, fps=vfps, duration=total / vfps)
        idx = [int(i) for i in sampler.sample_frames(meta, num_frames=maxf, fps=fps)]
        meta.frames_indices = np.array(idx)
        text = proc.replace_video_token({"pixel_values": np.zeros((1, len(idx))), "video_metadata": [meta]}, 0)
        out.append({"total": total, "video_fps": vfps, "fps": fps, "max_frames": maxf, "indices": idx,
                    "timestamps": [float(t) for t in meta.timestamps], "duration": total / vfps, "text": text})
        print(total, vfps, fps, maxf, len(idx), text[:90].replace("\n", "|"))
    with open(os.path.join(ROOT, "Tests/Fixtures/vision/video_prompts.json"), "w") as f:
        json.dump({"generator": f"transformers {transformers.__version__} SmolVLMVideoProcessor.sample_frames, "
                                "SmolVLMProcessor.replace_video_token (image_seq_len 2)", "cases": out}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
