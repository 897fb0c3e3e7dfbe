/**
 * The paper's Table 5 evaluation of a pretraining run directory:
 * - **MLM accuracy** on the held-out SOP pairs (masked with ALBERT's n-gram masking; the same
 *   tokens and masks for every arm of a seed);
 * - **NSP accuracy**: continuation vs a segment of another held-out document;
 * - **SOP accuracy**: original vs swapped order;
 * each scored through the model's own sentence head (an NSP head's "not next" is read as
 * "swapped", as both mean "not the original continuation"), and — for arms with `probe` — by a
 * linear probe on frozen features (see {@link PROBE_FEATURES}), trained on pairs from training
 * documents and scored on the held-out pairs. A model without a head (objective "none") is scored
 * only by the probe.
 *
 * @example
 * ```ts
 * const data = unwrap(buildEvalData({ tokenizer, budget, seed: 12345 }));
 * const r = await evaluateRun('runs/ablations/quick-…/sop-E32-all-s12345', 'sop', data, { probe: true, probeSteps: 300 });
 * // r.right.mlm, r.right.head.sop, r.right.probe?.nsp …
 * ```
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import fs from 'node:fs';
import path from 'node:path';
import {
  albertForPretraining,
  bundledCorpus,
  collate,
  decodeConfig,
  evaluationPairs,
  hashString,
  pairInstances,
  splitCorpus,
  tokenizeCorpus,
  type AlbertConfig,
  type Batch,
  type Corpus,
  type SentencePair,
  type Tokenizer,
  type TokenizedDocument,
} from '@lamina/albert';
import { compile } from '@lamina/dsl';
import { batchInputs, createPretrainer, latestCheckpoint, loadCheckpoint, type EvalSums, type Pretrainer } from '@lamina/train';
import type { Budget, Objective } from './plan.js';
import { probeAccuracy, trainLinearProbe, type ProbeData } from './probe.js';

/** What the probe reads, in words (the report quotes it). */
export const PROBE_FEATURES =
  'the final-layer hidden state at [CLS] concatenated with the mean final-layer state over the real (non-padding) tokens (2H features), from the frozen pretrained encoder';

/** Evaluation pairs as batches. */
export interface PairBatches {
  readonly sop: readonly Batch[];
  readonly nsp: readonly Batch[];
  /** Pairs per kind. */
  readonly pairs: number;
  /** Documents they come from. */
  readonly documents: number;
}

/** Held-out evaluation pairs and the probe's training pairs (from training documents). */
export interface EvalData {
  readonly heldOut: PairBatches;
  readonly probeTrain: PairBatches;
}

/** Sentence-level accuracies. */
export interface SentenceScores {
  readonly nsp: number;
  readonly sop: number;
}

/** One run's evaluation. */
export interface ArmEvaluation {
  readonly mlm: number;
  /** Masked tokens the MLM accuracy is over. */
  readonly mlmTokens: number;
  /** Through the model's own head (null: the model has none). */
  readonly head: SentenceScores | null;
  /** Linear probes on frozen features (null: not probed). */
  readonly probe: (SentenceScores & { readonly trainNsp: number; readonly trainSop: number }) | null;
  /** The checkpoint step evaluated. */
  readonly step: number;
  readonly seconds: number;
}

/** The bundled corpus, first `n` documents (0: all), as `lamina pretrain --max-documents` reads it. */
export const firstDocuments = (c: Corpus, n: number): Corpus =>
  n <= 0
    ? c
    : {
        ...c,
        documents: function* () {
          let k = 0;
          for (const d of c.documents()) {
            if (k++ >= n) return;
            yield d;
          }
        },
      };

const toBatches = (ps: readonly SentencePair[], tok: Tokenizer, b: Pick<Budget, 'seqLength' | 'maxPredictions'>, seed: number, batchSize = 64): Batch[] => {
  const xs = pairInstances(ps, tok, { maskedLmProb: 0.15, maxPredictionsPerSeq: b.maxPredictions, maxNgram: 3 }, seed);
  const out: Batch[] = [];
  for (let i = 0; i < xs.length; i += batchSize) out.push(collate(xs.slice(i, i + batchSize), { seqLength: b.seqLength, maxPredictions: b.maxPredictions, padId: tok.special.pad }));
  return out;
};

const pairBatches = (docs: TokenizedDocument[], tok: Tokenizer, b: Budget, seed: number, maxPairs: number): E.Either<string, PairBatches> => {
  const p = evaluationPairs(docs, { maxSeqLength: b.seqLength, seed, maxPairsPerDocument: b.pairsPerDocument, maxPairs });
  if (E.isLeft(p)) return E.left(p.left.message);
  return E.right({ sop: toBatches(p.right.sop, tok, b, seed), nsp: toBatches(p.right.nsp, tok, b, seed + 1), pairs: p.right.sop.length, documents: new Set(p.right.sop.map((x) => x.docA)).size });
};

/**
 * Builds the held-out pairs from the documents `lamina pretrain` holds out for `seed` (the same
 * `splitCorpus` call with the same fraction and seed), and the probe's training pairs from a
 * seeded ~8% sample of the training documents.
 * @example const d = buildEvalData({ tokenizer, budget: budgetOf('quick'), seed: 12345 });
 */
export const buildEvalData = (o: { readonly tokenizer: Tokenizer; readonly budget: Budget; readonly seed: number }): E.Either<string, EvalData> => {
  const corpus = bundledCorpus();
  if (E.isLeft(corpus)) return E.left(corpus.left.message);
  const split = splitCorpus(firstDocuments(corpus.right, o.budget.maxDocuments), { evalFraction: o.budget.evalFraction, seed: o.seed });
  const held = [...tokenizeCorpus(split.eval, o.tokenizer)];
  const heldOut = pairBatches(held, o.tokenizer, o.budget, o.seed, o.budget.maxPairs);
  if (E.isLeft(heldOut)) return E.left(`held-out pairs: ${heldOut.left}`);
  // enough training documents for the probe: a seeded sample, widened for small corpora
  const wanted = Math.max(2, Math.ceil((1.5 * o.budget.probePairs) / o.budget.pairsPerDocument));
  const trainDocs: TokenizedDocument[] = [];
  const sampled = (d: { id: string }) => hashString(d.id, o.seed ^ 0x9b0be) / 4294967296;
  for (const fraction of [0.08, 0.3, 1]) {
    trainDocs.length = 0;
    const pick: Corpus = { ...split.train, documents: function* () { for (const d of split.train.documents()) if (sampled(d) < fraction) yield d; } };
    trainDocs.push(...tokenizeCorpus(pick, o.tokenizer));
    if (trainDocs.length >= wanted) break;
  }
  const probeTrain = pairBatches(trainDocs, o.tokenizer, o.budget, o.seed + 7, o.budget.probePairs);
  if (E.isLeft(probeTrain)) return E.left(`probe training pairs: ${probeTrain.left}`);
  return E.right({ heldOut: heldOut.right, probeTrain: probeTrain.right });
};

const sum = (xs: readonly EvalSums[]): EvalSums =>
  xs.reduce((a, s) => ({
    mlmLossSum: a.mlmLossSum + s.mlmLossSum,
    mlmCorrect: a.mlmCorrect + s.mlmCorrect,
    mlmCount: a.mlmCount + s.mlmCount,
    orderCorrect: a.orderCorrect + s.orderCorrect,
    orderCount: a.orderCount + s.orderCount,
  }));

const sumsOn = async (t: Pretrainer, bs: readonly Batch[]): Promise<EvalSums> => {
  const out: EvalSums[] = [];
  for (const b of bs) out.push(await t.evaluate(b));
  return sum(out);
};

/** Probe features of batches: `[n, 2H]` row-major, with the labels. */
const features = async (forward: ReturnType<typeof compileFeatures>, params: Record<string, tf.Tensor>, bs: readonly Batch[]): Promise<ProbeData> => {
  const parts: Float32Array[] = [];
  const y: number[] = [];
  let d = 0;
  for (const b of bs) {
    const f = tf.tidy(() => {
      const inputs = batchInputs(b);
      const h = (forward(params, inputs, { training: false, seed: 0 }) as Record<string, tf.Tensor>).last_hidden_state as tf.Tensor3D;
      const mask = tf.expandDims(tf.cast(inputs.attention_mask as tf.Tensor, 'float32'), 2);
      const mean = tf.div(tf.sum(tf.mul(h, mask), 1), tf.sum(mask, 1));
      const cls = tf.squeeze(tf.slice(h, [0, 0, 0], [-1, 1, -1]), [1]);
      return tf.concat([cls, mean], 1);
    });
    d = f.shape[1] as number;
    parts.push((await f.data()) as Float32Array);
    f.dispose();
    y.push(...b.sentenceOrderLabel);
  }
  const x = new Float32Array(y.length * d);
  let off = 0;
  for (const p of parts) {
    x.set(p, off);
    off += p.length;
  }
  return { x, n: y.length, d, y };
};

const compileFeatures = (config: AlbertConfig, objective: Objective) => {
  const f = compile(albertForPretraining(config, { objective, mlmPositions: 'masked' }), { input: 'input_ids', outputs: ['last_hidden_state'] });
  if (E.isLeft(f)) throw new Error(`${f.left.path}: ${f.left.message}`);
  return f.right;
};

/** Reads a run directory's model config (the `model` field of its config.json). */
export const readRunModel = (runDir: string): E.Either<string, AlbertConfig> => {
  const file = path.join(runDir, 'config.json');
  let json: { kind?: unknown; model?: unknown };
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof json;
  } catch (e) {
    return E.left(`cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (json.kind !== 'lamina-pretraining-run') return E.left(`${file} is not a lamina pretraining run`);
  return E.mapLeft((e: { message: string }) => `${file}: ${e.message}`)(decodeConfig(json.model));
};

/**
 * Evaluates the latest checkpoint of a run directory (see the module comment).
 * @example const r = await evaluateRun(dir, 'nsp', data, { probe: true, probeSteps: 300 });
 */
export const evaluateRun = async (
  runDir: string,
  objective: Objective,
  data: EvalData,
  o: { readonly probe: boolean; readonly probeSteps: number; readonly seed?: number },
): Promise<E.Either<string, ArmEvaluation>> => {
  const t0 = performance.now();
  const config = readRunModel(runDir);
  if (E.isLeft(config)) return config;
  const latest = latestCheckpoint(runDir);
  if (!latest) return E.left(`${runDir} has no complete checkpoint`);
  const ck = await loadCheckpoint(latest.dir);
  if (E.isLeft(ck)) return E.left(`${latest.dir}: ${ck.left.message}`);
  const t = createPretrainer({ config: config.right, objective, mlmPositions: 'masked', optimizer: 'adamw', seed: o.seed ?? 0, initialParams: ck.right.weights });
  if (E.isLeft(t)) return E.left(t.left.message);
  try {
    const sop = await sumsOn(t.right, data.heldOut.sop);
    const nsp = await sumsOn(t.right, data.heldOut.nsp);
    const head = objective === 'none' ? null : { sop: sop.orderCorrect / sop.orderCount, nsp: nsp.orderCorrect / nsp.orderCount };
    let probe: ArmEvaluation['probe'] = null;
    if (o.probe) {
      const fwd = compileFeatures(config.right, objective);
      const ps = t.right.params as Record<string, tf.Tensor>;
      const score = async (train: readonly Batch[], test: readonly Batch[]) => {
        const p = trainLinearProbe(await features(fwd, ps, train), { steps: o.probeSteps });
        return { train: p.trainAccuracy, test: probeAccuracy(p, await features(fwd, ps, test)) };
      };
      const s = await score(data.probeTrain.sop, data.heldOut.sop);
      const n = await score(data.probeTrain.nsp, data.heldOut.nsp);
      probe = { sop: s.test, nsp: n.test, trainSop: s.train, trainNsp: n.train };
    }
    return E.right({ mlm: sop.mlmCorrect / Math.max(1, sop.mlmCount), mlmTokens: sop.mlmCount, head, probe, step: ck.right.state.step, seconds: (performance.now() - t0) / 1000 });
  } finally {
    t.right.dispose();
  }
};
