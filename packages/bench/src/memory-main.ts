/**
 * `pnpm bench memory`: only the peak-memory rows of one bert-large LAMB step (lamina graph, lamina
 * eager, Hugging Face PyTorch, each in a process of its own; see `memory.ts`), without the rest of
 * the full bench. It writes `packages/bench/results/memory-<date>.json`; `BENCHMARKS.md`'s memory
 * section renders from the newest such file when the results it is generated from hold no memory
 * rows of their own (a `--quick` run), and says which run each figure came from.
 *
 * Peak RSS does not depend on the machine's load the way a timing does, but it does depend on the
 * free memory: bert-large with its LAMB state needs about 20 GB, so run it with nothing large beside it.
 *
 * @example
 * ```ts
 * const code = await memoryMain(['--smoke', '--out', '/tmp/mem']); // tiny stand-in, seconds
 * const m = latestMemoryResults('/tmp/mem'); // { results, file }
 * ```
 * @module
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import { selectBackend, writeFileAtomic } from '@lamina/dsl';
import { largeStepMemory, type LargeMemory } from './memory.js';
import { findPython } from './python.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(here, '..', '..', '..');
const RESULTS_DIR = path.join(REPO_ROOT, 'packages', 'bench', 'results');
const log = (m: string): void => {
  process.stderr.write(`[bench memory] ${m}\n`);
};

/**
 * What `pnpm bench memory` writes.
 * @example { schema: 1, kind: 'memory', date: '2026-12-01T19:00:00Z', command: 'pnpm bench memory', environment: { … }, largeMemory: { … } }
 */
export interface MemoryResults {
  readonly schema: 1;
  readonly kind: 'memory';
  readonly date: string;
  readonly command: string;
  readonly environment: {
    readonly backend: string;
    readonly cpuModel: string;
    readonly cpus: number;
    /** Total memory of the machine, bytes. */
    readonly totalMemoryBytes: number;
    /** 1-minute load average at start and end. */
    readonly loadAverage: readonly [number, number];
    readonly node: string;
  };
  readonly largeMemory: LargeMemory;
}

/** The usage text of `pnpm bench memory`. */
export const MEMORY_USAGE = [
  'usage: pnpm bench memory [--smoke] [--no-python] [--out <dir>]',
  '  peak RSS of one bert-large LAMB step: lamina graph, lamina eager and Hugging Face PyTorch, each in its own process',
  '  (about 20 GB of free memory needed; a few minutes on 2 cores); writes results/memory-<date>.json, which',
  '  BENCHMARKS.md renders from (re-render with pnpm bench --report <results.json>)',
  '  --smoke      a tiny BERT stand-in (checks the pipeline in seconds; the figures mean nothing)',
  '  --no-python  leave out Hugging Face PyTorch',
  '  --out <dir>  write the results file there (default: packages/bench/results)',
].join('\n');

/**
 * Checks that a parsed JSON value is a memory results file (shallowly).
 * @example parseMemoryResults({ kind: 'generate' }) // left('not a memory results file: …')
 */
export const parseMemoryResults = (u: unknown): E.Either<string, MemoryResults> => {
  if (typeof u !== 'object' || u === null || Array.isArray(u)) return E.left('not a memory results file: expected a JSON object');
  const o = u as Record<string, unknown>;
  const missing = ['schema', 'kind', 'date', 'command', 'environment', 'largeMemory'].filter((k) => !Object.hasOwn(o, k));
  if (missing.length) return E.left(`not a memory results file: missing ${missing.join(', ')}`);
  if (o.kind !== 'memory' || o.schema !== 1) return E.left(`not a memory results file: kind ${JSON.stringify(o.kind)}, schema ${JSON.stringify(o.schema)} (expected "memory", 1)`);
  const lm = o.largeMemory as Record<string, unknown> | null;
  if (typeof lm !== 'object' || lm === null || !Array.isArray(lm.rows)) return E.left('not a memory results file: largeMemory.rows is not a list');
  return E.right(u as MemoryResults);
};

/**
 * The newest `memory-<date>.json` in a results directory, parsed, with its path (undefined: none, or unreadable).
 * @example latestMemoryResults('packages/bench/results') // { results, file } | undefined
 */
export const latestMemoryResults = (dir: string): { readonly results: MemoryResults; readonly file: string } | undefined => {
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => /^memory-\d{4}-\d{2}-\d{2}\.json$/.test(n));
  } catch {
    return undefined;
  }
  for (const name of names.sort().reverse()) {
    const file = path.join(dir, name);
    try {
      const r = parseMemoryResults(JSON.parse(fs.readFileSync(file, 'utf8')));
      if (E.isRight(r)) return { results: r.right, file };
    } catch {
      // an unreadable file: try the next older one
    }
  }
  return undefined;
};

/**
 * Runs `pnpm bench memory` (see the module comment); resolves with the exit code (2: bad arguments).
 * @example await memoryMain(['--smoke', '--no-python', '--out', '/tmp/mem'])
 */
export const memoryMain = async (argv: readonly string[]): Promise<number> => {
  let smoke = false;
  let noPython = false;
  let out: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      process.stdout.write(`${MEMORY_USAGE}\n`);
      return 0;
    } else if (a === '--smoke') smoke = true;
    else if (a === '--no-python') noPython = true;
    else if (a === '--out') {
      out = argv[++i];
      if (!out) {
        process.stderr.write('pnpm bench memory: --out needs a directory\n');
        return 2;
      }
    } else {
      process.stderr.write(`pnpm bench memory: unknown argument ${JSON.stringify(a)} (see pnpm bench memory --help)\n`);
      return 2;
    }
  }
  const load0 = os.loadavg()[0] as number;
  const backend = await selectBackend();
  if (E.isLeft(backend)) {
    process.stderr.write(`${backend.left.message}\n`);
    return 1;
  }
  const python = noPython ? E.left('disabled with --no-python') : findPython();
  const largeMemory = await largeStepMemory({ smoke, python, log });
  const date = new Date().toISOString();
  const results: MemoryResults = {
    schema: 1,
    kind: 'memory',
    date,
    command: `pnpm bench memory${argv.length ? ` ${argv.join(' ')}` : ''}`,
    environment: {
      backend: backend.right.name,
      cpuModel: os.cpus()[0]?.model ?? 'unknown CPU',
      cpus: os.cpus().length,
      totalMemoryBytes: os.totalmem(),
      loadAverage: [load0, os.loadavg()[0] as number],
      node: process.version,
    },
    largeMemory,
  };
  const dir = out ?? RESULTS_DIR;
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `memory-${date.slice(0, 10)}.json`);
  const w = await writeFileAtomic(file, new TextEncoder().encode(`${JSON.stringify(results, null, 2)}\n`));
  if (E.isLeft(w)) {
    process.stderr.write(`pnpm bench memory: could not write ${file}: ${w.left.message}\n`);
    return 1;
  }
  for (const r of largeMemory.rows) log(`${r.system}: step peak ${r.stepPeakBytes === null ? '—' : `${(r.stepPeakBytes / 2 ** 30).toFixed(2)} GiB`}${r.error ? ` (${r.error})` : ''}`);
  log(`wrote ${path.relative(REPO_ROOT, file) || file} (BENCHMARKS.md renders its memory section from the newest such file: pnpm bench --report <results.json>)`);
  return 0;
};
