#!/usr/bin/env python3
"""Reference predictions for `smol eval mmlu` / `smol eval gsm8k` (developer-only).

Loads ``Models/SmolLM2-135M-Instruct`` with transformers in float32 (the bf16
weights are upcast exactly) with eager attention, tokenises with the folder's
tokenizer.json via ``tokenizers.Tokenizer.from_file`` (``add_special_tokens=False``;
this tokenizer adds no BOS either way), and writes

    Tests/Fixtures/eval/mmlu_reference.json
    Tests/Fixtures/eval/gsm8k_reference.json

The prompt formats, item selection and answer extraction below are the contract
the Swift implementation must reproduce byte for byte; see
Tests/Fixtures/eval/README.md for the full description.

MMLU (/work/shared/data/mmlu/test.jsonl; item id = 0-based line index)
  * ``correct_answer`` is a single capital letter A-D in 14042 of 14044 rows.
    Two rows (ids 11776 "elementary mathematics" and 12793 "college
    mathematics") are stray CSV header lines (question "question", answer_a
    "answer_a", ..., correct_answer "answer").  gold = correct_answer.strip().upper()
    if that is one of A-D; rows with any other value are INVALID and are dropped
    from the pool before anything else: they are never selected and never used
    as shots (ids stay line indices of the original file).
  * subject = topic.replace("_", " ")  (the topics in this file already use spaces)
  * header = f"The following are multiple choice questions (with answers) about {subject}.\\n\\n"
    block(x) = f"{question}\\nA. {a}\\nB. {b}\\nC. {c}\\nD. {d}\\nAnswer:"
    shots(item, k) = the first k valid items of the same topic in file order,
                     skipping the item itself
    prompt_k = header + "".join(block(s) + f" {gold(s)}\\n\\n" for s in shots) + block(item)
    Strings are used verbatim (no stripping).
  * score: log_softmax of the float32 logits at the last prompt position; take
    the entries of the single tokens " A", " B", " C", " D"; pred = argmax,
    first on ties.  margin = top1 - top2 of those four log-probs.
  * selection: per topic (topics ordered by first appearance) the valid ids in
    file order; take round-robin (first of every topic, then second of every
    topic, ...) until 200 ids.

GSM8K (/work/shared/data/gsm8k/{train,test}.jsonl; item id = 0-based line index in test.jsonl)
  * prompt = "".join(f"Question: {q}\\nAnswer: {a}\\n\\n" for the first 8 train rows)
             + f"Question: {item.question}\\nAnswer:"
  * greedy decoding, at most 256 new tokens; stop at eos (id 2, kept in
    generated_ids) or as soon as decode(generated_ids, skip_special_tokens=False)
    contains "\\n\\nQuestion:" or "Question:" (token that completes it is kept).
    text = that decode, cut at the earliest occurrence of any stop string.
  * extracted: if "####" in text: the first number in text after its last
    "####", else the last number in text; number = re `-?[\\d,]*\\.?\\d+`, then
    remove "," and "$"; if it contains ".", strip trailing "0"s and then a
    trailing ".".  No number -> null.  gold: same rule on the dataset answer.
  * correct = extracted == gold (string comparison).

    nice -n 10 python3 scripts/make_eval_reference.py [--model-dir DIR] [--only mmlu|gsm8k]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import re
import sys
import time
from collections import OrderedDict
from pathlib import Path

import torch

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

import numpy  # noqa: E402
import safetensors  # noqa: E402
import tokenizers  # noqa: E402
import transformers  # noqa: E402
from transformers import AutoModelForCausalLM, GenerationConfig, StoppingCriteria, StoppingCriteriaList  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
OUT_DIR = REPO / "Tests" / "Fixtures" / "eval"
DATA = Path("/work/shared/data")

MMLU_N = 200
MMLU_SHOTS = 5
CHOICES = ["A", "B", "C", "D"]
NEAR_TIE = 1e-3

GSM8K_N = 30
GSM8K_SHOTS = 8
GSM8K_MAX_NEW = 256
GSM8K_STOPS = ["\n\nQuestion:", "Question:"]
EOS_ID = 2

SIZE_LIMIT = 3_000_000  # bytes, both files together
PROMPTS_KEPT_IF_OVER = 20


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_text(s: str) -> str:
    return hashlib.sha256(s.encode("utf-8")).hexdigest()


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def versions() -> dict:
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "safetensors": safetensors.__version__,
        "numpy": numpy.__version__,
    }


def dump(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"


# --------------------------------------------------------------------------- MMLU


def mmlu_gold(row: dict) -> str | None:
    g = str(row["correct_answer"]).strip().upper()
    return g if g in CHOICES else None


def mmlu_block(row: dict) -> str:
    return (
        f"{row['question']}\nA. {row['answer_a']}\nB. {row['answer_b']}\n"
        f"C. {row['answer_c']}\nD. {row['answer_d']}\nAnswer:"
    )


def mmlu_prompt(rows: list[dict], by_topic: dict[str, list[int]], item_id: int, k: int) -> str:
    row = rows[item_id]
    subject = row["topic"].replace("_", " ")
    header = f"The following are multiple choice questions (with answers) about {subject}.\n\n"
    shots = [i for i in by_topic[row["topic"]] if i != item_id][:k]
    assert len(shots) == k
    return header + "".join(mmlu_block(rows[s]) + f" {mmlu_gold(rows[s])}\n\n" for s in shots) + mmlu_block(row)


def mmlu_select(rows: list[dict], by_topic: dict[str, list[int]], n: int) -> list[int]:
    chosen: list[int] = []
    r = 0
    while len(chosen) < n:
        progressed = False
        for ids in by_topic.values():
            if r < len(ids):
                chosen.append(ids[r])
                progressed = True
                if len(chosen) == n:
                    break
        assert progressed, "ran out of items"
        r += 1
    return chosen


@torch.no_grad()
def run_mmlu(model, tok, model_sha: str, n: int) -> dict:
    rows = read_jsonl(DATA / "mmlu" / "test.jsonl")
    invalid = [i for i, r in enumerate(rows) if mmlu_gold(r) is None]
    by_topic: dict[str, list[int]] = OrderedDict()
    for i, r in enumerate(rows):
        by_topic.setdefault(r["topic"], [])
        if mmlu_gold(r) is not None:
            by_topic[r["topic"]].append(i)
    chosen = mmlu_select(rows, by_topic, n)

    choice_ids = []
    for c in CHOICES:
        ids = tok.encode(" " + c, add_special_tokens=False).ids
        assert len(ids) == 1, (c, ids)
        choice_ids.append(ids[0])

    items = []
    t0 = time.time()
    for j, item_id in enumerate(chosen):
        row = rows[item_id]
        entry = {"id": item_id, "topic": row["topic"], "gold": mmlu_gold(row)}
        for k, tag in ((0, "0shot"), (MMLU_SHOTS, "5shot")):
            prompt = mmlu_prompt(rows, by_topic, item_id, k)
            ids = tok.encode(prompt, add_special_tokens=False).ids
            logits = model(torch.tensor([ids]), use_cache=False).logits[0, -1].float()
            lp = torch.log_softmax(logits, dim=-1)[choice_ids].tolist()
            order = sorted(range(4), key=lambda i: (-lp[i], i))
            entry[f"prompt_{tag}"] = prompt
            entry[f"prompt_sha256_{tag}"] = sha256_text(prompt)
            entry[f"n_tokens_{tag}"] = len(ids)
            entry[f"logprobs_{tag}"] = lp
            entry[f"pred_{tag}"] = CHOICES[max(range(4), key=lambda i: (lp[i], -i))]
            entry[f"margin_{tag}"] = lp[order[0]] - lp[order[1]]
        items.append(entry)
        if (j + 1) % 20 == 0 or j + 1 == len(chosen):
            print(f"[mmlu] {j + 1}/{len(chosen)}  {time.time() - t0:.0f}s", flush=True)

    acc0 = sum(e["pred_0shot"] == e["gold"] for e in items) / len(items)
    acc5 = sum(e["pred_5shot"] == e["gold"] for e in items) / len(items)
    near = {
        tag: [e["id"] for e in items if e[f"margin_{tag}"] < NEAR_TIE] for tag in ("0shot", "5shot")
    }
    return {
        "versions": versions(),
        "model": "Models/SmolLM2-135M-Instruct",
        "model_sha256": model_sha,
        "data": "/work/shared/data/mmlu/test.jsonl",
        "data_sha256": sha256_file(DATA / "mmlu" / "test.jsonl"),
        "compute": "float32, eager attention, one unpadded sequence per forward (use_cache=False); "
        "log_softmax of the logits at the last prompt position",
        "choices": [" " + c for c in CHOICES],
        "choice_token_ids": choice_ids,
        "invalid_ids_excluded": invalid,
        "n_shots": MMLU_SHOTS,
        "near_tie_threshold": NEAR_TIE,
        "near_tie_ids": near,
        "prompts_stored": "all",
        "seconds": round(time.time() - t0, 1),
        "item_ids": chosen,
        "items": items,
        "accuracy_0shot": acc0,
        "accuracy_5shot": acc5,
    }


# --------------------------------------------------------------------------- GSM8K

NUM_RE = re.compile(r"-?[\d,]*\.?\d+")


def normalise_number(s: str) -> str:
    s = s.replace(",", "").replace("$", "")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s


def extract_answer(text: str) -> str | None:
    if "####" in text:
        m = NUM_RE.search(text.rsplit("####", 1)[1])
        found = m.group(0) if m else None
    else:
        all_ = NUM_RE.findall(text)
        found = all_[-1] if all_ else None
    return None if found is None else normalise_number(found)


def cut_at_stop(text: str) -> tuple[str, bool]:
    hits = [text.find(s) for s in GSM8K_STOPS if s in text]
    return (text[: min(hits)], True) if hits else (text, False)


class StopOnStrings(StoppingCriteria):
    def __init__(self, tok, prompt_len: int):
        self.tok, self.prompt_len = tok, prompt_len

    def __call__(self, input_ids, scores, **kwargs):
        gen = input_ids[0, self.prompt_len :].tolist()
        text = self.tok.decode(gen, skip_special_tokens=False)
        done = any(s in text for s in GSM8K_STOPS)
        return torch.full((input_ids.shape[0],), done, dtype=torch.bool, device=input_ids.device)


@torch.no_grad()
def run_gsm8k(model, tok, model_sha: str, n: int) -> dict:
    train = read_jsonl(DATA / "gsm8k" / "train.jsonl")
    test = read_jsonl(DATA / "gsm8k" / "test.jsonl")
    fewshot = "".join(f"Question: {r['question']}\nAnswer: {r['answer']}\n\n" for r in train[:GSM8K_SHOTS])

    gen_cfg = GenerationConfig(
        do_sample=False,
        num_beams=1,
        max_new_tokens=GSM8K_MAX_NEW,
        eos_token_id=EOS_ID,
        pad_token_id=EOS_ID,
        use_cache=True,
        temperature=None,
        top_p=None,
        top_k=None,
    )
    model.generation_config = gen_cfg

    items = []
    t0 = time.time()
    for item_id in range(n):
        row = test[item_id]
        prompt = fewshot + f"Question: {row['question']}\nAnswer:"
        ids = tok.encode(prompt, add_special_tokens=False).ids
        x = torch.tensor([ids])
        out = model.generate(
            x,
            attention_mask=torch.ones_like(x),
            generation_config=gen_cfg,
            stopping_criteria=StoppingCriteriaList([StopOnStrings(tok, len(ids))]),
        )
        gen = out[0, len(ids) :].tolist()
        raw = tok.decode(gen, skip_special_tokens=False)
        text, stopped = cut_at_stop(raw)
        # Sanity: generation ended for exactly one of the documented reasons.
        if stopped:
            assert not cut_at_stop(tok.decode(gen[:-1], skip_special_tokens=False))[1]
            reason = "stop_string"
        elif gen and gen[-1] == EOS_ID:
            reason = "eos"
        else:
            assert len(gen) == GSM8K_MAX_NEW, len(gen)
            reason = "max_new_tokens"
        assert EOS_ID not in gen[:-1]
        extracted = extract_answer(text)
        assert "####" in row["answer"]
        gold = extract_answer(row["answer"])
        items.append(
            {
                "id": item_id,
                "prompt": prompt,
                "prompt_sha256": sha256_text(prompt),
                "n_prompt_tokens": len(ids),
                "generated_ids": gen,
                "finish": reason,
                "text": text,
                "extracted": extracted,
                "gold": gold,
                "correct": extracted == gold,
            }
        )
        print(
            f"[gsm8k] {item_id + 1}/{n} T={len(ids)} new={len(gen)} {reason} "
            f"extracted={extracted} gold={gold}  {time.time() - t0:.0f}s",
            flush=True,
        )

    return {
        "versions": versions(),
        "model": "Models/SmolLM2-135M-Instruct",
        "model_sha256": model_sha,
        "data": ["/work/shared/data/gsm8k/train.jsonl", "/work/shared/data/gsm8k/test.jsonl"],
        "data_sha256": {
            "train": sha256_file(DATA / "gsm8k" / "train.jsonl"),
            "test": sha256_file(DATA / "gsm8k" / "test.jsonl"),
        },
        "compute": "float32, eager attention, transformers generate(do_sample=False, max_new_tokens=256, "
        "eos_token_id=2, use_cache=True) with a StoppingCriteria that decodes the generated ids each step",
        "n_shots": GSM8K_SHOTS,
        "max_new_tokens": GSM8K_MAX_NEW,
        "stop_strings": GSM8K_STOPS,
        "eos_token_id": EOS_ID,
        "number_regex": NUM_RE.pattern,
        "seconds": round(time.time() - t0, 1),
        "items": items,
        "accuracy": sum(e["correct"] for e in items) / len(items),
    }


# --------------------------------------------------------------------------- main


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", default=str(REPO / "Models" / "SmolLM2-135M-Instruct"))
    ap.add_argument("--only", choices=["mmlu", "gsm8k"])
    ap.add_argument("--mmlu-n", type=int, default=MMLU_N)
    ap.add_argument("--gsm8k-n", type=int, default=GSM8K_N)
    ap.add_argument("--out-dir", default=str(OUT_DIR))
    args = ap.parse_args(argv)
    model_dir = Path(args.model_dir)
    out_dir = Path(args.out_dir)

    tok = tokenizers.Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="eager")
    model.eval()
    assert all(p.dtype == torch.float32 for p in model.parameters())
    model_sha = sha256_file(model_dir / "model.safetensors")

    out_dir.mkdir(parents=True, exist_ok=True)
    mmlu = run_mmlu(model, tok, model_sha, args.mmlu_n) if args.only in (None, "mmlu") else None
    gsm = run_gsm8k(model, tok, model_sha, args.gsm8k_n) if args.only in (None, "gsm8k") else None

    mmlu_path, gsm_path = out_dir / "mmlu_reference.json", out_dir / "gsm8k_reference.json"
    if mmlu is not None:
        other = len(dump(gsm)) if gsm is not None else (gsm_path.stat().st_size if gsm_path.exists() else 0)
        if len(dump(mmlu).encode("utf-8")) + other > SIZE_LIMIT:
            for e in mmlu["items"][PROMPTS_KEPT_IF_OVER:]:
                e.pop("prompt_0shot")
                e.pop("prompt_5shot")
            mmlu["prompts_stored"] = f"first {PROMPTS_KEPT_IF_OVER} items only (prompt_sha256_* for all)"
        mmlu_path.write_text(dump(mmlu), encoding="utf-8")
        print(
            f"wrote {mmlu_path} ({mmlu_path.stat().st_size} B): acc0={mmlu['accuracy_0shot']:.3f} "
            f"acc5={mmlu['accuracy_5shot']:.3f} choice_ids={mmlu['choice_token_ids']} "
            f"near_ties={ {k: len(v) for k, v in mmlu['near_tie_ids'].items()} } {mmlu['seconds']}s"
        )
    if gsm is not None:
        gsm_path.write_text(dump(gsm), encoding="utf-8")
        print(f"wrote {gsm_path} ({gsm_path.stat().st_size} B): acc={gsm['accuracy']:.3f} {gsm['seconds']}s")


if __name__ == "__main__":
    main(sys.argv[1:])
