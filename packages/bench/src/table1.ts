/**
 * The paper's Table 1 (and the parameter column of Table 4) reproduced from the model values:
 * for every preset × sharing strategy, lamina's exact count of the bare encoder (`albertModel`:
 * embeddings, layers and pooler — what Hugging Face's `AlbertModel`/`BertModel` hold), the
 * Hugging Face count, and the paper's rounded figure.
 *
 * @example
 * ```ts
 * const rows = table1Rows({});            // Hugging Face column from the recorded values
 * rows.find((r) => r.preset === 'albert-base' && r.sharing === 'all')?.lamina; // 11_683_584
 * ```
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import { albertModel, PRESET_NAMES, PRESETS, SHARING, validateConfig, type AlbertConfig, type PresetName, type Sharing } from '@lamina/albert';
import { countParams } from '@lamina/dsl';

/**
 * The paper's rounded parameter counts (Lan et al. 2020): Table 1 for each preset with its own
 * sharing strategy, and Table 4 (ALBERT-base, E = 128) for the other strategies.
 * @example PAPER_PARAMS['albert-base:all'] // { value: 12e6, source: 'Table 1' }
 */
export const PAPER_PARAMS: Readonly<Record<string, { readonly value: number; readonly source: string }>> = {
  'bert-base:none': { value: 108e6, source: 'Table 1' },
  'bert-large:none': { value: 334e6, source: 'Table 1' },
  'albert-base:all': { value: 12e6, source: 'Table 1' },
  'albert-large:all': { value: 18e6, source: 'Table 1' },
  'albert-xlarge:all': { value: 60e6, source: 'Table 1' },
  'albert-xxlarge:all': { value: 235e6, source: 'Table 1' },
  'albert-base:attention': { value: 64e6, source: 'Table 4 (E=128)' },
  'albert-base:ffn': { value: 38e6, source: 'Table 4 (E=128)' },
  'albert-base:none': { value: 89e6, source: 'Table 4 (E=128)' },
  'bert-base:all': { value: 31e6, source: 'Table 4 (E=768)' },
  'bert-base:attention': { value: 83e6, source: 'Table 4 (E=768)' },
  'bert-base:ffn': { value: 57e6, source: 'Table 4 (E=768)' },
};

/**
 * Hugging Face parameter counts **recorded** from `packages/bench/python/param_counts.py`
 * (transformers 5.18.0, torch 2.13.0, models built on the `meta` device, 2026 run of
 * `echo <table1Configs as JSON> | python param_counts.py`). Used only when the
 * helper cannot run; the report labels them "recorded". `null`: Hugging Face has no architecture
 * for that configuration (partial sharing, or BERT with sharing).
 * @example RECORDED_HF_PARAMS['albert-base:all'] // 11_683_584
 */
export const RECORDED_HF_PARAMS: Readonly<Record<string, number | null>> = {
  'albert-base:all': 11683584,
  'albert-base:attention': null,
  'albert-base:ffn': null,
  'albert-base:none': 89650176,
  'albert-large:all': 17683968,
  'albert-large:attention': null,
  'albert-large:ffn': null,
  'albert-large:none': 307397120,
  'albert-xlarge:all': 58724864,
  'albert-xlarge:attention': null,
  'albert-xlarge:ffn': null,
  'albert-xlarge:none': 1216965120,
  'albert-xxlarge:all': 222595584,
  'albert-xxlarge:attention': null,
  'albert-xxlarge:ffn': null,
  'albert-xxlarge:none': 2437773824,
  'bert-base:all': null,
  'bert-base:attention': null,
  'bert-base:ffn': null,
  'bert-base:none': 109482240,
  'bert-large:all': null,
  'bert-large:attention': null,
  'bert-large:ffn': null,
  'bert-large:none': 335141888,
};

/** One row of the reproduced table. */
export interface Table1Row {
  readonly key: string;
  readonly preset: PresetName;
  readonly sharing: Sharing;
  readonly layers: number;
  readonly hidden: number;
  readonly embedding: number;
  readonly factorized: boolean;
  /** lamina's exact count (`countParams(albertModel(config))`). */
  readonly lamina: number;
  /** Hugging Face's count, or null when it has no such architecture. */
  readonly hf: number | null;
  /** Where `hf` came from: computed in this run, or the recorded value. */
  readonly hfSource: 'computed' | 'recorded';
  /** The paper's rounded figure, when the paper gives one. */
  readonly paper: { readonly value: number; readonly source: string } | null;
}

/**
 * The config of a preset with another sharing strategy (the paper's Table 4 variants).
 * @example withSharing('albert-base', 'attention').sharing // 'attention'
 */
export const withSharing = (name: PresetName, sharing: Sharing): AlbertConfig => ({ ...PRESETS[name], sharing });

/** Every (preset, sharing) pair of the table, in display order, with its config. */
export const table1Configs = (): { key: string; preset: PresetName; sharing: Sharing; config: AlbertConfig }[] =>
  PRESET_NAMES.flatMap((preset) =>
    SHARING.map((sharing) => ({ key: `${preset}:${sharing}`, preset, sharing, config: withSharing(preset, sharing) })),
  ).filter(({ config }) => E.isRight(validateConfig(config)));

/**
 * The table's rows. `computedHf` holds counts computed in this run by the Python helper (keys
 * `preset:sharing`); missing keys fall back to {@link RECORDED_HF_PARAMS}.
 * @example table1Rows({ 'albert-base:all': 11683584 })[0]?.hfSource // 'computed'
 */
export const table1Rows = (computedHf: Readonly<Record<string, number | null>>): Table1Row[] =>
  table1Configs().map(({ key, preset, sharing, config }) => {
    const count = countParams(albertModel(config));
    const has = Object.hasOwn(computedHf, key);
    return {
      key,
      preset,
      sharing,
      layers: config.numHiddenLayers,
      hidden: config.hiddenSize,
      embedding: config.embeddingSize,
      factorized: config.factorized,
      lamina: E.isRight(count) ? count.right : NaN,
      hf: has ? (computedHf[key] ?? null) : (RECORDED_HF_PARAMS[key] ?? null),
      hfSource: has ? 'computed' : 'recorded',
      paper: PAPER_PARAMS[key] ?? null,
    };
  });

/**
 * The note the report prints under the table about ALBERT-xxlarge: the paper's 235M is not what
 * its architecture (H=4096, I=16384, E=128, 12 layers, shared) gives.
 * @example xxlargeNote(table1Rows({}))
 */
export const xxlargeNote = (rows: readonly Table1Row[]): string => {
  const r = rows.find((x) => x.key === 'albert-xxlarge:all');
  const m = r ? (r.lamina / 1e6).toFixed(1) : '?';
  return `The paper lists ALBERT-xxlarge at 235M parameters, but its architecture (H=4096, I=16384, E=128, one shared layer) has ${m}M — lamina and Hugging Face agree on the exact count; the paper's figure is not reproducible from the stated configuration.`;
};
