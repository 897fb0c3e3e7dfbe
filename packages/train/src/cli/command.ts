/**
 * The shape of a CLI command and the error values that the CLI edge turns into exit codes.
 * @module
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Exit codes: 0 ok, 1 failure, 2 bad usage or bad input. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** A failure the CLI reports as one line, with its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code: number = EXIT.usage,
  ) {
    super(message);
  }
}

/** Bad usage or bad input (exit 2). */
export const usageError = (message: string): CliError => new CliError(message, EXIT.usage);
/** A failure that is not the user's input (exit 1). */
export const failure = (message: string): CliError => new CliError(message, EXIT.failure);

/** Option declarations as node's parseArgs takes them, plus help text. */
export type OptionSpec = {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly multiple?: boolean;
  readonly help: string;
  readonly default?: string | boolean;
  readonly arg?: string;
};

/** One `lamina` subcommand. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  readonly positionals?: boolean;
  readonly examples?: readonly string[];
  /** Runs the command; returns the exit code or throws a {@link CliError}. */
  run(values: Record<string, string | boolean | string[] | undefined>, positionals: string[]): Promise<number>;
}

/** Formats `--help` for a command. */
export const helpText = (c: Command): string => {
  const lines = [`lamina ${c.name} — ${c.summary}`, '', `Usage: ${c.usage}`, '', 'Options:'];
  const opts = Object.entries({ ...c.options, help: { type: 'boolean', short: 'h', help: 'show this help' } as OptionSpec });
  for (const [name, o] of opts) {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` <${o.arg ?? 'value'}>` : ''}`;
    const def = o.default !== undefined && o.default !== false ? ` (default: ${String(o.default)})` : '';
    lines.push(`  ${flag.padEnd(34)} ${o.help}${def}`);
  }
  if (c.examples?.length) lines.push('', 'Examples:', ...c.examples.map((e) => `  ${e}`));
  return lines.join('\n');
};

/** Parses argv for a command; unknown or malformed flags are a {@link usageError}. */
export const parseCommandArgs = (c: Command, argv: string[]) => {
  const options: NonNullable<ParseArgsConfig['options']> = { help: { type: 'boolean', short: 'h' } };
  for (const [name, o] of Object.entries(c.options)) {
    options[name] = {
      type: o.type,
      ...(o.short ? { short: o.short } : {}),
      ...(o.multiple ? { multiple: true } : {}),
    };
    // `default` is documentation only: commands apply their fallbacks when reading values, so an
    // option the user did not give stays undefined (e.g. `--resume` keeps the stored --steps).
  }
  try {
    return parseArgs({ args: argv, options, allowPositionals: c.positionals ?? false, strict: true });
  } catch (e) {
    const msg = e instanceof Error ? e.message.split('\n')[0] ?? '' : String(e);
    throw usageError(`${msg.replace(/\. To specify.*$/, '')} (see \`lamina ${c.name} --help\`)`);
  }
};

/** Reads a string option; a missing required one is a usage error. */
export const str = (v: Record<string, unknown>, name: string, cmd: string): string => {
  const x = v[name];
  if (typeof x !== 'string' || x === '') throw usageError(`missing --${name} (see \`lamina ${cmd} --help\`)`);
  return x;
};

/** Reads an optional string option. */
export const optStr = (v: Record<string, unknown>, name: string): string | undefined => {
  const x = v[name];
  return typeof x === 'string' && x !== '' ? x : undefined;
};

/** Reads a numeric option with bounds; a malformed number is a usage error. */
export const num = (
  v: Record<string, unknown>,
  name: string,
  fallback: number,
  { min = -Infinity, max = Infinity, integer = false }: { min?: number; max?: number; integer?: boolean } = {},
): number => {
  const x = v[name];
  if (x === undefined) return fallback;
  const n = typeof x === 'string' && x.trim() !== '' ? Number(x) : NaN;
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
    const range = `${integer ? 'an integer' : 'a number'}${min > -Infinity ? ` >= ${min}` : ''}${max < Infinity ? ` <= ${max}` : ''}`;
    throw usageError(`--${name} must be ${range}, got "${String(x)}"`);
  }
  return n;
};
