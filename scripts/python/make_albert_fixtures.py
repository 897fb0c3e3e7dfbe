#!/usr/bin/env python3
"""Reference fixtures for lamina's ALBERT parity tests, made with Hugging Face's AlbertForPreTraining.

For each small configuration below this writes, under packages/albert/test/fixtures/albert/<name>/:

  config.json, model.safetensors   the model, via save_pretrained(..., safe_serialization=True)
  io.json                          inputs (input_ids, token_type_ids, attention_mask: padded rows,
                                   two segments) and the reference outputs (last_hidden_state,
                                   pooler_output, prediction_logits, sop_logits) as nested lists

Every parameter is re-drawn from a fixed seed with magnitudes that make each part of the network
matter (LayerNorm weights around 1 +- 0.3 and random biases everywhere), so a parity test fails if
any parameter is mapped wrongly. Deterministic: re-running rewrites identical files.

Run in the reference venv (node scripts/python/setup-venv.mjs):
  .venv/bin/python scripts/python/make_albert_fixtures.py [--out DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import torch
import transformers
from transformers import AlbertConfig, AlbertForPreTraining

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_OUT = os.path.join(ROOT, "packages", "albert", "test", "fixtures", "albert")

COMMON = dict(hidden_act="gelu_new", layer_norm_eps=1e-12, hidden_dropout_prob=0.0,
              attention_probs_dropout_prob=0.0, classifier_dropout_prob=0.0, type_vocab_size=2)

# name -> (seed, AlbertConfig kwargs, sequence length)
FIXTURES = {
    # num_hidden_groups > 1 with N not a multiple of it: layers 0,1 -> group 0, layer 2 -> group 1.
    "groups": (1, dict(vocab_size=64, embedding_size=8, hidden_size=16, num_hidden_layers=3, num_hidden_groups=2,
                       num_attention_heads=2, intermediate_size=24, inner_group_num=1, max_position_embeddings=16), 10),
    # inner_group_num > 1: each application runs two distinct layers.
    "inner": (2, dict(vocab_size=50, embedding_size=12, hidden_size=24, num_hidden_layers=3, num_hidden_groups=1,
                      num_attention_heads=3, intermediate_size=32, inner_group_num=2, max_position_embeddings=16), 9),
    # E = H: the E->H projection still exists (HF ALBERT always has embedding_hidden_mapping_in).
    "e_eq_h": (3, dict(vocab_size=72, embedding_size=20, hidden_size=20, num_hidden_layers=2, num_hidden_groups=1,
                       num_attention_heads=4, intermediate_size=28, inner_group_num=1, max_position_embeddings=12), 12),
}

BATCH = 2


def randomize(model: torch.nn.Module, gen: torch.Generator) -> None:
    """Redraws every parameter: weights ~ N(0, 0.3), biases ~ N(0, 0.2), LayerNorm gamma ~ 1 + N(0, 0.3)."""
    with torch.no_grad():
        for name, p in model.named_parameters():  # tied parameters are listed once
            noise = torch.randn(p.shape, generator=gen)
            if "LayerNorm" in name or "layer_norm" in name:
                p.copy_(1.0 + 0.3 * noise if name.endswith("weight") else 0.2 * noise)
            elif name.endswith("bias"):
                p.copy_(0.2 * noise)
            elif "embeddings" in name:
                p.copy_(0.5 * noise)
            else:
                p.copy_(0.3 * noise)


def make_inputs(vocab: int, seq: int, gen: torch.Generator) -> dict[str, torch.Tensor]:
    """Row 0: full length, segments A|B. Row 1: 3 padding positions at the end, segments A|B before them."""
    ids = torch.randint(5, vocab, (BATCH, seq), generator=gen)
    ids[:, 0] = 2  # [CLS]
    mask = torch.ones(BATCH, seq, dtype=torch.long)
    types = torch.zeros(BATCH, seq, dtype=torch.long)
    lengths = [seq, seq - 3]
    for b, n in enumerate(lengths):
        split = n // 2
        ids[b, split - 1] = 3  # [SEP]
        ids[b, n - 1] = 3
        types[b, split:n] = 1
        mask[b, n:] = 0
        ids[b, n:] = 0  # <pad>
    return {"input_ids": ids, "token_type_ids": types, "attention_mask": mask}


def rounded(t: torch.Tensor):
    """Nested lists of floats with 9 significant digits (enough for float32 to round-trip)."""
    def r(x):
        return [r(y) for y in x] if isinstance(x, list) else float(f"{x:.9g}")
    return r(t.detach().tolist())


def make(name: str, seed: int, kwargs: dict, seq: int, out_root: str) -> dict:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    config = AlbertConfig(**COMMON, **kwargs)
    config._attn_implementation = "eager"
    model = AlbertForPreTraining(config).eval()
    randomize(model, gen)
    assert model.predictions.decoder.weight.data_ptr() == model.albert.embeddings.word_embeddings.weight.data_ptr(), "decoder not tied"
    assert torch.equal(model.predictions.decoder.bias, model.predictions.bias), "decoder bias not tied"
    inputs = make_inputs(config.vocab_size, seq, gen)
    with torch.no_grad():
        base = model.albert(**inputs)
        full = model(**inputs)
    assert torch.equal(base.last_hidden_state, model.albert(**inputs).last_hidden_state)

    out_dir = os.path.join(out_root, name)
    os.makedirs(out_dir, exist_ok=True)
    model.save_pretrained(out_dir, safe_serialization=True)
    io = {
        "description": f"AlbertForPreTraining reference outputs for fixture '{name}' (scripts/python/make_albert_fixtures.py)",
        "generator": {"seed": seed, "torch": torch.__version__, "transformers": transformers.__version__},
        "config": {k: kwargs[k] for k in sorted(kwargs)} | {k: COMMON[k] for k in sorted(COMMON)},
        "inputs": {k: v.tolist() for k, v in inputs.items()},
        "outputs": {
            "last_hidden_state": rounded(base.last_hidden_state),
            "pooler_output": rounded(base.pooler_output),
            "prediction_logits": rounded(full.prediction_logits),
            "sop_logits": rounded(full.sop_logits),
        },
    }
    with open(os.path.join(out_dir, "io.json"), "w") as f:
        json.dump(io, f, separators=(",", ":"))
        f.write("\n")
    size = sum(os.path.getsize(os.path.join(out_dir, f)) for f in os.listdir(out_dir))
    return {"name": name, "dir": out_dir, "bytes": size, "params": sum(p.numel() for p in model.parameters())}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=DEFAULT_OUT, help="output root (default: %(default)s)")
    args = ap.parse_args()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    for name, (seed, kwargs, seq) in FIXTURES.items():
        r = make(name, seed, kwargs, seq, args.out)
        print(f"{r['name']}: {r['params']} parameters, {r['bytes']} bytes -> {os.path.relpath(r['dir'], ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
