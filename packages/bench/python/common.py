"""Shared helpers of the bench's Python scripts.

- The JSON-lines worker protocol every long-lived worker speaks (`serve`: one ready line, then one
  reply line per request line until `{"cmd": "quit"}` or end of input; a failing request is a
  reply `{"ok": false, "error": "<Type>: <first line>"}`, never a traceback), and the timing
  command (`time_steps`) the step workers share.
- lamina config (JSON, camelCase) → Hugging Face model: the bench passes lamina's resolved
  `AlbertConfig` fields; a factorised config becomes an `AlbertConfig`/`AlbertModel`, an
  unfactorised one with sharing "none" a `BertConfig`/`BertModel`. Configs Hugging Face has no
  model for (partial sharing, or BERT with sharing) return None.

This module imports neither torch nor TensorFlow, so every worker can use it.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from typing import Any, Callable


def peak_rss_bytes() -> int:
    """This process's peak resident set size so far, in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def time_steps(run_once: Callable[[dict], float], e: dict, msg: dict) -> dict:
    """The `time` command: `msg["warmup"]` untimed calls of `run_once(e)`, then `msg["steps"]`
    timed ones; their wall times, the last loss (None when no step ran: JSON has no NaN) and the
    peak RSS."""
    for _ in range(msg.get("warmup", 0)):
        run_once(e)
    seconds = []
    loss = float("nan")
    for _ in range(msg["steps"]):
        t0 = time.perf_counter()
        loss = run_once(e)
        seconds.append(time.perf_counter() - t0)
    return {"seconds": seconds, "loss": loss if loss == loss else None, "peak_rss_bytes": peak_rss_bytes()}


def error_reply(ex: BaseException) -> dict:
    """A failed request as a reply value: its type and the first line of its message."""
    text = str(ex)
    return {"ok": False, "error": f"{type(ex).__name__}: {text.splitlines()[0] if text else ''}"}


def serve(handle: Callable[[dict], dict], ready: dict | None = None) -> None:
    """Runs the JSON-lines worker loop on stdin/stdout: prints `ready` (default `{"ready": true}`),
    then for each non-blank request line prints `handle(request)` as one JSON line (flushed), until
    `{"cmd": "quit"}` or end of input. An exception in `handle` becomes an {@link error_reply}."""
    print(json.dumps(ready if ready is not None else {"ready": True}), flush=True)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            msg = json.loads(line)
        except ValueError as ex:
            print(json.dumps(error_reply(ex)), flush=True)
            continue
        if msg.get("cmd") == "quit":
            break
        try:
            reply = handle(msg)
        except Exception as ex:  # reported as a value to the bench, which shows it in the report
            reply = error_reply(ex)
        print(json.dumps(reply, allow_nan=False), flush=True)


def hf_family(c: dict[str, Any]) -> str | None:
    """'albert', 'bert', or None when Hugging Face has no equivalent architecture."""
    if c["factorized"]:
        if c["sharing"] == "all":
            return "albert"
        if c["sharing"] == "none" and c["numHiddenGroups"] == 1 and c["innerGroupNum"] == 1:
            # every layer its own parameters = one ALBERT group per layer
            return "albert"
        return None
    return "bert" if c["sharing"] == "none" else None


def hf_config(c: dict[str, Any]):
    """The transformers config object for a lamina config (None when there is no HF equivalent)."""
    fam = hf_family(c)
    common = dict(
        vocab_size=c["vocabSize"],
        hidden_size=c["hiddenSize"],
        num_hidden_layers=c["numHiddenLayers"],
        num_attention_heads=c["numAttentionHeads"],
        intermediate_size=c["intermediateSize"],
        hidden_act=c["hiddenAct"],
        hidden_dropout_prob=c["hiddenDropoutProb"],
        attention_probs_dropout_prob=c["attentionProbsDropoutProb"],
        max_position_embeddings=c["maxPositionEmbeddings"],
        type_vocab_size=c["typeVocabSize"],
        layer_norm_eps=c["layerNormEps"],
        initializer_range=c["initializerRange"],
    )
    if fam == "albert":
        from transformers import AlbertConfig

        groups = c["numHiddenLayers"] if c["sharing"] == "none" else c["numHiddenGroups"]
        return AlbertConfig(
            embedding_size=c["embeddingSize"],
            num_hidden_groups=groups,
            inner_group_num=c["innerGroupNum"],
            classifier_dropout_prob=c["hiddenDropoutProb"],
            **common,
        )
    if fam == "bert":
        from transformers import BertConfig

        return BertConfig(**common)
    return None
