#!/usr/bin/env python3
"""Reference outputs of transformers' SmolVLM for the tiny checkpoints that
scripts/make_vlm_checkpoint.py builds: per case the rendered prompt, the expanded prompt's
token ids, every tile's pixel_values (digest), sampled vision-encoder and connector outputs,
sampled last-position logits and greedy tokens. Writes Tests/Fixtures/vlm/<shape>.json.

    python3 -m venv /tmp/vlm && /tmp/vlm/bin/pip install -r scripts/requirements-fixtures.txt num2words
    /tmp/vlm/bin/python scripts/make_vlm_fixtures.py     # needs Models/SmolLM2-135M-Instruct

No torchvision (so the PIL/Lanczos image path is the one compared): SmolVLMProcessor's class
check wants a video processor, which needs torchvision, so it is built with none.
Images are the decoder fixtures (Tests/Fixtures/vision/images), read with load_image.
"""
import json
import os
import sys
import tempfile

import jinja2
import numpy as np
import PIL
import PIL.Image
import torch
import transformers
from transformers import PreTrainedTokenizerFast, SmolVLMForConditionalGeneration
from transformers.image_utils import load_image
from transformers.models.smolvlm.image_processing_pil_smolvlm import SmolVLMImageProcessorPil
from transformers.models.smolvlm.processing_smolvlm import SmolVLMProcessor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import make_vlm_checkpoint as ck  # noqa: E402

IMAGES = os.path.join(ROOT, "Tests/Fixtures/vision/images")
N_SAMPLES = 192
GREEDY = 6

CASES = {
    "smolvlm-256m-shape": [
        ("one image", ["rgb_33x17.png"], "Describe this image."),
        ("two images", ["palette_23x15.png", "rgb_odd_37x23.jpg"], "What differs between these?"),
        ("1x1", ["rgb_1x1.png"], "What is it?"),
        ("2x2", ["rgb_2x2.png"], "Colours?"),
        ("very wide", ["rgb_wide_4000x16.png"], "Read it."),
        ("very tall", ["rgb_tall_16x3000.png"], "Read it."),
        ("gray alpha", ["gray_alpha_18x10.png"], "Hi"),
    ],
    "smolvlm-2.2b-shape": [
        ("one jpeg", ["rgb_64x48.jpg"], "Describe this image."),
        ("cmyk", ["cmyk_26x18.jpg"], "What is shown?"),
        ("16-bit gray", ["gray16_21x13.png"], "What is shown?"),
        ("exif rotated + progressive", ["rgb_exif6_24x16.jpg", "rgb_progressive_50x30.jpg"], "Compare."),
    ],
}


# Video: three decoder fixtures as frames at 0, 1 and 2 s of a 3 s clip. The prompt and ids come
# from transformers (replace_video_token); the frame pixels cannot (its video processor needs
# torchvision), so they are made as SmolRuntime makes them: longest edge to video_size, then
# squashed to one tile, both with PIL's Lanczos, then rescaled and normalised as images.
VIDEO = {"smolvlm-2.2b-shape": ("video frames", ["rgb_64x48.jpg", "rgb_odd_37x23.jpg", "gray_40x25.jpg"], "What happens?")}


def longest_edge_size(h, w, longest):
    aspect = w / h
    if w >= h:
        w = longest
        h = int(w / aspect)
        h += h % 2
    else:
        h = longest
        w = int(h * aspect)
        w += w % 2
    return max(h, 1), max(w, 1)


def frame_pixels(img, video_edge, tile):
    h, w = longest_edge_size(img.height, img.width, video_edge)
    img = img.resize((w, h), PIL.Image.LANCZOS).resize((tile, tile), PIL.Image.LANCZOS)
    x = (np.asarray(img).astype(np.float64) * (1 / 255)).astype(np.float32)
    x = (x - np.float32(0.5)) / np.float32(0.5)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))


class NoTVSmolVLMProcessor(SmolVLMProcessor):
    def check_argument_for_proper_class(self, argument_name, argument):
        return None


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def sampled(t):
    flat = t.reshape(-1).detach().double().numpy()
    idx = sorted(set(np.linspace(0, flat.size - 1, N_SAMPLES).astype(int).tolist()))
    return {"shape": list(t.shape), "indices": idx, "values": [float(flat[i]) for i in idx],
            "abs_sum": float(np.abs(flat).sum())}


def main():
    tok_src = os.path.join(ROOT, "Models/SmolLM2-135M-Instruct/tokenizer.json")
    out_dir = os.path.join(ROOT, "Tests/Fixtures/vlm")
    os.makedirs(out_dir, exist_ok=True)
    tmp = tempfile.mkdtemp()
    template = jinja2.Environment().from_string(ck.CHAT_TEMPLATE)
    for shape, cases in CASES.items():
        folder = ck.build(shape, tok_src, tmp)
        cfg = json.load(open(os.path.join(folder, "preprocessor_config.json")))
        seq = json.load(open(os.path.join(folder, "processor_config.json")))["image_seq_len"]
        ip = SmolVLMImageProcessorPil(**{k: v for k, v in cfg.items() if k not in ("image_processor_type", "video_sampling")})
        tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(folder, "tokenizer.json"))
        proc = NoTVSmolVLMProcessor(image_processor=ip, tokenizer=tok, video_processor=None, image_seq_len=seq)
        model = SmolVLMForConditionalGeneration.from_pretrained(folder, dtype=torch.float32).eval()
        sd = model.state_dict()
        probes = {}
        for name in ["model.text_model.embed_tokens.weight", "lm_head.weight",
                     "model.vision_model.embeddings.patch_embedding.weight",
                     "model.connector.modality_projection.proj.weight"]:
            flat = sd[name].reshape(-1)
            idx = [0, 1, 7, int(flat.numel()) // 2, int(flat.numel()) - 1]
            probes[name] = {"indices": idx, "values": [float(flat[i]) for i in idx]}
        out_cases = []
        for label, files, question in cases:
            messages = [{"role": "user", "content": [{"type": "image"} for _ in files] + [{"type": "text", "text": question}]}]
            text = template.render(messages=messages, add_generation_prompt=True)
            images = [load_image(os.path.join(IMAGES, f)) for f in files]
            inputs = proc(text=[text], images=[images], return_tensors="pt")
            ids = inputs["input_ids"][0].tolist()
            pv = inputs["pixel_values"][0]
            with torch.no_grad():
                vis = model.model.vision_model(pixel_values=pv).last_hidden_state
                conn = model.model.connector(vis)
                out = model(**inputs)
                logits = out.logits[0, -1]
                greedy, margins, cur = [], [], dict(inputs)
                for _ in range(GREEDY):
                    lg = model(**cur).logits[0, -1]
                    top = torch.topk(lg, 2)
                    margins.append(float(top.values[0] - top.values[1]))
                    nxt = int(top.indices[0])
                    greedy.append(nxt)
                    cur["input_ids"] = torch.cat([cur["input_ids"], torch.tensor([[nxt]])], 1)
                    cur["attention_mask"] = torch.ones_like(cur["input_ids"])
            assert min(margins) > 2e-3, f"{shape} {label}: greedy margin {min(margins)} too small to compare"
            top5 = torch.topk(logits, 5)
            out_cases.append({
                "label": label, "images": files, "question": question, "text": text,
                "input_ids": ids, "image_token_count": ids.count(49153),
                "tiles": [fnv1a64(t.numpy().astype("<f4").tobytes()) for t in pv],
                "pixel_attention_mask_sum": int(inputs["pixel_attention_mask"].sum()),
                "vision_tile0": sampled(vis[0]), "connector": sampled(conn),
                "logits": sampled(logits), "top5": [int(i) for i in top5.indices],
                "greedy": greedy, "greedy_min_margin": min(margins),
            })
            print(shape, label, len(ids), tuple(pv.shape), greedy, f"margin {min(margins):.4f}")
        # A padded tile (the processor never makes one, but transformers' model takes them): the
        # first case's tile 1 with only its top-left rows x cols kept, through the vision tower
        # with the patch mask transformers derives from the pixel mask.
        first = out_cases[0]
        images = [load_image(os.path.join(IMAGES, f)) for f in cases[0][1]]
        text0 = template.render(messages=[{"role": "user", "content": [{"type": "image"} for _ in cases[0][1]] +
                                           [{"type": "text", "text": cases[0][2]}]}], add_generation_prompt=True)
        pv0 = proc(text=[text0], images=[images], return_tensors="pt")["pixel_values"][0][:2].clone()
        size = pv0.shape[-1]
        rows, cols = size * 5 // 8 + 1, size // 3 + 2
        pix_mask = torch.zeros((2, size, size), dtype=torch.bool)
        pix_mask[0] = True
        pix_mask[1, :rows, :cols] = True
        pv0[1][:, ~pix_mask[1]] = 0
        patch = model.config.vision_config.patch_size
        sub = pix_mask.unfold(1, patch, patch).unfold(2, patch, patch)
        patch_mask = sub.sum(dim=(-1, -2)) > 0
        with torch.no_grad():
            emb_pos = model.model.vision_model.embeddings
            vis_p = model.model.vision_model(pixel_values=pv0, patch_attention_mask=patch_mask).last_hidden_state
        assert first["label"] == cases[0][0]
        padded = {"case": first["label"], "tiles": [0, 1], "valid_rows": rows, "valid_cols": cols,
                  "patch_rows": int(patch_mask[1, :, 0].sum()), "patch_cols": int(patch_mask[1, 0, :].sum()),
                  "full_tile": sampled(vis_p[0]), "padded_tile": sampled(vis_p[1])}
        print(shape, "padded tile", rows, cols, padded["patch_rows"], padded["patch_cols"])
        if shape in VIDEO:
            from transformers.video_utils import VideoMetadata
            label, files, question = VIDEO[shape]
            messages = [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": question}]}]
            text = template.render(messages=messages, add_generation_prompt=True)
            meta = VideoMetadata(total_num_frames=len(files), fps=1.0, duration=float(len(files)),
                                 frames_indices=np.arange(len(files)))
            video_text = proc.replace_video_token({"pixel_values": np.zeros((1, len(files))), "video_metadata": [meta]}, 0)
            expanded = text.replace("<video>", video_text)
            ids = tok(expanded, add_special_tokens=False)["input_ids"]
            edge = cfg["video_sampling"]["video_size"]["longest_edge"]
            tile = cfg["max_image_size"]["longest_edge"]
            pv = torch.stack([frame_pixels(load_image(os.path.join(IMAGES, f)), edge, tile) for f in files])
            with torch.no_grad():
                vis = model.model.vision_model(pixel_values=pv).last_hidden_state
                conn = model.model.connector(vis)
                inputs = {"input_ids": torch.tensor([ids]), "attention_mask": torch.ones(1, len(ids), dtype=torch.long),
                          "pixel_values": pv[None]}
                logits = model(**inputs).logits[0, -1]
                greedy, margins, cur = [], [], dict(inputs)
                for _ in range(GREEDY):
                    lg = model(**cur).logits[0, -1]
                    top = torch.topk(lg, 2)
                    margins.append(float(top.values[0] - top.values[1]))
                    greedy.append(int(top.indices[0]))
                    cur["input_ids"] = torch.cat([cur["input_ids"], torch.tensor([[greedy[-1]]])], 1)
                    cur["attention_mask"] = torch.ones_like(cur["input_ids"])
            assert min(margins) > 2e-3, f"video greedy margin {min(margins)}"
            out_cases.append({
                "label": label, "images": [], "video_frames": files, "timestamps": [0.0, 1.0, 2.0], "duration": 3.0,
                "question": question, "text": text, "input_ids": ids, "image_token_count": ids.count(49153),
                "tiles": [fnv1a64(t.numpy().astype("<f4").tobytes()) for t in pv], "pixel_attention_mask_sum": 0,
                "vision_tile0": sampled(vis[0]), "connector": sampled(conn), "logits": sampled(logits),
                "top5": [int(i) for i in torch.topk(logits, 5).indices], "greedy": greedy, "greedy_min_margin": min(margins)})
            print(shape, label, len(ids), tuple(pv.shape), greedy, f"margin {min(margins):.4f}")
        with open(os.path.join(out_dir, f"{shape}.json"), "w") as f:
            json.dump({"generator": f"transformers {transformers.__version__}, torch {torch.__version__}, "
                                    f"Pillow {PIL.__version__}, numpy {np.__version__}; scripts/make_vlm_fixtures.py",
                       "shape": shape, "image_seq_len": seq, "weight_probes": probes, "cases": out_cases,
                       "padded": padded}, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
