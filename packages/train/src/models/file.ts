/**
 * Users' own model files: a `.ts`/`.js` module whose default export is a DSL model value (or a
 * function `({ vocabSize, seqLength, numLabels }) => model`), or a `.json` file holding a model's
 * encoded value (`encodeModel`). A module's `import … from '@lamina/dsl'` resolves to this lamina
 * wherever the file lives (a Node module resolve hook; TypeScript runs through tsx like the CLI).
 * Every failure is one line naming the file and the cause.
 *
 * @example
 * ```ts
 * const m = await loadModelFile('/tmp/my-model.ts', { vocabSize: 10000, seqLength: 64, numLabels: 2 });
 * if (E.isRight(m)) console.log(countParams(m.right));
 * ```
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import fs from 'node:fs';
import module from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { decodeModel, type Node } from '@lamina/dsl';

/**
 * What a model factory (a default-exported function) is called with.
 * @example { vocabSize: 10000, seqLength: 128, numLabels: 2 }
 */
export interface ModelFactoryArgs {
  readonly vocabSize: number;
  readonly seqLength: number;
  readonly numLabels: number;
}

/** The extensions {@link loadModelFile} runs as modules. */
export const MODULE_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'] as const;

/**
 * Whether a `--model` argument names a model file (a module, or a `.json` holding an encoded model
 * value rather than an ALBERT config).
 * @example isModelFile('my-model.ts') // true
 */
export const isModelFile = (arg: string): boolean => {
  const ext = path.extname(arg).toLowerCase();
  if ((MODULE_EXTENSIONS as readonly string[]).includes(ext)) return true;
  if (ext !== '.json') return false;
  try {
    const j = JSON.parse(fs.readFileSync(arg, 'utf8')) as { kind?: unknown };
    return typeof j === 'object' && j !== null && typeof j.kind === 'string';
  } catch {
    return false;
  }
};

let hookRegistered = false;
/** Registers the `@lamina/*` resolve hook once (before the first model module is imported). */
const registerHook = (): void => {
  if (hookRegistered) return;
  hookRegistered = true;
  const here = path.dirname(fileURLToPath(import.meta.url));
  const pkgs = path.resolve(here, '../../..');
  const packages: Record<string, string> = {};
  for (const p of ['dsl', 'albert', 'train']) {
    const index = path.join(pkgs, p, 'src', 'index.ts');
    // the real path, so the model file shares the module instance (and tfjs) the CLI uses
    if (fs.existsSync(index)) packages[`@lamina/${p}`] = fs.realpathSync(index);
  }
  module.register(pathToFileURL(path.join(here, 'resolve-hook.mjs')).href, { data: { packages, loader: import.meta.url } });
};

const firstLine = (e: unknown): string => {
  const msg = e instanceof Error ? e.message : String(e);
  return (msg.split('\n').find((l) => l.trim() !== '') ?? msg).trim();
};

/**
 * Loads a model file (see the module comment) and checks that its value is a model.
 * @example const m = await loadModelFile('model.json', { vocabSize: 100, seqLength: 16, numLabels: 2 });
 */
export const loadModelFile = async (file: string, args: ModelFactoryArgs): Promise<E.Either<string, Node>> => {
  const abs = path.resolve(file);
  if (!fs.existsSync(abs)) return E.left(`model file ${file} does not exist`);
  if (!fs.statSync(abs).isFile()) return E.left(`model file ${file} is not a file`);
  const ext = path.extname(abs).toLowerCase();
  let value: unknown;
  if (ext === '.json') {
    try {
      value = JSON.parse(fs.readFileSync(abs, 'utf8'));
    } catch (e) {
      return E.left(`model file ${file} is not valid JSON: ${firstLine(e)}`);
    }
  } else if ((MODULE_EXTENSIONS as readonly string[]).includes(ext)) {
    registerHook();
    let mod: { default?: unknown };
    try {
      mod = (await import(pathToFileURL(abs).href)) as { default?: unknown };
    } catch (e) {
      return E.left(`cannot load model file ${file}: ${firstLine(e).replace(`${abs}:`, 'line ')}`);
    }
    if (mod.default === undefined)
      return E.left(`model file ${file} has no default export (export default a model value, or a function ({ vocabSize, seqLength, numLabels }) => model)`);
    value = mod.default;
    if (typeof value === 'function') {
      try {
        value = (value as (a: ModelFactoryArgs) => unknown)(args);
      } catch (e) {
        return E.left(`model file ${file}: its default export threw: ${firstLine(e)}`);
      }
    }
  } else return E.left(`model file ${file}: expected a .ts, .js or .json file`);
  // through JSON: the run stores the encoded value, and the JSON form of the same model trains identically
  const d = decodeModel(JSON.parse(JSON.stringify(value ?? null)));
  if (E.isLeft(d)) return E.left(`model file ${file}: the default export is not a model value: ${d.left.message}`);
  return E.right(d.right);
};
