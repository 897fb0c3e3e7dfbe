/**
 * `@lamina/dsl`: models as pure values, interpreters over them, and a compiler to TensorFlow.js.
 * @module
 */
export * from './backend.js';
export * from './safetensors.js';
