import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { currentBackend, parseBackendName, BACKEND_NAMES } from '../src/index.js';

const lamina = path.resolve(import.meta.dirname, '../../train/bin/lamina.js');
const runLamina = (args: string[], env: Record<string, string>) =>
  spawnSync(process.execPath, [lamina, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });

describe('backend', () => {
  it('runs on native TensorFlow and a matmul matches the hand-computed result', () => {
    expect(currentBackend()?.name).toBe('tensorflow');
    expect(tf.getBackend()).toBe('tensorflow');
    const a = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
    const b = tf.tensor2d([[7, 8], [9, 10], [11, 12]]);
    // [1*7+2*9+3*11, 1*8+2*10+3*12] = [58, 64]; [4*7+5*9+6*11, 4*8+5*10+6*12] = [139, 154]
    expect(tf.matMul(a, b).arraySync()).toEqual([[58, 64], [139, 154]]);
    expect(currentBackend()?.tensorflowVersion).toMatch(/^2\.\d+/);
  });

  it('parses backend names and rejects unknown ones with the allowed values', () => {
    for (const n of BACKEND_NAMES) expect(parseBackendName(n)).toEqual({ _tag: 'Right', right: n });
    const bad = parseBackendName('tpu');
    expect(bad._tag).toBe('Left');
    if (bad._tag === 'Left') expect(bad.left.message).toContain('tensorflow-gpu, tensorflow, wasm, cpu');
  });

  it('warns loudly when forced to the pure-JS cpu backend, and doctor exits 1', () => {
    const r = runLamina(['doctor', '--json'], { LAMINA_BACKEND: 'cpu' });
    expect(r.status).toBe(1);
    const report = JSON.parse(r.stdout) as { backend: string; native: boolean; warnings: string[] };
    expect(report.backend).toBe('cpu');
    expect(report.native).toBe(false);
    expect(report.warnings.join('\n')).toMatch(/WARNING: .*pure-JS "cpu" backend, about 100x slower/);
    const plain = runLamina(['doctor'], { LAMINA_BACKEND: 'cpu' });
    expect(plain.stderr).toMatch(/WARNING: .*pure-JS/);
  });

  it('an unknown LAMINA_BACKEND is one readable line and exit 2', () => {
    const r = runLamina(['doctor'], { LAMINA_BACKEND: 'tpu' });
    expect(r.status).toBe(2);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('lamina'));
    expect(lines).toEqual(['lamina doctor: unknown backend "tpu" (LAMINA_BACKEND / --backend): allowed values are tensorflow-gpu, tensorflow, wasm, cpu']);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('doctor --json reports the native backend', () => {
    const r = runLamina(['doctor', '--json'], {});
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout) as { backend: string; tensorflow: string; threads: number };
    expect(report.backend).toBe('tensorflow');
    expect(report.threads).toBeGreaterThan(0);
  });
});
