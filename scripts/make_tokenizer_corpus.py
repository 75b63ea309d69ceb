#!/usr/bin/env python3
"""Write Tests/Fixtures/tokenizers/corpus.json, the tokenizer golden corpus.

The corpus is authored here (as Python literals, so invisible and unusual
characters can be spelled with escapes and commented) and committed as JSON;
scripts/make_tokenizer_fixtures.py reads only the JSON.  Re-run this script
after editing the lists below, then re-run make_tokenizer_fixtures.py.

    python3 scripts/make_tokenizer_corpus.py [--out PATH]

Order is significant (the goldens follow it) and duplicates are dropped
(first occurrence wins).  Two strings that differ only in Unicode
normalisation (precomposed vs. decomposed accents) are deliberately both
present: they are different byte sequences and tokenise differently.
"""
from __future__ import annotations

import argparse
import json
import unicodedata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "Tests" / "Fixtures" / "tokenizers" / "corpus.json"

# --------------------------------------------------------------------------
# Edge cases: empty, single characters, whitespace
# --------------------------------------------------------------------------
EDGE = [
    "",
    " ",
    "a",
    "A",
    "\n",
    "\t",
    "\r\n",
    "\u0000",
    "a\u0000b",
    "\u0000\u0000 \u0000",
    ".",
    "'",
    "’",
    "\\",
    '"',
    "é",
    "e\u0301",
    "字",
    "😀",
]

WHITESPACE = [
    "  ",
    "   ",
    "    ",
    "     ",
    "        ",
    " " * 13,
    " " * 16,
    " " * 20,
    "\t\t",
    "\t \t  \t   ",
    " \t\n \t\n",
    "\n\n",
    "\n\n\n",
    "\n\n\n\n\n\n",
    " \n ",
    "  \n  \n  ",
    "\r\n\r\n",
    "\r",
    "\r\r\n\n",
    "a\n\n\nb",
    "a \n b",
    "a  b   c    d     e",
    "word" + " " * 20 + "word",
    "tabs\tbetween\twords\t",
    "\tleading tab",
    "   leading spaces",
    "trailing spaces   ",
    "  both sides  ",
    "\n\nleading newlines",
    "trailing newlines\n\n",
    " hello world ",
    "no\u00a0break\u00a0space",
    "\u00a0",
    "\u00a0\u00a0 \u00a0",
    "thin\u2009space and 10\u2009000",
    "\u2009",
    "ideographic\u3000space\u3000全角",
    "\u3000",
    "zero\u200bwidth\u200bspace",
    "\u200b",
    "next\u0085line",
    "\u0085",
    "line\u2028separator",
    "para\u2029separator",
    "\u2028",
    "vertical\u000btab",
    "\u000b",
    "form\u000cfeed",
    "\u000c",
    "\u000b\u000c\u001c\u001d\u001e\u001f",
    "en\u2002em\u2003hair\u200afigure\u2007narrow\u202fmath\u205fspace",
    "\u180e mongolian vowel separator",
    "\ufeffBOM at start",
    "soft\u00adhyphen",
    "word joiner\u2060here",
    "\u200c\u200d zwnj zwj",
    " \t \u00a0 \u3000 \n",
]

# --------------------------------------------------------------------------
# English prose
# --------------------------------------------------------------------------
ENGLISH = [
    "Hello world",
    "Hello, world!",
    "hello world",
    "HELLO WORLD",
    "The quick brown fox jumps over the lazy dog.",
    "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG.",
    "What is the capital of France?",
    "Once upon a time, in a land far, far away, there lived a small robot who "
    "dreamed of painting the sky.",
    "It was the best of times, it was the worst of times, it was the age of "
    "wisdom, it was the age of foolishness, it was the epoch of belief.",
    "Language models predict the next token given all of the previous tokens. "
    "They are trained on large corpora of text and code.",
    "Please summarize the following paragraph in two sentences: The meeting "
    "ran long because the budget discussion had not been resolved last week.",
    "She sells sea shells by the sea shore; the shells she sells are surely "
    "sea shells.",
    "In 1969, Neil Armstrong became the first person to walk on the Moon.",
    "Mr. Smith went to Washington, D.C., on Tuesday (at 9 a.m.) with Dr. Jones.",
    "The U.S.A., the U.K. and the E.U. signed the agreement.",
    "e.g. i.e. etc. vs. a.k.a.",
    "Photosynthesis converts light energy into chemical energy stored in "
    "glucose; oxygen is released as a by-product.",
    "Thank you! Have a nice day :)",
    "Why? Because we can. Why not? Because we shouldn't.",
    "state-of-the-art, well-known, mother-in-law, twenty-one",
    "antidisestablishmentarianism",
    "pneumonoultramicroscopicsilicovolcanoconiosis",
    "Supercalifragilisticexpialidocious",
    "Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch",
    "a" * 100,
    "ab" * 60,
    "xyz" * 40 + " " + "xyz" * 40,
    "camelCaseIdentifierWithManyWords and snake_case_identifier_with_words",
    "HTTPServerErrorResponseCode",
    "iPhone iPad macOS WiFi eBay YouTube McDonald's O'Neill",
    "TODO: FIXME: NOTE: XXX: HACK:",
    "lol omg brb idk tbh imo smh",
    "Hmm... well... I guess so...",
    "The end.",
]

CONTRACTIONS = [
    "don't",
    "DON'T",
    "Don't",
    "I'm",
    "I'M",
    "i'm",
    "we'll",
    "WE'LL",
    "We'Ll",
    "you're",
    "YOU'RE",
    "they've",
    "THEY'VE",
    "he'd",
    "HE'D",
    "it's",
    "IT'S",
    "it’s",
    "don’t",
    "I’M here",
    "isn't it",
    "can't won't shouldn't wouldn't couldn't mustn't",
    "y'all'd've",
    "rock 'n' roll",
    "'s 't 're 've 'm 'll 'd",
    "'S 'T 'RE 'VE 'M 'LL 'D",
    "the dog's bone and the dogs' bones",
    "James's car",
    "'quoted' and \"double quoted\" and ‘curly’ and “curly double”",
    "O'Reilly's book's cover",
    "123's",
    "x'sy",
    "'''triple'''",
    "I'm sure it's fine, isn't it? We'll see; they'd know.",
]

# --------------------------------------------------------------------------
# European languages with accents (precomposed and decomposed)
# --------------------------------------------------------------------------
EUROPEAN = [
    # German
    "Grüße aus München! Die Straße ist schön.",
    "Gru\u0308\u00dfe aus Mu\u0308nchen! Die Stra\u00dfe ist scho\u0308n.",
    "Donaudampfschifffahrtsgesellschaftskapitänswitwe",
    "Ärger, Öl und Übermut. ÄÖÜ äöü ß ẞ",
    "A\u0308rger, O\u0308l und U\u0308bermut.",
    "Ich hab's gesagt: „Das geht nicht.“",
    # French
    "Où est la bibliothèque ? C'est à côté de l'église.",
    "O\u0300u\u0300 est la bibliothe\u0300que ? C'est a\u0300 co\u0302te\u0301 de l'e\u0301glise.",
    "Ça va très bien, merci ! « Voilà » — déjà vu.",
    "L'hôpital, la forêt, le garçon, Noël, naïve, cœur, œuvre, Æsop",
    "qu'est-ce que c'est ?",
    # Spanish
    "¿Dónde está la estación? ¡Qué día tan bonito!",
    "\u00bfDo\u0301nde esta\u0301 la estacio\u0301n? El nin\u0303o come pin\u0303a.",
    "El niño come piña en el año nuevo.",
    "Añadir, pingüino, corazón, ÁÉÍÓÚÑÜ",
    # Portuguese
    "Não sei se você vai à praça amanhã.",
    "Na\u0303o sei se voce\u0302 vai a\u0300 prac\u0327a amanha\u0303.",
    "Ação, coração, pão, mãe, avó, avô, útil",
    # Italian
    "Perché è così difficile? Però è vero, l'università è lì.",
    "Perche\u0301 e\u0300 cosi\u0300 difficile?",
    "Città, più, può, ciò, giù",
    # Others in Latin script
    "Zażółć gęślą jaźń",
    "Příliš žluťoučký kůň úpěl ďábelské ódy",
    "Árvíztűrő tükörfúrógép",
    "Şişli'de çay içtik; ğ ı İ ş ç ö ü",
    "Ångström, fjörd, Øresund, Æble",
    "Iñtërnâtiônàlizætiøn",
    "ﬁnancial oﬃce ﬂoor (ligatures)",
]

# --------------------------------------------------------------------------
# Other scripts
# --------------------------------------------------------------------------
OTHER_SCRIPTS = [
    # Russian
    "Привет, мир! Как дела?",
    "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "ПРИВЕТ МИР",
    "Ёлка и ёжик; е\u0308лка",
    "Москва — столица России. В 2024 году.",
    # Ukrainian / Serbian
    "Ґанок, їжак, єнот — українська мова.",
    "Љубав, њива, ђак, ћуприја, џеп",
    # Greek
    "Γειά σου Κόσμε! Καλημέρα.",
    "Ξεσκεπάζω την ψυχοφθόρα βδελυγμία.",
    "ΑΒΓΔΕΖΗΘ αβγδεζηθ ς σ Σ",
    "α\u0301 ε\u0301 ω\u0342 ᾆ",
    # Arabic
    "مرحبا بالعالم",
    "السَّلَامُ عَلَيْكُمْ",
    "القاهرة عاصمة مصر، وعدد سكانها كبير.",
    "عدد: ١٢٣٤٥٦٧٨٩٠",
    "كتاب book كتب books",
    "\u200fمرحبا\u200e hello",
    # Hebrew
    "שלום עולם",
    "בְּרֵאשִׁית בָּרָא אֱלֹהִים",
    "ירושלים היא עיר עתיקה.",
    # Persian / Urdu
    "سلام دنیا! این یک آزمایش است.",
    "۱۲۳۴۵۶۷۸۹۰",
    # Hindi / Devanagari
    "नमस्ते दुनिया",
    "हिन्दी भाषा भारत की राजभाषा है।",
    "क्षत्रिय, ज्ञान, श्रृंगार, द्वार, ऋषि",
    "किताब पढ़ो। अंग्रेज़ी",
    "संख्या: १२३४५६७८९०",
    "\u0915\u094d\u0937",
    "कि\u093f\u093f",
    # Other Indic
    "বাংলা ভাষা",
    "தமிழ் மொழி",
    "తెలుగు",
    "ਪੰਜਾਬੀ",
    # Thai
    "สวัสดีชาวโลก",
    "ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ",
    "กรุงเทพมหานคร อมรรัตนโกสินทร์",
    "๑๒๓๔๕",
    # Vietnamese
    "Xin chào thế giới! Tiếng Việt có nhiều dấu.",
    "Xin cha\u0300o thê\u0301 giơ\u0301i",
    "Người Việt, Hà Nội, Thành phố Hồ Chí Minh, đường phố",
    "ắằẳẵặ ấầẩẫậ ếềểễệ ốồổỗộ ớờởỡợ ứừửữự",
    # Chinese
    "你好，世界！",
    "我爱自然语言处理。",
    "中华人民共和国成立于1949年10月1日。",
    "繁體中文與简体中文",
    "“引号”和「书名号」以及《论语》",
    "𠀀𠀁𪚥 (CJK extension B)",
    "一二三四五六七八九十百千万亿",
    # Japanese
    "こんにちは世界",
    "日本語のテキストです。漢字とひらがなとカタカナ。",
    "東京タワーは３３３メートルです。",
    "ｶﾀｶﾅ半角カタカナ",
    "ＡＢＣ　ｄｅｆ　１２３（全角）",
    "が\u3099 か\u3099 は\u309a",
    "私は学生です。よろしくお願いします！",
    "ー〜・「」『』【】",
    # Korean
    "안녕하세요 세계",
    "한국어는 한글로 씁니다.",
    "\u1112\u1161\u11ab\u1100\u1173\u11af (conjoining jamo)",
    "ㄱㄴㄷㄹ ㅏㅑㅓㅕ",
    # Others
    "Բարեւ աշխարհ",
    "გამარჯობა მსოფლიო",
    "ሰላም ልዑል",
    "ᚠᚢᚦᚨᚱᚲ",
    "ᐊᐃᐅᐸᐱᐳ",
    "ꦲꦤꦕꦫꦏ",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕳𝖊𝖑𝖑𝖔",
    "𝐁𝐨𝐥𝐝 𝑰𝒕𝒂𝒍𝒊𝒄 𝚖𝚘𝚗𝚘",
]

MIXED = [
    "Hello世界Привет",
    "abcабвαβγ",
    "東京Tokyo서울Seoul",
    "mixed123数字456",
    "日本語English한국어",
    "français中文русский",
    "naïve café 咖啡 кофе قهوة",
    "emoji😀in🚀between",
    "x²+y²=z²",
    "ひらがなカタカナ漢字ABC１２３",
    "Hello, 世界! 🌍 Как дела? مرحبا",
    "test\u200btest\u200ctest\u200dtest",
    "AI人工智能ML機械学習",
    "🇺🇸USA🇯🇵Japan",
]

COMBINING = [
    "\u0301",
    "\u0301abc",
    " \u0308",
    "\u0300\u0301\u0302\u0303\u0308",
    "a\u0300\u0301\u0302\u0303\u0308",
    "Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319\u0324\u031e\u0349\u035a\u032f\u031e\u0320\u034da\u036b\u0357\u0364\u0365\u0352\u0303\u036e\u0350\u0309\u0302\u0336\u0334\u0316\u0331\u032f\u0325\u0359\u0323\u0354lgo",
    "\u093f",
    "\u0e31\u0e34",
    "\u05b0\u05b8",
    "\u064e\u064f\u0650",
    "\u20dd\u20de",
    "\u3099",
    "\ufe0f",
    "\u200d",
]

# SmolLM2's byte-level vocabulary lacks the bytes 0x04 0x06 0x13 0x14 0x16
# 0x1d 0xf1 0xf2 (and bytes that never occur in UTF-8), so these hit its
# unk_token <|endoftext|> (fuse_unk is false: one unk per byte).  SmolLM3 has
# all 256 bytes.  U+40000 and U+80000 (unassigned, but valid scalars) start
# with 0xf1 and 0xf2 in UTF-8.
UNKNOWN_BYTES = [
    "\u0004",
    "\u0004\u0004",
    "\u0004\u0006\u0013\u0014\u0016\u001d",
    "a\u001db",
    "ctrl\u0013\u0014 chars\u0016",
    "\U00040000",
    "x\U00080000y \U00040001\U00040002",
    "unknown \u0004 then <|im_end|>",
]

# --------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------
NUMBERS = [
    "1",
    "12",
    "123",
    "1234",
    "12345",
    "123456",
    "1234567",
    "12345678",
    "1234567890123456789012345",
    "0",
    "007",
    "3.14159",
    "-42",
    "+42",
    "1,000,000",
    "1.000.000,50",
    "1e-9",
    "6.022e23",
    "1E+10",
    "0x1F 0b1010 0o777",
    "$1,234.56 €99,99 £5 ¥1000 ₹500",
    "50% off, 3/4 cup, 2:30 PM",
    "2024-01-15T12:34:56Z",
    "192.168.0.1 and ::1",
    "+1 (555) 123-4567",
    "Version 1.2.3-beta.4+build.5",
    "Room 101, 2nd floor, 3rd door, 21st century",
    "²",
    "x² y³ H₂O CO₂ 10⁻⁹",
    "½",
    "¼ ½ ¾ ⅓ ⅔ ⅛",
    "Ⅻ",
    "Ⅰ Ⅱ Ⅲ Ⅳ Ⅴ Ⅵ Ⅶ Ⅷ Ⅸ Ⅹ Ⅺ Ⅻ ⅼ ⅽ ⅾ ⅿ",
    "٠١٢٣٤٥٦٧٨٩",
    "٣٫١٤",
    "०१२३४५६७८९",
    "０１２３４５６７８９",
    "１２３４５",
    "①②③ ⑴⑵⑶ ⒈⒉⒊",
    "𝟎𝟏𝟐𝟑 𝟘𝟙𝟚",
    "፩፪፫",
    "12 345 678",
    "3.14159265358979323846264338327950288419716939937510",
    "1+1=2",
    "10000000000000000000000",
    "a1b2c3d4",
    "v2 GPT-4o Llama-3.1-8B SmolLM2-135M",
]

# --------------------------------------------------------------------------
# Emoji
# --------------------------------------------------------------------------
EMOJI = [
    "😀😃😄😁",
    "I love it ❤️!",
    "👍",
    "👍🏻👍🏼👍🏽👍🏾👍🏿",
    "👨‍👩‍👧‍👦",
    "👩‍💻 👨‍🚀 🧑‍🔬",
    "🏳️‍🌈",
    "🏳️‍⚧️",
    "🏴‍☠️",
    "🇺🇸🇬🇧🇯🇵🇩🇪🇫🇷",
    "🇺",
    "🏴󠁧󠁢󠁳󠁣󠁴󠁿",
    "1️⃣2️⃣3️⃣#️⃣*️⃣",
    "🔟",
    "☺ ☺️ ♥ ♥️",
    "🤷‍♀️🤷🏽‍♂️",
    "👩🏾‍❤️‍💋‍👨🏻",
    "🦀🐍🦎🐘",
    "Great job! 🎉🎉🎉",
    "🙂" * 10,
    "text 😀 text 😀 text",
    "©®™℗",
    "⌚⏰⏳⭐✨",
]

# --------------------------------------------------------------------------
# Math and symbols
# --------------------------------------------------------------------------
MATH = [
    "∀x∈ℝ: x² ≥ 0",
    "∑_{i=1}^{n} i = n(n+1)/2",
    "∫₀^∞ e^{-x²} dx = √π/2",
    "a ≤ b ≠ c ≈ d ≡ e",
    "α + β = γ; Δx → 0; ∂f/∂x",
    "∅ ∩ ∪ ⊂ ⊃ ⊆ ⊇ ∈ ∉",
    "¬(p ∧ q) ⇔ (¬p ∨ ¬q)",
    "ℕ ⊂ ℤ ⊂ ℚ ⊂ ℝ ⊂ ℂ",
    "$E = mc^2$ and $$\\frac{a}{b}$$",
    "\\begin{equation} \\sum_{k=0}^\\infty \\frac{x^k}{k!} \\end{equation}",
    "← ↑ → ↓ ↔ ⇒ ⇐",
    "± × ÷ · ° ′ ″ ‰ ∞",
    "◊ ○ ● □ ■ △ ▲ ☐ ☑ ☒",
    "§ ¶ † ‡ • … ‹ › « »",
    "— – - ‐ ‑ ‒ ―",
]

PUNCTUATION = [
    "!!!!!!",
    "......",
    "----",
    "????",
    "?!?!?!",
    "!!!",
    "...",
    "…",
    "……",
    "====================",
    "________",
    "********",
    "########",
    "~~~~",
    "<<<>>>",
    "((()))",
    "[[[]]]",
    "{{{}}}",
    "Wait...what?!",
    "No!!! Really??? Yes...",
    "a.b.c.d",
    ",,,;;;:::",
    "@@@ ### $$$ %%% ^^^ &&&",
    "'\"'\"'\"",
    "`backticks` ``` ```",
    "|||",
    "/\\/\\/\\",
    "-- --- ---- -----",
    "!a!b!c!",
    "。。。、、、！！！？？？",
]

# --------------------------------------------------------------------------
# URLs, emails, markdown, HTML
# --------------------------------------------------------------------------
WEB = [
    "https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct",
    "Visit https://www.example.com/path/to/page?query=value&other=123#section now.",
    "http://localhost:8080/api/v1/users/42",
    "ftp://files.example.org/pub/file.tar.gz",
    "https://例え.jp/パス?q=検索",
    "mailto:someone@example.com",
    "Contact me at john.doe+spam@example.co.uk or jane_doe@sub.domain.org.",
    "user@localhost",
    "@username #hashtag $TICKER",
    "# Heading 1\n## Heading 2\n### Heading 3",
    "**bold** and *italic* and ***both*** and ~~strike~~",
    "- item one\n- item two\n  - nested item\n* star item",
    "1. first\n2. second\n3. third",
    "[link text](https://example.com) and ![image](img.png)",
    "> quoted line\n> another quoted line",
    "| col1 | col2 |\n|------|------|\n| a    | b    |",
    "```python\nprint('hi')\n```",
    "Inline `code` in text.",
    "---\ntitle: Post\ntags: [a, b]\n---",
    "<div class=\"container\"><p>Hello &amp; welcome</p></div>",
    "<!-- comment --> <br/> <img src=\"a.png\" alt=\"\"/>",
    "&lt;tag&gt; &nbsp; &#8212; &#x2014;",
    "C:\\Users\\Name\\Documents\\file.txt",
    "/usr/local/bin/python3 --version",
    "~/.config/app/settings.json",
    "SELECT * FROM users WHERE id = 42 AND name LIKE '%doe%';",
    "$ ls -la | grep \".swift\" > out.txt 2>&1",
]

# --------------------------------------------------------------------------
# Code
# --------------------------------------------------------------------------
CODE = [
    "def hello(name):\n    print(f\"Hello, {name}!\")\n    return None\n",
    "class Foo:\n    def __init__(self, x: int) -> None:\n        self.x = x\n\n    def __repr__(self):\n        return f\"Foo({self.x!r})\"\n",
    "for i in range(10):\n\tif i % 2 == 0:\n\t\tprint(i)\n",
    "if x:\r\n    y = 1\r\nelse:\r\n    y = 2\r\n",
    "import numpy as np   \nx = np.zeros((3, 4))  \n",
    "    # indented comment\n        deeper\n            deepest\n",
    "lambda x: x ** 2 if x >= 0 else -x // 3",
    "@dataclass\nclass Point:\n    x: float = 0.0\n    y: float = 0.0\n",
    "async def main():\n    await asyncio.sleep(0.1)\n",
    "print(\"tab\\tnewline\\n\")  # escaped",
    "x = [1, 2, 3]\ny = {'a': 1, \"b\": 2}\nz = (4,)\n",
    "import Foundation\n\nstruct Point: Equatable {\n    var x: Double\n    var y: Double\n}\n",
    "func greet(_ name: String) -> String {\n    return \"Hello, \\(name)!\"\n}",
    "let numbers = [1, 2, 3].map { $0 * 2 }.filter { $0 > 2 }",
    "guard let value = optional else { fatalError(\"nil\") }",
    "@Test func example() async throws {\n\t#expect(1 + 1 == 2)\n}\n",
    "extension Array where Element: Comparable {\r\n    func isSorted() -> Bool { zip(self, dropFirst()).allSatisfy(<=) }\r\n}\r\n",
    "{\"name\": \"SmolLM\", \"version\": 2, \"tags\": [\"a\", \"b\"], \"ok\": true, \"x\": null}",
    "{\n  \"key\": \"value\",\n  \"nested\": {\n    \"array\": [1, 2.5, -3e10],\n    \"unicode\": \"\\u00e9\\ud83d\\ude00\"\n  }\n}",
    "{\n\t\"tabs\": true,\n\t\"list\": [\n\t\t1,\n\t\t2\n\t]\n}",
    "[]",
    "{}",
    "#include <stdio.h>\n\nint main(int argc, char **argv) {\n\tprintf(\"Hello, world!\\n\");\n\treturn 0;\n}\n",
    "static inline float dot(const float *a, const float *b, size_t n) {\r\n    float s = 0.0f;\r\n    for (size_t i = 0; i < n; ++i) s += a[i] * b[i];\r\n    return s;\r\n}\r\n",
    "#define MAX(a, b) ((a) > (b) ? (a) : (b))",
    "/* block comment */ // line comment",
    "int *p = &x; p->next = NULL; x <<= 2; y >>= 1; z ^= ~w;",
    "fn main() {\n    let v: Vec<u8> = vec![0; 16];\n    println!(\"{:?}\", v);\n}",
    "const f = (a, b) => a ?? b; let s = `template ${f(1, 2)}`;",
    "public static void main(String[] args) { System.out.println(\"hi\"); }",
    "#!/bin/bash\nset -euo pipefail\necho \"$HOME\" && cd \"${DIR:-/tmp}\"\n",
    "    \n\t\n  \t  \n",
    "def f():\n    pass    \n\n\n\n    \n",
    "x=1;y=2;z=x+y",
    "if (a&&b||!c) { return a!=b; }",
    "    ",
    "\t\t\treturn;",
]

# --------------------------------------------------------------------------
# Special tokens and look-alikes
# --------------------------------------------------------------------------
SPECIAL = [
    # SmolLM2 / ChatML
    "<|im_start|>user\nhi<|im_end|>",
    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|><|im_end|>",
    "<|im_start|><|im_start|><|im_start|>",
    "<|endoftext|>",
    "text<|endoftext|>more text",
    " <|endoftext|> ",
    "<|im_end|>\n",
    "\n<|im_start|>",
    "<repo_name>smol<file_sep>main.py<filename>a.py<gh_stars>100",
    "<issue_start>bug<issue_comment>fixed<issue_closed>",
    "<jupyter_start><jupyter_text>intro<jupyter_code>x=1<jupyter_output>1<empty_output><jupyter_script>",
    "<reponame>",
    # SmolLM3 / Llama-3 style
    "<|begin_of_text|>",
    "<|begin_of_text|>Hello<|end_of_text|>",
    "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
    "<|eom_id|><|python_tag|><|finetune_right_pad_id|>",
    "<think>",
    "</think>",
    "<think>\nLet me reason step by step.\n</think>\nThe answer is 4.",
    "<think></think>",
    "<tool_call>",
    "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>",
    "<tool_response>sunny</tool_response>",
    "<code>print(1)</code>",
    "<|reserved_special_token_0|>",
    "<|reserved_special_token_2|>",
    "<|reserved_special_token_11|><|reserved_special_token_247|>",
    "<|im_start|>assistant\n<think>\n\n</think>\nHello!<|im_end|>",
    # SmolVLM2 / Idefics3
    "<image>",
    "<fake_token_around_image>",
    "<global-img>",
    "<end_of_utterance>",
    "<fake_token_around_image><row_1_col_1>",
    "<fake_token_around_image><row_1_col_1><image><image><image><fake_token_around_image><row_1_col_2><image><image><fake_token_around_image>\n<fake_token_around_image><global-img><image><image><fake_token_around_image>",
    "<row_6_col_6><row_3_col_4><row_2_col_5>",
    "User:<image>Describe this image.<end_of_utterance>\nAssistant: A cat.<end_of_utterance>",
    "<|im_start|>User:<fake_token_around_image><global-img><image><fake_token_around_image>What is this?<end_of_utterance>\nAssistant:",
    "<|reserved_special_token_87|>",
    "<image> <image>  <image>\n<image>",
    "The <image> tag and the <global-img> tag.",
    # Look-alikes that must NOT match an added token
    "<|im_start|",
    "|im_start|>",
    "< |im_end|>",
    "<|im_end| >",
    "<|IM_START|>",
    "<|Im_Start|>",
    "<|im_start |>",
    "<|im-start|>",
    "<<|im_start|>>",
    "<|<|im_end|>|>",
    "<|im_start|>>",
    "<image >",
    "< image>",
    "<Image>",
    "<IMAGE>",
    "<images>",
    "<image",
    "image>",
    "<row_0_col_1>",
    "<row_7_col_7>",
    "<row_1_col_10>",
    "<row_1-col_1>",
    "<global_img>",
    "<end_of_utterance >",
    "<thinking>",
    "</ think>",
    "<THINK>",
    "<tool-call>",
    "<|begin_of_text",
    "<|endoftext|",
    "<|reserved_special_token_999|>",
    "<|endoftext|><|endoftext",
    "<s></s><unk><pad>[CLS][SEP][MASK]",
]

# --------------------------------------------------------------------------
# Longer mixed documents
# --------------------------------------------------------------------------
LONG = [
    "Title: A Short Report\n\nSummary:\n  The results (n=1,024) show a 12.5% increase.   \n\n"
    "Details:\n\t- Sample A: 3.14 ± 0.01\n\t- Sample B: 2.72 ± 0.02\n\nConclusion: ✔️ success!\n",
    "Dear team,\r\n\r\nPlease find the attached report.\r\nBest regards,\r\nAlice\r\n",
    "Q: What's 15% of 240?\nA: 0.15 × 240 = 36.\n\nQ: And √144?\nA: 12.",
    "Recipe:\n1. Mix 200g flour, 2 eggs & 250ml milk.\n2. Rest 30 min.\n3. Fry 2–3 min/side @ 180°C.\n",
    "User reviews ★★★★☆ (4.2/5): \"Great product!!!\" — J.D., 2023-07-04",
    "Multilingual: Hello / Hola / Bonjour / Hallo / Ciao / Olá / Привет / Γεια / مرحبا / שלום / नमस्ते / สวัสดี / Xin chào / 你好 / こんにちは / 안녕하세요",
    "Log: [2024-05-01 12:00:00,123] ERROR  module.sub:42 - Failed to connect (errno=111)\n"
    "Traceback (most recent call last):\n  File \"main.py\", line 10, in <module>\n    main()\n",
    " ".join(["word"] * 60),
    "lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod "
    "tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, "
    "quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat.",
    "\n".join(f"{i}. line number {i}" for i in range(1, 21)),
]

SECTIONS = [
    ("edge", EDGE),
    ("whitespace", WHITESPACE),
    ("english", ENGLISH),
    ("contractions", CONTRACTIONS),
    ("european", EUROPEAN),
    ("other_scripts", OTHER_SCRIPTS),
    ("mixed", MIXED),
    ("combining", COMBINING),
    ("unknown_bytes", UNKNOWN_BYTES),
    ("numbers", NUMBERS),
    ("emoji", EMOJI),
    ("math", MATH),
    ("punctuation", PUNCTUATION),
    ("web", WEB),
    ("code", CODE),
    ("special", SPECIAL),
    ("long", LONG),
]


def build_corpus() -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for _, items in SECTIONS:
        for s in items:
            if not isinstance(s, str):
                raise TypeError(f"corpus entry {s!r} is not a string")
            s.encode("utf-8")  # rejects lone surrogates
            if s not in seen:
                seen.add(s)
                out.append(s)
    return out


# Characters written as \uXXXX escapes in corpus.json so that a reader can
# see them: controls, format characters (ZWJ, BOM, tags, ...), every space
# other than U+0020, line/paragraph separators, private use, and combining
# marks that are either generic (the diacritic blocks used for decomposed
# Latin/Greek/Cyrillic accents, and the kana voicing marks) or not attached to
# a letter.  Script-internal marks (Devanagari vowel signs, Thai, Hebrew and
# Arabic points) stay raw so those lines remain readable.
_ESCAPED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"}
_GENERIC_MARKS = [(0x0300, 0x036F), (0x1AB0, 0x1AFF), (0x1DC0, 0x1DFF),
                  (0x20D0, 0x20FF), (0xFE20, 0xFE2F), (0x3099, 0x309A), (0xFE00, 0xFE0F)]


def _escape(ch: str) -> str:
    cp = ord(ch)
    if cp <= 0xFFFF:
        return f"\\u{cp:04x}"
    cp -= 0x10000
    return f"\\u{0xD800 + (cp >> 10):04x}\\u{0xDC00 + (cp & 0x3FF):04x}"


def _needs_escape(ch: str, prev: str) -> bool:
    if ch == " ":
        return False
    cat = unicodedata.category(ch)
    if cat in _ESCAPED_CATEGORIES:
        return True
    if cat[0] == "M":
        cp = ord(ch)
        if any(lo <= cp <= hi for lo, hi in _GENERIC_MARKS):
            return True
        return not (prev and unicodedata.category(prev)[0] in "LM")
    return False


def encode_visible(s: str) -> str:
    """json.dumps(s, ensure_ascii=False), but invisible characters escaped."""
    raw = json.dumps(s, ensure_ascii=False)
    out, prev = [], ""
    for ch in raw:
        out.append(_escape(ch) if _needs_escape(ch, prev) else ch)
        prev = ch
    return "".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()
    corpus = build_corpus()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # One string per line: readable diffs, still a plain JSON array.
    text = "[\n" + ",\n".join(encode_visible(s) for s in corpus) + "\n]\n"
    if json.loads(text) != corpus:
        raise AssertionError("corpus.json does not round-trip")
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({len(corpus)} strings)")


if __name__ == "__main__":
    main()
