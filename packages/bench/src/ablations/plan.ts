/**
 * What `pnpm bench ablations` trains: the arms of the paper's Tables 3, 4 and 5 at laptop scale,
 * all with one budget (tokenizer, corpus, steps, batch, sequence length, optimizer, learning rate
 * and schedule), so only the ablated factor changes between arms. Arms that two tables share
 * (e.g. E = 128-equivalent, all-shared, SOP, first seed) are trained once.
 *
 * The model is a small ALBERT (H = 128, 4 layers, 4 heads, I = 512). The paper's embedding sizes
 * E ∈ {64, 128, 256, 768} at H = 768 are scaled to H = 128 keeping their order and roughly their
 * ratio to H: E ∈ {16, 32, 64, 128} (E = H is the unfactorised end, like the paper's 768).
 *
 * @example
 * ```ts
 * const p = ablationPlan('quick');
 * p.arms.map((a) => a.id);        // ['none-E32-all-s12345', 'nsp-E32-all-s12345', 'sop-E32-all-s12345']
 * p.table5.map((r) => r.objective); // ['none', 'nsp', 'sop']
 * ```
 * @module
 */
import { PRESETS, type AlbertConfig, type Sharing } from '@lamina/albert';
import { PAPER_EMBEDDING_SIZES, PAPER_TABLE4_EMBEDDING_SIZES } from './paper.js';

/** How much of the study to run. */
export type AblationMode = 'smoke' | 'quick' | 'full';

/** The sentence-level objective of an arm. */
export type Objective = 'none' | 'nsp' | 'sop';

/**
 * The fine-tuning recipe of Tables 3 and 4: `lamina demo`'s (AdamW 3e-4 with bias correction, batch
 * 16, 1 epoch, 128 tokens keeping each review's head and tail, no dropout), on 2,048 reviews
 * instead of its 8,192 so that twelve fine-tunings fit the full run's budget.
 */
export interface FinetuneBudget {
  readonly maxTrain: number;
  readonly maxEval: number;
  readonly epochs: number;
  readonly lr: number;
  readonly batchSize: number;
  readonly dropout: number;
  readonly seqLength: number;
  readonly truncation: 'head' | 'head+tail';
}

/** Everything every arm shares. */
export interface Budget {
  readonly steps: number;
  readonly batchSize: number;
  readonly seqLength: number;
  readonly maxPredictions: number;
  readonly optimizer: 'lamb' | 'adamw';
  readonly lr: number;
  readonly warmup: number;
  /** Documents of the bundled corpus used (0: all). */
  readonly maxDocuments: number;
  /** Fraction of documents held out (whole documents). */
  readonly evalFraction: number;
  /** Seeds of Table 5 (the first is also the seed of every other arm). */
  readonly seeds: readonly number[];
  /** Held-out evaluation pairs: at most this many per document and in all (per kind). */
  readonly pairsPerDocument: number;
  readonly maxPairs: number;
  /** Linear-probe training pairs per kind, drawn from training documents. */
  readonly probePairs: number;
  readonly probeSteps: number;
  readonly finetune: FinetuneBudget;
}

/** One pretraining run. */
export interface ArmSpec {
  /** Unique id, also the run directory's name. */
  readonly id: string;
  /** The model (vocabSize is set from the tokenizer by `lamina pretrain`). */
  readonly config: AlbertConfig;
  readonly objective: Objective;
  readonly seed: number;
  /** The paper's E this arm stands for. */
  readonly paperE: number;
  /** Fine-tune on IMDB (Tables 3 and 4). */
  readonly finetune: boolean;
  /** Train linear probes on frozen features (Table 5). */
  readonly probe: boolean;
}

/** A Table 5 row: one objective over the seeds. */
export interface Table5Row {
  readonly objective: Objective;
  readonly arms: readonly string[];
}
/** A Table 4 row. */
export interface Table4Row {
  readonly paperE: number;
  readonly sharing: Sharing;
  readonly arm: string;
}
/** A Table 3 row. */
export interface Table3Row {
  readonly paperE: number;
  readonly shared: boolean;
  readonly arm: string;
}

/** The whole study. */
export interface AblationPlan {
  readonly mode: AblationMode;
  readonly budget: Budget;
  /** Distinct arms in the order they run (Table 5 first). */
  readonly arms: readonly ArmSpec[];
  readonly table5: readonly Table5Row[];
  readonly table4: readonly Table4Row[];
  readonly table3: readonly Table3Row[];
}

const DEMO_FINETUNE: FinetuneBudget = { maxTrain: 2048, maxEval: 1000, epochs: 1, lr: 3e-4, batchSize: 16, dropout: 0, seqLength: 128, truncation: 'head+tail' };

/** The arms' model at H = 128 (E set per arm). */
export const ablationModel = (E: number, sharing: Sharing, smoke = false): AlbertConfig =>
  smoke
    ? { ...PRESETS['albert-base'], vocabSize: 10000, embeddingSize: E, hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 2, intermediateSize: 64, maxPositionEmbeddings: 64, sharing }
    : { ...PRESETS['albert-base'], vocabSize: 10000, embeddingSize: E, hiddenSize: 128, numHiddenLayers: 4, numAttentionHeads: 4, intermediateSize: 512, maxPositionEmbeddings: 128, sharing };

/**
 * lamina's E for the paper's E at hidden size H: H/8, H/4, H/2, H for the paper's 64, 128, 256,
 * 768 (same order, about the same ratio to H as the paper's 1/12, 1/6, 1/3, 1).
 * @example embeddingFor(768, 128) // 128 (= H); embeddingFor(128, 128) // 32
 */
export const embeddingFor = (paperE: number, hiddenSize: number): number => {
  const i = (PAPER_EMBEDDING_SIZES as readonly number[]).indexOf(paperE);
  if (i < 0) throw new Error(`no lamina E for the paper's E=${paperE}`);
  return hiddenSize / ([8, 4, 2, 1][i] as number);
};

/**
 * The budget of a mode. One recipe for every arm, chosen by experiment (see `RECIPE_SEARCH` and
 * ABLATIONS.md's "what we tried"): LAMB at peak 0.005 (the demo's optimizer; AdamW at 0.002 left
 * MLM at the unigram baseline and every sentence head constant) with 10% warm-up, on short
 * sequences (batch 64 × 32 tokens: twice the sentence pairs per step of 32 × 64 for the same
 * tokens), 5 masked tokens per sequence
 * (⌈0.15 · 32⌉). Sized from measured time: a Table 5 arm costs ~0.35 s a step all in (start-up,
 * data, its own evaluations; 400 steps took 138 s wall at load ~2) plus ~50 s of evaluation, a
 * 2,048-review fine-tuning ~60 s. `--quick` (3 arms) affords 450 steps per arm in its 10 minutes
 * on an idle 2-core machine; the full run (17 arms, 12 of them also fine-tuned) 250 steps in its
 * 45. That is below what the sentence heads need: in the trials the SOP head learnt after 800
 * steps once and not after 700 (see ABLATIONS.md); `--steps 800` (~17 minutes quick) is the
 * budget to try for the pattern. `steps` overrides
 * either (warm-up stays 10% of it) for a longer study.
 * @example budgetOf('quick').steps // 450
 */
export const budgetOf = (mode: AblationMode, over: { readonly steps?: number } = {}): Budget => {
  if (mode === 'smoke')
    return {
      steps: over.steps ?? 2,
      batchSize: 4,
      seqLength: 16,
      maxPredictions: 3,
      optimizer: 'lamb',
      lr: 5e-3,
      warmup: 1,
      maxDocuments: 12,
      evalFraction: 0.25,
      seeds: [12345],
      pairsPerDocument: 2,
      maxPairs: 8,
      probePairs: 8,
      probeSteps: 5,
      finetune: { ...DEMO_FINETUNE, maxTrain: 8, maxEval: 8, batchSize: 4, seqLength: 16 },
    };
  const steps = over.steps ?? (mode === 'full' ? 250 : 450);
  return {
    steps,
    batchSize: 64,
    seqLength: 32,
    maxPredictions: 5,
    optimizer: 'lamb',
    lr: 5e-3,
    warmup: Math.round(steps / 10),
    maxDocuments: 0,
    evalFraction: 0.05,
    seeds: mode === 'full' ? [12345, 23456] : [12345],
    pairsPerDocument: 24,
    maxPairs: 1024,
    probePairs: 1024,
    probeSteps: 300,
    finetune: mode === 'full' ? { ...DEMO_FINETUNE, maxTrain: 2048 } : DEMO_FINETUNE,
  };
};

const armId = (objective: Objective, E: number, sharing: Sharing, seed: number): string => `${objective}-E${E}-${sharing}-s${seed}`;

/**
 * The arms and table rows of a mode: `smoke` (tiny dims: Table 5 and a two-row Table 3/4, for the
 * tests), `quick` (Table 5, one seed), `full` (Table 5 over two seeds, Tables 4 and 3 with IMDB
 * fine-tuning).
 * @example ablationPlan('full').arms.length // 17 distinct pretraining runs
 */
export const ablationPlan = (mode: AblationMode, over: { readonly steps?: number } = {}): AblationPlan => {
  const smoke = mode === 'smoke';
  const budget = budgetOf(mode, over);
  const base = 128;
  const arms = new Map<string, ArmSpec>();
  const add = (objective: Objective, paperE: number, sharing: Sharing, seed: number, role: { finetune?: boolean; probe?: boolean }): string => {
    const E = embeddingFor(paperE, ablationModel(32, 'all', smoke).hiddenSize);
    const id = armId(objective, E, sharing, seed);
    const prev = arms.get(id);
    arms.set(id, {
      id,
      config: ablationModel(E, sharing, smoke),
      objective,
      seed,
      paperE,
      finetune: (prev?.finetune ?? false) || role.finetune === true,
      probe: (prev?.probe ?? false) || role.probe === true,
    });
    return id;
  };
  const seed0 = budget.seeds[0] as number;
  const table5: Table5Row[] = (['none', 'nsp', 'sop'] as const).map((objective) => ({
    objective,
    arms: budget.seeds.map((s) => add(objective, base, 'all', s, { probe: true })),
  }));
  const table4: Table4Row[] = [];
  const table3: Table3Row[] = [];
  if (mode !== 'quick') {
    const es4: readonly number[] = smoke ? [base] : PAPER_TABLE4_EMBEDDING_SIZES;
    const sharings: readonly Sharing[] = smoke ? ['all', 'none'] : ['all', 'attention', 'ffn', 'none'];
    for (const paperE of es4) for (const sharing of sharings) table4.push({ paperE, sharing, arm: add('sop', paperE, sharing, seed0, { finetune: true }) });
    const es3: readonly number[] = smoke ? [base] : PAPER_EMBEDDING_SIZES;
    for (const shared of [false, true]) for (const paperE of es3) table3.push({ paperE, shared, arm: add('sop', paperE, shared ? 'all' : 'none', seed0, { finetune: true }) });
  }
  return { mode, budget, arms: [...arms.values()], table5, table4, table3 };
};
