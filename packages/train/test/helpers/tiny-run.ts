// Shared by the CLI-level tests: a tiny model config and corpus in a temp dir, and a CLI runner.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const repo = path.resolve(import.meta.dirname, '../../../..');
export const laminaBin = path.join(repo, 'packages/train/bin/lamina.js');

/** Runs the CLI to completion. */
export const cli = (args: readonly string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [laminaBin, ...args], { encoding: 'utf8', cwd: repo, env: { ...process.env, ...env } });

/** Starts the CLI in the background. */
export const cliAsync = (args: readonly string[]): ChildProcess => spawn(process.execPath, [laminaBin, ...args], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });

/** A temp dir with `model.json` (tiny ALBERT) and `corpus.txt` (40 short documents). */
export const tinyWorkspace = (): { dir: string; model: string; corpus: string } => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lamina-cli-'));
  const model = path.join(dir, 'model.json');
  fs.writeFileSync(model, JSON.stringify({ embeddingSize: 16, hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 4, intermediateSize: 40, maxPositionEmbeddings: 32 }));
  const corpus = path.join(dir, 'corpus.txt');
  const words = ['sea', 'ship', 'whale', 'harbour', 'captain', 'storm', 'island', 'night'];
  const doc = (i: number) =>
    Array.from({ length: 10 }, (_, j) => `The ${words[(i + j) % 8]} and the ${words[(i * 3 + j) % 8]} met ${j + 1} times in chapter ${i}.`).join(' ');
  fs.writeFileSync(corpus, Array.from({ length: 40 }, (_, i) => doc(i)).join('\n\n'));
  return { dir, model, corpus };
};

/** The common flags of a tiny pretraining run. */
export const tinyPretrainArgs = (w: { model: string; corpus: string }, out: string, steps: number): string[] => [
  'pretrain', '--model', w.model, '--corpus', w.corpus, '--out', out, '--steps', String(steps), '--batch-size', '4',
  '--seq-len', '24', '--eval-every', '0', '--eval-batches', '1', '--eval-fraction', '0.2', '--lr', '0.01', '--warmup', '2', '--quiet',
];

/** The per-step training losses recorded in a run's metrics.jsonl. */
export const losses = (runDir: string): Map<number, number> => {
  const m = new Map<number, number>();
  for (const line of fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const r = JSON.parse(line) as { step: number; values?: Record<string, number>; loss?: number };
    const loss = r.values?.loss ?? r.loss;
    if (typeof loss === 'number') m.set(r.step, loss);
  }
  return m;
};
