"""Parameter counts of Hugging Face's AlbertModel/BertModel for lamina configs (paper Table 1).

Reads a JSON object {name: laminaConfig} on stdin, writes {name: count | null} on stdout (null: no
Hugging Face architecture for that config). Models are built on the `meta` device: no weights are
allocated or downloaded.

    echo '{"albert-base": {...}}' | python param_counts.py
"""

from __future__ import annotations

import json
import sys

import torch
from transformers import AlbertModel, BertModel

from common import hf_config, hf_family


def count(c: dict) -> int | None:
    cfg = hf_config(c)
    if cfg is None:
        return None
    cls = AlbertModel if hf_family(c) == "albert" else BertModel
    with torch.device("meta"):
        model = cls(cfg, add_pooling_layer=True)
    # distinct tensors only (none are tied in the bare encoder, but be exact)
    seen: set[int] = set()
    total = 0
    for p in model.parameters():
        if id(p) not in seen:
            seen.add(id(p))
            total += p.numel()
    return total


def main() -> None:
    configs = json.load(sys.stdin)
    out = {name: count(c) for name, c in configs.items()}
    out["_versions"] = {"torch": torch.__version__, "transformers": __import__("transformers").__version__}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
