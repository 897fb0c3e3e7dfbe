// `lamina forward --checkpoint <train-run>` runs on the run's stored engine, as `lamina eval`
// does: a run trained --eager forwards op by op, a graph run on the graph path; --eager forces
// op by op. One `forward engine: …` line on stderr says which; both engines give the same logits.
import { beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { forwardEngine, forwardEngineLine } from '../src/cli/forward.js';
import { runCli } from './helpers/in-process.js';

let dir: string;
const write = (name: string, text: string): string => {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
};
const MODEL = `import { seq, named, embedding, positionalEmbedding, layerNorm, multiHeadAttention, residual, dense } from '@lamina/dsl';
export default ({ vocabSize }: { vocabSize: number }) =>
  seq(named('wte', embedding(vocabSize, 8)), named('wpe', positionalEmbedding(16, 8)),
    residual(seq(named('ln', layerNorm(8)), named('attn', multiHeadAttention(8, 2, { causal: true })))),
    named('head', dense(8, vocabSize)));
`;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lamina-forward-engine-'));
});

describe('forward engine', () => {
  it('is --eager when asked, else the run’s stored engine, else graph', () => {
    expect(forwardEngine(true, 'graph')).toEqual({ engine: 'eager', why: '--eager' });
    expect(forwardEngine(true, undefined).engine).toBe('eager');
    expect(forwardEngine(false, 'eager')).toEqual({ engine: 'eager', why: 'the run was trained --eager' });
    expect(forwardEngine(false, 'graph')).toEqual({ engine: 'graph', why: "the run's engine" });
    expect(forwardEngine(false, undefined)).toEqual({ engine: 'graph', why: 'the default' });
    expect(forwardEngineLine(forwardEngine(false, undefined))).toMatch(/^forward engine: graph \(.*--eager runs op by op\)$/);
    expect(forwardEngineLine(forwardEngine(false, 'eager'))).toMatch(/^forward engine: eager \(/);
  });

  it('follows a train run’s engine; --eager forces eager; the logits agree (1e-5)', { timeout: 600_000 }, async () => {
    const words = ['sea', 'ship', 'whale', 'harbour', 'captain', 'storm'];
    const corpus = write('c.txt', Array.from({ length: 24 }, (_, i) => Array.from({ length: 5 }, (_, j) => `The ${words[(i + j) % 6]} met the ${words[(i * 5 + j) % 6]}.`).join(' ')).join('\n\n'));
    const model = write('m.ts', MODEL);
    const runs: Record<string, string> = {};
    for (const engine of ['graph', 'eager'] as const) {
      runs[engine] = path.join(dir, engine);
      const flags = ['train', '--model', model, '--objective', 'clm', '--corpus', corpus, '--out', runs[engine] as string, '--steps', '2', '--batch-size', '2', '--seq-len', '12', '--eval-batches', '1', '--eval-fraction', '0.2', '--quiet'];
      const t = await runCli(engine === 'eager' ? [...flags, '--eager'] : flags);
      expect(t.status, t.stderr).toBe(0);
    }
    const input = write('in.json', JSON.stringify({ input_ids: [[5, 6, 7, 8], [9, 10, 11, 12]], attention_mask: [[1, 1, 1, 1], [1, 1, 1, 0]] }));
    const forward = async (run: string, extra: string[] = []) => {
      const out = path.join(dir, `out-${path.basename(run)}-${extra.length}.json`);
      const r = await runCli(['forward', '--checkpoint', run, '--input', input, '--output', out, ...extra]);
      expect(r.status, r.stderr).toBe(0);
      const lines = r.errLines.filter((l) => l.startsWith('forward engine: '));
      expect(lines, r.stderr).toHaveLength(1);
      expect(r.errLines.filter((l) => /^\w+ engine: /.test(l))).toEqual(lines);
      return { line: lines[0] as string, logits: (JSON.parse(fs.readFileSync(out, 'utf8')) as { logits: number[][][] }).logits.flat(2) };
    };
    const graph = await forward(runs.graph as string);
    expect(graph.line).toMatch(/^forward engine: graph \(.*the run's engine/);
    const forced = await forward(runs.graph as string, ['--eager']);
    expect(forced.line).toMatch(/^forward engine: eager \(.*--eager\)$/);
    expect(forced.logits).toHaveLength(graph.logits.length);
    const worst = Math.max(...graph.logits.map((x, i) => Math.abs(x - (forced.logits[i] as number)) / Math.max(1, Math.abs(x))));
    expect(worst).toBeLessThanOrEqual(1e-5);
    const eager = await forward(runs.eager as string);
    expect(eager.line).toMatch(/^forward engine: eager \(.*the run was trained --eager\)$/);
    expect(eager.logits.every(Number.isFinite)).toBe(true);
  });
});
