/**
 * Corpora, pretraining instances (SOP/NSP, n-gram masking), held-out SOP/NSP evaluation pairs, batching, dataset cache, the IMDB task.
 * @module
 */
export * from './errors.js';
export * from './prng.js';
export * from './sentences.js';
export * from './corpus.js';
export * from './masking.js';
export * from './instances.js';
export * from './pairs.js';
export * from './batch.js';
export * from './cache.js';
export * from './dataset.js';
export * from './imdb.js';
export * from './throughput.js';
