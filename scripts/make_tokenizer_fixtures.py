#!/usr/bin/env python3
"""Golden token-id fixtures from Hugging Face `tokenizers` (developer-only).

For every string of Tests/Fixtures/tokenizers/corpus.json and each of three
tokenizers this records what `tokenizers` (pinned in
scripts/requirements-fixtures.txt) produces, in
Tests/Fixtures/tokenizers/golden_<name>.json:

    {"tokenizers_version": "0.23.3",
     "tokenizer": "<path the Swift tests load, relative to the repo>",
     "tokenizer_sha256": "<sha256 of that file>",
     "cases": [{"text": s,
                "ids": encode(s, add_special_tokens=True).ids,
                "ids_no_special": encode(s, add_special_tokens=False).ids,
                "decoded": decode(ids, skip_special_tokens=False),
                "decoded_skip": decode(ids, skip_special_tokens=True)}, ...]}

Tokenizers (none of their files is copied into the repository):

* smollm3  - <repo>/../shared/models/SmolLM3-3B/tokenizer.json
* smollm2  - <repo>/Models/SmolLM2-135M-Instruct/tokenizer.json
             (git-ignored; made by scripts/fetch_default_model.sh)
* smolvlm2 - smollm2's tokenizer.json with the entries of
             Tests/Fixtures/tokenizers/smolvlm2_added_tokens.json appended to
             its "added_tokens" list (see build_smolvlm2_tokenizer_json), loaded
             with Tokenizer.from_str.  The BPE model is unchanged.

Usage:

    python3 scripts/make_tokenizer_fixtures.py                # write all goldens
    python3 scripts/make_tokenizer_fixtures.py --only smollm2 # a subset
    python3 scripts/make_tokenizer_fixtures.py --check        # compare, write nothing
    python3 scripts/make_tokenizer_fixtures.py --write-vlm-added-tokens
    python3 scripts/make_tokenizer_fixtures.py --bench        # encode throughput
    python3 scripts/make_tokenizer_fixtures.py --write-bench-text /tmp/bench.txt

--bench prints single-threaded encode throughput on ~1 MB of English prose
(see bench_text), encoded as one string and line by line (one encode call per
"\n"-separated paragraph); numbers are for comparison only and are not
committed.
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import statistics
import sys
import time
from pathlib import Path

# Single-threaded: must be set before tokenizers starts its thread pool.
os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import tokenizers  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "Tests" / "Fixtures" / "tokenizers"
CORPUS = FIXTURES / "corpus.json"
VLM_ADDED = FIXTURES / "smolvlm2_added_tokens.json"

SMOLLM3_JSON = "../shared/models/SmolLM3-3B/tokenizer.json"
SMOLLM2_JSON = "Models/SmolLM2-135M-Instruct/tokenizer.json"

PINNED_TOKENIZERS = "0.23.3"


# --------------------------------------------------------------------------
# SmolVLM2 added tokens
# --------------------------------------------------------------------------
SMOLLM2_VOCAB_SIZE = 49152


def smolvlm2_added_tokens() -> list[dict]:
    """The tokens SmolVLM / SmolVLM2 (Idefics3 processor) add to SmolLM2.

    Ids follow the published SmolVLM tokenizers (vocab_size 49280):
    <global-img> 49152, <row_1_col_1>..<row_6_col_6> 49153..49188 (row-major),
    <fake_token_around_image> 49189, <image> 49190,
    <|reserved_special_token_0|>..<|reserved_special_token_87|> 49191..49278,
    <end_of_utterance> 49279.  All special, none normalized.
    """
    contents = ["<global-img>"]
    contents += [f"<row_{r}_col_{c}>" for r in range(1, 7) for c in range(1, 7)]
    contents += ["<fake_token_around_image>", "<image>"]
    contents += [f"<|reserved_special_token_{i}|>" for i in range(88)]
    contents += ["<end_of_utterance>"]
    # Key order is the one tokenizers serialises.
    return [
        {"id": SMOLLM2_VOCAB_SIZE + i, "content": c, "single_word": False,
         "lstrip": False, "rstrip": False, "normalized": False, "special": True}
        for i, c in enumerate(contents)
    ]


def write_vlm_added_tokens() -> None:
    tokens = smolvlm2_added_tokens()
    text = "[\n" + ",\n".join(json.dumps(t, ensure_ascii=False) for t in tokens) + "\n]\n"
    VLM_ADDED.parent.mkdir(parents=True, exist_ok=True)
    VLM_ADDED.write_text(text, encoding="utf-8")
    print(f"wrote {rel(VLM_ADDED)} ({len(tokens)} tokens, ids "
          f"{tokens[0]['id']}..{tokens[-1]['id']})")


def build_smolvlm2_tokenizer_json(smollm2: dict, added: list[dict]) -> dict:
    """SmolLM2's tokenizer.json with `added` appended to "added_tokens".

    Nothing else changes (model, merges, pre-tokenizer, post-processor,
    decoder).  The appended ids must continue the existing id space and must
    not collide with the BPE vocab or existing added tokens.
    """
    out = copy.deepcopy(smollm2)
    vocab = out["model"]["vocab"]
    taken_ids = set(vocab.values()) | {t["id"] for t in out["added_tokens"]}
    taken_contents = set(vocab) | {t["content"] for t in out["added_tokens"]}
    for t in added:
        if t["id"] in taken_ids or t["content"] in taken_contents:
            raise ValueError(f"added token {t} collides with the base tokenizer")
        taken_ids.add(t["id"])
        taken_contents.add(t["content"])
    out["added_tokens"] = out["added_tokens"] + [dict(t) for t in added]
    return out


# --------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------
def rel(p: Path) -> str:
    try:
        return str(p.resolve().relative_to(REPO))
    except ValueError:
        return os.path.relpath(p, REPO)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_tokenizer(name: str) -> tuple[Tokenizer, dict]:
    """Return (tokenizer, provenance fields for the golden header)."""
    if name == "smollm3":
        path = REPO / SMOLLM3_JSON
        return Tokenizer.from_file(str(path)), {
            "tokenizer": SMOLLM3_JSON, "tokenizer_sha256": sha256(path)}
    if name == "smollm2":
        path = REPO / SMOLLM2_JSON
        return Tokenizer.from_file(str(path)), {
            "tokenizer": SMOLLM2_JSON, "tokenizer_sha256": sha256(path)}
    if name == "smolvlm2":
        base_path = REPO / SMOLLM2_JSON
        base = json.loads(base_path.read_text(encoding="utf-8"))
        added = json.loads(VLM_ADDED.read_text(encoding="utf-8"))
        if added != smolvlm2_added_tokens():
            raise SystemExit(f"{rel(VLM_ADDED)} is stale; run --write-vlm-added-tokens")
        tok = Tokenizer.from_str(json.dumps(build_smolvlm2_tokenizer_json(base, added)))
        for t in added:  # every added token must encode to exactly its id
            got = tok.encode(t["content"], add_special_tokens=False).ids
            if got != [t["id"]]:
                raise AssertionError(f"{t['content']} encodes to {got}, not [{t['id']}]")
        if tok.get_vocab_size(with_added_tokens=True) != added[-1]["id"] + 1:
            raise AssertionError("unexpected SmolVLM2 vocab size")
        return tok, {
            "tokenizer": SMOLLM2_JSON + " + " + rel(VLM_ADDED),
            "tokenizer_sha256": sha256(base_path),
            "added_tokens_sha256": sha256(VLM_ADDED)}
    raise ValueError(name)


NAMES = ["smollm3", "smollm2", "smolvlm2"]


def load_corpus() -> list[str]:
    corpus = json.loads(CORPUS.read_text(encoding="utf-8"))
    if not (isinstance(corpus, list) and all(isinstance(s, str) for s in corpus)):
        raise SystemExit(f"{rel(CORPUS)} must be a JSON list of strings")
    return corpus


# --------------------------------------------------------------------------
# Goldens
# --------------------------------------------------------------------------
def golden(tok: Tokenizer, provenance: dict, corpus: list[str]) -> dict:
    cases = []
    for s in corpus:
        ids = tok.encode(s, add_special_tokens=True).ids
        cases.append({
            "text": s,
            "ids": ids,
            "ids_no_special": tok.encode(s, add_special_tokens=False).ids,
            "decoded": tok.decode(ids, skip_special_tokens=False),
            "decoded_skip": tok.decode(ids, skip_special_tokens=True),
        })
    return {"tokenizers_version": tokenizers.__version__, **provenance, "cases": cases}


def dump(obj: dict) -> str:
    # Compact; one case per line so diffs stay local.
    head = {k: v for k, v in obj.items() if k != "cases"}
    head_text = json.dumps(head, ensure_ascii=False, separators=(",", ":"))
    cases = ",\n".join(json.dumps(c, ensure_ascii=False, separators=(",", ":"))
                       for c in obj["cases"])
    return head_text[:-1] + ',"cases":[\n' + cases + "\n]}\n"


# --------------------------------------------------------------------------
# Throughput
# --------------------------------------------------------------------------
BENCH_TARGET_BYTES = 1_000_000


def bench_prose() -> list[str]:
    return [s for s in load_corpus()
            if len(s) >= 60 and s.count(" ") >= 8 and s.isascii()
            and s.isprintable() and "<" not in s]


def bench_text() -> str:
    """~1 MB of ordinary English: the corpus's English prose, repeated.

    Prose = the corpus strings that are pure printable ASCII, contain no
    newline/tab/'<', have at least 8 spaces and at least 60 characters.
    They are joined with a single space (in corpus order) into one paragraph,
    which is repeated, separated by "\\n", until the text reaches 1,000,000
    bytes; the last repetition is cut at a space so no word is split.
    """
    para = " ".join(bench_prose())
    reps = []
    total = 0
    while total < BENCH_TARGET_BYTES:
        reps.append(para)
        total += len(para) + 1
    text = "\n".join(reps)
    if len(text) > BENCH_TARGET_BYTES:
        text = text[:text.rindex(" ", 0, BENCH_TARGET_BYTES)]
    return text


def bench(names: list[str], repeats: int) -> None:
    text = bench_text()
    nbytes = len(text.encode("utf-8"))
    print(f"tokenizers {tokenizers.__version__}, RAYON_NUM_THREADS="
          f"{os.environ.get('RAYON_NUM_THREADS')}, text {nbytes} bytes "
          f"({len(bench_prose())} prose strings, repeated)")
    for name in names:
        tok, _ = load_tokenizer(name)
        tok.encode(text[:1000], add_special_tokens=False)  # warm-up
        lines = text.split("\n")
        for mode in ("one string", "per line"):
            times, ntok = [], 0
            for _ in range(repeats):
                t0 = time.perf_counter()
                if mode == "one string":
                    ntok = len(tok.encode(text, add_special_tokens=False).ids)
                else:
                    ntok = sum(len(tok.encode(line, add_special_tokens=False).ids)
                               for line in lines)
                times.append(time.perf_counter() - t0)
            best, med = min(times), statistics.median(times)
            print(f"{name:9s} {mode:10s} {ntok:7d} tokens  best {best * 1e3:7.1f} ms "
                  f"({nbytes / best / 1e6:5.2f} MB/s)  median {med * 1e3:7.1f} ms "
                  f"({nbytes / med / 1e6:5.2f} MB/s)")


# --------------------------------------------------------------------------
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", action="append", choices=NAMES,
                    help="restrict to these tokenizers (repeatable)")
    ap.add_argument("--check", action="store_true",
                    help="regenerate in memory and compare with the committed goldens")
    ap.add_argument("--write-vlm-added-tokens", action="store_true",
                    help=f"(re)write {rel(VLM_ADDED)} and exit")
    ap.add_argument("--bench", action="store_true", help="print encode throughput and exit")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--write-bench-text", type=Path, metavar="PATH",
                    help="write the ~1 MB benchmark text (UTF-8) and exit")
    args = ap.parse_args()
    names = args.only or NAMES

    if tokenizers.__version__ != PINNED_TOKENIZERS:
        print(f"warning: tokenizers {tokenizers.__version__} is installed, the goldens "
              f"are pinned to {PINNED_TOKENIZERS} (scripts/requirements-fixtures.txt)",
              file=sys.stderr)

    if args.write_vlm_added_tokens:
        write_vlm_added_tokens()
        return 0
    if args.write_bench_text:
        args.write_bench_text.write_text(bench_text(), encoding="utf-8")
        print(f"wrote {args.write_bench_text}")
        return 0
    if args.bench:
        bench(names, args.repeats)
        return 0

    corpus = load_corpus()
    status = 0
    for name in names:
        tok, provenance = load_tokenizer(name)
        text = dump(golden(tok, provenance, corpus))
        path = FIXTURES / f"golden_{name}.json"
        if args.check:
            same = path.exists() and path.read_text(encoding="utf-8") == text
            print(f"{rel(path)}: {'ok' if same else 'DIFFERS'}")
            status |= 0 if same else 1
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {rel(path)} ({len(corpus)} cases, {len(text.encode())} bytes)")
    return status


if __name__ == "__main__":
    sys.exit(main())
