import { describe, expect, it, vi } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';

// Simulate a non-native backend: tfjs-node's summary writer is unavailable.
vi.mock('@lamina/dsl', async (importOriginal) => ({ ...(await importOriginal<typeof import('@lamina/dsl')>()), tfNode: () => undefined }));

const { openMetricsLogger, readMetrics } = await import('../src/metrics.js');

describe('metrics logger without native TensorFlow', () => {
  it('skips TensorBoard with a single note and still writes metrics.jsonl', () => {
    const notes: string[] = [];
    for (let i = 0; i < 2; i++) {
      const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lamina-notb-'));
      const m = openMetricsLogger({ runDir, note: (s) => notes.push(s) });
      expect(E.isRight(m)).toBe(true);
      if (E.isLeft(m)) return;
      expect(m.right.tensorboard).toBe(false);
      expect(E.isRight(m.right.log(1, { loss: 2 }))).toBe(true);
      m.right.close();
      expect(fs.existsSync(path.join(runDir, 'tensorboard'))).toBe(false);
      const back = readMetrics(path.join(runDir, 'metrics.jsonl'));
      expect(E.isRight(back) && back.right.records.map((r) => r.values.loss)).toEqual([2]);
    }
    expect(notes).toEqual(['note: TensorBoard event files are not written: the summary writer needs the native TensorFlow backend (metrics.jsonl is still written)']);
  });
});
