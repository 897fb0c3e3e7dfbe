/**
 * Reading and writing Hugging Face model directories (`config.json` + `model.safetensors`, or a
 * sharded `model.safetensors.index.json`). Node only.
 *
 * @example
 * ```ts
 * import { readHfDirectory, writeHfDirectory } from '@lamina/albert';
 * const r = await readHfDirectory('checkpoints/albert-base-v2');
 * if (r._tag === 'Right') await writeHfDirectory('out/albert', r.right.config, r.right.architecture, r.right.params);
 * ```
 * @module
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { readSafetensorsFile, writeFileAtomic, writeSafetensorsFileAtomic, type RawTensor } from '@lamina/dsl';
import * as E from 'fp-ts/lib/Either.js';
import type { AlbertConfig } from '../config.js';
import { albertToHfConfig, headLabels, hfConfigToAlbert, hfError, type HfArchitecture, type HfError } from './config.js';
import { fromHfStateDict, toHfStateDict } from './names.js';

/**
 * A model read from a Hugging Face directory: its config, architecture and lamina parameters.
 * @example const { config, params } = unwrap(await readHfDirectory('albert-base-v2'));
 */
export interface HfModel {
  readonly config: AlbertConfig;
  readonly architecture: HfArchitecture;
  /** Task-head width for classification architectures. */
  readonly numLabels?: number;
  /** Parameters by lamina path (kernels already `[in, out]`). */
  readonly params: Record<string, RawTensor>;
}

/**
 * Options for {@link readHfDirectory}.
 * @example readHfDirectory('pretrained', { architecture: 'AlbertModel', allowUnexpected: true })
 */
export interface ReadHfOptions {
  /** Read the checkpoint as this architecture instead of the one config.json names (e.g. `AlbertModel`). */
  readonly architecture?: HfArchitecture;
  /** Ignore tensors the architecture does not use (see `FromHfOptions`). */
  readonly allowUnexpected?: boolean;
}

const PICKLE = ['pytorch_model.bin', 'pytorch_model.bin.index.json'];
const OTHER_FORMATS = ['tf_model.h5', 'flax_model.msgpack', 'model.ckpt.index'];

const readJson = async (file: string): Promise<E.Either<HfError, unknown>> => {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    return E.left(hfError('io', `cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`));
  }
  try {
    return E.right(JSON.parse(text));
  } catch (e) {
    return E.left(hfError('format', `${file} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`));
  }
};

const readShards = async (dir: string, indexFile: string): Promise<E.Either<HfError, Record<string, RawTensor>>> => {
  const index = await readJson(indexFile);
  if (E.isLeft(index)) return index;
  const map = (index.right as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map))
    return E.left(hfError('format', `${indexFile} has no "weight_map" object`));
  const shards = new Map<string, string[]>();
  for (const [name, file] of Object.entries(map)) {
    if (typeof file !== 'string' || file !== path.basename(file) || file === '..' || file === '.')
      return E.left(hfError('format', `${indexFile}: tensor "${name}" names an invalid shard ${JSON.stringify(file)} (must be a file name in the same directory)`));
    shards.set(file, [...(shards.get(file) ?? []), name]);
  }
  const out: Record<string, RawTensor> = {};
  for (const [file, names] of [...shards].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const r = await readSafetensorsFile(path.join(dir, file));
    if (E.isLeft(r)) return E.left(hfError('format', r.left.message));
    const want = new Set(names);
    const stray = Object.keys(r.right.tensors).filter((k) => !want.has(k));
    const absent = names.filter((k) => !(k in r.right.tensors));
    if (stray.length || absent.length)
      return E.left(
        hfError('format', `${path.join(dir, file)} does not match ${path.basename(indexFile)}: ${[absent.length ? `listed but absent: ${absent.join(', ')}` : '', stray.length ? `present but not listed: ${stray.join(', ')}` : ''].filter(Boolean).join('; ')}`),
      );
    Object.assign(out, r.right.tensors);
  }
  return E.right(out);
};

/**
 * An opened Hugging Face model directory: its parsed `config.json` and where its weights are.
 * @example const { configJson } = unwrap(await openHfDirectory('albert-base-v2'));
 */
export interface HfDirectory {
  readonly dir: string;
  /** The parsed `config.json` value (not yet checked against any model). */
  readonly configJson: unknown;
  /** `single`: `model.safetensors`; `sharded`: `model.safetensors.index.json` and its shards. */
  readonly weights: 'single' | 'sharded';
}

/**
 * Opens a Hugging Face model directory, for any model type: checks that it is a directory with a
 * `config.json` and safetensors weights (a pickle-only or TF/Flax-only checkpoint is an error
 * saying how to convert it; `modelClass` names the class in that hint) and parses `config.json`.
 * The tensors are read by {@link readHfTensors}.
 *
 * @example
 * ```ts
 * const d = await openHfDirectory('gpt2');
 * if (d._tag === 'Right') console.log((d.right.configJson as { model_type?: string }).model_type);
 * ```
 */
export const openHfDirectory = async (dir: string, modelClass = 'AlbertForPreTraining'): Promise<E.Either<HfError, HfDirectory>> => {
  let entries: string[];
  try {
    const st = await fs.stat(dir);
    if (!st.isDirectory()) return E.left(hfError('io', `${dir} is not a directory (expected a Hugging Face model directory with config.json and model.safetensors)`));
    entries = await fs.readdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return E.left(hfError('io', code === 'ENOENT' ? `no such directory: ${dir}` : `cannot read directory ${dir}: ${e instanceof Error ? e.message : String(e)}`));
  }
  const has = (f: string): boolean => entries.includes(f);
  if (!has('config.json')) return E.left(hfError('io', `${dir} has no config.json (found: ${entries.sort().join(', ') || 'nothing'})`));
  let weights: 'single' | 'sharded';
  if (has('model.safetensors')) weights = 'single';
  else if (has('model.safetensors.index.json')) weights = 'sharded';
  else if (PICKLE.some(has))
    return E.left(
      hfError(
        'format',
        `${dir} has only a PyTorch pickle checkpoint (${PICKLE.filter(has).join(', ')}); pickle checkpoints are not supported (loading them can run arbitrary code). ` +
          `Convert it to safetensors with: python -c "from transformers import AutoModel as M; M.from_pretrained('${dir}').save_pretrained('${dir}', safe_serialization=True)" ` +
          `(use the model's own class, e.g. ${modelClass}, to keep its heads)`,
      ),
    );
  else if (OTHER_FORMATS.some(has))
    return E.left(hfError('format', `${dir} has only a ${OTHER_FORMATS.filter(has).join(', ')} checkpoint; only safetensors is supported (convert with transformers' save_pretrained(..., safe_serialization=True))`));
  else return E.left(hfError('io', `${dir} has no model.safetensors (found: ${entries.sort().join(', ')})`));

  const cfgJson = await readJson(path.join(dir, 'config.json'));
  if (E.isLeft(cfgJson)) return cfgJson;
  return E.right({ dir, configJson: cfgJson.right, weights });
};

/**
 * Reads every tensor of an opened directory, by HF name: `model.safetensors`, or all shards of
 * `model.safetensors.index.json` (shard names outside the directory and index/shard disagreements
 * are errors).
 * @example const tensors = unwrap(await readHfTensors(unwrap(await openHfDirectory('gpt2'))));
 */
export const readHfTensors = async (d: HfDirectory): Promise<E.Either<HfError, Record<string, RawTensor>>> => {
  if (d.weights === 'single') {
    const r = await readSafetensorsFile(path.join(d.dir, 'model.safetensors'));
    return E.isLeft(r) ? E.left(hfError('format', r.left.message)) : E.right(r.right.tensors);
  }
  return readShards(d.dir, path.join(d.dir, 'model.safetensors.index.json'));
};

/**
 * Reads a Hugging Face ALBERT directory: `config.json` plus `model.safetensors` (or the shards of
 * `model.safetensors.index.json`), converted to lamina parameters. A missing directory, a missing
 * or invalid config.json, a pickle-only (`pytorch_model.bin`) or TF/Flax-only checkpoint, a corrupt
 * or truncated safetensors file, and missing/unexpected/mis-shaped tensors are each one
 * {@link HfError} naming the problem.
 *
 * @example
 * ```ts
 * const r = await readHfDirectory('packages/albert/test/fixtures/albert/groups');
 * if (r._tag === 'Left') console.error(r.left.message);
 * ```
 */
export const readHfDirectory = async (dir: string, options: ReadHfOptions = {}): Promise<E.Either<HfError, HfModel>> => {
  const opened = await openHfDirectory(dir);
  if (E.isLeft(opened)) return opened;
  const cfg = hfConfigToAlbert(opened.right.configJson);
  if (E.isLeft(cfg)) return E.left(hfError('config', `${path.join(dir, 'config.json')}: ${cfg.left.message}`));
  const architecture = options.architecture ?? cfg.right.architecture;
  const numLabels = headLabels(architecture, cfg.right.numLabels);

  const tensors = await readHfTensors(opened.right);
  if (E.isLeft(tensors)) return tensors;
  const params = fromHfStateDict(tensors.right, cfg.right.config, architecture, { numLabels, allowUnexpected: options.allowUnexpected ?? false });
  if (E.isLeft(params)) return E.left({ ...params.left, message: `${dir}: ${params.left.message}` });
  return E.right(numLabels === undefined ? { config: cfg.right.config, architecture, params: params.right } : { config: cfg.right.config, architecture, numLabels, params: params.right });
};

/**
 * Writes a Hugging Face directory from a state dict and a `config.json` value: `model.safetensors`
 * (with `{"format": "pt"}` metadata, as `save_pretrained` writes it) then `config.json`, each
 * atomically. Creates `dir` if needed; overwrites only those two files.
 * @example await writeHfFiles('out/model', stateDict, { model_type: 'gpt2', … });
 */
export const writeHfFiles = async (dir: string, stateDict: Readonly<Record<string, RawTensor>>, configJson: unknown): Promise<E.Either<HfError, void>> => {
  try {
    await fs.mkdir(dir, { recursive: true });
  } catch (e) {
    return E.left(hfError('io', `cannot create ${dir}: ${e instanceof Error ? e.message : String(e)}`));
  }
  const w = await writeSafetensorsFileAtomic(path.join(dir, 'model.safetensors'), stateDict, { format: 'pt' });
  if (E.isLeft(w)) return E.left(hfError('io', w.left.message));
  const c = await writeFileAtomic(path.join(dir, 'config.json'), new TextEncoder().encode(`${JSON.stringify(configJson, null, 2)}\n`));
  if (E.isLeft(c)) return E.left(hfError('io', c.left.message));
  return E.right(undefined);
};

/**
 * Writes lamina parameters as a Hugging Face ALBERT directory that `from_pretrained` loads with
 * no missing or unexpected keys: `model.safetensors` (as `save_pretrained` writes it: tied decoder
 * weight and bias omitted, `{"format": "pt"}` metadata) then `config.json`, each atomically.
 * Creates `dir` if needed. Non-exportable configs and parameter mismatches are a `Left` and
 * write nothing.
 *
 * @example
 * ```ts
 * await writeHfDirectory('out/albert-tiny', tinyConfig(), 'AlbertForPreTraining', params);
 * // then in Python: AlbertForPreTraining.from_pretrained('out/albert-tiny')
 * ```
 */
export const writeHfDirectory = async (
  dir: string,
  config: AlbertConfig,
  architecture: HfArchitecture,
  params: Readonly<Record<string, RawTensor>>,
  numLabels?: number,
): Promise<E.Either<HfError, void>> => {
  const labels = numLabels ?? params['classifier.bias']?.shape[0];
  const json = albertToHfConfig(config, architecture, labels);
  if (E.isLeft(json)) return json;
  const sd = toHfStateDict(params, config, architecture, labels);
  if (E.isLeft(sd)) return sd;
  return writeHfFiles(dir, sd.right, json.right);
};
