#!/usr/bin/env python3
"""Trains an ALBERT-style SentencePiece unigram vocabulary with SentencePiece's own trainer.

lamina has no trainer of its own (and npm has no package that ships SentencePiece's trainer): this
script is what `lamina tokenizer train` runs, and what produced the committed vocabulary in
packages/albert/assets/. The flags are those of ALBERT's README (pad=0, unk=1, [CLS]/[SEP]/[MASK]
as control symbols 2-4, the same user-defined symbols, nmt_nfkc normalisation, unigram model).

Writes <out>/spiece.model and <out>/spiece.vocab, and with --hf-json also <out>/tokenizer.json
converted by transformers' AlbertConverter (what AlbertTokenizerFast would build from the model).

The committed vocabulary was made with (from the repo root, after `node scripts/python/setup-venv.mjs`):

    node packages/train/bin/lamina.js tokenizer train --corpus bundled --vocab-size 10000 \
        --out packages/albert/assets/vocab --hf-json

which dumps the bundled corpus to a temporary file (one sentence per line, blank line between
documents) and runs:

    .venv/bin/python scripts/python/train_vocab.py --input <dump> --vocab-size 10000 \
        --out packages/albert/assets/vocab --seed 12345 --hf-json
"""
import argparse
import os
import sys


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--input", required=True, help="text file, one sentence per line")
    ap.add_argument("--vocab-size", type=int, required=True)
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--character-coverage", type=float, default=0.99995)
    ap.add_argument("--threads", type=int, default=max(1, os.cpu_count() or 1))
    ap.add_argument("--normalization", default="nmt_nfkc", help="sentencepiece normalization_rule_name")
    ap.add_argument("--hf-json", action="store_true", help="also write tokenizer.json (needs transformers)")
    a = ap.parse_args()
    try:
        import sentencepiece as spm
    except ImportError:
        print("train_vocab.py: Python package sentencepiece is not installed", file=sys.stderr)
        return 3
    os.makedirs(a.out, exist_ok=True)
    prefix = os.path.join(a.out, "spiece")
    spm.set_random_generator_seed(a.seed)
    spm.SentencePieceTrainer.train(
        input=a.input,
        model_prefix=prefix,
        model_type="unigram",
        vocab_size=a.vocab_size,
        pad_id=0,
        unk_id=1,
        bos_id=-1,
        eos_id=-1,
        control_symbols=["[CLS]", "[SEP]", "[MASK]"],
        user_defined_symbols=["(", ")", '"', "-", ".", "–", "£", "€"],
        shuffle_input_sentence=True,
        input_sentence_size=10_000_000,
        character_coverage=a.character_coverage,
        normalization_rule_name=a.normalization,
        num_threads=a.threads,
        minloglevel=2,
    )
    if a.hf_json:
        from transformers import AlbertTokenizerFast
        from transformers.convert_slow_tokenizer import AlbertConverter

        class _Proxy:  # AlbertConverter reads vocab_file and a few options from the slow tokenizer
            vocab_file = prefix + ".model"
            do_lower_case = True
            keep_accents = False
            remove_space = True
            def convert_tokens_to_ids(self, t):
                import sentencepiece as s
                sp = s.SentencePieceProcessor(model_file=prefix + ".model")
                return sp.piece_to_id(t)

        tok = AlbertConverter(_Proxy()).converted()
        tok.save(os.path.join(a.out, "tokenizer.json"))
        _ = AlbertTokenizerFast  # imported to fail early when transformers is incomplete
    print(f"wrote {prefix}.model ({a.vocab_size} pieces)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
