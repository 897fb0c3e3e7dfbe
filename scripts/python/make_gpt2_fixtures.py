#!/usr/bin/env python3
"""Reference fixtures for lamina's GPT-2 parity tests, made with Hugging Face's GPT2LMHeadModel.

For each small configuration below this writes, under packages/albert/test/fixtures/gpt2/<name>/:

  config.json, model.safetensors   the model, via save_pretrained(..., safe_serialization=True)
  io.json                          inputs (input_ids, attention_mask: a right-padded batch of 3
                                   rows) and the reference output logits [batch, seq, vocab]

and packages/albert/test/fixtures/gpt2/param-counts.json: the number of parameters of
GPT2LMHeadModel for the four released sizes (gpt2, gpt2-medium, gpt2-large, gpt2-xl), counted by
transformers itself (model.num_parameters(), built on the meta device so no memory is allocated).

Every parameter is re-drawn from a fixed seed with magnitudes that make each part of the network
matter (LayerNorm weights around 1 +- 0.3 and random biases everywhere), so a parity test fails if
any parameter is mapped wrongly (e.g. a q/k/v slice of c_attn swapped, or a Conv1D transposed).
Deterministic: re-running rewrites identical files.

Run in the reference venv (node scripts/python/setup-venv.mjs):
  .venv/bin/python scripts/python/make_gpt2_fixtures.py [--out DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import torch
import transformers
from transformers import GPT2Config, GPT2LMHeadModel

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_OUT = os.path.join(ROOT, "packages", "albert", "test", "fixtures", "gpt2")

COMMON = dict(resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, summary_first_dropout=0.0)

# name -> (seed, GPT2Config kwargs, sequence length)
FIXTURES = {
    # the default MLP width (n_inner = None -> 4 * n_embd), gelu_new, two layers
    "small": (1, dict(vocab_size=61, n_positions=16, n_embd=16, n_layer=2, n_head=2, n_inner=None,
                      activation_function="gelu_new", layer_norm_epsilon=1e-5), 10),
    # an explicit n_inner, three heads, three layers, the sequence as long as the positions
    "inner": (2, dict(vocab_size=53, n_positions=12, n_embd=24, n_layer=3, n_head=3, n_inner=40,
                      activation_function="gelu_new", layer_norm_epsilon=1e-5), 12),
    # exact (erf) GELU, another LayerNorm epsilon, one layer, four heads of width 3
    "gelu": (3, dict(vocab_size=40, n_positions=10, n_embd=12, n_layer=1, n_head=4, n_inner=20,
                     activation_function="gelu", layer_norm_epsilon=1e-6), 7),
}

# row lengths: full, then right padding of 3 and 5 positions
PADDING = (0, 3, 5)

PRESETS = {
    "gpt2": dict(n_embd=768, n_layer=12, n_head=12),
    "gpt2-medium": dict(n_embd=1024, n_layer=24, n_head=16),
    "gpt2-large": dict(n_embd=1280, n_layer=36, n_head=20),
    "gpt2-xl": dict(n_embd=1600, n_layer=48, n_head=25),
}


def randomize(model: torch.nn.Module, gen: torch.Generator) -> None:
    """Redraws every parameter: weights ~ N(0, 0.3), biases ~ N(0, 0.2), LayerNorm gamma ~ 1 + N(0, 0.3)."""
    with torch.no_grad():
        for name, p in model.named_parameters():  # the tied lm_head is listed once (as wte)
            noise = torch.randn(p.shape, generator=gen)
            if ".ln_" in name:
                p.copy_(1.0 + 0.3 * noise if name.endswith("weight") else 0.2 * noise)
            elif name.endswith("bias"):
                p.copy_(0.2 * noise)
            elif ".wte." in name or ".wpe." in name:
                p.copy_(0.5 * noise)
            else:
                p.copy_(0.3 * noise)


def make_inputs(vocab: int, seq: int, gen: torch.Generator) -> dict[str, torch.Tensor]:
    """Three rows; row b has PADDING[b] padding positions at the end (id 0, mask 0)."""
    ids = torch.randint(0, vocab, (len(PADDING), seq), generator=gen)
    mask = torch.ones(len(PADDING), seq, dtype=torch.long)
    for b, pad in enumerate(PADDING):
        if pad:
            ids[b, seq - pad:] = 0
            mask[b, seq - pad:] = 0
    return {"input_ids": ids, "attention_mask": mask}


def rounded(t: torch.Tensor):
    """Nested lists of floats with 9 significant digits (enough for float32 to round-trip)."""
    def r(x):
        return [r(y) for y in x] if isinstance(x, list) else float(f"{x:.9g}")
    return r(t.detach().tolist())


def make(name: str, seed: int, kwargs: dict, seq: int, out_root: str) -> dict:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    vocab = kwargs["vocab_size"]
    config = GPT2Config(**COMMON, **kwargs, bos_token_id=vocab - 1, eos_token_id=vocab - 1)
    config._attn_implementation = "eager"
    model = GPT2LMHeadModel(config).eval()
    randomize(model, gen)
    assert model.lm_head.weight.data_ptr() == model.transformer.wte.weight.data_ptr(), "lm_head not tied"
    inputs = make_inputs(vocab, seq, gen)
    with torch.no_grad():
        logits = model(**inputs).logits
        # right padding must not change the logits at real positions: row 1 alone, unpadded
        n = seq - PADDING[1]
        alone = model(input_ids=inputs["input_ids"][1:2, :n]).logits
    assert (alone[0] - logits[1, :n]).abs().max() < 1e-5, "padding changed real positions"

    out_dir = os.path.join(out_root, name)
    os.makedirs(out_dir, exist_ok=True)
    model.save_pretrained(out_dir, safe_serialization=True)
    io = {
        "description": f"GPT2LMHeadModel reference logits for fixture '{name}' (scripts/python/make_gpt2_fixtures.py); "
                       "compare only where attention_mask is 1",
        "generator": {"seed": seed, "torch": torch.__version__, "transformers": transformers.__version__},
        "config": {k: kwargs[k] for k in sorted(kwargs)} | {k: COMMON[k] for k in sorted(COMMON)},
        "inputs": {k: v.tolist() for k, v in inputs.items()},
        "outputs": {"logits": rounded(logits)},
    }
    with open(os.path.join(out_dir, "io.json"), "w") as f:
        json.dump(io, f, separators=(",", ":"))
        f.write("\n")
    size = sum(os.path.getsize(os.path.join(out_dir, f)) for f in os.listdir(out_dir))
    return {"name": name, "dir": out_dir, "bytes": size, "params": model.num_parameters()}


def preset_counts() -> dict:
    """GPT2LMHeadModel.num_parameters() for the released sizes, built on the meta device."""
    counts = {}
    for name, kwargs in PRESETS.items():
        with torch.device("meta"):
            model = GPT2LMHeadModel(GPT2Config(**kwargs))
        assert model.lm_head.weight is model.transformer.wte.weight, "lm_head not tied"
        counts[name] = model.num_parameters()
    return counts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=DEFAULT_OUT, help="output root (default: %(default)s)")
    args = ap.parse_args()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    for name, (seed, kwargs, seq) in FIXTURES.items():
        r = make(name, seed, kwargs, seq, args.out)
        print(f"{r['name']}: {r['params']} parameters, {r['bytes']} bytes -> {os.path.relpath(r['dir'], ROOT)}")
    counts = preset_counts()
    with open(os.path.join(args.out, "param-counts.json"), "w") as f:
        json.dump({
            "description": "GPT2LMHeadModel(GPT2Config(...)).num_parameters() (LM head tied to wte), by scripts/python/make_gpt2_fixtures.py",
            "transformers": transformers.__version__,
            "counts": counts,
        }, f, indent=2)
        f.write("\n")
    print("param counts:", counts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
