// The demo pipeline on tiny dims: pretraining on a tiny corpus, fine-tuning on a few bundled IMDB
// reviews, the same classifier from scratch, and a well-formed summary.json.
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { tinyConfig } from '@lamina/albert';
import { DEMO_RECIPE, DEMO_SUMMARY_FILE, demo, runDemo, type DemoSummary } from '../src/cli/demo.js';
import { helpText } from '../src/cli/command.js';
import { tinyWorkspace } from './helpers/tiny-run.js';

const isUnit = (x: unknown): boolean => typeof x === 'number' && x >= 0 && x <= 1;

describe('lamina demo', () => {
  it.each([
    ['at the same time, in a child process, eager engine', true],
    ['one after the other, in process, graph engine', false],
  ])('writes summary.json with pretraining before/after, fine-tuned before/after and from-scratch accuracy (scratch %s)', async (_how, concurrent) => {
    // the concurrent case runs --eager (lamina demo --eager), so the flag reaches the child process too
    const engine = concurrent ? ('eager' as const) : undefined;
    const w = tinyWorkspace();
    const out = path.join(w.dir, 'demo');
    const lines: string[] = [];
    const r = await runDemo(
      {
        out,
        model: tinyConfig({ vocabSize: 10000, maxPositionEmbeddings: 32 }),
        pretrain: { steps: 3, lr: 0.01, batchSize: 4, seqLength: 24, corpus: w.corpus, evalBatches: 1, evalFraction: 0.2 },
        finetune: { examples: 48, evalExamples: 24, epochs: 1, lr: 1e-3, batchSize: 16, seqLength: 32 },
        scratch: true,
        concurrent,
        seed: 3,
        ...(engine ? { engine } : {}),
      },
      { progressMode: 'quiet' },
      (l) => lines.push(l),
    );
    if (E.isLeft(r)) throw new Error(r.left.message);
    const s = JSON.parse(fs.readFileSync(path.join(out, DEMO_SUMMARY_FILE), 'utf8')) as DemoSummary;
    expect(s).toEqual(JSON.parse(JSON.stringify(r.right)));
    expect(Object.keys(s).sort()).toEqual(['finetune', 'interrupted', 'pretrain', 'seconds']);
    for (const k of ['before', 'after'] as const) {
      const e = s.pretrain[k];
      expect(e, k).not.toBeNull();
      expect(isUnit(e?.mlmAccuracy) && isUnit(e?.orderAccuracy), k).toBe(true);
    }
    expect(s.pretrain.steps).toBe(3);
    const f = s.finetune;
    expect(f).not.toBeNull();
    for (const m of [f?.before, f?.after, f?.scratch]) {
      expect(m?.kind).toBe('classification');
      expect(m?.count).toBe(24);
      expect(isUnit(m?.kind === 'classification' ? m.accuracy : undefined)).toBe(true);
    }
    expect([f?.trainExamples, f?.evalExamples]).toEqual([48, 24]);
    expect(f?.recipe).toMatchObject({ epochs: 1, batchSize: 16, lr: 1e-3, seqLength: 32, optimizer: 'adamw', biasCorrection: true, dropout: 0 });
    expect(s.seconds).toBeGreaterThan(0);
    expect(s.interrupted).toBe(false);
    // the runs it reports exist, and the story names both classifiers
    for (const d of ['pretrain', 'imdb', 'imdb-scratch']) expect(fs.existsSync(path.join(out, d)), d).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'imdb-scratch', 'finetune.json'), 'utf8')).config.fromScratch).toBe(true);
    for (const d of ['imdb', 'imdb-scratch']) expect(JSON.parse(fs.readFileSync(path.join(out, d, 'finetune.json'), 'utf8')).config.engine ?? 'graph', d).toBe(engine ?? 'graph');
    expect(lines.some((l) => l.includes('from scratch, same recipe'))).toBe(true);
  }, 300_000);

  it('states its recipe once, in the flags', () => {
    const help = helpText(demo);
    expect(help).toContain(`--steps <N>`);
    expect(help).toContain(`(default: ${DEMO_RECIPE.pretrain.steps})`);
    expect(help).toContain(`(default: ${DEMO_RECIPE.finetune.examples})`);
    for (const o of ['--finetune-epochs', '--finetune-lr', '--skip-scratch', '--skip-finetune', '--eager']) expect(help).toContain(o);
  });
});
