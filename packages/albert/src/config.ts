/**
 * ALBERT/BERT configuration: the type, its io-ts codec (unknown or ill-typed fields are a readable
 * error), presets and the paper's Table 4 sharing strategies.
 *
 * @example
 * ```ts
 * import { preset, decodeConfig } from '@lamina/albert';
 * const base = preset('albert-base');                       // Either<ConfigError, AlbertConfig>
 * const mine = decodeConfig({ preset: 'albert-base', hiddenSize: 256, numHiddenLayers: 4 });
 * ```
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import * as t from 'io-ts';

/** Which parts of a transformer layer are shared across layers (the paper's Table 4). */
export const SHARING = ['all', 'attention', 'ffn', 'none'] as const;
/** One of {@link SHARING}. */
export type Sharing = (typeof SHARING)[number];

/** Activations a config may name (Hugging Face spelling). */
export const HIDDEN_ACTS = ['gelu_new', 'gelu', 'relu', 'tanh'] as const;
/** One of {@link HIDDEN_ACTS}. */
export type HiddenAct = (typeof HIDDEN_ACTS)[number];

/**
 * The full, resolved configuration of an ALBERT-family model. Field meanings follow Hugging Face's
 * `AlbertConfig`; `sharing` and `factorized` describe the paper's variants (BERT is
 * `factorized: false, sharing: 'none'`).
 */
export interface AlbertConfig {
  readonly vocabSize: number;
  /** E: width of the factorised embedding (equals hiddenSize when not factorised). */
  readonly embeddingSize: number;
  /** H */
  readonly hiddenSize: number;
  /** N: number of layer applications. */
  readonly numHiddenLayers: number;
  /** Parameter groups; layer i uses group floor(i / (N / groups)). */
  readonly numHiddenGroups: number;
  readonly numAttentionHeads: number;
  /** I: FFN inner width. */
  readonly intermediateSize: number;
  /** Distinct layers inside each group, applied in sequence. */
  readonly innerGroupNum: number;
  readonly hiddenAct: HiddenAct;
  readonly maxPositionEmbeddings: number;
  readonly typeVocabSize: number;
  readonly layerNormEps: number;
  readonly initializerRange: number;
  readonly hiddenDropoutProb: number;
  readonly attentionProbsDropoutProb: number;
  /** Cross-layer sharing strategy (paper Table 4). `all` is ALBERT; `none` is BERT-style. */
  readonly sharing: Sharing;
  /** True: word embeddings at width E then a projection E→H (ALBERT). False: embeddings at H (BERT). */
  readonly factorized: boolean;
}

const ALBERT_COMMON = {
  vocabSize: 30000,
  embeddingSize: 128,
  numHiddenGroups: 1,
  innerGroupNum: 1,
  hiddenAct: 'gelu_new',
  maxPositionEmbeddings: 512,
  typeVocabSize: 2,
  layerNormEps: 1e-12,
  initializerRange: 0.02,
  hiddenDropoutProb: 0,
  attentionProbsDropoutProb: 0,
  sharing: 'all',
  factorized: true,
} as const satisfies Partial<AlbertConfig>;

const BERT_COMMON = {
  vocabSize: 30522,
  numHiddenGroups: 1,
  innerGroupNum: 1,
  hiddenAct: 'gelu',
  maxPositionEmbeddings: 512,
  typeVocabSize: 2,
  layerNormEps: 1e-12,
  initializerRange: 0.02,
  hiddenDropoutProb: 0.1,
  attentionProbsDropoutProb: 0.1,
  sharing: 'none',
  factorized: false,
} as const satisfies Partial<AlbertConfig>;

const albert = (h: number, l: number, heads: number, i: number): AlbertConfig => ({
  ...ALBERT_COMMON,
  hiddenSize: h,
  numHiddenLayers: l,
  numAttentionHeads: heads,
  intermediateSize: i,
});
const bert = (h: number, l: number, heads: number, i: number): AlbertConfig => ({
  ...BERT_COMMON,
  embeddingSize: h,
  hiddenSize: h,
  numHiddenLayers: l,
  numAttentionHeads: heads,
  intermediateSize: i,
});

/** The named presets: the paper's Table 1 models. */
export const PRESETS = {
  'albert-base': albert(768, 12, 12, 3072),
  'albert-large': albert(1024, 24, 16, 4096),
  'albert-xlarge': albert(2048, 24, 16, 8192),
  'albert-xxlarge': albert(4096, 12, 64, 16384),
  'bert-base': bert(768, 12, 12, 3072),
  'bert-large': bert(1024, 24, 16, 4096),
} as const satisfies Record<string, AlbertConfig>;
/** A preset name. */
export type PresetName = keyof typeof PRESETS;
/** All preset names. */
export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

/** A configuration that could not be read or does not make sense. */
export interface ConfigError {
  readonly _tag: 'ConfigError';
  readonly message: string;
}
const configError = (message: string): ConfigError => ({ _tag: 'ConfigError', message });

/** Looks a preset up by name; an unknown name lists the known ones. */
export const preset = (name: string): E.Either<ConfigError, AlbertConfig> =>
  Object.hasOwn(PRESETS, name)
    ? E.right(PRESETS[name as PresetName])
    : E.left(configError(`unknown preset "${name}" (presets: ${PRESET_NAMES.join(', ')})`));

const literalUnion = <T extends string>(values: readonly T[], name: string): t.Type<T> =>
  new t.Type<T>(
    name,
    (u): u is T => typeof u === 'string' && (values as readonly string[]).includes(u),
    (u, c) => (typeof u === 'string' && (values as readonly string[]).includes(u) ? t.success(u as T) : t.failure(u, c)),
    t.identity,
  );

const PositiveInt = t.brand(t.number, (n): n is t.Branded<number, { readonly PositiveInt: unique symbol }> => Number.isInteger(n) && n > 0, 'PositiveInt');
const Probability = t.brand(t.number, (n): n is t.Branded<number, { readonly Probability: unique symbol }> => n >= 0 && n < 1, 'Probability');
const PositiveNumber = t.brand(t.number, (n): n is t.Branded<number, { readonly PositiveNumber: unique symbol }> => n > 0 && Number.isFinite(n), 'PositiveNumber');

const fields = {
  vocabSize: PositiveInt,
  embeddingSize: PositiveInt,
  hiddenSize: PositiveInt,
  numHiddenLayers: PositiveInt,
  numHiddenGroups: PositiveInt,
  numAttentionHeads: PositiveInt,
  intermediateSize: PositiveInt,
  innerGroupNum: PositiveInt,
  hiddenAct: literalUnion(HIDDEN_ACTS, HIDDEN_ACTS.map((a) => `"${a}"`).join(' | ')),
  maxPositionEmbeddings: PositiveInt,
  typeVocabSize: PositiveInt,
  layerNormEps: PositiveNumber,
  initializerRange: PositiveNumber,
  hiddenDropoutProb: Probability,
  attentionProbsDropoutProb: Probability,
  sharing: literalUnion(SHARING, SHARING.map((a) => `"${a}"`).join(' | ')),
  factorized: t.boolean,
};

/**
 * The config-file form: every field optional, plus `preset` to start from (default
 * `albert-base`). Unknown fields are rejected.
 */
export const ConfigFileCodec = t.exact(
  t.partial({ preset: literalUnion(PRESET_NAMES, PRESET_NAMES.map((a) => `"${a}"`).join(' | ')), ...fields }),
);

const describeErrors = (errors: t.Errors): string =>
  errors
    .slice(0, 3)
    .map((e) => {
      const path = e.context
        .map((c) => c.key)
        .filter((k) => k !== '')
        .join('.');
      const expected = e.context[e.context.length - 1]?.type.name ?? 'a valid value';
      return `${path || '(root)'}: expected ${expected}, got ${JSON.stringify(e.value)}`;
    })
    .join('; ');

/**
 * Upper limits of the numeric config fields: far beyond every published model, well below what
 * would overflow a tensor or a parameter count. A config beyond one is refused, naming the limit.
 * @example CONFIG_LIMITS.hiddenSize // 65536
 */
export const CONFIG_LIMITS = {
  vocabSize: 1_000_000,
  embeddingSize: 65_536,
  hiddenSize: 65_536,
  numHiddenLayers: 1_024,
  numHiddenGroups: 1_024,
  numAttentionHeads: 1_024,
  intermediateSize: 262_144,
  innerGroupNum: 64,
  maxPositionEmbeddings: 65_536,
  typeVocabSize: 1_024,
  layerNormEps: 1,
  initializerRange: 10,
} as const satisfies Partial<Record<keyof AlbertConfig, number>>;

/**
 * Checks every field against {@link CONFIG_LIMITS} and the relations between fields that types
 * cannot express.
 * @example validateConfig({ ...PRESETS['albert-base'], hiddenSize: 1e300 }) // left: 'hiddenSize must be at most 65536 (the limit), got 1e+300'
 */
export const validateConfig = (c: AlbertConfig): E.Either<ConfigError, AlbertConfig> => {
  const problems: string[] = [];
  for (const [k, max] of Object.entries(CONFIG_LIMITS) as [keyof typeof CONFIG_LIMITS, number][]) {
    const x = c[k];
    if (typeof x !== 'number' || !Number.isFinite(x) || x > max) problems.push(`${k} must be at most ${max} (the limit), got ${String(x)}`);
  }
  if (problems.length) return E.left(configError(problems.join('; ')));
  if (c.hiddenSize % c.numAttentionHeads !== 0)
    problems.push(`hiddenSize (${c.hiddenSize}) must be a multiple of numAttentionHeads (${c.numAttentionHeads})`);
  if (c.numHiddenGroups > c.numHiddenLayers)
    problems.push(`numHiddenGroups (${c.numHiddenGroups}) must not exceed numHiddenLayers (${c.numHiddenLayers})`);
  if (!c.factorized && c.embeddingSize !== c.hiddenSize)
    problems.push(`an unfactorised model needs embeddingSize = hiddenSize (got ${c.embeddingSize} and ${c.hiddenSize})`);
  if (c.sharing !== 'all' && (c.numHiddenGroups !== 1 || c.innerGroupNum !== 1))
    problems.push(`numHiddenGroups/innerGroupNum other than 1 need sharing "all" (got sharing "${c.sharing}")`);
  return problems.length ? E.left(configError(problems.join('; '))) : E.right(c);
};

/**
 * Decodes a config file's JSON value: `{ "preset"?: name, ...fields }`. Unknown fields, ill-typed
 * fields and inconsistent combinations are a {@link ConfigError} naming the field.
 */
export const decodeConfig = (u: unknown): E.Either<ConfigError, AlbertConfig> => {
  if (typeof u !== 'object' || u === null || Array.isArray(u)) return E.left(configError('a config must be a JSON object'));
  const known = new Set(['preset', ...Object.keys(fields)]);
  const unknown = Object.keys(u).filter((k) => !known.has(k));
  if (unknown.length)
    return E.left(configError(`unknown config field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')} (known: ${[...known].join(', ')})`));
  return pipe(
    ConfigFileCodec.decode(u),
    E.mapLeft((errs) => configError(describeErrors(errs))),
    E.chain(({ preset: p, ...rest }) => {
      const base: AlbertConfig = PRESETS[p ?? 'albert-base'];
      const merged = { ...base, ...rest } as AlbertConfig;
      return validateConfig(!merged.factorized && rest.embeddingSize === undefined ? { ...merged, embeddingSize: merged.hiddenSize } : merged);
    }),
  );
};

/** Encodes a resolved config as the config-file JSON value (all fields, no preset). */
export const encodeConfig = (c: AlbertConfig): Record<string, unknown> => ({ ...c });

/**
 * A tiny config for tests and the demo (fast on CPU); override any field.
 * @example tinyConfig({ numHiddenLayers: 3 })
 */
export const tinyConfig = (over: Partial<AlbertConfig> = {}): AlbertConfig => ({
  ...ALBERT_COMMON,
  vocabSize: 99,
  embeddingSize: 16,
  hiddenSize: 32,
  numHiddenLayers: 2,
  numAttentionHeads: 4,
  intermediateSize: 37,
  maxPositionEmbeddings: 64,
  ...over,
});
