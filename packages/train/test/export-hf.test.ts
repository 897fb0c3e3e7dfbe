// A lamina-trained model exported with `lamina export-hf` loads in Hugging Face's
// AlbertForPreTraining with no missing keys and reproduces lamina's outputs (`lamina forward`)
// within 1e-4. Needs the Python reference environment (.venv, made by `npm test`).
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const repo = path.resolve(import.meta.dirname, '../../..');
const python = path.join(repo, '.venv/bin/python');
const lamina = path.join(repo, 'packages/train/bin/lamina.js');
const haveVenv = fs.existsSync(python);
const cli = (args: string[]) => spawnSync(process.execPath, [lamina, ...args], { encoding: 'utf8', cwd: repo });

describe.skipIf(!haveVenv)('export to Hugging Face (needs .venv: node scripts/python/setup-venv.mjs)', () => {
  it('a pretrained run → export-hf → from_pretrained reproduces lamina forward', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lamina-export-'));
    const cfg = path.join(dir, 'model.json');
    fs.writeFileSync(cfg, JSON.stringify({ embeddingSize: 16, hiddenSize: 32, numHiddenLayers: 3, numHiddenGroups: 2, numAttentionHeads: 4, intermediateSize: 40, maxPositionEmbeddings: 32 }));
    const run = path.join(dir, 'run');
    const corpus = path.join(dir, 'corpus.txt');
    const para = (i: number) =>
      Array.from({ length: 12 }, (_, j) => `Sentence ${j} of paragraph ${i} talks about the ${['sea', 'ship', 'whale', 'harbour'][(i + j) % 4]} at dawn.`).join(' ');
    fs.writeFileSync(corpus, Array.from({ length: 40 }, (_, i) => para(i)).join('\n\n'));
    const p = cli(['pretrain', '--model', cfg, '--corpus', corpus, '--out', run, '--steps', '3', '--batch-size', '4', '--seq-len', '24', '--eval-every', '0', '--eval-batches', '1', '--eval-fraction', '0.2', '--quiet']);
    expect(p.status, p.stderr).toBe(0);
    const hf = path.join(dir, 'hf');
    const e = cli(['export-hf', '--checkpoint', run, '--out', hf]);
    expect(e.status, e.stderr).toBe(0);
    const inputs = {
      input_ids: [[2, 45, 901, 17, 3, 77, 5003, 3, 0, 0], [2, 9, 8, 7, 6, 3, 99, 100, 101, 3]],
      token_type_ids: [[0, 0, 0, 0, 0, 1, 1, 1, 0, 0], [0, 0, 0, 0, 0, 0, 1, 1, 1, 1]],
      attention_mask: [[1, 1, 1, 1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]],
    };
    fs.writeFileSync(path.join(dir, 'in.json'), JSON.stringify(inputs));
    const f = cli(['forward', '--checkpoint', run, '--input', path.join(dir, 'in.json'), '--output', path.join(dir, 'out.json')]);
    expect(f.status, f.stderr).toBe(0);
    const outputs = JSON.parse(fs.readFileSync(path.join(dir, 'out.json'), 'utf8')) as Record<string, unknown>;
    expect(Object.keys(outputs).sort()).toEqual(['last_hidden_state', 'pooler_output', 'prediction_logits', 'sop_logits']);
    fs.writeFileSync(path.join(dir, 'io.json'), JSON.stringify({ inputs, outputs }));
    const check = spawnSync(python, [path.join(repo, 'scripts/python/check_hf_export.py'), hf, path.join(dir, 'io.json')], { encoding: 'utf8' });
    expect(check.status, `${check.stdout}\n${check.stderr}`).toBe(0);
    const report = JSON.parse(check.stdout.trim().split('\n').pop() as string) as { ok: boolean; max_abs_diff: Record<string, number> };
    expect(report.ok).toBe(true);
    for (const d of Object.values(report.max_abs_diff)) expect(d).toBeLessThanOrEqual(1e-4);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
