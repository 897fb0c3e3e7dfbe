/**
 * Atomic checkpoints of a training run: parameters, optimizer state and everything needed for an
 * exact resume (step, RNG state, data cursor, config hash, and any JSON the trainer adds).
 *
 * Layout inside a run directory:
 * ```
 * run/checkpoints/step-000123/weights.safetensors     parameters, keyed by path
 *                            /optimizer.safetensors   <path>/adam_m, <path>/adam_v, global_step
 *                            /state.json              step, rng, dataCursor, configHash, trainer
 *                            /COMPLETE                sizes and SHA-256 of the three files above
 * ```
 * A checkpoint is written into `step-000123.tmp-<pid>` (every file fsynced, `COMPLETE` last), the
 * directory is fsynced and renamed to its final name, then the parent is fsynced. Readers only
 * accept `step-<digits>` directories whose `COMPLETE` marker matches their files, so a crash at any
 * moment leaves either the old set of checkpoints or the old set plus the new one.
 *
 * @example
 * ```ts
 * const saved = await saveCheckpoint('run', {
 *   step: 100, params, optimizer: opt.state(), rng: { seed: 1 }, dataCursor: { epoch: 0, index: 800 },
 *   configHash: 'sha256:…', trainer: { bestLoss: 2.1 },
 * }, { keepLast: 3 });
 * const latest = latestCheckpoint('run');           // { dir: 'run/checkpoints/step-000100', step: 100 }
 * const loaded = await loadCheckpoint(latest!.dir); // Either<CheckpointError, LoadedCheckpoint>
 * ```
 * @module
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { checkRawTensors, decodeSafetensors, encodeSafetensors, type RawTensor } from '@lamina/dsl';

/**
 * Any JSON value.
 * @example const cursor: JsonValue = { epoch: 2, index: 4096 };
 */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/**
 * A checkpoint that could not be written, found or read; `message` is one readable sentence.
 * @example { _tag: 'CheckpointError', message: 'checkpoint run/checkpoints/step-000100 is damaged: weights.safetensors has 10 bytes, expected 4096' }
 */
export interface CheckpointError {
  readonly _tag: 'CheckpointError';
  readonly message: string;
}

const ckptError = (message: string): CheckpointError => ({ _tag: 'CheckpointError', message });
const describeErr = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * Sub-directory of a run directory that holds the checkpoints.
 * @example path.join(runDir, CHECKPOINTS_DIR, checkpointDirName(100)) // run/checkpoints/step-000100
 */
export const CHECKPOINTS_DIR = 'checkpoints';
/**
 * File names inside one checkpoint directory.
 * @example path.join(dir, CHECKPOINT_FILES.weights) // …/weights.safetensors
 */
export const CHECKPOINT_FILES = {
  weights: 'weights.safetensors',
  optimizer: 'optimizer.safetensors',
  state: 'state.json',
  complete: 'COMPLETE',
} as const;

/**
 * What `state.json` holds besides the format tag.
 * @example { step: 100, rng: { seed: 1 }, dataCursor: { epoch: 0, index: 800 }, configHash: 'e3b0c442…', trainer: { bestLoss: 2.1 } }
 */
export interface CheckpointState {
  /** Optimizer steps completed when the checkpoint was taken. */
  readonly step: number;
  /** RNG state(s), e.g. an `RngState`, to continue the exact random stream. */
  readonly rng: JsonValue;
  /** Where the data pipeline is (epoch, index, …), to continue from the next batch. */
  readonly dataCursor: JsonValue;
  /** Hash of the resolved run config, to refuse resuming with a different config. */
  readonly configHash: string;
  /** Anything else the trainer wants back (opaque to this module). */
  readonly trainer?: JsonValue;
}

/**
 * What {@link saveCheckpoint} writes.
 * @example saveCheckpoint('run', { step, params, optimizer: opt.state(), rng: rng.state(), dataCursor, configHash })
 */
export interface CheckpointInput extends CheckpointState {
  /** Parameters keyed by path (float32 or int32 tensors; not disposed). */
  readonly params: Readonly<Record<string, tf.Tensor>>;
  /** Optimizer state as returned by `Optimizer.state()` (not disposed). */
  readonly optimizer: Readonly<Record<string, tf.Tensor>>;
}

/**
 * A checkpoint read back by {@link loadCheckpoint}.
 * @example const { state, weights, optimizer } = loaded; assignParams(params, weights);
 */
export interface LoadedCheckpoint {
  readonly dir: string;
  readonly state: CheckpointState;
  readonly weights: Record<string, RawTensor>;
  readonly optimizer: Record<string, RawTensor>;
}

/**
 * A complete checkpoint found on disk.
 * @example { dir: 'run/checkpoints/step-000100', step: 100 }
 */
export interface CheckpointInfo {
  readonly dir: string;
  readonly step: number;
}

/**
 * Options of {@link saveCheckpoint}.
 * @example saveCheckpoint('run', input, { keepLast: 2 })
 */
export interface SaveOptions {
  /** How many complete checkpoints to keep (oldest deleted after a successful save). Default 3. */
  readonly keepLast?: number;
}

/**
 * Result of a successful {@link saveCheckpoint}.
 * @example { dir: 'run/checkpoints/step-000300', step: 300, removed: ['run/checkpoints/step-000100'] }
 */
export interface SavedCheckpoint extends CheckpointInfo {
  /** Older checkpoint directories deleted to honour `keepLast`. */
  readonly removed: readonly string[];
}

/**
 * The directory name of a step's checkpoint: `step-` and at least six digits.
 * @example checkpointDirName(123) // "step-000123"
 */
export const checkpointDirName = (step: number): string => `step-${String(step).padStart(6, '0')}`;

const DIR_RE = /^step-(\d+)$/;
const TEMP_RE = /^step-\d+\.(tmp|old)-(\d+)$/;

// ---------------------------------------------------------------------------------------------
// tensors ↔ raw host data

/**
 * Copies tensors to host memory as {@link RawTensor}s (float32 and int32 only).
 * @example paramsToRaw({ 'pooler.bias': tf.zeros([4]) }) // Right({ 'pooler.bias': { dtype: 'float32', shape: [4], data: Float32Array(4) } })
 */
export const paramsToRaw = (tensors: Readonly<Record<string, tf.Tensor>>): E.Either<CheckpointError, Record<string, RawTensor>> => {
  const out: Record<string, RawTensor> = {};
  for (const [name, x] of Object.entries(tensors)) {
    if (x.isDisposed) return E.left(ckptError(`tensor "${name}" is disposed`));
    if (x.dtype !== 'float32' && x.dtype !== 'int32') return E.left(ckptError(`tensor "${name}" has dtype ${x.dtype}; checkpoints hold float32 and int32 only`));
    const data = x.dataSync();
    out[name] = { dtype: x.dtype, shape: [...x.shape], data: x.dtype === 'float32' ? Float32Array.from(data as Float32Array) : Int32Array.from(data as Int32Array) };
  }
  return E.right(out);
};

/**
 * New tensors from raw host data (owned by the caller).
 * @example rawToTensors(loaded.optimizer) // feed to optimizer.loadState, then dispose
 */
export const rawToTensors = (raw: Readonly<Record<string, RawTensor>>): Record<string, tf.Tensor> => {
  const out: Record<string, tf.Tensor> = {};
  for (const [name, r] of Object.entries(raw)) out[name] = tf.tensor(r.data, [...r.shape], r.dtype);
  return out;
};

/**
 * New trainable variables from raw host data (owned by the caller).
 * @example const params = rawToParams(loaded.weights);
 */
export const rawToParams = (raw: Readonly<Record<string, RawTensor>>): Record<string, tf.Variable> => {
  const out: Record<string, tf.Variable> = {};
  for (const [name, r] of Object.entries(raw)) out[name] = tf.tidy(() => tf.variable(tf.tensor(r.data, [...r.shape], r.dtype), true));
  return out;
};

const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Assigns raw values into existing variables, matched by path. Every variable must receive a
 * value of its shape and dtype, and every raw tensor must have a variable; otherwise nothing is
 * assigned and the Left lists the differences.
 *
 * @example
 * ```ts
 * const r = assignParams(params, loaded.weights);
 * // Left: 'checkpoint does not match the model: "pooler.kernel" has shape [4,4] in the checkpoint but [8,8] in the model'
 * ```
 */
export const assignParams = (params: Readonly<Record<string, tf.Variable>>, raw: Readonly<Record<string, RawTensor>>): E.Either<CheckpointError, void> => {
  const problems: string[] = [];
  for (const [name, v] of Object.entries(params)) {
    const r = raw[name];
    if (r === undefined) problems.push(`"${name}" is missing from the checkpoint`);
    else if (!sameShape(r.shape, v.shape)) problems.push(`"${name}" has shape [${r.shape.join(',')}] in the checkpoint but [${v.shape.join(',')}] in the model`);
    else if (r.dtype !== v.dtype) problems.push(`"${name}" is ${r.dtype} in the checkpoint but ${v.dtype} in the model`);
  }
  for (const name of Object.keys(raw)) if (!(name in params)) problems.push(`"${name}" is in the checkpoint but not in the model`);
  if (problems.length > 0) {
    const shown = problems.slice(0, 5).join('; ');
    return E.left(ckptError(`checkpoint does not match the model: ${shown}${problems.length > 5 ? `; and ${problems.length - 5} more` : ''}`));
  }
  for (const [name, v] of Object.entries(params)) {
    const r = raw[name] as RawTensor;
    tf.tidy(() => v.assign(tf.tensor(r.data, [...r.shape], r.dtype)));
  }
  return E.right(undefined);
};

// ---------------------------------------------------------------------------------------------
// state.json and COMPLETE codecs

const NonNegInt = t.refinement(t.number, (n) => Number.isInteger(n) && n >= 0, 'non-negative integer');

const StateFile = t.intersection([
  t.type({ format: t.literal('lamina-checkpoint'), version: t.literal(1), step: NonNegInt, configHash: t.string, rng: t.unknown, dataCursor: t.unknown }),
  t.partial({ trainer: t.unknown, savedAt: t.string }),
]);

const FileEntry = t.type({ bytes: NonNegInt, sha256: t.string });
const CompleteFile = t.type({
  step: NonNegInt,
  files: t.type({ [CHECKPOINT_FILES.weights]: FileEntry, [CHECKPOINT_FILES.optimizer]: FileEntry, [CHECKPOINT_FILES.state]: FileEntry }),
});
type CompleteFile = t.TypeOf<typeof CompleteFile>;

const formatErrors = (errors: t.Errors): string =>
  errors
    .slice(0, 3)
    .map((e) => {
      const keys = e.context.map((c) => c.key).filter((k) => k !== '' && !/^\d+$/.test(k));
      return `${keys.join('.') || '(root)'}: expected ${e.context[e.context.length - 1]?.type.name ?? 'a value'}, got ${JSON.stringify(e.value)}`;
    })
    .join('; ');

const readJson = <A>(file: string, codec: t.Decoder<unknown, A>): E.Either<CheckpointError, A> => {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    return E.left(ckptError(`cannot read ${file}: ${describeErr(e)}`));
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return E.left(ckptError(`${file} is not valid JSON (${describeErr(e)})`));
  }
  const r = codec.decode(json);
  return E.isLeft(r) ? E.left(ckptError(`${file} is malformed: ${formatErrors(r.left)}`)) : E.right(r.right);
};

// ---------------------------------------------------------------------------------------------
// writing

const writeFileDurable = (file: string, bytes: Uint8Array | string): void => {
  const fd = fs.openSync(file, 'wx');
  try {
    fs.writeFileSync(fd, bytes);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
};

const fsyncDir = (dir: string): void => {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Some file systems refuse fsync on directories; the rename has still happened.
  }
};

const sha256 = (bytes: Uint8Array | string): string => crypto.createHash('sha256').update(bytes).digest('hex');

const pidAlive = (pid: number): boolean => {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Writes a checkpoint atomically (see the module notes) into `runDir/checkpoints/step-NNNNNN`,
 * replacing an existing checkpoint of the same step, then deletes complete checkpoints beyond the
 * newest `keepLast` and leftovers of crashed writers. Tensors are read to the host; none is
 * disposed.
 *
 * @example
 * ```ts
 * const r = await saveCheckpoint('run', { step, params, optimizer: st, rng: { seed: 1 }, dataCursor, configHash }, { keepLast: 2 });
 * tf.dispose(Object.values(st));
 * ```
 */
export const saveCheckpoint = async (runDir: string, input: CheckpointInput, opts: SaveOptions = {}): Promise<E.Either<CheckpointError, SavedCheckpoint>> => {
  const keepLast = opts.keepLast ?? 3;
  if (!(Number.isInteger(keepLast) && keepLast >= 1)) return E.left(ckptError(`keepLast must be an integer ≥ 1, got ${keepLast}`));
  if (!(Number.isInteger(input.step) && input.step >= 0)) return E.left(ckptError(`checkpoint step must be a non-negative integer, got ${input.step}`));
  const weights = paramsToRaw(input.params);
  if (E.isLeft(weights)) return weights;
  const optimizer = paramsToRaw(input.optimizer);
  if (E.isLeft(optimizer)) return E.left(ckptError(`optimizer state: ${optimizer.left.message}`));
  for (const [what, raw] of [['weights', weights.right], ['optimizer state', optimizer.right]] as const) {
    const ok = checkRawTensors(raw);
    if (E.isLeft(ok)) return E.left(ckptError(`cannot save ${what}: ${ok.left.message}`));
  }
  let stateText: string;
  try {
    const body: Record<string, unknown> = {
      format: 'lamina-checkpoint',
      version: 1,
      step: input.step,
      configHash: input.configHash,
      rng: input.rng,
      dataCursor: input.dataCursor,
      savedAt: new Date().toISOString(),
    };
    if (input.trainer !== undefined) body.trainer = input.trainer;
    stateText = `${JSON.stringify(body, null, 2)}\n`;
  } catch (e) {
    return E.left(ckptError(`checkpoint state is not JSON-serialisable: ${describeErr(e)}`));
  }
  const meta = { format: 'lamina', step: String(input.step) };
  const files: Array<[string, Uint8Array | string]> = [
    [CHECKPOINT_FILES.weights, encodeSafetensors(weights.right, meta)],
    [CHECKPOINT_FILES.optimizer, encodeSafetensors(optimizer.right, meta)],
    [CHECKPOINT_FILES.state, stateText],
  ];
  const complete: CompleteFile = {
    step: input.step,
    files: Object.fromEntries(files.map(([name, bytes]) => [name, { bytes: typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.byteLength, sha256: sha256(bytes) }])) as CompleteFile['files'],
  };

  const root = path.join(runDir, CHECKPOINTS_DIR);
  const name = checkpointDirName(input.step);
  const finalDir = path.join(root, name);
  const tmpDir = path.join(root, `${name}.tmp-${process.pid}`);
  const oldDir = path.join(root, `${name}.old-${process.pid}`);
  try {
    fs.mkdirSync(root, { recursive: true });
    fs.rmSync(tmpDir, { recursive: true, force: true });
    fs.mkdirSync(tmpDir);
    for (const [file, bytes] of files) writeFileDurable(path.join(tmpDir, file), bytes);
    writeFileDurable(path.join(tmpDir, CHECKPOINT_FILES.complete), `${JSON.stringify(complete, null, 2)}\n`);
    fsyncDir(tmpDir);
    const replacing = fs.existsSync(finalDir);
    if (replacing) {
      fs.rmSync(oldDir, { recursive: true, force: true });
      fs.renameSync(finalDir, oldDir);
    }
    fs.renameSync(tmpDir, finalDir);
    fsyncDir(root);
    if (replacing) fs.rmSync(oldDir, { recursive: true, force: true });
  } catch (e) {
    try {
      fs.rmSync(tmpDir, { recursive: true, force: true });
    } catch {
      // nothing more we can do; readers ignore .tmp-* directories
    }
    return E.left(ckptError(`cannot write checkpoint ${finalDir}: ${describeErr(e)}`));
  }

  // Housekeeping after a successful save: old checkpoints beyond keepLast, dead writers' leftovers.
  const removed: string[] = [];
  for (const old of listCheckpoints(runDir).slice(0, -keepLast)) {
    try {
      fs.rmSync(old.dir, { recursive: true, force: true });
      removed.push(old.dir);
    } catch {
      // keep going; a leftover old checkpoint is harmless
    }
  }
  for (const entry of safeReaddir(root)) {
    const m = TEMP_RE.exec(entry);
    if (m && !pidAlive(Number(m[2]))) fs.rmSync(path.join(root, entry), { recursive: true, force: true });
  }
  return E.right({ dir: finalDir, step: input.step, removed });
};

// ---------------------------------------------------------------------------------------------
// finding and reading

const safeReaddir = (dir: string): string[] => {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
};

/**
 * Checks that `dir` is a complete checkpoint: `COMPLETE` is valid, every file it lists has the
 * recorded size, and `state.json` is valid with the same step. With `verifyHashes` the SHA-256 of
 * every file is checked too (reads every byte). Returns the step.
 * @example verifyCheckpoint('run/checkpoints/step-000100') // Right(100)
 */
export const verifyCheckpoint = (dir: string, opts: { readonly verifyHashes?: boolean } = {}): E.Either<CheckpointError, number> => {
  const marker = readJson(path.join(dir, CHECKPOINT_FILES.complete), CompleteFile);
  if (E.isLeft(marker)) return E.left(ckptError(`${dir} is not a complete checkpoint: ${marker.left.message}`));
  for (const [file, entry] of Object.entries(marker.right.files)) {
    const full = path.join(dir, file);
    let size: number;
    try {
      size = fs.statSync(full).size;
    } catch (e) {
      return E.left(ckptError(`checkpoint ${dir} is damaged: cannot read ${file} (${describeErr(e)})`));
    }
    if (size !== entry.bytes) return E.left(ckptError(`checkpoint ${dir} is damaged: ${file} has ${size} bytes, expected ${entry.bytes}`));
    if (opts.verifyHashes === true && sha256(fs.readFileSync(full)) !== entry.sha256)
      return E.left(ckptError(`checkpoint ${dir} is damaged: ${file} does not match its recorded SHA-256`));
  }
  const state = readJson(path.join(dir, CHECKPOINT_FILES.state), StateFile);
  if (E.isLeft(state)) return state;
  if (state.right.step !== marker.right.step)
    return E.left(ckptError(`checkpoint ${dir} is inconsistent: state.json says step ${state.right.step}, COMPLETE says ${marker.right.step}`));
  return E.right(state.right.step);
};

/**
 * The complete checkpoints of a run, oldest first. Temporary (`.tmp-*`) directories, directories
 * without a valid `COMPLETE` marker, with files of the wrong size, or with an unreadable
 * `state.json` are skipped.
 * @example listCheckpoints('run') // [{ dir: 'run/checkpoints/step-000050', step: 50 }, …]
 */
export const listCheckpoints = (runDir: string): CheckpointInfo[] => {
  const root = path.join(runDir, CHECKPOINTS_DIR);
  const found: CheckpointInfo[] = [];
  for (const entry of safeReaddir(root)) {
    const m = DIR_RE.exec(entry);
    if (!m) continue;
    const dir = path.join(root, entry);
    const r = verifyCheckpoint(dir);
    if (E.isRight(r) && r.right === Number(m[1])) found.push({ dir, step: r.right });
  }
  return found.sort((a, b) => a.step - b.step);
};

/**
 * The newest complete checkpoint of a run (see {@link listCheckpoints}), or `undefined`.
 * @example const c = latestCheckpoint('run'); if (c) console.log(`resuming from step ${c.step}`);
 */
export const latestCheckpoint = (runDir: string): CheckpointInfo | undefined => listCheckpoints(runDir).at(-1);

/**
 * Reads a checkpoint directory, verifying sizes and SHA-256 hashes and decoding both safetensors
 * files. Any problem is a Left naming the file and what is wrong.
 * @example
 * ```ts
 * const r = await loadCheckpoint('run/checkpoints/step-000100');
 * if (E.isRight(r)) { assignParams(params, r.right.weights); }
 * ```
 */
export const loadCheckpoint = async (dir: string): Promise<E.Either<CheckpointError, LoadedCheckpoint>> => {
  const ok = verifyCheckpoint(dir, { verifyHashes: true });
  if (E.isLeft(ok)) return ok;
  const state = readJson(path.join(dir, CHECKPOINT_FILES.state), StateFile);
  if (E.isLeft(state)) return state;
  const decode = async (file: string): Promise<E.Either<CheckpointError, Record<string, RawTensor>>> => {
    const full = path.join(dir, file);
    let bytes: Uint8Array;
    try {
      bytes = await fs.promises.readFile(full);
    } catch (e) {
      return E.left(ckptError(`cannot read ${full}: ${describeErr(e)}`));
    }
    const r = decodeSafetensors(bytes);
    return E.isLeft(r) ? E.left(ckptError(`${full}: ${r.left.message}`)) : E.right(r.right.tensors);
  };
  const weights = await decode(CHECKPOINT_FILES.weights);
  if (E.isLeft(weights)) return weights;
  const optimizer = await decode(CHECKPOINT_FILES.optimizer);
  if (E.isLeft(optimizer)) return optimizer;
  const s = state.right;
  const cs: CheckpointState = {
    step: s.step,
    rng: s.rng as JsonValue,
    dataCursor: s.dataCursor as JsonValue,
    configHash: s.configHash,
    ...(s.trainer === undefined ? {} : { trainer: s.trainer as JsonValue }),
  };
  return E.right({ dir, state: cs, weights: weights.right, optimizer: optimizer.right });
};

/**
 * Every `step-<digits>` directory of a run, complete or not, newest first (what
 * {@link loadLatestIntactCheckpoint} tries in turn).
 * @example checkpointCandidates('run') // [{ dir: 'run/checkpoints/step-000010', step: 10 }, …]
 */
export const checkpointCandidates = (runDir: string): CheckpointInfo[] => {
  const root = path.join(runDir, CHECKPOINTS_DIR);
  const found: CheckpointInfo[] = [];
  for (const entry of safeReaddir(root)) {
    const m = DIR_RE.exec(entry);
    if (m) found.push({ dir: path.join(root, entry), step: Number(m[1]) });
  }
  return found.sort((a, b) => b.step - a.step);
};

/**
 * Loads the newest checkpoint of a run whose files are all intact (sizes and SHA-256 hashes
 * verified, safetensors decoded). Damaged or truncated newer ones are skipped and `note` is told
 * so in one line naming them and the checkpoint used instead. Right(undefined) when the run has
 * no checkpoint at all; a Left when it has some but none is intact.
 * @example
 * ```ts
 * const r = await loadLatestIntactCheckpoint('run', (m) => console.error(m));
 * // "warning: checkpoint run/checkpoints/step-000010 is damaged (weights.safetensors does not match its recorded SHA-256); using step-000005"
 * ```
 */
export const loadLatestIntactCheckpoint = async (runDir: string, note: (message: string) => void = () => {}): Promise<E.Either<CheckpointError, LoadedCheckpoint | undefined>> => {
  const candidates = checkpointCandidates(runDir);
  const damaged: Array<{ dir: string; reason: string }> = [];
  for (const c of candidates) {
    const r = await loadCheckpoint(c.dir);
    if (E.isRight(r) && r.right.state.step === c.step) {
      if (damaged.length > 0) {
        const [first] = damaged;
        const more = damaged.length > 1 ? ` (and ${damaged.length - 1} more: ${damaged.slice(1).map((d) => path.basename(d.dir)).join(', ')})` : '';
        note(`warning: checkpoint ${first?.dir} is damaged (${first?.reason})${more}; using ${path.basename(c.dir)} (step ${c.step}) instead`);
      }
      return E.right(r.right);
    }
    const reason = E.isLeft(r) ? r.left.message.replace(/^.*?(?:is damaged|is not a complete checkpoint|is inconsistent): /, '').replace(`${c.dir}/`, '') : `its state says step ${r.right.state.step}`;
    damaged.push({ dir: c.dir, reason: reason.length > 160 ? `${reason.slice(0, 160)}…` : reason });
  }
  if (damaged.length === 0) return E.right(undefined);
  return E.left(ckptError(`no intact checkpoint in ${runDir}: ${damaged[0]?.dir} is damaged (${damaged[0]?.reason})${damaged.length > 1 ? ` and so are ${damaged.length - 1} older one(s)` : ''}`));
};
