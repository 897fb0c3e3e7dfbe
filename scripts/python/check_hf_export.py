#!/usr/bin/env python3
"""Checks a Hugging Face ALBERT directory written by lamina against the reference implementation.

  .venv/bin/python scripts/python/check_hf_export.py <model-dir> <io.json> [<model-dir> <io.json> ...] [--tol 1e-4]

Loads <model-dir> with AlbertForPreTraining.from_pretrained(..., output_loading_info=True), fails
if any key is missing, unexpected or mismatched, runs the inputs of <io.json> (input_ids,
token_type_ids, attention_mask) and compares the outputs it lists (last_hidden_state,
pooler_output, prediction_logits, sop_logits; io.json as written by make_albert_fixtures.py or by
lamina). Prints one JSON object per pair, one per line: {"ok": bool, "dir": str, "loading": {...},
"max_abs_diff": {output: float, or null on a shape mismatch}, "tol": float}. Exits 0 when every
loading is clean and every difference is <= tol, 1 otherwise, 2 on bad arguments or unreadable
files. Several pairs share one Python start-up (importing torch is the slow part).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

OUTPUTS = ("last_hidden_state", "pooler_output", "prediction_logits", "sop_logits")


def check(model_dir: str, io_json: str, tol: float) -> tuple[int, dict]:
    """Checks one directory against one io.json; returns (exit code, report)."""
    if not os.path.isdir(model_dir):
        return 2, {"ok": False, "dir": model_dir, "error": f"no such directory: {model_dir}"}
    try:
        with open(io_json) as f:
            io = json.load(f)
        inputs_json = io["inputs"]
        expected = {k: v for k, v in io["outputs"].items() if k in OUTPUTS}
    except (OSError, ValueError, KeyError, TypeError) as e:
        return 2, {"ok": False, "dir": model_dir, "error": f"cannot read {io_json}: {e!r}"}
    if not expected:
        return 2, {"ok": False, "dir": model_dir, "error": f"{io_json} lists none of the outputs {list(OUTPUTS)}"}

    import torch
    from transformers import AlbertForPreTraining

    model, info = AlbertForPreTraining.from_pretrained(model_dir, output_loading_info=True, attn_implementation="eager")
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
    ok = clean and not problems and all(d is not None and d <= tol for d in diffs.values())
    report = {"ok": ok, "dir": model_dir, "loading": loading, "max_abs_diff": diffs, "tol": tol}
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
