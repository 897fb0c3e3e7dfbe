#!/usr/bin/env python3
"""Checks a Hugging Face ALBERT directory written by lamina against the reference implementation.

  .venv/bin/python scripts/python/check_hf_export.py <model-dir> <io.json> [--tol 1e-4]

Loads <model-dir> with AlbertForPreTraining.from_pretrained(..., output_loading_info=True), fails
if any key is missing, unexpected or mismatched, runs the inputs of <io.json> (input_ids,
token_type_ids, attention_mask) and compares the outputs it lists (last_hidden_state,
pooler_output, prediction_logits, sop_logits; io.json as written by make_albert_fixtures.py or by
lamina). Prints one JSON object: {"ok": bool, "loading": {...}, "max_abs_diff": {output: float, or null on a shape mismatch},
"tol": float}. Exits 0 when loading is clean and every difference is <= tol, 1 otherwise, 2 on
bad arguments.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

OUTPUTS = ("last_hidden_state", "pooler_output", "prediction_logits", "sop_logits")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir")
    ap.add_argument("io_json")
    ap.add_argument("--tol", type=float, default=1e-4)
    args = ap.parse_args()
    if not os.path.isdir(args.model_dir):
        print(json.dumps({"ok": False, "error": f"no such directory: {args.model_dir}"}))
        return 2
    try:
        with open(args.io_json) as f:
            io = json.load(f)
        inputs_json = io["inputs"]
        expected = {k: v for k, v in io["outputs"].items() if k in OUTPUTS}
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(json.dumps({"ok": False, "error": f"cannot read {args.io_json}: {e!r}"}))
        return 2
    if not expected:
        print(json.dumps({"ok": False, "error": f"{args.io_json} lists none of the outputs {list(OUTPUTS)}"}))
        return 2

    import torch
    from transformers import AlbertForPreTraining

    model, info = AlbertForPreTraining.from_pretrained(args.model_dir, output_loading_info=True, attn_implementation="eager")
    model.eval()
    loading = {k: sorted(str(x) for x in info.get(k, [])) for k in ("missing_keys", "unexpected_keys", "mismatched_keys", "error_msgs")}
    clean = not any(loading.values())

    inputs = {k: torch.tensor(inputs_json[k], dtype=torch.long) for k in ("input_ids", "token_type_ids", "attention_mask") if k in inputs_json}
    with torch.no_grad():
        base = model.albert(**inputs)
        full = model(**inputs)
    actual = {
        "last_hidden_state": base.last_hidden_state,
        "pooler_output": base.pooler_output,
        "prediction_logits": full.prediction_logits,
        "sop_logits": full.sop_logits,
    }
    diffs: dict[str, float | None] = {}
    problems: list[str] = []
    for name, want in expected.items():
        want_t = torch.tensor(want, dtype=torch.float32)
        got = actual[name].float()
        if tuple(want_t.shape) != tuple(got.shape):
            problems.append(f"{name}: shape {list(got.shape)} != expected {list(want_t.shape)}")
            diffs[name] = None
            continue
        diffs[name] = float((got - want_t).abs().max()) if got.numel() else 0.0
    ok = clean and not problems and all(d is not None and d <= args.tol for d in diffs.values())
    report = {"ok": ok, "loading": loading, "max_abs_diff": diffs, "tol": args.tol}
    if problems:
        report["problems"] = problems
    print(json.dumps(report))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
