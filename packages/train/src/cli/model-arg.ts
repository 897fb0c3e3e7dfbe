/**
 * `--model <preset|config.json>` (+ `--sharing`, `--embedding-size` overrides) → a validated
 * ALBERT config, or a usage error naming the problem.
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import fs from 'node:fs';
import { CONFIG_LIMITS, decodeConfig, preset, PRESET_NAMES, SHARING, validateConfig, type AlbertConfig, type Sharing } from '@lamina/albert';
import { type OptionSpec, CliError, intOption, optNum, quoteInput, usageError } from './command.js';
import { fsCause } from '../run/rundir.js';

/** The model-selection options shared by several commands. */
export const MODEL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  model: { type: 'string', arg: 'preset|config.json', help: `a preset (${PRESET_NAMES.join(', ')}) or a config file` },
  sharing: { type: 'string', arg: SHARING.join('|'), help: 'cross-layer sharing strategy (paper Table 4)' },
  'embedding-size': intOption('embedding width E (factorised models)', { min: 1, max: CONFIG_LIMITS.embeddingSize, arg: 'E' }),
};

/** A config file larger than this is refused before it is read. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * Resolves the model options; `--model` is required. Errors are usage errors (exit 2).
 * @example resolveModel({ model: 'albert-base', sharing: 'ffn' }).config.sharing // 'ffn'
 */
export const resolveModel = (v: Record<string, unknown>): { config: AlbertConfig; source: string } => {
  const name = typeof v.model === 'string' && v.model !== '' ? v.model : undefined;
  if (name === undefined) throw usageError('missing --model (a preset or a config.json)');
  let config: AlbertConfig;
  if (name.endsWith('.json') || fs.existsSync(name)) {
    let json: unknown;
    let text: string;
    try {
      const st = fs.statSync(name);
      if (st.isDirectory()) throw usageError(`model config ${name} is a directory, not a JSON file`);
      if (st.size > MAX_CONFIG_BYTES) throw usageError(`model config ${name} has ${st.size} bytes, more than the limit of ${MAX_CONFIG_BYTES}`);
      text = fs.readFileSync(name, 'utf8');
    } catch (e) {
      if (e instanceof CliError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      throw usageError(code === 'ENOENT' ? `model config ${name} does not exist` : `cannot read model config ${name}: ${fsCause(e)}`);
    }
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw usageError(`model config ${name} is not valid JSON: ${(e instanceof Error ? e.message : String(e)).slice(0, 120)}`);
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
    if (!(SHARING as readonly string[]).includes(sharing)) throw usageError(`--sharing must be one of ${SHARING.join(', ')}, got ${quoteInput(sharing)}`);
    config = { ...config, sharing: sharing as Sharing };
  }
  const n = optNum(MODEL_OPTIONS, v, 'embedding-size');
  if (n !== undefined) {
    if (!config.factorized) throw usageError(`--embedding-size needs a factorised (ALBERT) model; ${name} is not factorised`);
    config = { ...config, embeddingSize: n };
  }
  const checked = validateConfig(config);
  if (E.isLeft(checked)) throw usageError(checked.left.message);
  return { config: checked.right, source: name };
};
