/**
 * Native TensorFlow entry points added by lamina's tfjs-node patch: graph functions, traced op
 * attributes, collective ops; and the protobuf encoders they take.
 *
 * @example
 * ```ts
 * import { graphFunctionSupport } from '@lamina/dsl';
 * graphFunctionSupport().available; // true on a patched native build
 * ```
 * @module
 */
export * from './proto.js';
export * from './binding.js';
