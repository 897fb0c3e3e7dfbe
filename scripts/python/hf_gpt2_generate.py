#!/usr/bin/env python3
"""Greedy continuations by Hugging Face for a GPT-2 directory, to compare with `lamina generate`.

Loads <dir> with GPT2Tokenizer.from_pretrained and GPT2LMHeadModel.from_pretrained (a directory
lamina exported, with vocab.json + merges.txt beside it), then for each prompt prints one JSON line:

  {"prompt": str, "prompt_ids": [...], "ids": [...], "text": str, "min_margin": float}

`ids` is GPT2LMHeadModel.generate(do_sample=False, use_cache=True, max_new_tokens=N) stopping at
eos_token_id (included, as Hugging Face returns it); `min_margin` is the smallest gap between the
best and second-best logit over the steps (a small gap means a float difference could flip an id).

  .venv/bin/python scripts/python/hf_gpt2_generate.py <dir> <max_new_tokens> <prompt>...
"""
import json
import sys

import torch
import transformers
from transformers import GPT2LMHeadModel, GPT2Tokenizer

transformers.logging.set_verbosity_error()


def main() -> int:
    d, n, prompts = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    tok = GPT2Tokenizer.from_pretrained(d)
    model = GPT2LMHeadModel.from_pretrained(d).eval()
    eos = model.config.eos_token_id
    for p in prompts:
        ids = tok.encode(p, add_special_tokens=False)
        x = torch.tensor([ids])
        with torch.no_grad():
            g = model.generate(x, attention_mask=torch.ones_like(x), max_new_tokens=n, do_sample=False, use_cache=True,
                               output_scores=True, return_dict_in_generate=True, pad_token_id=eos, eos_token_id=eos)
        seq = g.sequences[0].tolist()
        margin = min(float(s[0].topk(2).values[0] - s[0].topk(2).values[1]) for s in g.scores)
        print(json.dumps({"prompt": p, "prompt_ids": ids, "ids": seq, "text": tok.decode(seq, clean_up_tokenization_spaces=False), "min_margin": margin}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
