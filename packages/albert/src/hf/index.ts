/**
 * Hugging Face checkpoint interop for ALBERT: `config.json` ↔ `AlbertConfig`, the parameter
 * name map (with transposes and the tied decoder), and reading/writing model directories.
 *
 * @example
 * ```ts
 * import { readHfDirectory, writeHfDirectory } from '@lamina/albert';
 * const m = await readHfDirectory('albert-base-v2');               // Either<HfError, HfModel>
 * if (m._tag === 'Right') await writeHfDirectory('copy', m.right.config, m.right.architecture, m.right.params);
 * ```
 * @module
 */
export * from './config.js';
export * from './names.js';
export * from './directory.js';
