/**
 * Loads a trained model from a lamina run directory (its latest checkpoint) or a Hugging Face
 * ALBERT directory (config.json + model.safetensors), with the tokenizer that goes with it.
 *
 * @example
 * ```ts
 * const m = await loadModelDir('runs/demo/pretrain');  // or an HF directory
 * if (m._tag === 'Right') console.log(m.right.config.hiddenSize, Object.keys(m.right.params).length);
 * ```
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import fs from 'node:fs';
import path from 'node:path';
import type { RawTensor } from '@lamina/dsl';
import { readHfDirectory, type AlbertConfig, type HfArchitecture, type Tokenizer } from '@lamina/albert';
import { loadLatestIntactCheckpoint } from '../checkpoint.js';
import { runTokenizer } from './data.js';
import { readRunConfig, RUN_CONFIG_FILE } from './pretrain.js';

/** A model read from disk. */
export interface LoadedModel {
  readonly kind: 'lamina-run' | 'huggingface';
  readonly dir: string;
  readonly config: AlbertConfig;
  /** Parameters by lamina path (a pretraining checkpoint includes the MLM and order heads). */
  readonly params: Record<string, RawTensor>;
  /** The sentence-level head present in `params`, if any. */
  readonly objective: 'sop' | 'nsp' | 'none';
  /** For HF directories: the architecture config.json names. */
  readonly architecture?: HfArchitecture;
  /** The step of a lamina checkpoint. */
  readonly step?: number;
  readonly tokenizer: Tokenizer;
}

const hfTokenizerPath = (dir: string): string | undefined =>
  ['tokenizer.json', 'spiece.model'].map((f) => path.join(dir, f)).find((f) => fs.existsSync(f));

/**
 * Reads `dir` as a lamina run (has `config.json` of kind lamina-pretraining-run and checkpoints)
 * or as a Hugging Face ALBERT directory. Errors are one readable line. A run's newest intact
 * checkpoint is used; skipping a damaged one is told to `opts.note` in one line.
 */
export const loadModelDir = async (dir: string, opts: { readonly note?: (message: string) => void } = {}): Promise<E.Either<string, LoadedModel>> => {
  if (!fs.existsSync(dir)) return E.left(`no such directory: ${dir}`);
  if (!fs.statSync(dir).isDirectory()) return E.left(`${dir} is not a directory (expected a lamina run directory or a Hugging Face model directory)`);
  const cfgFile = path.join(dir, RUN_CONFIG_FILE);
  let isRun = false;
  try {
    isRun = (JSON.parse(fs.readFileSync(cfgFile, 'utf8')) as { kind?: string }).kind === 'lamina-pretraining-run';
  } catch {
    isRun = false;
  }
  if (isRun) {
    const cfg = readRunConfig(dir);
    if (E.isLeft(cfg)) return E.left(cfg.left.message);
    const found = await loadLatestIntactCheckpoint(dir, opts.note);
    if (E.isLeft(found)) return E.left(found.left.message);
    if (found.right === undefined) return E.left(`${dir} has no complete checkpoint yet`);
    const ck = { right: found.right };
    const tok = runTokenizer(cfg.right.data.tokenizer);
    if (E.isLeft(tok)) return E.left(tok.left);
    return E.right({
      kind: 'lamina-run',
      dir,
      config: cfg.right.model,
      params: ck.right.weights,
      objective: cfg.right.data.objective,
      step: ck.right.state.step,
      tokenizer: tok.right,
    });
  }
  const hf = await readHfDirectory(dir);
  if (E.isLeft(hf)) return E.left(hf.left.message);
  const tok = runTokenizer(hfTokenizerPath(dir));
  if (E.isLeft(tok)) return E.left(tok.left);
  const hasSop = Object.keys(hf.right.params).some((k) => k.startsWith('sop.'));
  return E.right({
    kind: 'huggingface',
    dir,
    config: hf.right.config,
    params: hf.right.params,
    objective: hasSop ? 'sop' : 'none',
    architecture: hf.right.architecture,
    tokenizer: tok.right,
  });
};

/** Keeps the parameters whose paths the target model has (e.g. the encoder of a pretraining checkpoint). */
export const pickParams = (params: Readonly<Record<string, RawTensor>>, keep: (path: string) => boolean): Record<string, RawTensor> =>
  Object.fromEntries(Object.entries(params).filter(([k]) => keep(k)));
