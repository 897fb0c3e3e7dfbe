/**
 * `lamina forward`: eval-mode forward pass of the pretraining model on given inputs, and
 * `lamina export-hf`: a run's weights as a Hugging Face ALBERT directory.
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import fs from 'node:fs';
import path from 'node:path';
import { compile, writeFileAtomic } from '@lamina/dsl';
import { albertForPretraining, checkHfExportable, INPUTS, writeHfDirectory, type HfArchitecture } from '@lamina/albert';
import { rawToTensors } from '../checkpoint.js';
import { loadModelDir } from '../run/load.js';
import { type Command, EXIT, failure, optStr, str, usageError } from './command.js';
import { useBackend } from './pretrain.js';

type IntMatrix = number[][];
const isIntMatrix = (u: unknown): u is IntMatrix =>
  Array.isArray(u) && u.length > 0 && u.every((r) => Array.isArray(r) && r.length === (u[0] as unknown[]).length && r.every((x) => Number.isInteger(x)));

/** Reads and checks the forward input file. */
export const readForwardInputs = (file: string, vocab: number, maxLen: number, types: number): Record<string, IntMatrix> => {
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw usageError(code === 'ENOENT' ? `input file ${file} does not exist` : `input file ${file} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  const o = json as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || !isIntMatrix(o.input_ids)) throw usageError(`${file}: "input_ids" must be a non-empty batch × seq array of integers`);
  const ids = o.input_ids;
  const [B, S] = [ids.length, (ids[0] as number[]).length];
  if (S > maxLen) throw usageError(`${file}: sequences of ${S} tokens exceed the model's max_position_embeddings (${maxLen})`);
  const bad = ids.flat().find((x) => x < 0 || x >= vocab);
  if (bad !== undefined) throw usageError(`${file}: input id ${bad} is outside the vocabulary (0..${vocab - 1})`);
  const out: Record<string, IntMatrix> = { input_ids: ids };
  for (const [k, def, max] of [['token_type_ids', 0, types - 1], ['attention_mask', 1, 1]] as const) {
    if (o[k] === undefined) {
      out[k] = ids.map((r) => r.map(() => def));
      continue;
    }
    const m = o[k];
    if (!isIntMatrix(m) || m.length !== B || (m[0] as number[]).length !== S) throw usageError(`${file}: "${k}" must be an integer array of shape [${B}, ${S}] like input_ids`);
    if (m.flat().some((x) => x < 0 || x > max)) throw usageError(`${file}: "${k}" values must be in 0..${max}`);
    out[k] = m;
  }
  return out;
};

/** `lamina forward`. */
export const forward: Command = {
  name: 'forward',
  summary: 'eval-mode forward pass of the pretraining model (hidden states, pooled output, MLM and SOP logits)',
  usage: 'lamina forward --checkpoint <run-dir|hf-dir> --input <inputs.json> [--output <file>]',
  options: {
    checkpoint: { type: 'string', arg: 'dir', help: 'a lamina run directory or a Hugging Face ALBERT directory' },
    input: { type: 'string', arg: 'file', help: 'JSON with input_ids and optional token_type_ids, attention_mask (batch × seq integers)' },
    output: { type: 'string', arg: 'file', help: 'write the outputs here (default: stdout)' },
    backend: { type: 'string', arg: 'name', help: 'tensorflow-gpu|tensorflow|wasm|cpu' },
  },
  examples: ['lamina forward --checkpoint runs/demo/pretrain --input inputs.json --output outputs.json'],
  async run(v) {
    const dir = str(v, 'checkpoint', 'forward');
    const inputFile = str(v, 'input', 'forward');
    await useBackend(v);
    const m = await loadModelDir(dir);
    if (E.isLeft(m)) throw usageError(m.left);
    const { config } = m.right;
    const inputs = readForwardInputs(inputFile, config.vocabSize, config.maxPositionEmbeddings, config.typeVocabSize);
    const objective = m.right.objective;
    const model = albertForPretraining(config, { objective, mlmPositions: 'all' });
    const f = compile(model, { input: INPUTS.ids });
    if (E.isLeft(f)) throw failure(f.left.message);
    const params = rawToTensors(m.right.params);
    const missing = Object.keys(params).length === 0;
    if (missing) throw usageError(`${dir} holds no parameters`);
    const out = tf.tidy(() => {
      const t = Object.fromEntries(Object.entries(inputs).map(([k, x]) => [k, tf.tensor2d(x, undefined, 'int32')]));
      return f.right(params, t) as Record<string, tf.Tensor>;
    });
    const json: Record<string, unknown> = {};
    for (const [k, t] of Object.entries(out)) json[k] = await t.array();
    Object.values(out).forEach((t) => t.dispose());
    Object.values(params).forEach((t) => t.dispose());
    const text = `${JSON.stringify(json)}\n`;
    const file = optStr(v, 'output');
    if (file) {
      const w = await writeFileAtomic(file, new TextEncoder().encode(text));
      if (E.isLeft(w)) throw failure(w.left.message);
      console.error(`wrote ${Object.keys(json).join(', ')} to ${file}`);
    } else process.stdout.write(text);
    return EXIT.ok;
  },
};

/** `lamina export-hf`. */
export const exportHf: Command = {
  name: 'export-hf',
  summary: "write a run's latest checkpoint as a Hugging Face ALBERT directory (config.json + model.safetensors)",
  usage: 'lamina export-hf --checkpoint <run-dir> --out <dir>',
  options: {
    checkpoint: { type: 'string', arg: 'dir', help: 'a lamina run directory (or an HF directory, re-written)' },
    out: { type: 'string', arg: 'dir', help: 'the Hugging Face directory to write' },
  },
  examples: ['lamina export-hf --checkpoint runs/demo/pretrain --out exported/albert-demo', "python -c \"from transformers import AlbertForPreTraining as M; M.from_pretrained('exported/albert-demo')\""],
  async run(v) {
    const dir = str(v, 'checkpoint', 'export-hf');
    const out = str(v, 'out', 'export-hf');
    const m = await loadModelDir(dir);
    if (E.isLeft(m)) throw usageError(m.left);
    const ok = checkHfExportable(m.right.config);
    if (E.isLeft(ok)) throw usageError(ok.left.message);
    if (m.right.objective === 'nsp') throw usageError('Hugging Face ALBERT has no next-sentence head: only SOP (or MLM-only) runs can be exported');
    const arch: HfArchitecture = m.right.architecture ?? (m.right.objective === 'sop' ? 'AlbertForPreTraining' : 'AlbertForMaskedLM');
    const w = await writeHfDirectory(out, m.right.config, arch, m.right.params);
    if (E.isLeft(w)) throw failure(w.left.message);
    const tokSource = m.right.tokenizer.source;
    if (fs.existsSync(tokSource) && fs.statSync(tokSource).isFile()) fs.copyFileSync(tokSource, path.join(out, path.basename(tokSource)));
    console.log(`wrote ${arch} to ${out} (config.json, model.safetensors${fs.existsSync(tokSource) ? `, ${path.basename(tokSource)}` : ''})`);
    return EXIT.ok;
  },
};
