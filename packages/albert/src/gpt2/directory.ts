/**
 * Reading and writing Hugging Face GPT-2 directories (`config.json` + `model.safetensors`, or a
 * sharded `model.safetensors.index.json`), with the same checks and error reports as ALBERT's,
 * and the byte-level BPE tokenizer beside them (`vocab.json` + `merges.txt`, or `tokenizer.json`).
 * Node only.
 *
 * @example
 * ```ts
 * import { readGpt2HfDirectory, writeGpt2HfDirectory } from '@lamina/albert';
 * const r = await readGpt2HfDirectory('checkpoints/gpt2');
 * if (r._tag === 'Right') await writeGpt2HfDirectory('out/gpt2', r.right.config, r.right.params);
 * ```
 * @module
 */
import path from 'node:path';
import type { RawTensor } from '@lamina/dsl';
import * as E from 'fp-ts/lib/Either.js';
import { hfError, type HfError } from '../hf/config.js';
import { openHfDirectory, readHfTensors, writeHfFiles } from '../hf/directory.js';
import { gpt2ToHfConfig, hfConfigToGpt2, type Gpt2Config, type Gpt2HfArchitecture } from './config.js';
import { gpt2FromHfStateDict, gpt2ToHfStateDict, type Gpt2FromHfOptions } from './hf.js';
import { loadBpeTokenizer, type BpeTokenizer } from '../tokenizer/bpe.js';

/**
 * A GPT-2 read from a Hugging Face directory: its config, the architecture config.json names,
 * and lamina parameters (keyed by the paths of {@link gpt2LMHeadModel}).
 * @example const { config, params } = unwrap(await readGpt2HfDirectory('gpt2'));
 */
export interface Gpt2HfModel {
  readonly config: Gpt2Config;
  readonly architecture: Gpt2HfArchitecture;
  readonly params: Record<string, RawTensor>;
}

/**
 * Reads a Hugging Face GPT-2 directory (`GPT2LMHeadModel` or `GPT2Model`, with or without the
 * `transformer.` prefix). A missing directory, a missing or invalid config.json, a pickle-only or
 * TF-only checkpoint, a corrupt safetensors file and missing/unexpected/mis-shaped tensors are
 * each one {@link HfError} naming the problem.
 *
 * @example
 * ```ts
 * const r = await readGpt2HfDirectory('packages/albert/test/fixtures/gpt2/small');
 * if (r._tag === 'Left') console.error(r.left.message);
 * ```
 */
export const readGpt2HfDirectory = async (dir: string, options: Gpt2FromHfOptions = {}): Promise<E.Either<HfError, Gpt2HfModel>> => {
  const opened = await openHfDirectory(dir, 'GPT2LMHeadModel');
  if (E.isLeft(opened)) return opened;
  const cfg = hfConfigToGpt2(opened.right.configJson);
  if (E.isLeft(cfg)) return E.left(hfError('config', `${path.join(dir, 'config.json')}: ${cfg.left.message}`));
  const tensors = await readHfTensors(opened.right);
  if (E.isLeft(tensors)) return tensors;
  const params = gpt2FromHfStateDict(tensors.right, cfg.right.config, options);
  if (E.isLeft(params)) return E.left({ ...params.left, message: `${dir}: ${params.left.message}` });
  return E.right({ config: cfg.right.config, architecture: cfg.right.architecture, params: params.right });
};

/**
 * Writes lamina GPT-2 parameters as a Hugging Face directory that
 * `GPT2LMHeadModel.from_pretrained` loads with no missing or unexpected keys: `model.safetensors`
 * (as `save_pretrained` writes it: `c_attn` fused, no `lm_head.weight`, `{"format": "pt"}`
 * metadata) then `config.json`, each atomically. Creates `dir` if needed; parameter mismatches
 * are a `Left` and write nothing.
 *
 * @example
 * ```ts
 * await writeGpt2HfDirectory('out/gpt2-tiny', tinyGpt2Config(), params);
 * // then in Python: GPT2LMHeadModel.from_pretrained('out/gpt2-tiny')
 * ```
 */
export const writeGpt2HfDirectory = async (
  dir: string,
  config: Gpt2Config,
  params: Readonly<Record<string, RawTensor>>,
  architecture: Gpt2HfArchitecture = 'GPT2LMHeadModel',
): Promise<E.Either<HfError, void>> => {
  const json = gpt2ToHfConfig(config, architecture);
  if (E.isLeft(json)) return json;
  const sd = gpt2ToHfStateDict(params, config, architecture);
  if (E.isLeft(sd)) return sd;
  return writeHfFiles(dir, sd.right, json.right);
};

/**
 * Reads the GPT-2 tokenizer of a Hugging Face directory (`vocab.json` + `merges.txt`, as
 * `GPT2Tokenizer.from_pretrained` reads them, or `tokenizer.json`), checking it against the
 * model: a directory without tokenizer files, a malformed file, or a vocabulary with ids beyond
 * the model's `vocab_size` is one {@link HfError} (kind `format`) naming the file.
 *
 * @example
 * ```ts
 * const m = unwrap(await readGpt2HfDirectory('packages/albert/test/fixtures/bpe/gpt2-tiny'));
 * const tok = readGpt2HfTokenizer('packages/albert/test/fixtures/bpe/gpt2-tiny', m.config.vocabSize);
 * if (tok._tag === 'Right') tok.right.encode('Call me Ishmael.');
 * ```
 */
export const readGpt2HfTokenizer = (dir: string, modelVocabSize?: number): E.Either<HfError, BpeTokenizer> => {
  const t = loadBpeTokenizer(dir);
  if (E.isLeft(t)) return E.left(hfError(t.left.kind === 'io' ? 'io' : 'format', t.left.message));
  if (modelVocabSize !== undefined && t.right.vocabSize > modelVocabSize)
    return E.left(hfError('format', `${dir}: the tokenizer has ${t.right.vocabSize} ids but the model's vocab_size is ${modelVocabSize} (config.json): they are not a pair`));
  return t;
};
