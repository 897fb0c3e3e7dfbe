#!/usr/bin/env node
// `node packages/bench/bin/graph-vs-eager.js [repeats] [steps] [--xla] [--step pretrain|finetune|clm] [--eval] [--vs-xla] [--configs]`: the demo
// model's pretraining step (or, with --step, the demo's fine-tuning step or a GPT-2-tiny clm step; with --eval, its held-out evaluation) as one
// TensorFlow graph versus op by op, side by side with interleaved repeats; prints JSON. --xla compiles the graph step with XLA;
// --vs-xla instead sets the graph step beside the same graph step compiled by XLA (first-call seconds and per-step seconds included);
// --configs prices config_proto settings (threads, Grappler optimizers: CONFIG_VARIANTS in src/graph.ts) on the same graph step.
import { register } from 'tsx/esm/api';

process.env.TF_CPP_MIN_LOG_LEVEL ??= '3';
register();
const { selectBackend } = await import('@lamina/dsl');
const { configEffects, evalGraphVsEager, graphVsEager, graphVsXla, stepGraphVsEager } = await import('../src/graph.ts');
const b = await selectBackend();
if (b._tag === 'Left' || !b.right.native) {
  console.error('graph-vs-eager needs the native TensorFlow backend');
  process.exit(1);
}
const nums = process.argv.slice(2).filter((a) => /^\d+$/.test(a)).map(Number);
const at = process.argv.indexOf('--step');
const kind = at > 0 ? process.argv[at + 1] : undefined;
const opts = { repeats: nums[0] ?? 5, steps: nums[1] ?? 5, xla: process.argv.includes('--xla') };
const r = process.argv.includes('--configs')
  ? await configEffects(kind ?? 'pretrain', undefined, opts)
  : process.argv.includes('--vs-xla')
  ? await graphVsXla(kind ?? 'pretrain', opts)
  : process.argv.includes('--eval')
    ? await evalGraphVsEager(opts)
    : kind && kind !== 'pretrain'
      ? await stepGraphVsEager(kind, opts)
      : await graphVsEager(opts);
console.log(JSON.stringify(r, (k, v) => (typeof v === 'number' ? Math.round(v * 100) / 100 : v)));
