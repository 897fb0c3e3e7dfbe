/**
 * `@lamina/albert`: ALBERT and BERT in the lamina DSL.
 * @module
 */
export * from './config.js';
export * from './tokenizer/index.js';
export * from './model.js';
