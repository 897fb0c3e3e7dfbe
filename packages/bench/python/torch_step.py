"""Hugging Face PyTorch side of lamina's benchmarks: a long-lived worker driven over stdin/stdout.

The bench starts this once and sends one JSON command per line; every reply is one JSON line on
stdout (logs go to stderr). Keeping the process alive lets the bench interleave PyTorch with the
tfjs systems repeat by repeat, so all figures come from the same minutes on the same machine.

Commands:
  {"cmd": "info"}                                   → versions, threads, attention implementation
  {"cmd": "setup", "id": s, "config": laminaConfig, "batch": B, "seq": S, "predictions": P,
   "mode": "train"|"infer", "optimizer": "adamw", "lr": 1e-4, "clip_norm": 1.0, "seed": 0}
        builds AlbertForPreTraining (factorised configs) or BertForPreTraining (BERT) with MLM
        logits at every position and the built-in loss (labels -100 except at P masked positions
        per row, plus the sentence-order / next-sentence label)
  {"cmd": "time", "id": s, "steps": N, "warmup": W} → {"seconds": [N per-step wall times], "loss": x}
  {"cmd": "dispose", "id": s}
  {"cmd": "reset_peak"}                             → resets the process's peak RSS (Linux: /proc/self/clear_refs)
  {"cmd": "matmul", "n": N, "repeats": R}          → seconds of R [N×N]·[N×N] products (GFLOP/s rate)
  {"cmd": "quit"}

A training step is forward + backward + clip_grad_norm_ + torch.optim.AdamW.step + zero_grad,
ending with `loss.item()` (the only host sync, like the tfjs side reading its loss).
"""

from __future__ import annotations

import time
from typing import Any

import torch
import transformers
from transformers import AlbertForPreTraining, BertForPreTraining

from common import hf_config, hf_family, peak_rss_bytes, serve, time_steps

transformers.logging.set_verbosity_error()
models: dict[str, dict[str, Any]] = {}


def hwm_bytes() -> int | None:
    """Peak RSS since the last reset_peak (VmHWM), None where /proc is not Linux's."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def reset_peak() -> dict:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return {"ok": True}
    except OSError as ex:
        return {"ok": False, "error": f"cannot reset the peak RSS: {ex}"}


def synthetic_batch(c: dict, batch: int, seq: int, predictions: int, seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    vocab = c["vocabSize"]
    ids = torch.randint(5, vocab, (batch, seq), generator=g)
    tt = torch.zeros(batch, seq, dtype=torch.long)
    tt[:, seq // 2 :] = 1
    mask = torch.ones(batch, seq, dtype=torch.long)
    labels = torch.full((batch, seq), -100, dtype=torch.long)
    for b in range(batch):
        pos = torch.randperm(seq - 1, generator=g)[:predictions] + 1
        labels[b, pos] = torch.randint(5, vocab, (predictions,), generator=g)
    order = torch.randint(0, 2, (batch,), generator=g)
    return {"input_ids": ids, "token_type_ids": tt, "attention_mask": mask, "labels": labels, "order": order}


def setup(msg: dict) -> dict:
    c = msg["config"]
    cfg = hf_config(c)
    if cfg is None:
        return {"ok": False, "error": "no Hugging Face architecture for this config"}
    torch.manual_seed(msg.get("seed", 0))
    fam = hf_family(c)
    model = (AlbertForPreTraining if fam == "albert" else BertForPreTraining)(cfg)
    mode = msg["mode"]
    data = synthetic_batch(c, msg["batch"], msg["seq"], msg.get("predictions", 20), msg.get("seed", 0))
    entry: dict[str, Any] = {"model": model, "mode": mode, "data": data, "family": fam, "clip": msg.get("clip_norm")}
    if mode == "train":
        model.train()
        # Same hyper-parameters as lamina's AdamW (decoupled decay 0.01, eps 1e-6), no bias/LN exclusion
        # subtleties needed for speed: the update math per element is the same.
        entry["opt"] = torch.optim.AdamW(model.parameters(), lr=msg.get("lr", 1e-4), eps=1e-6, weight_decay=0.01)
    else:
        model.eval()
    models[msg["id"]] = entry
    n_params = sum(p.numel() for p in model.parameters())
    return {"ok": True, "params": n_params, "attn_implementation": getattr(model.config, "_attn_implementation", None)}


def run_once(e: dict) -> float:
    model, d = e["model"], e["data"]
    order_key = "sentence_order_label" if e["family"] == "albert" else "next_sentence_label"
    if e["mode"] == "train":
        out = model(
            input_ids=d["input_ids"],
            token_type_ids=d["token_type_ids"],
            attention_mask=d["attention_mask"],
            labels=d["labels"],
            **{order_key: d["order"]},
        )
        out.loss.backward()
        if e["clip"]:
            torch.nn.utils.clip_grad_norm_(model.parameters(), e["clip"])
        e["opt"].step()
        e["opt"].zero_grad(set_to_none=True)
        return float(out.loss.item())
    with torch.inference_mode():
        out = model(input_ids=d["input_ids"], token_type_ids=d["token_type_ids"], attention_mask=d["attention_mask"])
        return float(out.prediction_logits[0, 0, 0].item())


def time_steps_hwm(msg: dict) -> dict:
    """The shared `time` command, plus the peak RSS since the last `reset_peak`."""
    return {**time_steps(run_once, models[msg["id"]], msg), "hwm_bytes": hwm_bytes()}


def matmul(msg: dict) -> dict:
    n = msg["n"]
    a = torch.randn(n, n)
    b = torch.randn(n, n)
    torch.mm(a, b)
    seconds = []
    for _ in range(msg.get("repeats", 3)):
        t0 = time.perf_counter()
        torch.mm(a, b)
        seconds.append(time.perf_counter() - t0)
    return {"seconds": seconds, "flops": 2 * n**3}


def handle(msg: dict) -> dict:
    cmd = msg.get("cmd")
    if cmd == "info":
        return {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "threads": torch.get_num_threads(),
            "interop_threads": torch.get_num_interop_threads(),
        }
    if cmd == "setup":
        return setup(msg)
    if cmd == "time":
        return time_steps_hwm(msg)
    if cmd == "dispose":
        models.pop(msg["id"], None)
        return {"ok": True}
    if cmd == "reset_peak":
        return reset_peak()
    if cmd == "matmul":
        return matmul(msg)
    return {"ok": False, "error": f"unknown command {cmd!r}"}


def main() -> None:
    serve(handle)


if __name__ == "__main__":
    main()
