/**
 * The ablations results file (`packages/bench/results/ablations-<date>[-quick].json`). Accuracies
 * are in percent, like the paper's. The report ({@link renderAblations}) is a pure function of it.
 *
 * @example
 * ```ts
 * const r = parseAblationResults(JSON.parse(fs.readFileSync(file, 'utf8')));
 * if (E.isRight(r)) console.log(r.right.table5.sop.sop); // SOP accuracy of the SOP-trained model, %
 * ```
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Sharing } from '@lamina/albert';
import type { ArmEvaluation } from './evaluate.js';
import type { AblationMode, Budget, Objective } from './plan.js';
import type { RecipeTrial } from './tried.js';

/** One trained arm, as it ran. */
export interface ArmResult {
  readonly id: string;
  readonly objective: Objective;
  readonly seed: number;
  readonly embeddingSize: number;
  readonly paperE: number;
  readonly sharing: Sharing;
  /** Stored parameters of the encoder (`albertModel`, as the paper counts). */
  readonly params: number;
  /** Tokens seen in pretraining (steps × batch × sequence length, padding included). */
  readonly tokens: number;
  readonly runDir: string;
  readonly pretrainSeconds: number;
  /** CPU seconds of the arm's child processes (pretraining, fine-tuning); null where not measurable. */
  readonly cpuSeconds?: number | null;
  readonly evaluation: ArmEvaluation | null;
  /** IMDB fine-tuned held-out accuracy (%), when fine-tuned. */
  readonly imdb: number | null;
  readonly imdbExamples: number | null;
  readonly finetuneDir: string | null;
  readonly finetuneSeconds: number | null;
  /** Why the arm has no figures, if it failed. */
  readonly error: string | null;
}

/** mean, min and max over seeds (percent). */
export interface SeedStat {
  readonly mean: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

/** A Table 5 row. `nsp`/`sop` come from the model's own head, or from the probe for "none". */
export interface Table5Entry {
  readonly mlm: number;
  readonly nsp: number;
  readonly sop: number;
  /** How `nsp`/`sop` were measured. */
  readonly via: 'head' | 'probe';
  readonly stats: { readonly mlm: SeedStat; readonly nsp: SeedStat; readonly sop: SeedStat };
  /** Linear-probe accuracies of every arm (for comparison with the heads). */
  readonly probe: { readonly nsp: SeedStat; readonly sop: SeedStat } | null;
  readonly arms: readonly string[];
  readonly paper: { readonly mlm: number; readonly nsp: number; readonly sop: number };
}

/** A Table 3 or 4 row. */
export interface DownstreamEntry {
  readonly paperE: number;
  readonly embeddingSize: number;
  readonly sharing: Sharing;
  readonly params: number;
  /** IMDB fine-tuned accuracy (%). */
  readonly imdb: number | null;
  /** Held-out MLM accuracy (%). */
  readonly mlm: number | null;
  /** SOP accuracy of the SOP head (%). */
  readonly sop: number | null;
  readonly arm: string;
  readonly paper: { readonly params: number; readonly sst2: number; readonly avg: number };
}

/** Where it ran. */
export interface AblationEnvironment {
  readonly backend: string;
  readonly native: boolean;
  readonly tensorflowVersion: string | null;
  readonly node: string;
  readonly cpuModel: string;
  readonly cpus: number;
  /** The git commit the code ran from (`+dirty` with local changes), when known. */
  readonly commit?: string | null;
  /** 1/5/15-minute load averages at the start and at the end. */
  readonly loadStart: readonly number[];
  readonly loadEnd: readonly number[];
}

/** The results file. */
export interface AblationResults {
  readonly kind: 'lamina-ablations';
  readonly schema: 1;
  readonly unit: 'percent';
  readonly date: string;
  readonly command: string;
  readonly mode: AblationMode;
  readonly durationSeconds: number;
  /** CPU seconds of the whole run (this process and its children); null where not measurable. */
  readonly cpuSeconds?: number | null;
  readonly environment: AblationEnvironment;
  readonly budget: Budget;
  readonly model: { readonly hiddenSize: number; readonly layers: number; readonly heads: number; readonly intermediateSize: number; readonly vocabSize: number };
  readonly runsDir: string;
  readonly evaluation: {
    /** MLM accuracy (%) of always predicting the most frequent masked piece, per seed. */
    readonly mlmBaseline?: Readonly<Record<string, number>>;
    readonly heldOutPairs: Readonly<Record<string, number>>; readonly heldOutDocuments: Readonly<Record<string, number>>; readonly probeTrainPairs: Readonly<Record<string, number>>; readonly probe: string };
  readonly arms: readonly ArmResult[];
  readonly table5: Readonly<Partial<Record<Objective, Table5Entry>>>;
  /** Keyed `paperE:sharing`, e.g. `128:attention`. */
  readonly table4: Readonly<Record<string, DownstreamEntry>>;
  /** Keyed `paperE:shared|not-shared`. */
  readonly table3: Readonly<Record<string, DownstreamEntry>>;
  readonly notes: readonly string[];
  /** The experiments that chose the shared recipe (`RECIPE_SEARCH`), as the run's code knew them (absent in older files). */
  readonly recipeSearch?: readonly RecipeTrial[];
}

/**
 * Checks the shape of a parsed results file (the fields the report reads).
 * @example parseAblationResults({}) // E.left('not an ablations results file: kind is not "lamina-ablations"')
 */
export const parseAblationResults = (json: unknown): E.Either<string, AblationResults> => {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return E.left('not an ablations results file: expected a JSON object');
  const j = json as Record<string, unknown>;
  if (j.kind !== 'lamina-ablations') return E.left('not an ablations results file: kind is not "lamina-ablations"');
  if (j.schema !== 1) return E.left(`unsupported ablations schema ${String(j.schema)} (expected 1)`);
  const missing = ['date', 'command', 'mode', 'environment', 'budget', 'model', 'arms', 'table5', 'table4', 'table3', 'evaluation', 'notes'].filter((k) => !(k in j));
  if (missing.length) return E.left(`not an ablations results file: missing ${missing.join(', ')}`);
  if (!Array.isArray(j.arms)) return E.left('not an ablations results file: arms is not a list');
  return E.right(json as AblationResults);
};
