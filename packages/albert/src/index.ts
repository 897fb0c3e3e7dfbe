/**
 * `@lamina/albert`: the model zoo — ALBERT, BERT and GPT-2 in the lamina DSL.
 * @module
 */
export * from './config.js';
export * from './hf/index.js';
export * from './tokenizer/index.js';
export * from './model.js';
export * from './data/index.js';
export * from './gpt2/index.js';
