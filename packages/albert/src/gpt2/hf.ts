/**
 * The name map between lamina's GPT-2 parameter paths and Hugging Face's `GPT2LMHeadModel` /
 * `GPT2Model` state-dict names, and the conversions of whole parameter sets in both directions.
 *
 * Two things differ from ALBERT's map:
 * - GPT-2's `Conv1D` stores its weight `[in, out]`, the same layout as a lamina dense kernel, so
 *   nothing is transposed (a PyTorch `nn.Linear` weight is `[out, in]`; GPT-2 has none).
 * - `attn.c_attn` fuses the query, key and value projections: its weight `[H, 3H]` is
 *   `[query.kernel | key.kernel | value.kernel]` along the last axis, its bias `[3H]` likewise.
 *
 * The LM head is tied to `wte`: `save_pretrained` does not store `lm_head.weight`; older
 * checkpoints that do are accepted when it equals `wte`. The causal-mask buffers old checkpoints
 * store (`h.N.attn.bias`, `h.N.attn.masked_bias`) are ignored.
 *
 * @example
 * ```ts
 * import { gpt2HfNameMap, tinyGpt2Config } from '@lamina/albert';
 * gpt2HfNameMap(tinyGpt2Config(), 'GPT2LMHeadModel')[4];
 * // { hf: 'transformer.h.0.attn.c_attn.weight', shape: [32, 96], parts: [{ lamina: 'h.0.attn.query.kernel', shape: [32, 32] }, …key, …value] }
 * ```
 * @module
 */
import type { RawTensor } from '@lamina/dsl';
import * as E from 'fp-ts/lib/Either.js';
import { hfError, type HfError } from '../hf/config.js';
import type { Gpt2Config, Gpt2HfArchitecture } from './config.js';

/**
 * One HF tensor and the lamina parameters it is made of (concatenated along the last axis; one
 * part for every tensor except the fused `c_attn`).
 * @example { hf: 'transformer.ln_f.weight', shape: [768], parts: [{ lamina: 'ln_f.gamma', shape: [768] }] }
 */
export interface Gpt2NameEntry {
  readonly hf: string;
  /** The HF tensor's shape. */
  readonly shape: readonly number[];
  readonly parts: readonly { readonly lamina: string; readonly shape: readonly number[] }[];
}

/**
 * The state-dict prefix of an architecture: `transformer.` for `GPT2LMHeadModel`, none for `GPT2Model`.
 * @example gpt2HfPrefix('GPT2Model') // ''
 */
export const gpt2HfPrefix = (architecture: Gpt2HfArchitecture): '' | 'transformer.' => (architecture === 'GPT2LMHeadModel' ? 'transformer.' : '');

/**
 * Every tensor of `architecture` for `config`, each exactly once, in HF module order.
 * @example gpt2HfNameMap(tinyGpt2Config({ numLayers: 1 }), 'GPT2Model').map((e) => e.hf)
 */
export const gpt2HfNameMap = (config: Gpt2Config, architecture: Gpt2HfArchitecture = 'GPT2LMHeadModel'): readonly Gpt2NameEntry[] => {
  const { vocabSize: V, maxPositions: P, hiddenSize: H, innerSize: I } = config;
  const p = gpt2HfPrefix(architecture);
  const out: Gpt2NameEntry[] = [];
  const one = (lamina: string, hf: string, shape: readonly number[]): void => {
    out.push({ hf: `${p}${hf}`, shape, parts: [{ lamina, shape }] });
  };
  const conv1d = (lamina: string, hf: string, inDim: number, outDim: number): void => {
    one(`${lamina}.kernel`, `${hf}.weight`, [inDim, outDim]);
    one(`${lamina}.bias`, `${hf}.bias`, [outDim]);
  };
  const norm = (lamina: string, hf: string): void => {
    one(`${lamina}.gamma`, `${hf}.weight`, [H]);
    one(`${lamina}.beta`, `${hf}.bias`, [H]);
  };
  one('wte.embeddings', 'wte.weight', [V, H]);
  one('wpe.embeddings', 'wpe.weight', [P, H]);
  for (let l = 0; l < config.numLayers; l++) {
    const a = `h.${l}.attn`;
    norm(`h.${l}.ln_1`, `h.${l}.ln_1`);
    const qkv = ['query', 'key', 'value'];
    out.push({ hf: `${p}h.${l}.attn.c_attn.weight`, shape: [H, 3 * H], parts: qkv.map((s) => ({ lamina: `${a}.${s}.kernel`, shape: [H, H] })) });
    out.push({ hf: `${p}h.${l}.attn.c_attn.bias`, shape: [3 * H], parts: qkv.map((s) => ({ lamina: `${a}.${s}.bias`, shape: [H] })) });
    conv1d(`${a}.output`, `h.${l}.attn.c_proj`, H, H);
    norm(`h.${l}.ln_2`, `h.${l}.ln_2`);
    conv1d(`h.${l}.mlp.c_fc`, `h.${l}.mlp.c_fc`, H, I);
    conv1d(`h.${l}.mlp.c_proj`, `h.${l}.mlp.c_proj`, I, H);
  }
  norm('ln_f', 'ln_f');
  return out;
};

const fmt = (shape: readonly number[]): string => `[${shape.join(', ')}]`;
const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);
const sameData = (a: RawTensor, b: RawTensor): boolean => {
  if (a.data.length !== b.data.length) return false;
  for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) return false;
  return true;
};
const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Concatenates tensors along their last axis (equal leading dims). */
const concatLast = (parts: readonly RawTensor[], shape: readonly number[]): RawTensor => {
  const widths = parts.map((t) => t.shape[t.shape.length - 1] ?? 1);
  const total = widths.reduce((a, b) => a + b, 0);
  const rows = sizeOf(shape) / total;
  const data = new Float32Array(sizeOf(shape));
  let offset = 0;
  parts.forEach((t, k) => {
    const w = widths[k] as number;
    for (let r = 0; r < rows; r++) data.set(t.data.subarray(r * w, (r + 1) * w) as Float32Array, r * total + offset);
    offset += w;
  });
  return { dtype: 'float32', shape: [...shape], data };
};

/** Splits a tensor along its last axis into parts of the given shapes. */
const splitLast = (t: RawTensor, shapes: readonly (readonly number[])[]): RawTensor[] => {
  const total = t.shape[t.shape.length - 1] ?? 1;
  const rows = sizeOf(t.shape) / total;
  let offset = 0;
  return shapes.map((s) => {
    const w = s[s.length - 1] ?? 1;
    const data = new Float32Array(rows * w);
    for (let r = 0; r < rows; r++) data.set(t.data.subarray(r * total + offset, r * total + offset + w) as Float32Array, r * w);
    offset += w;
    return { dtype: 'float32', shape: [...s], data };
  });
};

const describe = (c: Gpt2Config, architecture: Gpt2HfArchitecture): string =>
  `${architecture} (V=${c.vocabSize}, P=${c.maxPositions}, H=${c.hiddenSize}, layers=${c.numLayers}, heads=${c.numHeads}, I=${c.innerSize})`;

const mismatchError = (what: string, missing: string[], unexpected: string[], misshaped: string[], other: string[] = []): HfError => {
  const parts: string[] = [];
  if (missing.length) parts.push(`missing ${missing.length}: ${missing.join(', ')}`);
  if (unexpected.length) parts.push(`unexpected ${unexpected.length}: ${unexpected.join(', ')}`);
  if (misshaped.length) parts.push(`wrong shape or dtype ${misshaped.length}: ${misshaped.join(', ')}`);
  parts.push(...other);
  return hfError('tensors', `${what}: ${parts.join('; ')}`, { missing, unexpected, misshaped });
};

/**
 * Converts lamina GPT-2 parameters to an HF state dict (what `save_pretrained` writes: no
 * `lm_head.weight`, `c_attn` fused). Every parameter the map expects must be present with its
 * shape, and no others; missing, unexpected and mis-shaped parameters are named in one `Left`.
 *
 * @example
 * ```ts
 * const sd = gpt2ToHfStateDict(params, config); // Right({ 'transformer.wte.weight': …, 'transformer.h.0.attn.c_attn.weight': …, … })
 * ```
 */
export const gpt2ToHfStateDict = (
  params: Readonly<Record<string, RawTensor>>,
  config: Gpt2Config,
  architecture: Gpt2HfArchitecture = 'GPT2LMHeadModel',
): E.Either<HfError, Record<string, RawTensor>> => {
  const map = gpt2HfNameMap(config, architecture);
  const missing: string[] = [];
  const misshaped: string[] = [];
  const out: Record<string, RawTensor> = {};
  for (const e of map) {
    const got: RawTensor[] = [];
    for (const part of e.parts) {
      const t = params[part.lamina];
      if (t === undefined) missing.push(part.lamina);
      else if (!sameShape(t.shape, part.shape) || t.dtype !== 'float32' || t.data.length !== sizeOf(part.shape))
        misshaped.push(`${part.lamina} (expected float32 ${fmt(part.shape)}, got ${t.dtype} ${fmt(t.shape)})`);
      else got.push(t);
    }
    if (got.length === e.parts.length) out[e.hf] = got.length === 1 ? (got[0] as RawTensor) : concatLast(got, e.shape);
  }
  const known = new Set(map.flatMap((e) => e.parts.map((p) => p.lamina)));
  const unexpected = Object.keys(params).filter((k) => !known.has(k)).sort();
  if (missing.length || unexpected.length || misshaped.length)
    return E.left(mismatchError(`lamina parameters do not match ${describe(config, architecture)}`, missing, unexpected, misshaped));
  return E.right(out);
};

/**
 * Options for {@link gpt2FromHfStateDict}.
 * @example gpt2FromHfStateDict(tensors, config, { allowUnexpected: true })
 */
export interface Gpt2FromHfOptions {
  /** Ignore tensors GPT-2 does not use (e.g. a `GPT2DoubleHeadsModel`'s head) instead of failing. */
  readonly allowUnexpected?: boolean;
}

const BUFFER = /^(transformer\.)?h\.\d+\.attn\.(bias|masked_bias)$/;

/**
 * Converts an HF GPT-2 state dict to lamina parameters. Either layout is accepted: keys prefixed
 * with `transformer.` (`GPT2LMHeadModel`) or not (`GPT2Model`, and the original OpenAI uploads).
 * `c_attn` is split into query/key/value; a stored `lm_head.weight` must equal `wte` (lamina ties
 * them); the old causal-mask buffers are ignored. Every other difference — missing, unexpected,
 * mis-shaped or non-float tensors — is named in one `Left`.
 *
 * @example
 * ```ts
 * const r = gpt2FromHfStateDict(decoded.tensors, config);
 * // Left: "checkpoint does not match GPT2LMHeadModel (…): missing 1: transformer.ln_f.bias"
 * ```
 */
export const gpt2FromHfStateDict = (
  tensors: Readonly<Record<string, RawTensor>>,
  config: Gpt2Config,
  options: Gpt2FromHfOptions = {},
): E.Either<HfError, Record<string, RawTensor>> => {
  const prefixed = 'transformer.wte.weight' in tensors || !('wte.weight' in tensors);
  const architecture: Gpt2HfArchitecture = prefixed ? 'GPT2LMHeadModel' : 'GPT2Model';
  const map = gpt2HfNameMap(config, architecture);
  const missing: string[] = [];
  const unexpected: string[] = [];
  const misshaped: string[] = [];
  const other: string[] = [];
  const used = new Set<string>();
  const out: Record<string, RawTensor> = {};
  for (const e of map) {
    used.add(e.hf);
    const t = tensors[e.hf];
    if (t === undefined) missing.push(e.hf);
    else if (t.dtype !== 'float32' || !sameShape(t.shape, e.shape)) misshaped.push(`${e.hf} (expected float32 ${fmt(e.shape)}, got ${t.dtype} ${fmt(t.shape)})`);
    else if (e.parts.length === 1) out[(e.parts[0] as { lamina: string }).lamina] = t;
    else splitLast(t, e.parts.map((p) => p.shape)).forEach((s, k) => (out[(e.parts[k] as { lamina: string }).lamina] = s));
  }
  const head = tensors['lm_head.weight'];
  if (head !== undefined) {
    used.add('lm_head.weight');
    const wte = out['wte.embeddings'];
    if (head.dtype !== 'float32' || !sameShape(head.shape, [config.vocabSize, config.hiddenSize]))
      misshaped.push(`lm_head.weight (expected float32 ${fmt([config.vocabSize, config.hiddenSize])}, got ${head.dtype} ${fmt(head.shape)})`);
    else if (wte !== undefined && !sameData(head, wte))
      other.push('lm_head.weight differs from wte.weight (an untied LM head); lamina always ties lm_head to wte');
  }
  for (const k of Object.keys(tensors).sort()) if (!used.has(k) && !BUFFER.test(k) && !options.allowUnexpected) unexpected.push(k);
  if (missing.length || unexpected.length || misshaped.length || other.length)
    return E.left(mismatchError(`checkpoint does not match ${describe(config, architecture)}`, missing, unexpected, misshaped, other));
  return E.right(out);
};
