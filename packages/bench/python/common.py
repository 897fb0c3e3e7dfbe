"""Shared helpers of the bench's Python scripts: lamina config (JSON, camelCase) → Hugging Face model.

The bench passes lamina's resolved `AlbertConfig` fields; a factorised config becomes an
`AlbertConfig`/`AlbertModel`, an unfactorised one with sharing "none" a `BertConfig`/`BertModel`.
Configs Hugging Face has no model for (partial sharing, or BERT with sharing) return None.
"""

from __future__ import annotations

from typing import Any


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
