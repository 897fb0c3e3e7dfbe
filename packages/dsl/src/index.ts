/**
 * `@lamina/dsl`: models as pure values, interpreters over them, and a compiler to TensorFlow.js.
 *
 * @example
 * ```ts
 * import { seq, dense, residual, init, compile, countParams, summary, tensorSig } from '@lamina/dsl';
 * const mlp = seq(dense(4, 16, { activation: 'relu' }), residual(dense(16, 16, { activation: 'relu' })), dense(16, 3));
 * ```
 * @module
 */
export * from './backend.js';
export * from './layer.js';
export * from './primitive.js';
export * from './primitives/index.js';
export * from './tree.js';
export * from './paths.js';
export * from './shape.js';
export * from './params.js';
export * from './init.js';
export * from './compile.js';
export * from './graph.js';
export * from './flops.js';
export * from './codec.js';
export * from './summary.js';
export * from './util.js';
export * from './safetensors.js';
export * from './native/index.js';
export * from './incremental.js';
