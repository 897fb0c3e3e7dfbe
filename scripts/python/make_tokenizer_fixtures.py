#!/usr/bin/env python3
"""Writes the reference ids that lamina's tokenizer must reproduce exactly.

For each vocabulary directory (with spiece.model and tokenizer.json) and each test text (and pair),
records:
  - "fast": Hugging Face `tokenizers` on tokenizer.json (what AlbertTokenizerFast / AutoTokenizer
    return, checked against transformers' AlbertTokenizer for the same file),
  - "slow": Python `sentencepiece` on spiece.model with ALBERT's preprocessing, i.e. the
    sentencepiece-based AlbertTokenizer of transformers 4.x (`preprocess_text`, `_tokenize` with the
    digit-comma rule, special-token literals split out first). transformers 5 dropped that class,
    so it is reproduced below line for line.

Run from the repo root (after `node scripts/python/setup-venv.mjs`):

    .venv/bin/python scripts/python/make_tokenizer_fixtures.py \
        packages/albert/assets/vocab:packages/albert/test/fixtures/tokenizer/bundled.json \
        packages/albert/test/fixtures/tokenizer/small-vocab:packages/albert/test/fixtures/tokenizer/small.json

Any vocabulary can be checked the same way (e.g. an ALBERT 30k-clean spiece.model with a converted
tokenizer.json next to it); pass --no-texts-long to keep the output small.
"""
import json
import random
import sys
import unicodedata

import sentencepiece as spm
import tokenizers
import transformers

SPIECE_UNDERLINE = "▁"


def texts():
    base = [
        "",
        " ",
        "Hello, world!",
        "  Leading and trailing spaces   ",
        "Café déjà vu, naïve façade; Ångström über Straße.",
        "It cost $1,000,000 in 1990, or 3,5 million; 12,345.67 and 7,",
        "In 1861, 1862, and 1863, the war went on.",
        "“Curly quotes” and ‘single ones’ — plus ``TeX quotes'' and 'plain'.",
        "Emoji: 😀 👍🏽 👨‍👩‍👧 🇺🇸 ❤️ done",
        "CJK: 日本語のテキスト、中文文本，한국어 텍스트。",
        "Tabs\tand\nnewlines\r\nand\u00a0nbsp\u3000ideographic space",
        "ΟΔΟΣ Σίσυφος ΣΑΣ",
        "İstanbul ǅemal ﬁnance ① ½ ² Ⅻ ㎏",
        "नमस्ते दुनिया — हिन्दी",
        "مرحبا بالعالم",
        "Control\u0001chars\u0007and\u200bzero\u200dwidth\ufeffbom",
        "Fullwidth ＡＢＣ　ｄｅｆ １２３ ｶﾞｷﾞ",
        "(parentheses) and \"quotes\" - dashes – en £5 €10.",
        "[MASK] the [CLS] and [SEP] <unk> <pad> literal",
        "the [MASK] token",
        "a\u0301e\u0300i\u0302 combining sequences o\u0308\u0304",
        "x" * 50,
        "supercalifragilisticexpialidocious antidisestablishmentarianism",
        "...!!!???",
        "Mr. Smith's e-mail: smith@example.com, http://example.org/a?b=c&d=1",
        "\u2581already metaspace\u2581 inside",
        "one  two   three    four",
        "\n\n\n",
        "ß ẞ ﬀ ﬃ Ǆ ǆ",
        "🙂" * 3 + "text🙂",
    ]
    rnd = random.Random(12345)
    alphabet = (
        [chr(c) for c in range(0x20, 0x7F)]
        + list("àáâãäåæçèéêëìíîïñòóôõöùúûüýÿœšžƒ")
        + list("ΑΒΓΔαβγδΣσςЖжЯя")
        + list("日本語中文한국어")
        + list("\t\n\u00a0\u2009\u200b\u0301\u0308")
        + list("“”‘’«»—–…")
        + ["😀", "👍", "🏽", "\u200d", "❤", "\ufe0f"]
        + list("0123456789,,,")
    )
    for _ in range(40):
        n = rnd.randint(1, 60)
        base.append("".join(rnd.choice(alphabet) for _ in range(n)))
    words = "the whale ship Ahab sea 1,000 naïve “said” 😀 日本 year, 1990, crew—and".split(" ")
    base.append(" ".join(rnd.choice(words) for _ in range(2500)))  # a very long string
    return base


def slow_factory(model_file):
    sp = spm.SentencePieceProcessor(model_file=model_file)
    specials = ["[CLS]", "[SEP]", "<unk>", "<pad>", "[MASK]"]

    def preprocess_text(inputs):
        outputs = " ".join(inputs.strip().split())
        outputs = outputs.replace("``", '"').replace("''", '"')
        outputs = unicodedata.normalize("NFKD", outputs)
        outputs = "".join([c for c in outputs if not unicodedata.combining(c)])
        return outputs.lower()

    def _tokenize(text):
        text = preprocess_text(text)
        pieces = sp.encode(text, out_type=str)
        new_pieces = []
        for piece in pieces:
            if len(piece) > 1 and piece[-1] == "," and piece[-2].isdigit():
                cur_pieces = sp.EncodeAsPieces(piece[:-1].replace(SPIECE_UNDERLINE, ""))
                if piece[0] != SPIECE_UNDERLINE and cur_pieces[0][0] == SPIECE_UNDERLINE:
                    if len(cur_pieces[0]) == 1:
                        cur_pieces = cur_pieces[1:]
                    else:
                        cur_pieces[0] = cur_pieces[0][1:]
                cur_pieces.append(piece[-1])
                new_pieces.extend(cur_pieces)
            else:
                new_pieces.append(piece)
        return new_pieces

    def split_specials(text):
        # transformers 4.x PreTrainedTokenizer.tokenize: a trie over the special tokens, longest
        # match first; whitespace next to them does not matter because _tokenize strips.
        out, i, start = [], 0, 0
        order = sorted(specials, key=len, reverse=True)
        while i < len(text):
            hit = next((s for s in order if text.startswith(s, i)), None)
            if hit is None:
                i += 1
                continue
            if text[start:i]:
                out.append(text[start:i])
            out.append(hit)
            i += len(hit)
            start = i
        if text[start:]:
            out.append(text[start:])
        return out

    def tokenize(text):
        ids = []
        for chunk in split_specials(text):
            if chunk in specials:
                ids.append(sp.piece_to_id(chunk))
            else:
                ids.extend(sp.piece_to_id(p) for p in _tokenize(chunk))
        return ids

    cls, sep = sp.piece_to_id("[CLS]"), sp.piece_to_id("[SEP]")

    def encode(a, b=None):
        ids = [cls] + tokenize(a) + [sep]
        types = [0] * len(ids)
        if b is not None:
            tb = tokenize(b) + [sep]
            ids += tb
            types += [1] * len(tb)
        return {"input_ids": ids, "token_type_ids": types}

    return encode


def main(argv):
    jobs = [a.split(":", 1) for a in argv if not a.startswith("--")]
    ts = texts()
    rnd = random.Random(7)
    pairs = [(ts[i], ts[j]) for i, j in [(2, 3), (4, 5), (0, 2), (7, 9), (10, 11), (18, 19)]]
    pairs += [(rnd.choice(ts[:-1]), rnd.choice(ts[:-1])) for _ in range(14)]
    for vocab_dir, out in jobs:
        fast = tokenizers.Tokenizer.from_file(f"{vocab_dir}/tokenizer.json")
        hf = transformers.AlbertTokenizer(tokenizer_file=f"{vocab_dir}/tokenizer.json")
        slow = slow_factory(f"{vocab_dir}/spiece.model")

        def fast_enc(a, b=None):
            e = fast.encode(a, b)
            r = {"input_ids": e.ids, "token_type_ids": e.type_ids}
            t = hf(a, b) if b is not None else hf(a)
            assert t["input_ids"] == e.ids, ("transformers and tokenizers disagree", a, b)
            return r

        cases = [{"text": t, "fast": fast_enc(t), "slow": slow(t)} for t in ts]
        pcases = [{"text": a, "pair": b, "fast": fast_enc(a, b), "slow": slow(a, b)} for a, b in pairs]
        differ = sum(c["fast"]["input_ids"] != c["slow"]["input_ids"] for c in cases + pcases)
        doc = {
            "generator": "scripts/python/make_tokenizer_fixtures.py",
            "vocab": vocab_dir,
            "versions": {
                "tokenizers": tokenizers.__version__,
                "transformers": transformers.__version__,
                "sentencepiece": spm.__version__,
            },
            "singles": cases,
            "pairs": pcases,
        }
        with open(out, "w", encoding="utf-8") as f:
            json.dump(doc, f, ensure_ascii=False, separators=(",", ":"))
            f.write("\n")
        print(f"{out}: {len(cases)} singles, {len(pcases)} pairs; fast and slow differ on {differ}")


if __name__ == "__main__":
    main(sys.argv[1:])
