/**
 * `lamina demo`: the main job on embedded defaults. Pretrains a small ALBERT (factorised
 * embeddings, one shared layer applied 4 times) on the bundled public-domain corpus, evaluates it
 * on held-out documents before and after (MLM and sentence-order accuracy), fine-tunes it on the
 * bundled IMDB sentiment task, and says where everything was written.
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import path from 'node:path';
import { countParams } from '@lamina/dsl';
import { albertModel, PRESETS, type AlbertConfig } from '@lamina/albert';
import { finetuneConfig, runFinetune } from '../finetune/run.js';
import { formatTaskMetrics } from '../finetune/metrics.js';
import { runPretraining, CURVES_FILE, RUN_CONFIG_FILE, type EvalResult, type RunConfig } from '../run/pretrain.js';
import { runTokenizer } from '../run/data.js';
import { type Command, CliError, EXIT, num, optStr, usageError } from './command.js';
import { OUTPUT_OPTIONS, progressModeOf, useBackend } from './pretrain.js';

/** The demo model: ALBERT with E=64, H=128, 4 heads, I=512, all 4 layers sharing one set. */
export const DEMO_MODEL: AlbertConfig = {
  ...PRESETS['albert-base'],
  embeddingSize: 64,
  hiddenSize: 128,
  numHiddenLayers: 4,
  numAttentionHeads: 4,
  intermediateSize: 512,
  maxPositionEmbeddings: 128,
};

const pct = (x: number | undefined) => (x === undefined ? '-' : `${(100 * x).toFixed(1)}%`);
const evalLine = (e: EvalResult | undefined) =>
  e ? `MLM accuracy ${pct(e.mlmAccuracy)} (perplexity ${e.perplexity.toFixed(0)}), sentence-order accuracy ${pct(e.orderAccuracy)}` : '-';

/** `lamina demo`. */
export const demo: Command = {
  name: 'demo',
  summary: 'the main job on embedded defaults: pretrain a small ALBERT, evaluate, fine-tune on IMDB',
  usage: 'lamina demo [--out <dir>] [--steps N] [--finetune-examples N] [--skip-finetune]',
  options: {
    out: { type: 'string', arg: 'dir', help: 'where to write the runs (default: runs/demo-<date-time>)' },
    steps: { type: 'string', arg: 'N', help: 'pretraining steps (batch 32 × 64 tokens)', default: '1500' },
    lr: { type: 'string', arg: 'x', help: 'peak LAMB learning rate', default: '0.005' },
    'finetune-examples': { type: 'string', arg: 'N', help: 'IMDB training reviews for fine-tuning', default: '2048' },
    'skip-finetune': { type: 'boolean', help: 'stop after pretraining' },
    seed: { type: 'string', arg: 'N', help: 'seed of everything', default: '12345' },
    ...OUTPUT_OPTIONS,
  },
  examples: ['lamina demo', 'lamina demo --steps 300 --skip-finetune --out runs/quick'],
  async run(v) {
    await useBackend(v);
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
    const out = optStr(v, 'out') ?? path.join('runs', `demo-${stamp}`);
    const steps = num(v, 'steps', 1500, { min: 1, integer: true });
    const seed = num(v, 'seed', 12345, { min: 0, integer: true });
    const tok = runTokenizer(undefined);
    if (E.isLeft(tok)) throw usageError(tok.left);
    const model: AlbertConfig = { ...DEMO_MODEL, vocabSize: tok.right.vocabSize };
    const mode = progressModeOf(v);
    const say = (m: string) => {
      if (mode !== 'quiet' && mode !== 'json') console.log(m);
    };
    const stored = E.getOrElse(() => 0)(countParams(albertModel(model)));
    say(`lamina demo → ${out}`);
    say(
      `1/3 pretraining ALBERT (V=${model.vocabSize}, E=${model.embeddingSize}, H=${model.hiddenSize}, ${model.numHiddenLayers} layers sharing one set, ` +
        `${stored.toLocaleString('en-US')} parameters) on the bundled corpus (State of the Union, Moby-Dick, Brown) for ${steps} steps: MLM with n-gram masking + sentence-order prediction`,
    );
    const cfg: RunConfig = {
      model,
      modelSource: 'demo (embedded)',
      data: { corpus: undefined, tokenizer: undefined, maxDocuments: 0, seqLength: 64, maxPredictions: 10, objective: 'sop', dupeFactor: 1, evalFraction: 0.05, seed },
      steps,
      batchSize: 32,
      gradAccum: 1,
      lr: num(v, 'lr', 0.005, { min: 0 }),
      warmup: Math.round(steps / 10),
      optimizer: 'lamb',
      weightDecay: 0.01,
      clipNorm: 1,
      seed,
      checkpointEvery: 500,
      evalEvery: Math.max(50, Math.round(steps / 6)),
      evalBatches: 16,
      keepLast: 2,
    };
    const pretrainDir = path.join(out, 'pretrain');
    const pre = await runPretraining(cfg, pretrainDir, false, { progressMode: mode, logEvery: 100 });
    if (E.isLeft(pre)) throw new CliError(pre.left.message, pre.left.code);
    const p = pre.right;
    say('');
    say(`   before: ${evalLine(p.initialEval)}`);
    say(`   after:  ${evalLine(p.finalEval)}   (${p.step} steps, ${p.seconds.toFixed(0)}s, held-out documents)`);
    if (p.interrupted) {
      say(`interrupted; continue with: lamina pretrain --out ${pretrainDir} --resume`);
      return EXIT.ok;
    }
    let finetuneLine = 'skipped (--skip-finetune)';
    const ftDir = path.join(out, 'imdb');
    if (v['skip-finetune'] !== true) {
      const n = num(v, 'finetune-examples', 2048, { min: 32, integer: true });
      say('');
      say(`2/3 fine-tuning on IMDB sentiment (${n} training reviews, 1000 held-out, 128 tokens each)`);
      const ft = await runFinetune(
        finetuneConfig({ checkpoint: pretrainDir, train: 'imdb', eval: 'imdb', out: ftDir, maxTrain: n, maxEval: 1000, epochs: 2, lr: 1e-4, dropout: 0, seqLength: 128, evalEvery: 0, seed }),
        { progressMode: mode, logEvery: 20 },
      );
      if (E.isLeft(ft)) throw new CliError(ft.left.message, ft.left.code);
      finetuneLine = `${formatTaskMetrics(ft.right.initialMetrics)} → ${formatTaskMetrics(ft.right.finalMetrics)} (${ft.right.seconds.toFixed(0)}s)`;
      say(`   IMDB: ${finetuneLine}`);
    }
    say('');
    say('3/3 results');
    say(`   pretraining run:   ${pretrainDir}   (${RUN_CONFIG_FILE}, checkpoints/, metrics.jsonl, tensorboard/)`);
    say(`   curves:            ${path.join(pretrainDir, CURVES_FILE)}`);
    if (v['skip-finetune'] !== true) say(`   fine-tuning run:   ${ftDir}   (eval.json, curves.svg)`);
    say(`   next: lamina eval --checkpoint ${pretrainDir}   |   lamina export-hf --checkpoint ${pretrainDir} --out ${path.join(out, 'hf')}`);
    if (mode === 'json')
      console.log(JSON.stringify({ event: 'demo', out, pretrain: { step: p.step, before: p.initialEval, after: p.finalEval }, finetune: finetuneLine }));
    return EXIT.ok;
  },
};
