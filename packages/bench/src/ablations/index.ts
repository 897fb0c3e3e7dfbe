/**
 * `pnpm bench ablations`: the ALBERT paper's Tables 3, 4 and 5 at laptop scale — the plan of arms,
 * their evaluation (held-out MLM / NSP / SOP accuracy, linear probes), the verdicts, and the pure
 * renderer of `ABLATIONS.md`.
 *
 * @example
 * ```ts
 * import { ablationPlan, renderAblations } from '@lamina/bench';
 * ablationPlan('quick').arms.length; // 3 (Table 5: none, NSP, SOP)
 * ```
 * @module
 */
export { ablationPlan, ablationModel, budgetOf, embeddingFor, type AblationMode, type AblationPlan, type ArmSpec, type Budget, type FinetuneBudget, type Table3Row, type Table4Row, type Table5Row } from './plan.js';
export { PAPER_TABLE3, PAPER_TABLE4, PAPER_TABLE5, PAPER_EMBEDDING_SIZES, PAPER_TABLE4_EMBEDDING_SIZES, type PaperDownstream, type PaperIntrinsic } from './paper.js';
export { trainLinearProbe, probeAccuracy, PROBE_DEFAULTS, type LinearProbe, type ProbeData, type ProbeOptions } from './probe.js';
export { buildEvalData, evaluateRun, firstDocuments, readRunModel, PROBE_FEATURES, type ArmEvaluation, type EvalData, type PairBatches, type SentenceScores } from './evaluate.js';
export { noiseMargin, summarySentence, table3Claims, table4Claims, table5Claims, type Claim, type Verdict } from './claims.js';
export { barChart, type Bar, type BarChart, type BarGroup } from './svg.js';
export { renderAblations, renderAblationPlots, ABLATION_PLOTS, type AblationReportOptions } from './report.js';
export { parseAblationResults, type AblationEnvironment, type AblationResults, type ArmResult, type DownstreamEntry, type SeedStat, type Table5Entry } from './results.js';
export { RECIPE_SEARCH, type RecipeTrial } from './tried.js';
export { ablationsMain, assembleTables, finetuneArgs, parseAblationArgs, pretrainArgs, runAblations, type AblationArgs } from './run.js';
