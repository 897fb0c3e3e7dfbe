#!/usr/bin/env python3
"""Checks a Hugging Face GPT-2 directory written by lamina against the reference implementation.

  .venv/bin/python scripts/python/check_gpt2_export.py <model-dir> <io.json> [<model-dir> <io.json> ...] [--tol 1e-4]

Loads <model-dir> with GPT2LMHeadModel.from_pretrained(..., output_loading_info=True), fails if any
key is missing, unexpected or mismatched, or if lm_head is not tied to wte, runs the inputs of
<io.json> (input_ids, attention_mask; io.json as written by make_gpt2_fixtures.py or by lamina)
and compares the logits with outputs.logits at the positions where attention_mask is 1. Prints one
JSON object per pair, one per line: {"ok": bool, "dir": str, "loading": {...}, "tied": bool,
"max_abs_diff": {"logits": float, or null on a shape mismatch}, "tol": float}. Exits 0 when every
loading is clean and every difference is <= tol, 1 otherwise, 2 on bad arguments or unreadable
files. Several pairs share one Python start-up (importing torch is the slow part).
"""
from __future__ import annotations

import argparse
import json
import os
import sys


def check(model_dir: str, io_json: str, tol: float) -> tuple[int, dict]:
    """Checks one directory against one io.json; returns (exit code, report)."""
    if not os.path.isdir(model_dir):
        return 2, {"ok": False, "dir": model_dir, "error": f"no such directory: {model_dir}"}
    try:
        with open(io_json) as f:
            io = json.load(f)
        ids = io["inputs"]["input_ids"]
        mask = io["inputs"].get("attention_mask")
        want = io["outputs"]["logits"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        return 2, {"ok": False, "dir": model_dir, "error": f"cannot read {io_json}: {e!r}"}

    import torch
    from transformers import GPT2LMHeadModel

    model, info = GPT2LMHeadModel.from_pretrained(model_dir, output_loading_info=True, attn_implementation="eager")
    model.eval()
    loading = {k: sorted(str(x) for x in info.get(k, [])) for k in ("missing_keys", "unexpected_keys", "mismatched_keys", "error_msgs")}
    tied = model.lm_head.weight.data_ptr() == model.transformer.wte.weight.data_ptr()
    clean = not any(loading.values()) and tied

    input_ids = torch.tensor(ids, dtype=torch.long)
    attention_mask = torch.ones_like(input_ids) if mask is None else torch.tensor(mask, dtype=torch.long)
    with torch.no_grad():
        got = model(input_ids=input_ids, attention_mask=attention_mask).logits.float()
    want_t = torch.tensor(want, dtype=torch.float32)
    problems: list[str] = []
    if tuple(want_t.shape) != tuple(got.shape):
        problems.append(f"logits: shape {list(got.shape)} != expected {list(want_t.shape)}")
        diff = None
    else:
        keep = attention_mask.bool().unsqueeze(-1).expand_as(got)
        diff = float((got - want_t).abs()[keep].max()) if keep.any() else 0.0
    ok = clean and not problems and diff is not None and diff <= tol
    report = {"ok": ok, "dir": model_dir, "loading": loading, "tied": tied, "max_abs_diff": {"logits": diff}, "tol": tol}
    if problems:
        report["problems"] = problems
    return (0 if ok else 1), report


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir")
    ap.add_argument("io_json")
    ap.add_argument("more", nargs="*", metavar="MODEL_DIR IO_JSON", help="further pairs, checked in the same process")
    ap.add_argument("--tol", type=float, default=1e-4)
    args = ap.parse_args()
    if len(args.more) % 2:
        ap.error("arguments must come in <model-dir> <io.json> pairs")
    pairs = [(args.model_dir, args.io_json)] + list(zip(args.more[0::2], args.more[1::2]))
    worst = 0
    for model_dir, io_json in pairs:
        code, report = check(model_dir, io_json, args.tol)
        print(json.dumps(report), flush=True)
        worst = max(worst, code)
    return worst


if __name__ == "__main__":
    sys.exit(main())
