/**
 * GPT-2 in the lamina DSL: config and presets (`gpt2`, `gpt2-medium`, `gpt2-large`, `gpt2-xl`),
 * the model value (`GPT2LMHeadModel`), and Hugging Face interop (config.json, the name map with
 * the fused `c_attn` and `[in, out]` `Conv1D` weights, directory read/write).
 *
 * @example
 * ```ts
 * import { gpt2LMHeadModel, GPT2_PRESETS, readGpt2HfDirectory } from '@lamina/albert';
 * import { countParams } from '@lamina/dsl';
 * countParams(gpt2LMHeadModel(GPT2_PRESETS.gpt2)); // Right(124_439_808)
 * const m = await readGpt2HfDirectory('gpt2');     // Either<HfError, Gpt2HfModel>
 * ```
 * @module
 */
export * from './config.js';
export * from './model.js';
export * from './hf.js';
export * from './directory.js';
