// Runs the README's example code block, so the documented example stays true.
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs';
import path from 'node:path';

describe('README example', () => {
  it('runs and gives the shapes and counts it claims', async () => {
    const readme = fs.readFileSync(path.resolve(import.meta.dirname, '../README.md'), 'utf8');
    const code = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(code).toBeDefined();
    const lines = (code as string).split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('//'));
    expect(lines.length).toBeLessThanOrEqual(30);
    const file = path.resolve(import.meta.dirname, '../.cache-readme-example.ts');
    fs.writeFileSync(file, code as string);
    try {
      const m = (await import(file)) as { logits: tf.Tensor; stored: number; outShape: { shape: number[] }; params: Record<string, tf.Variable> };
      expect(m.logits.shape).toEqual([2, 2]);
      expect(m.outShape.shape).toEqual([null, 2]);
      // embedding 1000·32 + positions 64·32 + ONE block (4·(32·32+32) + 2·32 + 32·128+128 + 128·32+32 + 2·32) + dense 32·2+2
      const block = 4 * (32 * 32 + 32) + 2 * 32 + (32 * 128 + 128) + (128 * 32 + 32) + 2 * 32;
      expect(m.stored).toBe(1000 * 32 + 64 * 32 + block + 32 * 2 + 2);
      expect(Object.keys(m.params).filter((k) => k.startsWith('encoder.'))).toHaveLength(16);
    } finally {
      fs.rmSync(file, { force: true });
    }
  });
});
