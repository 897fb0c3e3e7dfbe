/**
 * `lamina forward`: eval-mode forward pass of the pretraining model on given inputs, and
 * `lamina export-hf`: a run's weights as a Hugging Face ALBERT directory.
 *
 * The forward pass runs on the engine of the run it reads, as `lamina eval` does: a `lamina train`
 * run trained `--eager` runs op by op, any other run (its config stores `graph`, or, like a
 * pretraining run or a Hugging Face directory, no engine) on the graph path (one TensorFlow
 * function per input shape); `--eager` forces op by op. One `forward engine: …` line on stderr
 * says which, and why.
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import fs from 'node:fs';
import path from 'node:path';
import { compileToGraph, formatModelError, init, paramSpecs, sideInputs, type Node, type ParamSpec, type RawTensor } from '@lamina/dsl';
import { albertForPretraining, checkHfExportable, gpt2LMHeadModel, INPUTS, isGpt2HfConfig, readGpt2HfDirectory, writeHfDirectory, type HfArchitecture } from '@lamina/albert';
import { rawToTensors } from '../checkpoint.js';
import { loadModelDir } from '../run/load.js';
import { type Command, CliError, EXIT, failure, intOption, LIMITS, numOr, optStr, str, usageError } from './command.js';
import { loadModelFile } from '../models/file.js';
import { runTokenizer } from '../run/data.js';
import { maxPositions } from '../run/generate.js';
import { isTrainRun, loadTrainRun } from '../run/train.js';
import { checkWritable, fsErrorLine, inspectDir } from '../run/rundir.js';
import { useBackend } from './pretrain.js';
import type { StepEngine } from '../core/graph-step.js';

type IntMatrix = number[][];
const isIntMatrix = (u: unknown): u is IntMatrix =>
  Array.isArray(u) && u.length > 0 && u.every((r) => Array.isArray(r) && r.length === (u[0] as unknown[]).length && r.every((x) => Number.isSafeInteger(x)));

/** An input file larger than this is refused before it is read. */
export const MAX_FORWARD_INPUT_BYTES = 64 * 1024 * 1024;
/** At most this many numbers in all outputs together (they are streamed; ~10 bytes each as JSON). */
export const MAX_FORWARD_OUTPUT_VALUES = 100_000_000;

/**
 * Checks parsed forward inputs: `input_ids` a non-empty batch × seq (seq ≥ 1) integer matrix of
 * ids in the vocabulary, optional `token_type_ids`/`attention_mask` of the same shape in range.
 * Returns the three matrices (defaults filled in) or a one-line error.
 * @example checkForwardInputs({ input_ids: [[2, 45, 3]] }, 'in.json', 30000, 512, 2) // right({ input_ids, token_type_ids: [[0,0,0]], attention_mask: [[1,1,1]] })
 */
export const checkForwardInputs = (json: unknown, file: string, vocab: number, maxLen: number, types: number): E.Either<string, Record<string, IntMatrix>> => {
  const o = json as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return E.left(`${file}: expected a JSON object with "input_ids"`);
  if (!isIntMatrix(o.input_ids)) return E.left(`${file}: "input_ids" must be a non-empty batch × seq array of integers (every row the same length)`);
  const ids = o.input_ids;
  const [B, S] = [ids.length, (ids[0] as number[]).length];
  if (S === 0) return E.left(`${file}: "input_ids" rows are empty; every sequence needs at least 1 token`);
  if (S > maxLen) return E.left(`${file}: sequences of ${S} tokens exceed the model's max_position_embeddings (${maxLen})`);
  for (const r of ids) for (const x of r) if (x < 0 || x >= vocab) return E.left(`${file}: input id ${x} is outside the vocabulary (0..${vocab - 1})`);
  const out: Record<string, IntMatrix> = { input_ids: ids };
  for (const [k, def, max] of [['token_type_ids', 0, types - 1], ['attention_mask', 1, 1]] as const) {
    if (o[k] === undefined) {
      out[k] = ids.map((r) => r.map(() => def));
      continue;
    }
    const m = o[k];
    if (!isIntMatrix(m) || m.length !== B || (m[0] as number[]).length !== S) return E.left(`${file}: "${k}" must be an integer array of shape [${B}, ${S}] like input_ids`);
    if (m.some((r) => r.some((x) => x < 0 || x > max))) return E.left(`${file}: "${k}" values must be in 0..${max}`);
    out[k] = m;
  }
  const unknown = Object.keys(o).filter((k) => !['input_ids', 'token_type_ids', 'attention_mask'].includes(k));
  if (unknown.length > 0) return E.left(`${file}: unknown field ${JSON.stringify(unknown[0]).slice(0, 40)} (expected input_ids, token_type_ids, attention_mask)`);
  return E.right(out);
};

/**
 * Reads and checks the forward input file (size-limited; errors are usage errors).
 * @example readForwardInputs('in.json', 30000, 512, 2).input_ids.length // the batch size
 */
export const readForwardInputs = (file: string, vocab: number, maxLen: number, types: number): Record<string, IntMatrix> => {
  let text: string;
  try {
    const st = fs.statSync(file);
    if (st.isDirectory()) throw usageError(`input file ${file} is a directory`);
    if (st.size > MAX_FORWARD_INPUT_BYTES) throw usageError(`input file ${file} has ${st.size} bytes, more than the limit of ${MAX_FORWARD_INPUT_BYTES}`);
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw usageError((e as NodeJS.ErrnoException).code === 'ENOENT' ? `input file ${file} does not exist` : fsErrorLine('cannot read input file', file, e));
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw usageError(`input file ${file} is not valid JSON: ${(e instanceof Error ? e.message : String(e)).slice(0, 100)}`);
  }
  const r = checkForwardInputs(json, file, vocab, maxLen, types);
  if (E.isLeft(r)) throw usageError(r.left);
  return r.right;
};

/**
 * Compares a model's parameter specs with loaded weights (names and shapes); the first few
 * differences as one line, or undefined when they match.
 * @example weightsMismatch(specs, params) // 'config.json does not match the weights: "embeddings.word.table" is [30000,128] in the config but [99,16] in the weights'
 */
export const weightsMismatch = (specs: readonly ParamSpec[], params: Readonly<Record<string, RawTensor>>): string | undefined => {
  const problems: string[] = [];
  for (const s of specs) {
    const p = params[s.path];
    if (p === undefined) problems.push(`"${s.path}" is missing from the weights`);
    else if (p.shape.length !== s.shape.length || p.shape.some((d, i) => d !== s.shape[i])) problems.push(`"${s.path}" is [${s.shape.join(',')}] in the config but [${p.shape.join(',')}] in the weights`);
  }
  if (problems.length === 0) return undefined;
  return `the config does not match the weights: ${problems.slice(0, 2).join('; ')}${problems.length > 2 ? `; and ${problems.length - 2} more` : ''}`;
};

/**
 * The first parameter holding NaN or ±Infinity, or undefined.
 * @example nonFiniteParam(params) // '"encoder.group0.ffn.kernel" holds NaN'
 */
export const nonFiniteParam = (params: Readonly<Record<string, RawTensor>>): string | undefined => {
  for (const [name, p] of Object.entries(params)) {
    if (p.dtype !== 'float32') continue;
    const d = p.data as Float32Array;
    for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i] as number)) return `"${name}" holds ${d[i]}`;
  }
  return undefined;
};

/** writeSync that also copes with a non-blocking pipe (EAGAIN: wait a moment, write the rest). */
const writeAll = (fd: number, text: string): void => {
  const buf = Buffer.from(text, 'utf8');
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(fd, buf, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
};

/** Writes `{ "name": nested arrays, … }` a row at a time (memory: one row of text). */
const streamJson = (fd: number, outputs: ReadonlyArray<[string, tf.Tensor]>): void => {
  writeAll(fd, '{');
  outputs.forEach(([name, t], k) => {
    writeAll(fd, `${k > 0 ? ',' : ''}${JSON.stringify(name)}:`);
    const shape = t.shape;
    const data = t.dataSync();
    const last = shape[shape.length - 1] ?? 1;
    const rows = data.length / Math.max(1, last);
    const writeRow = (r: number) => writeAll(fd, `[${Array.from(data.subarray(r * last, (r + 1) * last), (x) => (Number.isFinite(x) ? String(x) : 'null')).join(',')}]`);
    if (shape.length <= 1) {
      if (shape.length === 0) writeAll(fd, String(data[0]));
      else writeRow(0);
      return;
    }
    // nested brackets for the leading dims
    const lead = shape.slice(0, -1);
    const idx = lead.map(() => 0);
    for (let r = 0; r < rows; r++) {
      let opens = 0;
      for (let d = lead.length - 1; d >= 0 && idx[d] === 0; d--) opens++;
      writeAll(fd, `${r > 0 ? ',' : ''}${'['.repeat(opens)}`);
      writeRow(r);
      for (let d = lead.length - 1; d >= 0; d--) {
        idx[d] = (idx[d] as number) + 1;
        if ((idx[d] as number) < (lead[d] as number)) break;
        idx[d] = 0;
        writeAll(fd, ']');
      }
    }
  });
  writeAll(fd, '}\n');
};

/** What `lamina forward` runs: the model value, its weights and the checked inputs it reads. */
interface ForwardSource {
  readonly model: Node;
  readonly params: Record<string, RawTensor>;
  readonly inputs: Record<string, IntMatrix>;
  readonly valuesPerToken: number;
  readonly valuesPerSequence: number;
  /** The engine the run was trained on, when it stored one (a `lamina train` run). */
  readonly engine?: StepEngine;
}

/**
 * The engine of a forward pass: `--eager` forces eager, else the run's stored engine, else graph.
 * @example forwardEngine(false, 'eager') // { engine: 'eager', why: 'the run was trained --eager' }
 */
export const forwardEngine = (eagerFlag: boolean, stored: StepEngine | undefined): { readonly engine: StepEngine; readonly why: string } =>
  eagerFlag ? { engine: 'eager', why: '--eager' } : stored === 'eager' ? { engine: 'eager', why: 'the run was trained --eager' } : { engine: 'graph', why: stored === 'graph' ? "the run's engine" : 'the default' };

/**
 * The one line `lamina forward` prints on stderr about its engine.
 * @example forwardEngineLine(forwardEngine(false, undefined)) // 'forward engine: graph (one TensorFlow function per input shape, the default; --eager runs op by op)'
 */
export const forwardEngineLine = (e: { readonly engine: StepEngine; readonly why: string }): string =>
  e.engine === 'graph' ? `forward engine: graph (one TensorFlow function per input shape, ${e.why}; --eager runs op by op)` : `forward engine: eager (tfjs ops one at a time, ${e.why})`;

const readsJson = (file: string): unknown => {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
};

/** A DSL model with its weights, and the inputs (checked against its vocabulary and positions) it reads. */
const fromModel = (model: Node, params: Record<string, RawTensor>, vocab: number, inputFile: string): ForwardSource => {
  const maxLen = maxPositions(model) ?? LIMITS.seqLength;
  const reads = sideInputs(model);
  const all = readForwardInputs(inputFile, vocab, maxLen, reads.has(INPUTS.tokenTypes) ? 2 : 1);
  const inputs = Object.fromEntries(Object.entries(all).filter(([k]) => k === INPUTS.ids || reads.has(k)));
  return { model, params, inputs, valuesPerToken: vocab, valuesPerSequence: 0 };
};

/**
 * The model of `--checkpoint`: a lamina train run (its model value and newest checkpoint), a
 * Hugging Face GPT-2 directory, or (as before) a pretraining run / Hugging Face ALBERT directory.
 * Inputs the model does not read (e.g. token_type_ids for GPT-2) are dropped after the check.
 */
const forwardModel = async (dir: string, inputFile: string): Promise<ForwardSource> => {
  const generic = (model: Node, params: Record<string, RawTensor>, vocab: number): ForwardSource => fromModel(model, params, vocab, inputFile);
  if (isTrainRun(dir)) {
    const r = await loadTrainRun(dir);
    if (E.isLeft(r)) throw new CliError(r.left.message, r.left.code);
    const engine = r.right.config.engine;
    return { ...generic(r.right.model, r.right.params, r.right.tokenizer.vocabSize), ...(engine ? { engine } : {}) };
  }
  if (isGpt2HfConfig(readsJson(path.join(dir, 'config.json')))) {
    const g = await readGpt2HfDirectory(dir);
    if (E.isLeft(g)) throw usageError(g.left.message);
    return generic(gpt2LMHeadModel(g.right.config), g.right.params, g.right.config.vocabSize);
  }
  const m = await loadModelDir(dir, { note: (msg) => console.error(`lamina forward: ${msg}`) });
  if (E.isLeft(m)) throw usageError(m.left);
  const { config } = m.right;
  const inputs = readForwardInputs(inputFile, config.vocabSize, config.maxPositionEmbeddings, config.typeVocabSize);
  const model = albertForPretraining(config, { objective: m.right.objective, mlmPositions: 'all' });
  return { model, params: m.right.params, inputs, valuesPerToken: config.hiddenSize + config.vocabSize + 1, valuesPerSequence: config.hiddenSize + 2 };
};

/**
 * A model file (.ts/.js/.json; a factory gets the committed vocabulary's size, the input's
 * sequence length and 2 labels) with parameters freshly initialised from `seed`: its outputs'
 * names and shapes before any training.
 */
const initialisedModel = async (file: string, inputFile: string, seed: number): Promise<ForwardSource> => {
  const tok = runTokenizer(undefined);
  if (E.isLeft(tok)) throw usageError(tok.left);
  const peek = readsJson(inputFile) as { input_ids?: unknown[][] } | undefined;
  const seqLength = Array.isArray(peek?.input_ids?.[0]) ? (peek.input_ids[0] as unknown[]).length : 128;
  const m = await loadModelFile(file, { vocabSize: tok.right.vocabSize, seqLength: Math.max(1, seqLength), numLabels: 2 });
  if (E.isLeft(m)) throw usageError(m.left);
  const store = init(m.right, seed);
  if (E.isLeft(store)) throw usageError(`${file}: ${formatModelError(store.left)}`);
  const params: Record<string, RawTensor> = {};
  for (const [k, x] of Object.entries(store.right)) {
    params[k] = { dtype: 'float32', shape: [...x.shape], data: x.dataSync() as Float32Array };
    x.dispose();
  }
  return fromModel(m.right, params, tok.right.vocabSize, inputFile);
};

/** `lamina forward`. */
export const forward: Command = {
  name: 'forward',
  summary: 'eval-mode forward pass: an ALBERT pretraining model (hidden states, pooled output, MLM and SOP logits), a lamina train run or a GPT-2 directory (its outputs, e.g. {"logits": …})',
  usage: 'lamina forward (--checkpoint <run-dir|train-run|hf-dir> | --model <file.ts|file.js|file.json>) --input <inputs.json> [--output <file>]',
  options: {
    checkpoint: { type: 'string', arg: 'dir', help: 'a lamina pretraining or train run directory, or a Hugging Face ALBERT or GPT-2 directory' },
    model: { type: 'string', arg: 'file.ts|file.js|file.json', help: 'instead of --checkpoint: a model file, its parameters freshly initialised (see its outputs before training)' },
    seed: intOption('with --model: seed of the initialisation', { min: 0, max: LIMITS.seed, default: 1 }),
    input: { type: 'string', arg: 'file', help: `JSON with input_ids and optional token_type_ids, attention_mask (batch × seq integers; at most ${MAX_FORWARD_INPUT_BYTES} bytes)` },
    output: { type: 'string', arg: 'file', help: `write the outputs here (default: stdout; streamed, at most ${MAX_FORWARD_OUTPUT_VALUES} numbers)` },
    backend: { type: 'string', arg: 'name', help: 'tensorflow-gpu|tensorflow|wasm|cpu' },
    eager: { type: 'boolean', help: "run the forward pass op by op (default: the run's engine; one TensorFlow function per input shape on the native backend unless it was trained --eager)" },
  },
  examples: ['lamina forward --checkpoint runs/demo/pretrain --input inputs.json --output outputs.json'],
  async run(v) {
    const modelFile = optStr(v, 'model');
    if (modelFile !== undefined && optStr(v, 'checkpoint') !== undefined) throw usageError('pass --checkpoint (trained weights) or --model (a model file, freshly initialised), not both');
    const dir = modelFile ?? str(v, 'checkpoint', 'forward');
    const inputFile = str(v, 'input', 'forward');
    const file = optStr(v, 'output');
    if (file !== undefined) {
      if (fs.existsSync(file) && fs.statSync(file).isDirectory()) throw usageError(`--output ${file} is a directory`);
      const w = checkWritable(path.dirname(path.resolve(file)), '--output');
      if (E.isLeft(w)) throw usageError(w.left.message.replace(path.dirname(path.resolve(file)), file));
    }
    const src = modelFile !== undefined ? await initialisedModel(modelFile, inputFile, numOr(forward.options, v, 'seed')) : await forwardModel(dir, inputFile);
    const { model, params: raw, inputs } = src;
    const specs = paramSpecs(model);
    if (E.isLeft(specs)) throw usageError(formatModelError(specs.left));
    if (Object.keys(raw).length === 0) throw usageError(`${dir} holds no parameters`);
    const mismatch = weightsMismatch(specs.right, raw);
    if (mismatch) throw usageError(`${dir}: ${mismatch}`);
    const bad = nonFiniteParam(raw);
    if (bad) throw usageError(`${dir}: the weights are unusable: ${bad}`);
    const [B, S] = [inputs.input_ids?.length ?? 0, inputs.input_ids?.[0]?.length ?? 0];
    const values = B * S * src.valuesPerToken + B * src.valuesPerSequence;
    if (values > MAX_FORWARD_OUTPUT_VALUES)
      throw usageError(`${B} × ${S} tokens would give ${values} output numbers, more than the limit of ${MAX_FORWARD_OUTPUT_VALUES}; pass fewer or shorter sequences`);
    const chosen = forwardEngine(v.eager === true, src.engine);
    const f = compileToGraph(model, { input: INPUTS.ids, ignoreInputs: Object.keys(inputs), engine: chosen.engine, onNotice: (line) => console.error(`lamina forward: ${line}`) });
    if (E.isLeft(f)) throw failure(f.left.message);
    await useBackend(v);
    console.error(forwardEngineLine(chosen));
    const params = rawToTensors(raw);
    const out = tf.tidy(() => {
      const t = Object.fromEntries(Object.entries(inputs).map(([k, x]) => [k, tf.tensor2d(x, undefined, 'int32')]));
      const o = f.right(params, t, { training: false });
      // a model with one output tensor: its logits (every lamina train objective reads "logits")
      return (o instanceof tf.Tensor ? { logits: o } : o) as Record<string, tf.Tensor>;
    });
    Object.values(params).forEach((t) => t.dispose());
    const entries = Object.entries(out);
    try {
      const nonFinite = entries.find(([, t]) => tf.tidy(() => tf.any(tf.logicalNot(tf.isFinite(t))).dataSync()[0]) === 1);
      if (nonFinite) throw failure(`the output "${nonFinite[0]}" holds NaN or Infinity (the model overflowed on these inputs)`);
      if (file) {
        const tmp = `${file}.tmp-${process.pid}`;
        let fd: number | undefined;
        try {
          fd = fs.openSync(tmp, 'w');
          streamJson(fd, entries);
          fs.fsyncSync(fd);
          fs.closeSync(fd);
          fd = undefined;
          fs.renameSync(tmp, file);
        } catch (e) {
          if (fd !== undefined) fs.closeSync(fd);
          fs.rmSync(tmp, { force: true });
          throw failure(fsErrorLine('cannot write', file, e));
        }
        console.error(`wrote ${entries.map(([k]) => k).join(', ')} to ${file}`);
      } else streamJson(1, entries);
    } finally {
      entries.forEach(([, t]) => t.dispose());
    }
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
    out: { type: 'string', arg: 'dir', help: 'the Hugging Face directory to write (new, or empty)' },
    overwrite: { type: 'boolean', help: 'replace the model in an existing Hugging Face directory' },
  },
  examples: ['lamina export-hf --checkpoint runs/demo/pretrain --out exported/albert-demo', "python -c \"from transformers import AlbertForPreTraining as M; M.from_pretrained('exported/albert-demo')\""],
  async run(v) {
    const dir = str(v, 'checkpoint', 'export-hf');
    const out = str(v, 'out', 'export-hf');
    // a train run's model is any DSL value and its tokenizer lamina's SentencePiece one, not GPT-2's BPE: say so, rather than a missing-file error
    if (isTrainRun(dir)) throw usageError(`${dir} is a lamina train run; export-hf writes ALBERT models (lamina pretrain runs, Hugging Face ALBERT directories), not train runs`);
    const target = inspectDir(out);
    if (target.exists && !target.isDirectory) throw usageError(`--out ${out} is a file, not a directory`);
    if (target.kind === 'lamina-pretraining-run' || target.kind === 'lamina-finetune-run')
      throw usageError(`${out} holds ${target.kind === 'lamina-pretraining-run' ? 'a lamina pretraining run' : 'a lamina fine-tuning run'}; export into another --out`);
    if (target.kind === 'config' || target.entries.some((e) => e !== 'config.json' && e !== 'model.safetensors' && e !== 'tokenizer.json' && e !== 'spiece.model'))
      throw usageError(`${out} holds ${target.entries.slice(0, 3).join(', ')} that are not a Hugging Face export; export into another --out`);
    if (target.kind === 'huggingface' && v.overwrite !== true) throw usageError(`${out} already holds a Hugging Face model; pass --overwrite to replace it or choose another --out`);
    const writable = checkWritable(out);
    if (E.isLeft(writable)) throw usageError(writable.left.message);
    if (path.resolve(out) === path.resolve(dir)) throw usageError('--out must differ from --checkpoint');
    const m = await loadModelDir(dir, { note: (msg) => console.error(`lamina export-hf: ${msg}`) });
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
