"""TensorFlow-Python side of lamina's benchmarks: the same ALBERT pretraining step, written directly
in TensorFlow 2.21 (transformers 5 has no TensorFlow models), as a long-lived worker driven over
stdin/stdout exactly like `torch_step.py`.

This is the ceiling of the runtime lamina links: the same TensorFlow, the step as one
`tf.function` (Grappler on), optionally compiled by XLA (`jit_compile=True`).

The model is lamina's `albertForPretraining`: word/position/token-type embeddings of width E,
LayerNorm, the E→H projection (factorised configs), the encoder layers (one shared set with
sharing "all", one set per layer with "none"), the pooler, the sentence-order (or next-sentence)
head and the MLM head (dense H→E, activation, LayerNorm, decoder tied to the word embeddings plus
its own bias), with MLM logits at every position (`mlm_positions: "all"`) or only at the masked
ones (`"masked"`, the original ALBERT and lamina's real pretraining step). The update is lamina's:
global-norm clip, then LAMB or AdamW as `createOptimizer` does it (β1 0.9, β2 0.999, ε 1e-6, decoupled
weight decay 0.01 except biases and LayerNorm, no bias correction; LAMB's trust ratio ‖w‖/‖u‖ on
the same parameters). The worker counts its parameters and, when the bench sends lamina's count,
refuses to run a model whose count differs.

Commands (one JSON object per line; every reply is one JSON line):
  {"cmd": "info"}                                    → versions, threads
  {"cmd": "setup", "id": s, "config": laminaConfig, "batch": B, "seq": S, "predictions": P,
   "mlm_positions": "all"|"masked", "optimizer": "lamb"|"adamw", "xla": bool, "lr": 1e-4,
   "clip_norm": 1.0, "seed": 1, "expected_params": n | null}
  {"cmd": "time", "id": s, "steps": N, "warmup": W}  → {"seconds": [...], "loss": x, "peak_rss_bytes": n}
  {"cmd": "dispose", "id": s}
  {"cmd": "quit"}

A step ends with `float(loss)` (the one host sync, like the other systems reading their loss).
"""

from __future__ import annotations

import math
import os
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402

from common import peak_rss_bytes, serve, time_steps  # noqa: E402

models: dict[str, dict[str, Any]] = {}


def decay_excluded(name: str) -> bool:
    """lamina's `isDecayExcluded`: biases, LayerNorm scales and offsets."""
    leaf = name.split(".")[-1]
    return leaf in ("bias", "beta", "gamma") or "_norm" in name.lower() or "layernorm" in name.lower()


class AlbertStep:
    """Parameters, optimizer slots and the compiled step of one configuration."""

    def __init__(self, c: dict, mlm_positions: str, optimizer: str, clip: float, seed: int):
        if c["sharing"] not in ("all", "none"):
            raise ValueError(f"sharing {c['sharing']!r} is not written in tf_step.py (only 'all' and 'none')")
        self.c = c
        self.masked = mlm_positions == "masked"
        self.lamb = optimizer == "lamb"
        self.clip = clip
        E, H, I, V = c["embeddingSize"], c["hiddenSize"], c["intermediateSize"], c["vocabSize"]
        rng = tf.random.Generator.from_seed(seed)
        std = c["initializerRange"]
        self.vars: dict[str, tf.Variable] = {}

        def normal(name: str, shape: list[int]) -> None:
            self.vars[name] = tf.Variable(rng.normal(shape, stddev=std), name=name.replace(".", "/"))

        def zeros(name: str, shape: list[int]) -> None:
            self.vars[name] = tf.Variable(tf.zeros(shape), name=name.replace(".", "/"))

        def ones(name: str, shape: list[int]) -> None:
            self.vars[name] = tf.Variable(tf.ones(shape), name=name.replace(".", "/"))

        def dense(name: str, n_in: int, n_out: int) -> None:
            normal(f"{name}.kernel", [n_in, n_out])
            zeros(f"{name}.bias", [n_out])

        def norm(name: str, n: int) -> None:
            ones(f"{name}.gamma", [n])
            zeros(f"{name}.beta", [n])

        normal("embeddings.word", [V, E])
        normal("embeddings.position", [c["maxPositionEmbeddings"], E])
        normal("embeddings.token_type", [c["typeVocabSize"], E])
        norm("embeddings.layernorm", E)
        if c["factorized"]:
            dense("encoder.projection", E, H)
        self.layer_sets = 1 if c["sharing"] == "all" else c["numHiddenLayers"]
        for l in range(self.layer_sets):
            for n in ("query", "key", "value", "output"):
                dense(f"layer{l}.attention.{n}", H, H)
            norm(f"layer{l}.attention.layernorm", H)
            dense(f"layer{l}.ffn.intermediate", H, I)
            dense(f"layer{l}.ffn.output", I, H)
            norm(f"layer{l}.ffn.layernorm", H)
        dense("pooler", H, H)
        dense("order", H, 2)
        dense("mlm.transform", H, E)
        norm("mlm.layernorm", E)
        zeros("mlm.decoder.bias", [V])
        self.names = list(self.vars)
        self.m = {n: tf.Variable(tf.zeros_like(v)) for n, v in self.vars.items()}
        self.v = {n: tf.Variable(tf.zeros_like(v)) for n, v in self.vars.items()}

    def params(self) -> int:
        return int(sum(int(tf.size(v)) for v in self.vars.values()))

    def act(self, x: tf.Tensor) -> tf.Tensor:
        a = self.c["hiddenAct"]
        if a == "gelu_new":
            return tf.nn.gelu(x, approximate=True)
        if a == "gelu":
            return tf.nn.gelu(x, approximate=False)
        if a == "relu":
            return tf.nn.relu(x)
        return tf.tanh(x)

    def ln(self, name: str, x: tf.Tensor) -> tf.Tensor:
        mean, var = tf.nn.moments(x, axes=[-1], keepdims=True)
        y = (x - mean) * tf.math.rsqrt(var + self.c["layerNormEps"])
        return y * self.vars[f"{name}.gamma"] + self.vars[f"{name}.beta"]

    def dense(self, name: str, x: tf.Tensor) -> tf.Tensor:
        return tf.matmul(x, self.vars[f"{name}.kernel"]) + self.vars[f"{name}.bias"]

    def drop(self, x: tf.Tensor, p: float) -> tf.Tensor:
        return tf.nn.dropout(x, rate=p) if p > 0 else x

    def loss(self, ids, tt, mask, positions, labels, weights, order) -> tf.Tensor:
        c = self.c
        B, S = ids.shape
        H, nh = c["hiddenSize"], c["numAttentionHeads"]
        d = H // nh
        pd, ad = c["hiddenDropoutProb"], c["attentionProbsDropoutProb"]
        w = self.vars
        x = tf.gather(w["embeddings.word"], ids) + w["embeddings.position"][:S] + tf.gather(w["embeddings.token_type"], tt)
        x = self.drop(self.ln("embeddings.layernorm", x), pd)
        x = tf.reshape(x, [B * S, -1])
        if c["factorized"]:
            x = self.dense("encoder.projection", x)
        add_mask = (1.0 - tf.cast(mask, tf.float32))[:, None, None, :] * -10000.0
        heads = lambda t: tf.transpose(tf.reshape(t, [B, S, nh, d]), [0, 2, 1, 3])  # noqa: E731
        for layer in range(c["numHiddenLayers"]):
            p = f"layer{0 if self.layer_sets == 1 else layer}"
            q = heads(self.dense(f"{p}.attention.query", x)) * (1.0 / math.sqrt(d))
            k = heads(self.dense(f"{p}.attention.key", x))
            v = heads(self.dense(f"{p}.attention.value", x))
            probs = self.drop(tf.nn.softmax(tf.matmul(q, k, transpose_b=True) + add_mask, axis=-1), ad)
            ctx = tf.reshape(tf.transpose(tf.matmul(probs, v), [0, 2, 1, 3]), [B * S, H])
            x = self.ln(f"{p}.attention.layernorm", x + self.drop(self.dense(f"{p}.attention.output", ctx), pd))
            f = self.dense(f"{p}.ffn.output", self.act(self.dense(f"{p}.ffn.intermediate", x)))
            x = self.ln(f"{p}.ffn.layernorm", x + self.drop(f, pd))
        seqs = tf.reshape(x, [B, S, H])
        pooled = tf.tanh(self.dense("pooler", seqs[:, 0]))
        order_logits = self.dense("order", self.drop(pooled, pd))
        h = tf.reshape(tf.gather(seqs, positions, batch_dims=1), [-1, H]) if self.masked else x
        t = self.ln("mlm.layernorm", self.act(self.dense("mlm.transform", h)))
        logits = tf.matmul(t, w["embeddings.word"], transpose_b=True) + w["mlm.decoder.bias"]
        ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        mlm = tf.reduce_sum(ce * weights) / tf.maximum(tf.reduce_sum(weights), 1.0)
        sop = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=order, logits=order_logits))
        return mlm + sop

    def step(self, lr, *batch) -> tf.Tensor:
        vs = [self.vars[n] for n in self.names]
        with tf.GradientTape() as tape:
            loss = self.loss(*batch)
        grads = tape.gradient(loss, vs)
        if self.clip > 0:
            grads, _ = tf.clip_by_global_norm(grads, self.clip)
        b1, b2, eps, wd = 0.9, 0.999, 1e-6, 0.01
        for n, var, g in zip(self.names, vs, grads):
            g = tf.convert_to_tensor(g)  # the word embedding's gradient arrives as IndexedSlices + dense
            m = self.m[n].assign(self.m[n] * b1 + g * (1 - b1))
            v = self.v[n].assign(self.v[n] * b2 + tf.square(g) * (1 - b2))
            update = m / (tf.sqrt(v) + eps)
            if not decay_excluded(n):
                update = update + wd * var
            scaled = lr * update
            if self.lamb and not decay_excluded(n):
                wn, un = tf.norm(var), tf.norm(update)
                ratio = tf.where(wn > 0, tf.where(un > 0, wn / un, 1.0), 1.0)
                scaled = scaled * ratio
            var.assign_sub(scaled)
        return loss


def synthetic_batch(c: dict, batch: int, seq: int, predictions: int, seed: int, masked: bool) -> tuple:
    g = tf.random.Generator.from_seed(seed + 17)
    V = c["vocabSize"]
    ids = g.uniform([batch, seq], 5, V, dtype=tf.int32)
    tt = tf.concat([tf.zeros([batch, seq // 2], tf.int32), tf.ones([batch, seq - seq // 2], tf.int32)], axis=1)
    mask = tf.ones([batch, seq], tf.int32)
    # P distinct positions per row, never [CLS]
    positions = tf.sort(tf.argsort(g.uniform([batch, seq - 1]), axis=1)[:, :predictions] + 1, axis=1)
    targets = g.uniform([batch, predictions], 5, V, dtype=tf.int32)
    if masked:
        labels = tf.reshape(targets, [-1])
        weights = tf.ones([batch * predictions])
    else:
        rows = tf.repeat(tf.range(batch)[:, None], predictions, axis=1)
        idx = tf.reshape(tf.stack([rows, positions], axis=-1), [-1, 2])
        dense_labels = tf.tensor_scatter_nd_update(tf.zeros([batch, seq], tf.int32), idx, tf.reshape(targets, [-1]))
        dense_weights = tf.tensor_scatter_nd_update(tf.zeros([batch, seq]), idx, tf.ones([batch * predictions]))
        labels, weights = tf.reshape(dense_labels, [-1]), tf.reshape(dense_weights, [-1])
    order = g.uniform([batch], 0, 2, dtype=tf.int32)
    return ids, tt, mask, positions, labels, weights, order


def setup(msg: dict) -> dict:
    c = msg["config"]
    masked = msg.get("mlm_positions", "all") == "masked"
    model = AlbertStep(c, msg.get("mlm_positions", "all"), msg.get("optimizer", "adamw"), float(msg.get("clip_norm") or 0), int(msg.get("seed", 1)))
    n = model.params()
    expected = msg.get("expected_params")
    if expected is not None and n != expected:
        return {"ok": False, "error": f"parameter count {n} differs from lamina's {expected}"}
    data = synthetic_batch(c, msg["batch"], msg["seq"], msg.get("predictions", 20), int(msg.get("seed", 1)), masked)
    lr = tf.constant(msg.get("lr", 1e-4), tf.float32)
    fn = tf.function(model.step, jit_compile=bool(msg.get("xla", False)))
    models[msg["id"]] = {"model": model, "fn": fn, "data": data, "lr": lr}
    return {"ok": True, "params": n}


def run_once(e: dict) -> float:
    return float(e["fn"](e["lr"], *e["data"]))


def handle(msg: dict) -> dict:
    cmd = msg.get("cmd")
    if cmd == "info":
        intra = tf.config.threading.get_intra_op_parallelism_threads()
        return {"tensorflow": tf.__version__, "threads": intra or os.cpu_count(), "xla": True}
    if cmd == "setup":
        return setup(msg)
    if cmd == "time":
        return time_steps(run_once, models[msg["id"]], msg)
    if cmd == "dispose":
        models.pop(msg["id"], None)
        return {"ok": True}
    return {"ok": False, "error": f"unknown command {cmd!r}"}


def main() -> None:
    threads = os.environ.get("TF_NUM_INTRAOP_THREADS")
    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(int(threads))
    serve(handle)


if __name__ == "__main__":
    main()
