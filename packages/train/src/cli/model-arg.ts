/**
 * `--model <preset|config.json>` (+ `--sharing`, `--embedding-size` overrides) → a validated
 * ALBERT config, or a usage error naming the problem.
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import fs from 'node:fs';
import { decodeConfig, preset, PRESET_NAMES, SHARING, validateConfig, type AlbertConfig, type Sharing } from '@lamina/albert';
import { type OptionSpec, usageError } from './command.js';

/** The model-selection options shared by several commands. */
export const MODEL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  model: { type: 'string', arg: 'preset|config.json', help: `a preset (${PRESET_NAMES.join(', ')}) or a config file` },
  sharing: { type: 'string', arg: SHARING.join('|'), help: 'cross-layer sharing strategy (paper Table 4)' },
  'embedding-size': { type: 'string', arg: 'E', help: 'embedding width E (factorised models)' },
};

/** Resolves the model options; errors are usage errors (exit 2). */
export const resolveModel = (v: Record<string, unknown>, fallback?: string): { config: AlbertConfig; source: string } => {
  const name = typeof v.model === 'string' && v.model !== '' ? v.model : fallback;
  if (name === undefined) throw usageError('missing --model (a preset or a config.json)');
  let config: AlbertConfig;
  if (name.endsWith('.json') || fs.existsSync(name)) {
    let json: unknown;
    try {
      json = JSON.parse(fs.readFileSync(name, 'utf8'));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw usageError(code === 'ENOENT' ? `model config ${name} does not exist` : `model config ${name} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
    const r = decodeConfig(json);
    if (E.isLeft(r)) throw usageError(`model config ${name}: ${r.left.message}`);
    config = r.right;
  } else {
    const r = preset(name);
    if (E.isLeft(r)) throw usageError(r.left.message);
    config = r.right;
  }
  const sharing = v.sharing;
  if (typeof sharing === 'string') {
    if (!(SHARING as readonly string[]).includes(sharing)) throw usageError(`--sharing must be one of ${SHARING.join(', ')}, got "${sharing}"`);
    config = { ...config, sharing: sharing as Sharing };
  }
  const e = v['embedding-size'];
  if (typeof e === 'string') {
    const n = Number(e);
    if (!Number.isInteger(n) || n <= 0) throw usageError(`--embedding-size must be a positive integer, got "${e}"`);
    if (!config.factorized) throw usageError(`--embedding-size needs a factorised (ALBERT) model; ${name} is not factorised`);
    config = { ...config, embeddingSize: n };
  }
  const checked = validateConfig(config);
  if (E.isLeft(checked)) throw usageError(checked.left.message);
  return { config: checked.right, source: name };
};
