// Runs the README's "Four more architectures" blocks (each marked `<!-- runnable: name -->`) and
// checks the shapes they claim; `vitest` imports them, so a block that does not run fails here.
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs';
import path from 'node:path';
import { countParams, unwrap, type Node } from '../src/index.js';

const readme = fs.readFileSync(path.resolve(import.meta.dirname, '../README.md'), 'utf8');
const blocks = [...readme.matchAll(/<!-- runnable: (\w+) -->\n```ts\n([\s\S]*?)```/g)].map((m) => [m[1] as string, m[2] as string] as const);

const expected: Record<string, number[]> = { gpt: [1, 4, 100], cnn: [2, 2], mixer: [2, 8, 16], ut: [1, 2] };

describe('README: the four architectures run and give the shapes they claim', () => {
  it('has the four blocks, each a few lines', () => {
    expect(blocks.map(([n]) => n)).toEqual(Object.keys(expected));
    for (const [, code] of blocks) expect(code.split('\n').filter((l) => l.trim() !== '').length).toBeLessThanOrEqual(14);
  });

  it.each(Object.keys(expected))('%s', async (name) => {
    const code = (blocks.find(([n]) => n === name) as readonly [string, string])[1];
    const file = path.resolve(import.meta.dirname, `../.cache-readme-${name}.ts`);
    fs.writeFileSync(file, code);
    try {
      const m = (await import(file)) as { model: Node; out: tf.Tensor };
      expect(m.out.shape).toEqual(expected[name]);
      expect(Number.isFinite(unwrap(countParams(m.model)))).toBe(true);
      const v = m.out.dataSync();
      expect(v.every((x) => Number.isFinite(x))).toBe(true);
    } finally {
      fs.rmSync(file, { force: true });
    }
  });

  it('the Universal Transformer stores one block, applied 4 times', async () => {
    const code = (blocks.find(([n]) => n === 'ut') as readonly [string, string])[1];
    const file = path.resolve(import.meta.dirname, '../.cache-readme-ut2.ts');
    fs.writeFileSync(file, code);
    try {
      const m = (await import(file)) as { model: Node };
      const D = 16;
      const block = 4 * (D * D + D) + 2 * 2 * D + (D * 32 + 32) + (32 * D + D);
      expect(unwrap(countParams(m.model))).toBe(100 * D + block + D * 2 + 2);
    } finally {
      fs.rmSync(file, { force: true });
    }
  });
});
