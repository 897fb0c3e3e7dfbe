/**
 * GPT-2 configuration: the type, the presets (OpenAI's four released sizes), a lamina config-file
 * codec (`{ "preset": "gpt2", "numLayers": 6 }`, unknown fields are errors) and the io-ts codec of
 * Hugging Face's `config.json` (`GPT2Config` field names), in both directions.
 *
 * | lamina field       | HF `config.json`                        |
 * | ------------------ | --------------------------------------- |
 * | `vocabSize`        | `vocab_size`                            |
 * | `maxPositions`     | `n_positions` (legacy `n_ctx`)          |
 * | `hiddenSize`       | `n_embd`                                |
 * | `numLayers`        | `n_layer`                               |
 * | `numHeads`         | `n_head`                                |
 * | `innerSize`        | `n_inner` (`null` = 4 · `n_embd`)       |
 * | `activation`       | `activation_function`                   |
 * | `residDropout`, `embdDropout`, `attnDropout` | `resid_pdrop`, `embd_pdrop`, `attn_pdrop` |
 * | `layerNormEps`     | `layer_norm_epsilon`                    |
 * | `initializerRange` | `initializer_range`                     |
 * | `bosTokenId`, `eosTokenId` | `bos_token_id`, `eos_token_id`  |
 *
 * @example
 * ```ts
 * import { gpt2Preset, decodeGpt2Config, hfConfigToGpt2 } from '@lamina/albert';
 * gpt2Preset('gpt2-medium');                                   // Right({ hiddenSize: 1024, numLayers: 24, … })
 * decodeGpt2Config({ preset: 'gpt2', numLayers: 2 });          // Right({ …, numLayers: 2 })
 * hfConfigToGpt2({ model_type: 'gpt2', n_embd: 64, n_layer: 2, n_head: 4 }); // Right({ config, architecture })
 * ```
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import * as t from 'io-ts';
import type { ConfigError } from '../config.js';
import { hfError, type HfError } from '../hf/config.js';

/**
 * Activations a GPT-2 config may name (Hugging Face spelling; `gelu_pytorch_tanh` is read as
 * `gelu_new`, the same function).
 * @example GPT2_ACTIVATIONS.includes('gelu_new') // true
 */
export const GPT2_ACTIVATIONS = ['gelu_new', 'gelu', 'relu', 'tanh'] as const;
/** One of {@link GPT2_ACTIVATIONS}. @example const a: Gpt2Activation = 'gelu_new'; */
export type Gpt2Activation = (typeof GPT2_ACTIVATIONS)[number];

/**
 * The full, resolved configuration of a GPT-2 model (see the module table for the HF names).
 * @example const c: Gpt2Config = { ...GPT2_PRESETS.gpt2, numLayers: 6 };
 */
export interface Gpt2Config {
  readonly vocabSize: number;
  /** Learned positions: the longest sequence the model reads. */
  readonly maxPositions: number;
  /** H: width of the residual stream. */
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  /** I: width of the MLP (HF default 4·H). */
  readonly innerSize: number;
  readonly activation: Gpt2Activation;
  /** Dropout after each sublayer's output projection. */
  readonly residDropout: number;
  /** Dropout on the summed token + position embeddings. */
  readonly embdDropout: number;
  /** Dropout on the attention probabilities. */
  readonly attnDropout: number;
  readonly layerNormEps: number;
  /** Std of the normal initialiser (the MLP output projection uses `initializerRange / √(2·numLayers)`, as GPT-2 does). */
  readonly initializerRange: number;
  readonly bosTokenId: number;
  readonly eosTokenId: number;
}

const GPT2_COMMON = {
  vocabSize: 50257,
  maxPositions: 1024,
  activation: 'gelu_new',
  residDropout: 0.1,
  embdDropout: 0.1,
  attnDropout: 0.1,
  layerNormEps: 1e-5,
  initializerRange: 0.02,
  bosTokenId: 50256,
  eosTokenId: 50256,
} as const satisfies Partial<Gpt2Config>;

const size = (h: number, layers: number, heads: number): Gpt2Config => ({ ...GPT2_COMMON, hiddenSize: h, numLayers: layers, numHeads: heads, innerSize: 4 * h });

/**
 * OpenAI's released GPT-2 sizes (Radford et al. 2019, as on the Hugging Face Hub). Parameter
 * counts equal Hugging Face's `GPT2LMHeadModel` (LM head tied to `wte`): 124,439,808 /
 * 354,823,168 / 774,030,080 / 1,557,611,200.
 * @example GPT2_PRESETS['gpt2-xl'].hiddenSize // 1600
 */
export const GPT2_PRESETS = {
  gpt2: size(768, 12, 12),
  'gpt2-medium': size(1024, 24, 16),
  'gpt2-large': size(1280, 36, 20),
  'gpt2-xl': size(1600, 48, 25),
} as const satisfies Record<string, Gpt2Config>;
/** A GPT-2 preset name. @example const n: Gpt2PresetName = 'gpt2-large'; */
export type Gpt2PresetName = keyof typeof GPT2_PRESETS;
/** All GPT-2 preset names. @example GPT2_PRESET_NAMES // ['gpt2', 'gpt2-medium', 'gpt2-large', 'gpt2-xl'] */
export const GPT2_PRESET_NAMES = Object.keys(GPT2_PRESETS) as Gpt2PresetName[];

/**
 * True when `name` is a GPT-2 preset (for a CLI that takes `--model gpt2`).
 * @example isGpt2Preset('gpt2-medium') // true
 */
export const isGpt2Preset = (name: string): name is Gpt2PresetName => Object.hasOwn(GPT2_PRESETS, name);

const configError = (message: string): ConfigError => ({ _tag: 'ConfigError', message });

/**
 * Looks a GPT-2 preset up by name; an unknown name lists the known ones.
 * @example gpt2Preset('gpt2') // Right({ vocabSize: 50257, hiddenSize: 768, … })
 */
export const gpt2Preset = (name: string): E.Either<ConfigError, Gpt2Config> =>
  isGpt2Preset(name) ? E.right(GPT2_PRESETS[name]) : E.left(configError(`unknown GPT-2 preset "${name}" (presets: ${GPT2_PRESET_NAMES.join(', ')})`));

/**
 * A tiny GPT-2 for tests and demos (fast on CPU); override any field.
 * @example tinyGpt2Config({ numLayers: 3 })
 */
export const tinyGpt2Config = (over: Partial<Gpt2Config> = {}): Gpt2Config => ({
  ...GPT2_COMMON,
  vocabSize: 97,
  maxPositions: 32,
  hiddenSize: 32,
  numLayers: 2,
  numHeads: 4,
  innerSize: 128,
  residDropout: 0,
  embdDropout: 0,
  attnDropout: 0,
  bosTokenId: 96,
  eosTokenId: 96,
  ...over,
});

/**
 * Exact parameter count of `GPT2LMHeadModel` for a config, by the architecture's closed form:
 * `V·H + P·H + L·(4H² + 2·H·I + I + 9H) + 2H` (tied LM head: no extra parameters).
 * @example gpt2ParamFormula(GPT2_PRESETS.gpt2) // 124_439_808
 */
export const gpt2ParamFormula = (c: Gpt2Config): number => {
  const { vocabSize: V, maxPositions: P, hiddenSize: H, innerSize: I, numLayers: L } = c;
  const attn = 3 * H * H + 3 * H + H * H + H; // c_attn + c_proj
  const mlp = H * I + I + I * H + H; // c_fc + c_proj
  const norms = 4 * H; // ln_1, ln_2
  return V * H + P * H + L * (attn + mlp + norms) + 2 * H;
};

/** Checks the relations between fields that types cannot express. @example validateGpt2Config(tinyGpt2Config()) */
export const validateGpt2Config = (c: Gpt2Config): E.Either<ConfigError, Gpt2Config> => {
  const problems: string[] = [];
  if (c.hiddenSize % c.numHeads !== 0) problems.push(`hiddenSize (${c.hiddenSize}) must be a multiple of numHeads (${c.numHeads})`);
  if (c.bosTokenId >= c.vocabSize) problems.push(`bosTokenId (${c.bosTokenId}) must be < vocabSize (${c.vocabSize})`);
  if (c.eosTokenId >= c.vocabSize) problems.push(`eosTokenId (${c.eosTokenId}) must be < vocabSize (${c.vocabSize})`);
  return problems.length ? E.left(configError(problems.join('; '))) : E.right(c);
};

// ---------------------------------------------------------------------------------------------
// io-ts building blocks

const literalUnion = <T extends string>(values: readonly T[]): t.Type<T> =>
  new t.Type<T>(
    values.map((v) => `"${v}"`).join(' | '),
    (u): u is T => typeof u === 'string' && (values as readonly string[]).includes(u),
    (u, c) => (typeof u === 'string' && (values as readonly string[]).includes(u) ? t.success(u as T) : t.failure(u, c)),
    t.identity,
  );
const refined = (name: string, ok: (n: number) => boolean): t.Type<number> =>
  new t.Type<number>(name, (u): u is number => typeof u === 'number' && ok(u), (u, c) => (typeof u === 'number' && ok(u) ? t.success(u) : t.failure(u, c)), t.identity);
const PositiveInt = refined('a positive integer', (n) => Number.isInteger(n) && n > 0);
const TokenId = refined('a token id (integer >= 0)', (n) => Number.isInteger(n) && n >= 0);
const Probability = refined('a probability in [0, 1)', (n) => n >= 0 && n < 1);
const PositiveNumber = refined('a positive number', (n) => n > 0 && Number.isFinite(n));
const NonNegative = refined('a finite number >= 0', (n) => n >= 0 && Number.isFinite(n));

const describeErrors = (errors: t.Errors): string =>
  errors
    .slice(0, 3)
    .map((e) => {
      const key = e.context
        .map((c) => c.key)
        .filter((k) => k !== '' && !/^\d+$/.test(k))
        .join('.');
      const expected = e.context[e.context.length - 1]?.type.name ?? 'a valid value';
      return `${key || '(root)'}: expected ${expected}, got ${JSON.stringify(e.value)}`;
    })
    .join('; ');

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u);

// ---------------------------------------------------------------------------------------------
// lamina config files

const gpt2Fields = {
  vocabSize: PositiveInt,
  maxPositions: PositiveInt,
  hiddenSize: PositiveInt,
  numLayers: PositiveInt,
  numHeads: PositiveInt,
  innerSize: PositiveInt,
  activation: literalUnion(GPT2_ACTIVATIONS),
  residDropout: Probability,
  embdDropout: Probability,
  attnDropout: Probability,
  layerNormEps: PositiveNumber,
  initializerRange: NonNegative,
  bosTokenId: TokenId,
  eosTokenId: TokenId,
};

/**
 * The GPT-2 config-file form: every field optional, plus `preset` to start from (default `gpt2`).
 * Use {@link decodeGpt2Config}, which also rejects unknown fields.
 * @example Gpt2ConfigFileCodec.is({ preset: 'gpt2', numLayers: 6 }) // true
 */
export const Gpt2ConfigFileCodec = t.exact(t.partial({ preset: literalUnion(GPT2_PRESET_NAMES), ...gpt2Fields }));

/**
 * Decodes a GPT-2 config file's JSON value: `{ "preset"?: name, ...fields }`. Unknown fields,
 * ill-typed fields and inconsistent combinations are a {@link ConfigError} naming the field.
 * Changing `hiddenSize` without `innerSize` keeps GPT-2's 4·H.
 * @example decodeGpt2Config({ preset: 'gpt2', hiddenSize: 256, numHeads: 4 }) // Right({ …, innerSize: 1024 })
 */
export const decodeGpt2Config = (u: unknown): E.Either<ConfigError, Gpt2Config> => {
  if (!isRecord(u)) return E.left(configError('a GPT-2 config must be a JSON object'));
  const known = new Set(['preset', ...Object.keys(gpt2Fields)]);
  const unknown = Object.keys(u).filter((k) => !known.has(k));
  if (unknown.length)
    return E.left(configError(`unknown GPT-2 config field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')} (known: ${[...known].join(', ')})`));
  return pipe(
    Gpt2ConfigFileCodec.decode(u),
    E.mapLeft((errs) => configError(describeErrors(errs))),
    E.chain(({ preset, ...rest }) => {
      const base: Gpt2Config = GPT2_PRESETS[preset ?? 'gpt2'];
      const innerSize = rest.innerSize ?? (rest.hiddenSize === undefined ? base.innerSize : 4 * rest.hiddenSize);
      return validateGpt2Config({ ...base, ...rest, innerSize });
    }),
  );
};

/** Encodes a resolved config as the config-file JSON value (all fields, no preset). @example encodeGpt2Config(tinyGpt2Config()) */
export const encodeGpt2Config = (c: Gpt2Config): Record<string, unknown> => ({ ...c });

// ---------------------------------------------------------------------------------------------
// Hugging Face config.json

/**
 * The Hugging Face GPT-2 classes whose checkpoints lamina reads and writes. Both hold the same
 * tensors (the LM head is tied to `wte`); `GPT2LMHeadModel` prefixes them with `transformer.`.
 * @example GPT2_HF_ARCHITECTURES[0] // 'GPT2LMHeadModel'
 */
export const GPT2_HF_ARCHITECTURES = ['GPT2LMHeadModel', 'GPT2Model'] as const;
/** One of {@link GPT2_HF_ARCHITECTURES}. @example const a: Gpt2HfArchitecture = 'GPT2Model'; */
export type Gpt2HfArchitecture = (typeof GPT2_HF_ARCHITECTURES)[number];

const Nullable = <A>(c: t.Type<A>): t.Type<A | null> => t.union([c, t.null], `${c.name} or null`);

/**
 * io-ts codec of the GPT-2 fields of a Hugging Face `config.json` (`GPT2Config`). Every field is
 * optional (HF's defaults apply); other keys (`transformers_version`, `task_specific_params`, …)
 * pass through untouched.
 * @example HfGpt2ConfigCodec.decode({ n_embd: 64, n_layer: 2 })._tag // 'Right'
 */
export const HfGpt2ConfigCodec = t.partial({
  model_type: t.string,
  architectures: t.array(t.string),
  vocab_size: PositiveInt,
  n_positions: PositiveInt,
  n_ctx: PositiveInt,
  n_embd: PositiveInt,
  n_layer: PositiveInt,
  n_head: PositiveInt,
  n_inner: Nullable(PositiveInt),
  activation_function: t.string,
  resid_pdrop: Probability,
  embd_pdrop: Probability,
  attn_pdrop: Probability,
  layer_norm_epsilon: PositiveNumber,
  initializer_range: NonNegative,
  scale_attn_weights: t.boolean,
  scale_attn_by_inverse_layer_idx: t.boolean,
  reorder_and_upcast_attn: t.boolean,
  add_cross_attention: t.boolean,
  tie_word_embeddings: t.boolean,
  bos_token_id: Nullable(TokenId),
  eos_token_id: t.union([TokenId, t.array(TokenId), t.null], 'a token id, a list of them or null'),
});
/** The decoded GPT-2 fields of an HF `config.json`. @example const j: HfGpt2ConfigJson = { n_embd: 64 }; */
export type HfGpt2ConfigJson = t.TypeOf<typeof HfGpt2ConfigCodec>;

/** HF `GPT2Config` defaults, for keys a config.json leaves out. */
const HF_GPT2_DEFAULTS = {
  vocab_size: 50257,
  n_positions: 1024,
  n_embd: 768,
  n_layer: 12,
  n_head: 12,
  activation_function: 'gelu_new',
  resid_pdrop: 0.1,
  embd_pdrop: 0.1,
  attn_pdrop: 0.1,
  layer_norm_epsilon: 1e-5,
  initializer_range: 0.02,
  bos_token_id: 50256,
  eos_token_id: 50256,
} as const;

/**
 * The result of reading a GPT-2 `config.json`.
 * @example { config: tinyGpt2Config(), architecture: 'GPT2LMHeadModel' }
 */
export interface Gpt2HfConfigInfo {
  readonly config: Gpt2Config;
  readonly architecture: Gpt2HfArchitecture;
}

/**
 * True when a `config.json` value describes a GPT-2 model (`model_type: "gpt2"`), to choose a
 * reader for a Hugging Face directory.
 * @example isGpt2HfConfig({ model_type: 'gpt2' }) // true
 */
export const isGpt2HfConfig = (json: unknown): boolean => isRecord(json) && json['model_type'] === 'gpt2';

/**
 * Reads a Hugging Face GPT-2 `config.json` value. Missing keys take HF's defaults; ill-typed keys,
 * another `model_type`, an unsupported architecture or activation, and the variants lamina's
 * GPT-2 does not express (`scale_attn_weights: false`, `scale_attn_by_inverse_layer_idx`,
 * `add_cross_attention`, an untied LM head) are errors naming the key.
 *
 * @example
 * ```ts
 * hfConfigToGpt2({ model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], vocab_size: 61, n_embd: 16, n_layer: 2, n_head: 2 });
 * ```
 */
export const hfConfigToGpt2 = (json: unknown): E.Either<HfError, Gpt2HfConfigInfo> => {
  if (!isRecord(json)) return E.left(hfError('config', 'config.json must be a JSON object'));
  const decoded = HfGpt2ConfigCodec.decode(json);
  if (E.isLeft(decoded)) return E.left(hfError('config', `invalid GPT-2 config.json: ${describeErrors(decoded.left)}`));
  const j = decoded.right;
  const problems: string[] = [];
  if (j.model_type !== undefined && j.model_type !== 'gpt2') problems.push(`model_type: expected "gpt2", got ${JSON.stringify(j.model_type)}`);
  let architecture: Gpt2HfArchitecture = 'GPT2LMHeadModel';
  if (j.architectures !== undefined) {
    const a = j.architectures;
    if (a.length !== 1 || !(GPT2_HF_ARCHITECTURES as readonly string[]).includes(a[0] as string))
      problems.push(`architectures: expected one of [${GPT2_HF_ARCHITECTURES.map((x) => `"${x}"`).join(', ')}], got ${JSON.stringify(a)}`);
    else architecture = a[0] as Gpt2HfArchitecture;
  }
  const actName = j.activation_function ?? HF_GPT2_DEFAULTS.activation_function;
  const act = actName === 'gelu_pytorch_tanh' ? 'gelu_new' : actName;
  if (!(GPT2_ACTIVATIONS as readonly string[]).includes(act))
    problems.push(`activation_function: expected one of ${[...GPT2_ACTIVATIONS, 'gelu_pytorch_tanh'].join(', ')}, got ${JSON.stringify(actName)}`);
  if (j.scale_attn_weights === false) problems.push('scale_attn_weights: false is not supported (lamina always scales attention scores by 1/sqrt(head size))');
  if (j.scale_attn_by_inverse_layer_idx === true) problems.push('scale_attn_by_inverse_layer_idx: true is not supported');
  if (j.add_cross_attention === true) problems.push('add_cross_attention: true is not supported (lamina reads decoder-only GPT-2)');
  if (j.tie_word_embeddings === false) problems.push('tie_word_embeddings: false (an untied LM head) is not supported; lamina always ties lm_head to wte');
  if (j.n_ctx !== undefined && j.n_positions !== undefined && j.n_ctx !== j.n_positions)
    problems.push(`n_ctx (${j.n_ctx}) and n_positions (${j.n_positions}) disagree`);
  const eos = Array.isArray(j.eos_token_id) ? j.eos_token_id[0] : j.eos_token_id;
  const hidden = j.n_embd ?? HF_GPT2_DEFAULTS.n_embd;
  const vocabSize = j.vocab_size ?? HF_GPT2_DEFAULTS.vocab_size;
  const bos = j.bos_token_id === null || j.bos_token_id === undefined ? Math.min(HF_GPT2_DEFAULTS.bos_token_id, vocabSize - 1) : j.bos_token_id;
  const config: Gpt2Config = {
    vocabSize,
    maxPositions: j.n_positions ?? j.n_ctx ?? HF_GPT2_DEFAULTS.n_positions,
    hiddenSize: hidden,
    numLayers: j.n_layer ?? HF_GPT2_DEFAULTS.n_layer,
    numHeads: j.n_head ?? HF_GPT2_DEFAULTS.n_head,
    innerSize: j.n_inner ?? 4 * hidden,
    activation: act as Gpt2Activation,
    residDropout: j.resid_pdrop ?? HF_GPT2_DEFAULTS.resid_pdrop,
    embdDropout: j.embd_pdrop ?? HF_GPT2_DEFAULTS.embd_pdrop,
    attnDropout: j.attn_pdrop ?? HF_GPT2_DEFAULTS.attn_pdrop,
    layerNormEps: j.layer_norm_epsilon ?? HF_GPT2_DEFAULTS.layer_norm_epsilon,
    initializerRange: j.initializer_range ?? HF_GPT2_DEFAULTS.initializer_range,
    bosTokenId: bos,
    eosTokenId: eos === null || eos === undefined ? bos : eos,
  };
  if (problems.length) return E.left(hfError('config', `invalid GPT-2 config.json: ${problems.join('; ')}`));
  const valid = validateGpt2Config(config);
  if (E.isLeft(valid)) return E.left(hfError('config', `invalid GPT-2 config.json: ${valid.left.message}`));
  return E.right({ config, architecture });
};

/**
 * Writes a config as a Hugging Face GPT-2 `config.json` value (keys sorted, as `save_pretrained`
 * writes them); {@link hfConfigToGpt2} reads it back to the same config.
 * @example gpt2ToHfConfig(tinyGpt2Config()) // Right({ activation_function: 'gelu_new', architectures: ['GPT2LMHeadModel'], … })
 */
export const gpt2ToHfConfig = (config: Gpt2Config, architecture: Gpt2HfArchitecture = 'GPT2LMHeadModel'): E.Either<HfError, Record<string, unknown>> => {
  const valid = validateGpt2Config(config);
  if (E.isLeft(valid)) return E.left(hfError('config', valid.left.message));
  const out: Record<string, unknown> = {
    activation_function: config.activation,
    architectures: [architecture],
    attn_pdrop: config.attnDropout,
    bos_token_id: config.bosTokenId,
    dtype: 'float32',
    embd_pdrop: config.embdDropout,
    eos_token_id: config.eosTokenId,
    initializer_range: config.initializerRange,
    layer_norm_epsilon: config.layerNormEps,
    model_type: 'gpt2',
    n_embd: config.hiddenSize,
    n_head: config.numHeads,
    n_inner: config.innerSize === 4 * config.hiddenSize ? null : config.innerSize,
    n_layer: config.numLayers,
    n_positions: config.maxPositions,
    reorder_and_upcast_attn: false,
    resid_pdrop: config.residDropout,
    scale_attn_by_inverse_layer_idx: false,
    scale_attn_weights: true,
    tie_word_embeddings: true,
    vocab_size: config.vocabSize,
  };
  return E.right(Object.fromEntries(Object.keys(out).sort().map((k) => [k, out[k]])));
};
