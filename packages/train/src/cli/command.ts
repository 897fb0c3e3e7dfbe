/**
 * The shape of a CLI command, its option specs (numeric bounds and defaults stated once, here),
 * strict argument parsing, and the error values that the CLI edge turns into exit codes.
 *
 * @example
 * ```ts
 * const options = { steps: intOption('optimizer steps', { min: 1, max: 10_000_000, default: 1000, arg: 'N' }) };
 * const { values } = parseCommandArgs({ name: 'x', summary: '', usage: '', options, run: async () => 0 }, ['--steps', '-1']);
 * // throws CliError('--steps must be an integer >= 1, got -1')
 * ```
 * @module
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * Exit codes: 0 ok, 1 failure, 2 bad usage or bad input.
 * @example return EXIT.usage;
 */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/**
 * A failure the CLI reports as one line, with its exit code.
 * @example throw new CliError('runs/x is a file, not a directory', EXIT.usage);
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code: number = EXIT.usage,
  ) {
    super(message);
  }
}

/**
 * Bad usage or bad input (exit 2).
 * @example throw usageError('missing --out');
 */
export const usageError = (message: string): CliError => new CliError(message, EXIT.usage);
/**
 * A failure that is not the user's input (exit 1).
 * @example throw failure('checkpoint failed: disk full');
 */
export const failure = (message: string): CliError => new CliError(message, EXIT.failure);

/**
 * Bounds of a numeric option: every numeric flag has both, so no value can be absurd.
 * @example const b: NumberBounds = { integer: true, min: 1, max: 1_000_000 };
 */
export interface NumberBounds {
  readonly integer: boolean;
  readonly min: number;
  readonly max: number;
}

/**
 * Option declarations as node's parseArgs takes them, plus help text, the default (stated once)
 * and, for numbers, their bounds.
 * @example const o: OptionSpec = { type: 'string', arg: 'N', help: 'optimizer steps', default: '1000', number: { integer: true, min: 1, max: 1e7 } };
 */
export type OptionSpec = {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly multiple?: boolean;
  readonly help: string;
  readonly default?: string | boolean;
  readonly arg?: string;
  /** A numeric option: checked against these bounds when the arguments are parsed. */
  readonly number?: NumberBounds;
};

/**
 * Upper limits shared by the numeric flags of every command (each flag names its own in its spec).
 * They are far above any sensible value and well below what would overflow a typed array.
 * @example intOption('optimizer steps', { min: 1, max: LIMITS.steps })
 */
export const LIMITS = {
  steps: 100_000_000,
  epochs: 10_000,
  batchSize: 65_536,
  gradAccum: 65_536,
  seqLength: 65_536,
  evalBatches: 1_000_000,
  examples: 1_000_000_000,
  documents: 1_000_000_000,
  keepLast: 10_000,
  lr: 10,
  weightDecay: 10,
  clipNorm: 1_000_000,
  seed: 4_294_967_295,
  vocabSize: 1_000_000,
} as const;

/**
 * An integer option (a safe integer within `min..max`).
 * @example intOption('optimizer steps', { min: 1, max: 10_000_000, default: 1000, arg: 'N' })
 */
export const intOption = (help: string, o: { min: number; max: number; default?: number; arg?: string }): OptionSpec => ({
  type: 'string',
  arg: o.arg ?? 'N',
  help,
  ...(o.default !== undefined ? { default: String(o.default) } : {}),
  number: { integer: true, min: o.min, max: o.max },
});

/**
 * A real-valued option within `min..max`.
 * @example numberOption('peak learning rate', { min: 0, max: 10, default: 0.001, arg: 'x' })
 */
export const numberOption = (help: string, o: { min: number; max: number; default?: number; arg?: string }): OptionSpec => ({
  type: 'string',
  arg: o.arg ?? 'x',
  help,
  ...(o.default !== undefined ? { default: String(o.default) } : {}),
  number: { integer: false, min: o.min, max: o.max },
});

/**
 * One `lamina` subcommand.
 * @example const c: Command = { name: 'hello', summary: 'say hello', usage: 'lamina hello', options: {}, run: async () => EXIT.ok };
 */
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

/**
 * The flag that asks for TensorFlow's own log lines (the `lamina` bin hides them otherwise).
 * @example argv.includes(VERBOSE_FLAG)
 */
export const VERBOSE_FLAG = '--verbose';

const fmtLimit = (n: number): string => String(n);

/** The range sentence of a numeric option, e.g. "an integer >= 1". */
const rangeText = (b: NumberBounds, side: 'min' | 'max' | 'both'): string => {
  const kind = b.integer ? 'an integer' : 'a number';
  if (side === 'min') return `${kind} >= ${fmtLimit(b.min)}`;
  if (side === 'max') return `${kind} <= ${fmtLimit(b.max)} (the limit)`;
  return `${kind} from ${fmtLimit(b.min)} to ${fmtLimit(b.max)}`;
};

/** Plain decimal notation only: no hex/octal/binary, no `Infinity`, no spaces, no `_`. */
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Makes any message one printable line: control characters, invalid surrogates and other
 * non-printables are escaped (`\x00`, `\n`, `\u200b`), and it is cut at `max` characters.
 * @example oneLine('bad\nbytes \u0000\u0001') // 'bad\\nbytes \\x00\\x01'
 */
export const oneLine = (s: string, max = 400): string => {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += ' ';
    else if (c < 0x20 || (c >= 0x7f && c < 0xa0)) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if ((c >= 0xd800 && c <= 0xdfff) || c === 0xfffd || (c >= 0x200b && c <= 0x200f) || (c >= 0x2028 && c <= 0x202e) || c === 0xfeff) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
    if (out.length >= max) return `${out.slice(0, max)}…`;
  }
  return out;
};

/** Shortens what the user typed for a message (a few escaped characters at most). */
export const quoteInput = (s: string, max = 40): string => `"${oneLine(s, max).replace(/"/g, '\\"')}"`;

/**
 * Parses one numeric flag value against its bounds; a problem is a {@link usageError} naming the
 * flag, the range (or the limit) and the value.
 * @example parseNumberFlag('steps', '-1', { integer: true, min: 1, max: 1e7 }) // throws '--steps must be an integer >= 1, got -1'
 */
export const parseNumberFlag = (name: string, raw: string, b: NumberBounds): number => {
  const s = raw.trim();
  if (!DECIMAL.test(s)) throw usageError(`--${name} must be ${rangeText(b, b.min > -1e9 ? 'min' : 'both')}, got ${quoteInput(raw)}`);
  const n = Number(s);
  if (!Number.isFinite(n)) throw usageError(`--${name} must be ${rangeText(b, 'max')}, got ${quoteInput(raw)}`);
  if (n < b.min) throw usageError(`--${name} must be ${rangeText(b, 'min')}, got ${s}`);
  if (n > b.max) throw usageError(`--${name} must be ${rangeText(b, 'max')}, got ${s}`);
  if (b.integer && !Number.isSafeInteger(n)) throw usageError(`--${name} must be ${rangeText(b, 'both')}, got ${s}`);
  return n;
};

/**
 * Formats `--help` for a command.
 * @example console.log(helpText(pretrain))
 */
export const helpText = (c: Command): string => {
  const lines = [`lamina ${c.name} — ${c.summary}`, '', `Usage: ${c.usage}`, '', 'Options:'];
  const opts = Object.entries({
    ...c.options,
    verbose: { type: 'boolean', help: "show TensorFlow's own log lines" } as OptionSpec,
    help: { type: 'boolean', short: 'h', help: 'show this help' } as OptionSpec,
  });
  for (const [name, o] of opts) {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` <${o.arg ?? 'value'}>` : ''}`;
    const def = o.default !== undefined && o.default !== false ? ` (default: ${String(o.default)})` : '';
    const range = o.number ? ` [${fmtLimit(o.number.min)}..${fmtLimit(o.number.max)}]` : '';
    lines.push(`  ${flag.padEnd(34)} ${o.help}${def}${range}`);
  }
  if (c.examples?.length) lines.push('', 'Examples:', ...c.examples.map((e) => `  ${e}`));
  return lines.join('\n');
};

const NEGATIVE = /^-(?:\d|\.\d)/;

/**
 * Joins `--flag -1` into `--flag=-1` for string options, so a negative number reaches the
 * bounds check (node's parseArgs calls it "ambiguous" otherwise).
 * @example joinNegativeValues(['--steps', '-1'], new Set(['steps'])) // ['--steps=-1']
 */
export const joinNegativeValues = (argv: readonly string[], stringOptions: ReadonlySet<string>): string[] => {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const next = argv[i + 1];
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (a.startsWith('--') && !a.includes('=') && stringOptions.has(a.slice(2)) && next !== undefined && NEGATIVE.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
};

/**
 * Parses argv for a command: unknown or malformed flags, and numeric values outside their
 * declared bounds, are a {@link usageError}. Defaults are not filled in (an option the user did
 * not give stays undefined, e.g. `--resume` keeps the stored `--steps`); read them with
 * {@link optNum} / {@link numOr}.
 * @example parseCommandArgs(pretrain, ['--out', 'runs/x', '--steps', '100']).values.steps // '100'
 */
export const parseCommandArgs = (c: Command, argv: string[]) => {
  const options: NonNullable<ParseArgsConfig['options']> = { help: { type: 'boolean', short: 'h' }, verbose: { type: 'boolean' } };
  const strings = new Set<string>();
  for (const [name, o] of Object.entries(c.options)) {
    options[name] = {
      type: o.type,
      ...(o.short ? { short: o.short } : {}),
      ...(o.multiple ? { multiple: true } : {}),
    };
    if (o.type === 'string') strings.add(name);
  }
  let parsed;
  try {
    parsed = parseArgs({ args: joinNegativeValues(argv, strings), options, allowPositionals: c.positionals ?? false, strict: true });
  } catch (e) {
    const msg = e instanceof Error ? (e.message.split('\n')[0] ?? '') : String(e);
    throw usageError(`${msg.replace(/\. To specify.*$/, '').slice(0, 200)} (see \`lamina ${c.name} --help\`)`);
  }
  if (parsed.values.help !== true) {
    for (const [name, o] of Object.entries(c.options)) {
      const x = parsed.values[name];
      if (o.number && typeof x === 'string') parseNumberFlag(name, x, o.number);
      if (o.type === 'string' && typeof x === 'string' && x.includes('\0')) throw usageError(`--${name} contains a NUL character`);
    }
  }
  return parsed;
};

/**
 * Reads a string option; a missing required one is a usage error.
 * @example const out = str(v, 'out', 'pretrain');
 */
export const str = (v: Record<string, unknown>, name: string, cmd: string): string => {
  const x = v[name];
  if (typeof x !== 'string' || x === '') throw usageError(`missing --${name} (see \`lamina ${cmd} --help\`)`);
  return x;
};

/**
 * Reads an optional string option.
 * @example optStr(v, 'corpus') ?? 'bundled'
 */
export const optStr = (v: Record<string, unknown>, name: string): string | undefined => {
  const x = v[name];
  return typeof x === 'string' && x !== '' ? x : undefined;
};

/**
 * A numeric option given by the user, checked against the bounds in its spec, or undefined.
 * @example optNum(PRETRAIN_OPTIONS, v, 'steps') // 100 for --steps 100, undefined when not given
 */
export const optNum = (options: Readonly<Record<string, OptionSpec>>, v: Record<string, unknown>, name: string): number | undefined => {
  const spec = options[name];
  if (!spec?.number) throw new Error(`option --${name} is not declared as a number`);
  const x = v[name];
  return typeof x === 'string' ? parseNumberFlag(name, x, spec.number) : undefined;
};

/**
 * A numeric option, or its default from the spec (or `fallback` for a default computed from other
 * values, like `--warmup`'s 10% of `--steps`).
 * @example numOr(PRETRAIN_OPTIONS, v, 'batch-size') // 32 unless given
 */
export const numOr = (options: Readonly<Record<string, OptionSpec>>, v: Record<string, unknown>, name: string, fallback?: number): number => {
  const given = optNum(options, v, name);
  if (given !== undefined) return given;
  if (fallback !== undefined) return fallback;
  const d = options[name]?.default;
  if (typeof d !== 'string') throw new Error(`option --${name} has no default`);
  return Number(d);
};

/** The limit of a numeric flag read with {@link num} when it names none. */
export const DEFAULT_NUMBER_LIMIT = 1_000_000_000;

/**
 * Reads a numeric option with bounds (for options not declared with {@link intOption} /
 * {@link numberOption}); a malformed or out-of-range number is a usage error. Without `max` the
 * limit is {@link DEFAULT_NUMBER_LIMIT}.
 * @example num(v, 'steps', 1500, { min: 1, integer: true })
 */
export const num = (
  v: Record<string, unknown>,
  name: string,
  fallback: number,
  { min = -DEFAULT_NUMBER_LIMIT, max = DEFAULT_NUMBER_LIMIT, integer = false }: { min?: number; max?: number; integer?: boolean } = {},
): number => {
  const x = v[name];
  if (x === undefined) return fallback;
  return parseNumberFlag(name, String(x), { integer, min, max });
};
