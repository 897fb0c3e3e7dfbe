"""Hugging Face peer of `pnpm bench generate`: GPT2LMHeadModel.generate (greedy, with its own
key/value cache) on a randomly initialised GPT-2 of the size lamina measures, as a long-lived
worker so its runs interleave with lamina's.

One JSON command per stdin line, one JSON reply per stdout line (logs go to stderr); the first
line printed is the ready line with the versions and the thread count.

Commands:
  {"cmd": "info"}                                            -> versions and torch's thread count
  {"cmd": "setup", "config": laminaGpt2Config, "seed": 0}   builds GPT2LMHeadModel (eval mode)
  {"cmd": "run", "prompt": [ids], "new_tokens": N}          -> {"seconds": s, "new_tokens": n}
        greedy (do_sample=False), exactly N new tokens (min_new_tokens = max_new_tokens = N),
        use_cache=True; the wall time of generate() alone
  {"cmd": "quit"}
"""

from __future__ import annotations

import time

import torch
import transformers
from transformers import GPT2Config, GPT2LMHeadModel

from common import serve

transformers.logging.set_verbosity_error()
model: GPT2LMHeadModel | None = None


def hf_config(c: dict) -> GPT2Config:
    return GPT2Config(
        vocab_size=c["vocabSize"],
        n_positions=c["maxPositions"],
        n_embd=c["hiddenSize"],
        n_layer=c["numLayers"],
        n_head=c["numHeads"],
        n_inner=c["innerSize"],
        activation_function=c["activation"],
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        layer_norm_epsilon=c["layerNormEps"],
        initializer_range=c["initializerRange"],
        bos_token_id=c["bosTokenId"],
        eos_token_id=c["eosTokenId"],
    )


def handle(msg: dict) -> dict:
    global model
    cmd = msg.get("cmd")
    if cmd == "info":
        return {"ok": True, "torch": torch.__version__, "transformers": transformers.__version__, "threads": torch.get_num_threads()}
    if cmd == "setup":
        torch.manual_seed(int(msg.get("seed", 0)))
        model = GPT2LMHeadModel(hf_config(msg["config"])).eval()
        return {"ok": True, "params": sum(p.numel() for p in model.parameters())}
    if cmd == "run":
        if model is None:
            return {"ok": False, "error": "setup first"}
        n = int(msg["new_tokens"])
        ids = torch.tensor([msg["prompt"]], dtype=torch.long)
        with torch.inference_mode():
            t0 = time.perf_counter()
            out = model.generate(
                ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=n,
                min_new_tokens=n,
                do_sample=False,
                use_cache=True,
                pad_token_id=model.config.eos_token_id,
            )
            seconds = time.perf_counter() - t0
        return {"ok": True, "seconds": seconds, "new_tokens": int(out.shape[1] - ids.shape[1])}
    return {"ok": False, "error": f"unknown command {cmd!r}"}


def main() -> None:
    # a failure is a reply (serve), so the bench can show it as "skipped"
    serve(handle, {"ok": True, "ready": True, "torch": torch.__version__, "transformers": transformers.__version__, "threads": torch.get_num_threads()})


if __name__ == "__main__":
    main()
