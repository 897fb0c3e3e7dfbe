/**
 * Fine-tuning and task evaluation: data files, tokenization into typed arrays, the task model's
 * training step, metrics, and the run that ties them together.
 * @module
 */
export * from './data.js';
export * from './encode.js';
export * from './metrics.js';
export * from './model.js';
export * from './run.js';
