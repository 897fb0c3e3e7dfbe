/**
 * `@lamina/train`: optimizers, schedules, the training loop, checkpoints and the `lamina` CLI.
 * @module
 */
export { main } from './cli/main.js';
export * from './optim/index.js';
export * from './schedule.js';
export * from './rng.js';
export * from './metrics.js';
export * from './plot.js';
export * from './checkpoint.js';
export * from './progress.js';
export * from './finetune/index.js';
export * from './pretrainer.js';
export * from './objectives/index.js';
export * from './core/step.js';
export { graphStep, stepOfEngine, engineLine, nativeBackendActive, pureUpdate, updatesPerParameter, PER_PARAMETER_UPDATE_FROM, type GraphStepSpec, type EngineStep, type UpdatePlacement } from './core/graph-step.js';
export * from './core/loop.js';
export * from './core/graph-eval.js';
export * from './run/generate.js';
