#!/usr/bin/env python3
"""Hugging Face's clm loss of a GPT-2 directory on a text file, windowed as `lamina eval
--checkpoint <hf-gpt2-dir> --corpus` does, to compare the two.

Documents are the file's paragraphs (separated by blank lines, each kept as written: the test's
corpus has one line per paragraph and single spaces, so lamina's sentence split and re-join gives
the same text), each followed by <|endoftext|>; the token stream is cut into at most W windows of
S + 1 tokens overlapping by one, the last padded. Prints one JSON line: the mean cross-entropy of
GPT2LMHeadModel over the predicted positions (input and target both real), next-token accuracy,
the windows and the tokens covered.

  .venv/bin/python scripts/python/hf_gpt2_clm_eval.py <dir> <corpus.txt> <S> <W>
"""
import json
import sys

import torch
import transformers
from transformers import GPT2LMHeadModel, GPT2Tokenizer

transformers.logging.set_verbosity_error()


def main() -> int:
    d, corpus, S, W = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    tok = GPT2Tokenizer.from_pretrained(d)
    model = GPT2LMHeadModel.from_pretrained(d).eval()
    eot = tok.convert_tokens_to_ids("<|endoftext|>")
    with open(corpus, encoding="utf-8") as f:
        docs = [p.strip() for p in f.read().replace("\r\n", "\n").split("\n\n") if p.strip()]
    stream = []
    for doc in docs:
        stream += tok.encode(doc, add_special_tokens=False) + [eot]
    count = min(W, (len(stream) - 1 + S - 1) // S if len(stream) >= 2 else 0)
    total, correct, n = 0.0, 0, 0
    for w in range(count):
        window = stream[w * S: w * S + S + 1]
        x = torch.tensor([window[:-1]])
        y = torch.tensor(window[1:])
        with torch.no_grad():
            logits = model(x).logits[0]
        total += float(torch.nn.functional.cross_entropy(logits[: len(y)], y, reduction="sum"))
        correct += int((logits[: len(y)].argmax(-1) == y).sum())
        n += len(y)
    print(json.dumps({"loss": total / n, "accuracy": correct / n, "windows": count, "tokens": min(len(stream), count * S + 1), "predicted": n}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
