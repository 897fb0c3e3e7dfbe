/**
 * The results of `pnpm bench generate` (`packages/bench/results/generate-<date>.json`) and the
 * `BENCHMARKS.md` section rendered from them: tokens/s of `lamina generate` for N new tokens with
 * the key/value cache as one graph function per step (the default), with the growing cache op by
 * op, and without a cache (the whole window per token), and Hugging Face's
 * `GPT2LMHeadModel.generate` (with its cache) as a peer. Pure and deterministic, like the rest of
 * the report.
 *
 * @example
 * ```ts
 * const g = parseGenerateResults(JSON.parse(fs.readFileSync('packages/bench/results/generate-2026-12-01.json', 'utf8')));
 * if (E.isRight(g)) console.log(renderGenerateSection(g.right, 'packages/bench/results/generate-2026-12-01.json').join('\n'));
 * ```
 * @module
 */
import fs from 'node:fs';
import path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type { Summary } from './stats.js';

/** One model size measured by `pnpm bench generate`. */
export interface GenerateRow {
  /** e.g. `GPT-2 tiny (H=64, L=2, V=10000)`. */
  readonly model: string;
  /** Parameter count (DSL `countParams`). */
  readonly params: number;
  /** Always `random`: untrained weights (speed does not depend on them; greedy never stops early). */
  readonly init: 'random';
  /** tokens/s with the fixed-capacity cache, each step one traced graph function (`compileGraphDecoder`, the default); absent in files written before it. */
  readonly graph?: Summary;
  /** Seconds of the first graph generation of N tokens, its traces included (what a one-shot `lamina generate` pays). */
  readonly graphFirstSeconds?: number;
  /** The engine the graph decoder ran on (`eager` after a fallback notice). */
  readonly graphEngine?: 'graph' | 'eager';
  /** tokens/s with the growing key/value cache, op by op (`compileIncremental`, `engine: 'eager'`). */
  readonly cached: Summary;
  /** tokens/s without it (`--no-cache`: the whole window per token, logits at the last position only). */
  readonly naive: Summary;
  /** tokens/s of Hugging Face `GPT2LMHeadModel.generate` (greedy, `use_cache=True`), or why it was skipped. */
  readonly hf: Summary | { readonly skipped: string };
  /** True when every lamina path's greedy run produced the same ids. */
  readonly sameGreedyIds: boolean;
}

/** Everything one `pnpm bench generate` run measured. */
export interface GenerateResults {
  readonly schema: 1;
  readonly kind: 'generate';
  readonly date: string;
  readonly command: string;
  readonly newTokens: number;
  readonly promptTokens: number;
  readonly repeats: number;
  readonly environment: {
    readonly backend: string;
    readonly cpuModel: string;
    readonly cpus: number;
    /** 1-minute load average at the start and the end. */
    readonly loadAverage: readonly [number, number];
    readonly node: string;
    readonly pytorch: { readonly torch: string; readonly transformers: string; readonly threads: number } | { readonly skipped: string };
  };
  readonly rows: readonly GenerateRow[];
}

/**
 * Checks that a parsed JSON value is a generate results file (shallowly).
 * @example parseGenerateResults({ kind: 'train' }) // left('not a generate results file: …')
 */
export const parseGenerateResults = (u: unknown): E.Either<string, GenerateResults> => {
  if (typeof u !== 'object' || u === null || Array.isArray(u)) return E.left('not a generate results file: expected a JSON object');
  const o = u as Record<string, unknown>;
  const missing = ['schema', 'kind', 'date', 'command', 'newTokens', 'promptTokens', 'repeats', 'environment', 'rows'].filter((k) => !Object.hasOwn(o, k));
  if (missing.length) return E.left(`not a generate results file: missing ${missing.join(', ')}`);
  if (o.kind !== 'generate' || o.schema !== 1) return E.left(`not a generate results file: kind ${JSON.stringify(o.kind)}, schema ${JSON.stringify(o.schema)} (expected "generate", 1)`);
  return E.right(u as GenerateResults);
};

/**
 * The newest `generate-<date>.json` in a results directory, parsed, with its path (undefined: none, or unreadable).
 * @example latestGenerateResults('packages/bench/results') // { results, file } | undefined
 */
export const latestGenerateResults = (dir: string): { readonly results: GenerateResults; readonly file: string } | undefined => {
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => /^generate-\d{4}-\d{2}-\d{2}(-quick)?\.json$/.test(n));
  } catch {
    return undefined;
  }
  for (const name of names.sort().reverse()) {
    const file = path.join(dir, name);
    try {
      const r = parseGenerateResults(JSON.parse(fs.readFileSync(file, 'utf8')));
      if (E.isRight(r)) return { results: r.right, file };
    } catch {
      // an unreadable file: try the next older one
    }
  }
  return undefined;
};

const num = (x: number): string => (Number.isFinite(x) ? (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)) : '—');
const cell = (s: Summary): string => (s.n === 0 ? '—' : `${num(s.min)} / **${num(s.median)}** / ${num(s.max)}`);
const ratio = (a: Summary | undefined, b: Summary): string => (a?.n && b.n && b.median > 0 ? `**${(a.median / b.median).toFixed(2)}×**` : '—');
const maybe = (s: Summary | undefined): string => (s ? cell(s) : '—');
/** The repeats per system: one number, or each row's when sizes ran different counts. */
const repeats = (g: GenerateResults): string => {
  const ns = g.rows.map((r) => r.naive.n);
  return ns.length === 0 || ns.every((n) => n === ns[0]) ? String(ns[0] ?? g.repeats) : g.rows.map((r) => `${r.naive.n} (${r.model})`).join(', ');
};
const int = (n: number): string => Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/**
 * The `BENCHMARKS.md` section of a generate results value (`file`: its path relative to the report).
 * @example renderGenerateSection(results, 'packages/bench/results/generate-2026-12-01.json')[0] // '## `lamina generate`: …'
 */
export const renderGenerateSection = (g: GenerateResults, file: string): string[] => {
  const e = g.environment;
  const pt = 'skipped' in e.pytorch ? `PyTorch skipped: ${e.pytorch.skipped}` : `torch ${e.pytorch.torch}, transformers ${e.pytorch.transformers}, ${e.pytorch.threads} threads`;
  const L: string[] = [];
  L.push(`## \`lamina generate\`: tokens/s for ${g.newTokens} new tokens, with and without the key/value cache`, '');
  L.push(
    `Generated by \`${g.command}\` on ${g.date} from [\`${file}\`](${file}) — do not edit by hand. ` +
      `Greedy decoding of ${g.newTokens} new tokens after a ${g.promptTokens}-token prompt, ${repeats(g)} interleaved repeats per system after one warm-up each ` +
      '(cells: tokens/s min / **median** / max). *graph cache* (the default): `generate` in `@lamina/train` with `compileGraphDecoder`, a key/value cache preallocated for the generation and each step one traced TensorFlow function; ' +
      '*first graph generation*: seconds of its first run, the trace of the decode step included (what a one-shot `lamina generate` pays; the prompt runs op by op), not counted in the tokens/s; ' +
      '*eager cache*: `compileIncremental`, a growing cache, op by op; ' +
      '*no cache*: `--no-cache`, the whole window through the model per token (logits at the last position only); ' +
      '*Hugging Face*: `GPT2LMHeadModel.generate(do_sample=False, use_cache=True)` on a model of the same size. ' +
      'All weights are random (untrained): the speed does not depend on them, and greedy decoding never stops early.',
    '',
  );
  L.push(
    '| model | parameters | graph cache | eager cache | no cache | Hugging Face | graph ÷ eager cache | graph ÷ no cache | graph ÷ Hugging Face | same greedy ids | first graph generation |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const r of g.rows) {
    const hf = 'skipped' in r.hf ? `skipped (${r.hf.skipped})` : cell(r.hf);
    const graph = r.graph && r.graphEngine === 'eager' ? `${maybe(r.graph)} (ran eager)` : maybe(r.graph);
    const first = r.graphFirstSeconds === undefined ? '—' : `${num(r.graphFirstSeconds)} s`;
    L.push(
      `| ${r.model} | ${int(r.params)} | ${graph} | ${cell(r.cached)} | ${cell(r.naive)} | ${hf} | ${ratio(r.graph, r.cached)} | ${ratio(r.graph, r.naive)} | ${'skipped' in r.hf ? '—' : ratio(r.graph, r.hf)} | ${r.sameGreedyIds ? 'yes' : '**no**'} | ${first} |`,
    );
  }
  L.push('');
  L.push(`Backend \`${e.backend}\`, ${e.cpuModel}, ${e.cpus} cores, load average (1 min) ${e.loadAverage[0].toFixed(1)} → ${e.loadAverage[1].toFixed(1)}, Node ${e.node}; ${pt}.`, '');
  return L;
};
