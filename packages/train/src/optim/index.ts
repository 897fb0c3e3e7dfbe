/**
 * Optimizers (LAMB, AdamW), decay exclusions and gradient utilities.
 * @module
 */
export * from './exclude.js';
export * from './optimizer.js';
export * from './grads.js';
