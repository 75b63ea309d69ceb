#!/usr/bin/env python3
"""Small synthetic tokenizers exercising the less common tokenizer.json stages,
with goldens from Hugging Face `tokenizers` (developer-only; 0.23.3).

Writes, under Tests/Fixtures/tokenizers/stages/:

* <name>.json      one tokenizer.json per synthetic tokenizer (each < 50 KB)
* goldens.json     [{"tokenizer", "text", "ids", "ids_no_special",
                     "decoded", "decoded_skip"}, ...]
                   ids = encode(text, add_special_tokens=True).ids,
                   ids_no_special = encode(text, add_special_tokens=False).ids,
                   decoded = decode(ids, skip_special_tokens=False),
                   decoded_skip = decode(ids, skip_special_tokens=True)
* decode_goldens.json  [{"tokenizer", "ids", "decoded", "decoded_skip"}, ...]
                   decode-only cases on hand-picked id lists (lone / invalid
                   byte-fallback tokens, unknown ids, special tokens mid-text)

The tokenizers (see TOKENIZERS below for the exact stages):

  sp_llama2              Llama-2 legacy: normalizer [Prepend "▁", Replace " "->"▁"],
                         no pre-tokenizer, byte_fallback BPE (<0x00>..<0xFF>) + <unk>
                         + fuse_unk, decoder [Replace, ByteFallback, Fuse, Strip],
                         TemplateProcessing "<s> $A </s>"
  sp_meta_first          Metaspace(prepend_scheme=first, split=true), same decoder,
                         special/non-special added tokens
  sp_meta_always_nosplit Metaspace(always, split=false), Metaspace decoder,
                         no byte fallback, <unk> with fuse_unk
  norm_seq               Sequence[NFKC, Lowercase, Replace(str), Replace(regex), Strip,
                         Prepend], WhitespaceSplit, no decoder; normalized and raw
                         added tokens
  norm_nfd_bytelevel     NFD + ByteLevel pre-tokenizer/decoder, post-processor
                         Sequence[ByteLevel, TemplateProcessing]
  added_tokens           ByteLevel BPE with Lowercase normalizer and added tokens
                         using lstrip / rstrip / single_word / normalized /
                         special, overlapping contents; TemplateProcessing
  pretok_whitespace      Whitespace alone (no unk: unknown characters are dropped),
                         no decoder (tokens joined by " ")
  pretok_digits_punct    Sequence[WhitespaceSplit, Digits(individual=false),
                         Punctuation(merged_with_previous)], Fuse decoder
  pretok_split           Sequence of Split(String) with every behavior, and with
                         invert=true (merged_with_next, contiguous,
                         merged_with_previous; removed+invert is left out: it
                         keeps only the matches, which would empty most cases)
  bpe_pairs_ignore       hand-written vocab, merges as [a, b] pairs, ignore_merges,
                         fuse_unk, single-character / single_word added tokens
  bpe_strings_bytes      hand-written vocab, merges as "a b" strings, byte_fallback
                         with only <0x00>..<0x7F> present, unk without fuse
  bpe_canonical          hand-written vocab whose tokens include canonically
                         equivalent pairs ("\u00e9" and "e\u0301", U+00C5 and
                         U+212B, U+03A9 and U+2126), no normalizer

Usage:

    python3 scripts/make_tokenizer_stage_fixtures.py          # train + write all
    python3 scripts/make_tokenizer_stage_fixtures.py --goldens-only
                      # keep the committed <name>.json, rewrite the goldens
    python3 scripts/make_tokenizer_stage_fixtures.py --check  # compare, write nothing

Training is deterministic in practice, but the committed <name>.json files are
the source of truth: the goldens are always computed by reloading each file
with Tokenizer.from_file.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import tokenizers  # noqa: E402
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers  # noqa: E402
from tokenizers import pre_tokenizers, processors, trainers  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "Tests" / "Fixtures" / "tokenizers" / "stages"
PINNED = "0.23.3"
META = "\u2581"

# --------------------------------------------------------------------------
# Training text
# --------------------------------------------------------------------------
CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "Hello world! Hello there, hello again.",
    "She said: \"don't stop\", and he didn't.",
    "In 2024 we counted 12345 birds, 678 cats and 9 dogs.",
    "The year 1999 was followed by 2000, then 2001.",
    "Numbers like 3.14159 and 2,718 are famous constants.",
    "A café in Paris serves crème brûlée and a naïve résumé.",
    "Die Straße ist lang und die Bäume sind grün.",
    "El niño comió una piña en la mañana.",
    "Ångström units measure tiny lengths.",
    "snake_case_names and camelCaseNames are both common in code.",
    "email me at someone@example.com or visit https://example.org/path?q=1",
    "  two leading spaces and  double  spaces  inside  ",
    "tabs\tand\tnewlines\nare whitespace too",
    "Punctuation!!! Really??? Yes... (maybe) [sure] {ok}",
    "a-b+c,d$e=f==g x--y ++z ,,w $$v",
    "the cat sat on the mat with another cat",
    "concatenate the category of cats",
    "hotdogs and dogs, a dog is not a hotdog",
    "banana bandana cabana anagram",
    "whatever happens, whatever it takes, we go on",
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit.",
    "sed do eiusmod tempor incididunt ut labore et dolore magna aliqua",
    "UPPER CASE WORDS and lower case words",
    "Mixed CASE Words In Title Case",
    "ﬁnal ligatures and ＦＵＬＬＷＩＤＴＨ text",
    "one two three four five six seven eight nine ten",
    "first second third fourth fifth sixth seventh",
    "to be or not to be, that is the question",
    "all the world's a stage, and all the men and women merely players",
]


# Extra lines for the pre-tokenizer tokenizers: characters whose class differs
# between Unicode categories and regex \w (No, Mc, Pc, ZWJ), so that merges
# across them show where the pre-tokenizer split.
EXTRA_SCRIPTS = [
    "x² and x³ and ½ and ① and Ⅻ",
    "x² x² y² ½x ①x x① x½",
    "hi‿there and a‿b",
    "hi‿there a‿b a‿b hi‿there",
    "हिन्दी भाषा हिन्दी",
    "👨\u200d👩\u200d👧 family and 👍🏽 thumbs",
    "👨\u200d👩 👨\u200d👩 a\u200db a\u200db",
    "«quotes» “curly” ‘single’ don't won't it's",
    "v1.2.3-beta+build abc123def4567",
]


def corpus_iter(repeat: int = 3, extra=()):
    for _ in range(repeat):
        yield from CORPUS
        for _ in range(3):
            yield from extra


# --------------------------------------------------------------------------
# Test strings
# --------------------------------------------------------------------------
BASE_TEXTS = [
    "",
    " ",
    "   ",
    "hello",
    "Hello world",
    "hello  world",
    "  leading spaces",
    "trailing spaces   ",
    "tab\there",
    "line1\nline2",
    "multiple\n\n\nnewlines",
    " \t \n mixed ws ",
    "café",
    "cafe\u0301",
    "naïve résumé",
    "nai\u0308ve re\u0301sume\u0301",
    "Ångström",
    "A\u030angstro\u0308m",
    "\u212bngstr\u00f6m \u2126",
    "\u0301leading combining mark",
    "a \u0301b",
    "日本語のテキスト",
    "中文 字符",
    "한국어",
    "emoji 😀 and 👍🏽",
    "👨\u200d👩\u200d👧",
    "flag 🇫🇷!",
    "12345",
    "3.14159 and 2,718",
    "year 2024-01-15",
    "٣٤٥ arabic digits",
    "x² ½ ①",
    "ＦＵＬＬＷＩＤＴＨ ｔｅｘｔ １２３",
    "ﬁnal ligature",
    "Straße",
    "ΟΔΟΣ Σίσυφος",
    "İstanbul",
    "don't stop",
    "Punctuation!!! ??? ...",
    "a-b+c,d$e=f==g",
    "x--y ++z ,,w $$v ===",
    "(parens) [brackets] {braces}",
    "someone@example.com",
    "snake_case_name",
    "hi\u203fthere",
    "हिन्दी",
    "the quick brown fox jumps over the lazy dog",
    META + "already" + META + "meta",
    "\u00a0nbsp\u3000ideographic",
    "nul\u0000byte",
    "banana bandana",
]

SP_EXTRA = [
    "<s>",
    "<s>hello",
    "hello</s>",
    " <s> hello </s> ",
    "hello<s>world",
    "<unk>",
    "a<s>b</s>c",
]

META_FIRST_EXTRA = SP_EXTRA + [
    "<|im_start|>user\nhi<|im_end|>",
    "<|im_start|> user",
    "x<|im_start|>",
    "[tool] call",
    "say [tool]",
    "a[tool]b",
]

NORM_EXTRA = [
    "[SEP]",
    "a [SEP] b",
    "A[SEP]B",
    "<Mask>",
    "<mask>",
    "a <Mask> b",
    "<MASK> then",
    "  [SEP]  ",
    "ＡＢＣ[SEP]ｄｅｆ",
    "don\u2019t",
    "many     spaces    here",
]

ADDED_EXTRA = [
    "<a>",
    "<ab>",
    "<abc>",
    "x<a>y",
    "x <ab> y",
    "<a><ab><a>",
    "<a >",
    "a [L] b",
    "a    [L]    b",
    "[L]start",
    "[R]   next",
    "end [R]",
    "  [LR]  ",
    "x  [LR]  y",
    "[LR][LR]",
    "cat",
    "cats",
    "concat",
    " cat ",
    "_cat",
    "cat_",
    "cat.",
    "1cat",
    "ca",
    "cab",
    "<Up>",
    "<UP>",
    "<up>",
    "x<Up>y",
    "dog",
    "dog.",
    "hotdog",
    "Dog",
    "a dog b",
    "[BOS] text [EOS]",
    "e\u0301cat",
    "cat\u0301",
]

PRETOK_EXTRA = [
    "a,b,,c",
    "end.",
    ".start",
    "--",
    "a$b$$c$",
    "x==y===z",
    "1+2=3",
    "a--b",
    "$",
    "=",
    ",",
    "...!?",
    "«quotes» “curly” ‘single’",
    "don't won't it's",
    "v1.2.3-beta+build",
    "abc123def4567",
    "1 2  3   4",
    "Ⅻ ⅷ",
    "x² y²",
    "½x x½",
    "a‿b",
    "a\u200db",
    "👨\u200d👩",
]

BPE_EXTRA = [
    "banana",
    "bananas",
    "aaaa",
    "aaaaaaa",
    "abc",
    "hello",
    "hellos",
    "xyz",
    "xyzxyz",
    "ban ana",
    "q",
    "aq",
    "qa q",
    "cat",
    "1cat",
    "cat1",
    "a cat",
    "concat",
    "~",
    "Q~Q",
    "A",
    "héllo",
    "\u00e9\u00e9",
    "x\u0000y",
    "9 8 7",
    "\u00e9Q",
    "\u00e9Q\u00e9",
    "Q\u00e9",
    "\u00e9\u00e9Qa",
]

# --------------------------------------------------------------------------
# Builders
# --------------------------------------------------------------------------


def train_bpe(model: models.BPE, normalizer, pre_tokenizer, vocab_size: int,
              special_tokens: list, initial_alphabet=None, repeat=3, extra=()) -> Tokenizer:
    tok = Tokenizer(model)
    if normalizer is not None:
        tok.normalizer = normalizer
    if pre_tokenizer is not None:
        tok.pre_tokenizer = pre_tokenizer
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, show_progress=False,
                                  special_tokens=special_tokens,
                                  initial_alphabet=initial_alphabet or [])
    tok.train_from_iterator(corpus_iter(repeat, extra), trainer=trainer)
    return tok


def with_byte_tokens(obj: dict, specials: list[str], byte_range=range(256)) -> dict:
    """Renumbers a trained BPE vocab as specials + <0xXX> + the rest (Llama-2 layout)."""
    vocab = obj["model"]["vocab"]
    rest = [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1]) if t not in specials]
    new = {}
    for t in specials:
        new[t] = len(new)
    for b in byte_range:
        new["<0x%02X>" % b] = len(new)
    for t in rest:
        if t not in new:
            new[t] = len(new)
    obj["model"]["vocab"] = new
    ids = {t: new[t] for t in specials}
    for a in obj["added_tokens"]:
        a["id"] = ids[a["content"]]
    return obj


SP_DECODER = decoders.Sequence([decoders.Replace(META, " "), decoders.ByteFallback(),
                                decoders.Fuse(), decoders.Strip(" ", 1, 0)])


def build_sp_llama2() -> str:
    norm = normalizers.Sequence([normalizers.Prepend(META), normalizers.Replace(" ", META)])
    tok = train_bpe(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True), norm, None,
                    320, ["<unk>", "<s>", "</s>"])
    tok.decoder = SP_DECODER
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> <s> $B </s>",
        special_tokens=[("<s>", 1), ("</s>", 2)])
    obj = json.loads(tok.to_str())
    obj = with_byte_tokens(obj, ["<unk>", "<s>", "</s>"])
    pp = obj["post_processor"]["special_tokens"]
    pp["<s>"]["ids"] = [obj["model"]["vocab"]["<s>"]]
    pp["</s>"]["ids"] = [obj["model"]["vocab"]["</s>"]]
    return json.dumps(obj, ensure_ascii=False)


def build_sp_meta_first() -> str:
    pre = pre_tokenizers.Metaspace(replacement=META, prepend_scheme="always", split=False)
    tok = train_bpe(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True), None, pre,
                    320, ["<unk>", "<s>", "</s>"])
    obj = json.loads(tok.to_str())
    obj = with_byte_tokens(obj, ["<unk>", "<s>", "</s>"])
    tok = Tokenizer.from_str(json.dumps(obj))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=META, prepend_scheme="first", split=True)
    tok.decoder = SP_DECODER
    tok.add_tokens([AddedToken("<|im_start|>", special=True, normalized=False),
                    AddedToken("<|im_end|>", special=True, normalized=False),
                    AddedToken("[tool]", special=False, normalized=False)])
    return tok.to_str()


def build_sp_meta_always_nosplit() -> str:
    pre = pre_tokenizers.Metaspace(replacement=META, prepend_scheme="always", split=False)
    tok = train_bpe(models.BPE(unk_token="<unk>", fuse_unk=True), None, pre,
                    300, ["<unk>", "<s>", "</s>"])
    tok.decoder = decoders.Metaspace(replacement=META, prepend_scheme="always", split=False)
    return tok.to_str()


def build_norm_seq() -> str:
    norm = normalizers.Sequence([
        normalizers.NFKC(), normalizers.Lowercase(),
        normalizers.Replace("\u2019", "'"),
        normalizers.Replace(Regex(" {2,}"), " "),
        normalizers.Strip(left=True, right=True),
        normalizers.Prepend(META),
    ])
    tok = train_bpe(models.BPE(unk_token="[UNK]"), norm, pre_tokenizers.WhitespaceSplit(),
                    260, ["[UNK]"])
    tok.add_tokens([AddedToken("[SEP]", special=True, normalized=False),
                    AddedToken("<Mask>", special=False, normalized=True)])
    return tok.to_str()


def build_norm_nfd_bytelevel() -> str:
    tok = train_bpe(models.BPE(), normalizers.NFD(),
                    pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
                    420, ["<|bos|>", "<|eos|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<|bos|> $A <|eos|>", pair="<|bos|> $A <|eos|> $B:1 <|eos|>:1",
                                      special_tokens=[("<|bos|>", 0), ("<|eos|>", 1)]),
    ])
    return tok.to_str()


def build_added_tokens() -> str:
    tok = train_bpe(models.BPE(), normalizers.Lowercase(),
                    pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
                    400, ["[BOS]", "[EOS]"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.TemplateProcessing(
        single="[BOS] $A [EOS]", pair="[BOS] $A [EOS] $B:1 [EOS]:1",
        special_tokens=[("[BOS]", 0), ("[EOS]", 1)])
    tok.add_tokens([
        AddedToken("<a>", special=True, normalized=False),
        AddedToken("<ab>", special=True, normalized=False),
        AddedToken("<abc>", special=False, normalized=True),
        AddedToken("[L]", special=False, normalized=False, lstrip=True),
        AddedToken("[R]", special=False, normalized=False, rstrip=True),
        AddedToken("[LR]", special=True, normalized=False, lstrip=True, rstrip=True),
        AddedToken("cat", special=False, normalized=False, single_word=True),
        AddedToken("ca", special=False, normalized=False),
        AddedToken("<Up>", special=False, normalized=True),
        AddedToken("dog", special=True, normalized=True, single_word=True),
    ])
    return tok.to_str()


def build_pretok_whitespace() -> str:
    # Trained without a pre-tokenizer so that merges cross the split points.
    tok = train_bpe(models.BPE(), None, None, 420, [], extra=EXTRA_SCRIPTS)
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return tok.to_str()


def build_pretok_digits_punct() -> str:
    tok = train_bpe(models.BPE(unk_token="[UNK]"), None, None, 420, ["[UNK]"], extra=EXTRA_SCRIPTS)
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(),
                                                 pre_tokenizers.Digits(individual_digits=False),
                                                 pre_tokenizers.Punctuation(behavior="merged_with_previous")])
    tok.decoder = decoders.Fuse()
    return tok.to_str()


def build_pretok_split() -> str:
    tok = train_bpe(models.BPE(unk_token="[UNK]"), None, None, 330, ["[UNK]"])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(" ", behavior="removed"),
        pre_tokenizers.Split("-", behavior="isolated"),
        pre_tokenizers.Split(",", behavior="merged_with_previous"),
        pre_tokenizers.Split("$", behavior="merged_with_next"),
        pre_tokenizers.Split("==", behavior="contiguous"),
        pre_tokenizers.Split("an", behavior="merged_with_next", invert=True),
        pre_tokenizers.Split("ll", behavior="contiguous", invert=True),
        pre_tokenizers.Split("e", behavior="merged_with_previous", invert=True),
    ])
    tok.decoder = decoders.Fuse()
    return tok.to_str()


HAND_VOCAB = (["[UNK]"] + list("abcdehlnorstwxyz0123456789")
              + ["aa", "aaa", "aaaa", "ba", "an", "ban", "ana", "banan", "banana", "bc",
                 "he", "ll", "hell", "hello", "xyz", "at", "cat", "ca", "s"])
HAND_MERGES = [("a", "a"), ("aa", "a"), ("aa", "aa"), ("b", "a"), ("a", "n"), ("ba", "n"),
               ("an", "a"), ("ban", "an"), ("banan", "a"), ("b", "c"), ("h", "e"), ("l", "l"),
               ("he", "ll"), ("a", "t"), ("c", "at"), ("c", "a")]


def hand_vocab(prefix: list[str]) -> dict:
    v = {}
    for t in prefix + HAND_VOCAB:
        if t not in v:
            v[t] = len(v)
    return v


def build_bpe_pairs_ignore() -> str:
    vocab = hand_vocab([])
    vocab.pop("cat")  # only an added token
    vocab = {t: i for i, t in enumerate(vocab)}
    merges = [m for m in HAND_MERGES if m != ("c", "at")]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="[UNK]", fuse_unk=True,
                               ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(),
                                                 pre_tokenizers.Digits(individual_digits=True)])
    tok.decoder = decoders.Fuse()
    tok.add_tokens([AddedToken("q", special=False, normalized=False, single_word=True),
                    AddedToken("cat", special=False, normalized=False, single_word=True)])
    obj = json.loads(tok.to_str())
    assert isinstance(obj["model"]["merges"][0], list)
    return json.dumps(obj, ensure_ascii=False)


def build_bpe_strings_bytes() -> str:
    vocab = hand_vocab(["<0x%02X>" % b for b in range(128)])
    tok = Tokenizer(models.BPE(vocab=vocab, merges=HAND_MERGES, unk_token="[UNK]", fuse_unk=False,
                               byte_fallback=True))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.decoder = decoders.Sequence([decoders.ByteFallback(), decoders.Fuse()])
    obj = json.loads(tok.to_str())
    obj["model"]["merges"] = [" ".join(m) for m in obj["model"]["merges"]]
    s = json.dumps(obj, ensure_ascii=False)
    Tokenizer.from_str(s)  # HF accepts the "a b" form
    return s


def build_bpe_canonical() -> str:
    """Vocabulary holding canonically equivalent but distinct tokens (precomposed and
    decomposed accents, singleton decompositions such as U+212B ANGSTROM SIGN)."""
    toks = ["[UNK]", "a", "b", "e", "A", "\u0301", "\u030a", "\u00e9", "e\u0301", "\u00c5", "\u212b",
            "A\u030a", "\u03a9", "\u2126", "ab"]
    vocab = {t: i for i, t in enumerate(toks)}
    merges = [("e", "\u0301"), ("A", "\u030a"), ("a", "b")]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.decoder = decoders.Fuse()
    return tok.to_str()


CANONICAL_EXTRA = ["\u00e9", "e\u0301", "\u00c5", "\u212b", "A\u030a", "\u03a9", "\u2126",
                   "\u00e9 e\u0301 \u00c5 \u212b A\u030a \u03a9 \u2126", "ab\u00e9", "abe\u0301"]

TOKENIZERS = {
    "sp_llama2": (build_sp_llama2, BASE_TEXTS + SP_EXTRA),
    "sp_meta_first": (build_sp_meta_first, BASE_TEXTS + META_FIRST_EXTRA),
    "sp_meta_always_nosplit": (build_sp_meta_always_nosplit, BASE_TEXTS + SP_EXTRA),
    "norm_seq": (build_norm_seq, BASE_TEXTS + NORM_EXTRA),
    "norm_nfd_bytelevel": (build_norm_nfd_bytelevel, BASE_TEXTS + ["<|bos|>hi<|eos|>", " <|eos|> "]),
    "added_tokens": (build_added_tokens, BASE_TEXTS + ADDED_EXTRA),
    "pretok_whitespace": (build_pretok_whitespace, BASE_TEXTS + PRETOK_EXTRA),
    "pretok_digits_punct": (build_pretok_digits_punct, BASE_TEXTS + PRETOK_EXTRA),
    "pretok_split": (build_pretok_split, BASE_TEXTS + PRETOK_EXTRA + [
        "ananas", "allall", "lll", "llll", "the then other", "a\tb\t", "eee", "e", "an", "banana bandana cabana"]),
    "bpe_pairs_ignore": (build_bpe_pairs_ignore, BASE_TEXTS + BPE_EXTRA),
    "bpe_strings_bytes": (build_bpe_strings_bytes, BASE_TEXTS + BPE_EXTRA),
    "bpe_canonical": (build_bpe_canonical, BASE_TEXTS + CANONICAL_EXTRA),
}

# Decode-only cases: (tokenizer, list of token strings or ints)
DECODE_CASES = {
    "sp_llama2": [["<0xE2>"], ["<0xE2>", "<0x82>"], ["<0xE2>", "<0x82>", "<0xAC>"],
                  ["<s>", "<0xC3>", "<0xA9>", "</s>"], ["<0xFF>", "<0x41>"], [META, META + "a"],
                  ["<s>", META, "<0xCC>", "<0x81>"], [META + "the" + META, "<unk>", "<s>", META],
                  [10**6], [1, 1, 2, 2]],
    "sp_meta_first": [["<|im_start|>", META + "a"], [META + "the" + META], ["<0xF0>", "<0x9F>", "<0x98>"]],
    "sp_meta_always_nosplit": [[META + "the" + META], [META + "a", META + "the" + META], [META + "and" + META, META + "b"], ["<unk>", META + "a"]],
    "norm_nfd_bytelevel": [["\u0120"], ["\u00c3"], ["<|bos|>", "\u00c3", "\u00a9"]],
    "added_tokens": [["<a>", "<ab>", "[LR]", "[L]", "[R]", "cat", "dog", "<Up>", "<abc>"],
                     ["\u0120", "<a>", "\u0120"]],
    "norm_seq": [["[SEP]", "<Mask>", "[UNK]"]],
    "bpe_strings_bytes": [["<0x41>", "<0x7E>", "a"], ["<0x7F>"], ["[UNK]", "<0x61>"]],
}


def decode_ids(tok: Tokenizer, items) -> list[int]:
    out = []
    for x in items:
        if isinstance(x, int):
            out.append(x)
        else:
            i = tok.token_to_id(x)
            assert i is not None, x
            out.append(i)
    return out


def goldens(names) -> tuple[list, list]:
    cases, dcases = [], []
    for name in names:
        tok = Tokenizer.from_file(str(OUT / f"{name}.json"))
        texts = TOKENIZERS[name][1]
        seen = set()
        for t in texts:
            if t in seen:
                continue
            seen.add(t)
            ids = tok.encode(t, add_special_tokens=True).ids
            raw = tok.encode(t, add_special_tokens=False).ids
            cases.append({"tokenizer": name, "text": t, "ids": ids, "ids_no_special": raw,
                          "decoded": tok.decode(ids, skip_special_tokens=False),
                          "decoded_skip": tok.decode(ids, skip_special_tokens=True)})
        for items in DECODE_CASES.get(name, []):
            ids = decode_ids(tok, items)
            dcases.append({"tokenizer": name, "ids": ids,
                           "decoded": tok.decode(ids, skip_special_tokens=False),
                           "decoded_skip": tok.decode(ids, skip_special_tokens=True)})
    return cases, dcases


def dump_list(rows: list) -> str:
    return "[\n" + ",\n".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in rows) + "\n]\n"


def pretty_tokenizer(s: str) -> str:
    obj = json.loads(s)
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--goldens-only", action="store_true")
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    if tokenizers.__version__ != PINNED:
        print(f"warning: tokenizers {tokenizers.__version__}, goldens were made with {PINNED}", file=sys.stderr)
    OUT.mkdir(parents=True, exist_ok=True)
    names = list(TOKENIZERS)
    if not (args.goldens_only or args.check):
        for name in names:
            s = pretty_tokenizer(TOKENIZERS[name][0]())
            Tokenizer.from_str(s)
            size = len(s.encode())
            assert size < 50_000, (name, size)
            (OUT / f"{name}.json").write_text(s, encoding="utf-8")
            print(f"{name}.json: {size} bytes")
    cases, dcases = goldens(names)
    g, d = dump_list(cases), dump_list(dcases)
    if args.check:
        ok = (OUT / "goldens.json").read_text(encoding="utf-8") == g and \
             (OUT / "decode_goldens.json").read_text(encoding="utf-8") == d
        print("goldens up to date" if ok else "goldens differ")
        return 0 if ok else 1
    (OUT / "goldens.json").write_text(g, encoding="utf-8")
    (OUT / "decode_goldens.json").write_text(d, encoding="utf-8")
    print(f"goldens.json: {len(cases)} cases; decode_goldens.json: {len(dcases)} cases")
    return 0


if __name__ == "__main__":
    sys.exit(main())
