/**
 * `@lamina/bench`: the paper's parameter table reproduced from the model values, and training /
 * inference throughput measured side by side with a hand-written tfjs step and Hugging Face
 * PyTorch. `pnpm bench` writes `packages/bench/results/<date>.json` and `BENCHMARKS.md`.
 *
 * @example
 * ```ts
 * import { table1Rows, createHandwritten, renderReport } from '@lamina/bench';
 * table1Rows({}).length; // 20 preset × sharing rows
 * ```
 * @module
 */
export * from './stats.js';
export * from './table1.js';
export * from './synthetic.js';
export * from './handwritten.js';
export * from './lamina.js';
export * from './python.js';
export * from './machine.js';
export * from './profile.js';
export * from './micro.js';
export * from './measure.js';
export * from './results.js';
export * from './ceiling.js';
export * from './report.js';
export { main, runBench, parseArgs, scalingConfig, tinyBenchConfig, REPO_ROOT, RESULTS_DIR, TRIED_FILE, type BenchArgs } from './run.js';
export * from './graph.js';
export * from './memory.js';
export * from './ablations/index.js';
export * from './distributed.js';
export * from './generate-report.js';
