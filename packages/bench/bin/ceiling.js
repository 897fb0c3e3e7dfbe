#!/usr/bin/env node
// `node packages/bench/bin/ceiling.js <results.json>`: the ceiling of each like-for-like row of a
// bench results file (achieved GFLOP/s per system over the run's matmul rate, and matmul rate ÷
// PyTorch's rate, see src/ceiling.ts), recomputed from its measurements, so a file written before
// the `ceiling` field existed can be read the same way; prints JSON.
import { register } from 'tsx/esm/api';

register();
const fs = await import('node:fs');
const E = await import('fp-ts/lib/Either.js');
const { flops, tensorSig } = await import('@lamina/dsl');
const { albertForPretraining } = await import('@lamina/albert');
const { ceilingRows } = await import('../src/ceiling.ts');
const { parseResults } = await import('../src/results.ts');
const file = process.argv[2];
if (!file) {
  console.error('usage: node packages/bench/bin/ceiling.js <results.json>');
  process.exit(2);
}
let parsed;
try {
  parsed = parseResults(JSON.parse(fs.readFileSync(file, 'utf8')));
} catch (e) {
  console.error(`cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(2);
}
if (E.isLeft(parsed)) {
  console.error(`${file}: ${parsed.left}`);
  process.exit(2);
}
const r = parsed.right;
const all = [...r.train, ...r.infer];
const forwardFlopsOf = (model, batch, seq) => {
  const m = all.find((x) => x.model === model);
  if (!m) return null;
  const f = flops(albertForPretraining(m.config, { mlmPositions: 'all' }), tensorSig([batch, seq], 'int32'), { attention_mask: tensorSig([batch, seq], 'int32'), token_type_ids: tensorSig([batch, seq], 'int32') });
  return E.isRight(f) ? f.right : null;
};
const rows = ceilingRows(all, forwardFlopsOf, r.matmul.gflops.median);
console.log(JSON.stringify({ file, cpu: r.environment.cpuModel, load: r.environment.loadAverage, rows }, (k, v) => (typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 1000) / 1000 : k === 'samples' ? undefined : v), 1));
