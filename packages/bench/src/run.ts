/**
 * `pnpm bench [--quick]`: runs every benchmark, writes `packages/bench/results/<date>.json`, the
 * SVG plots beside it, and regenerates `BENCHMARKS.md` at the repository root.
 * `pnpm bench --report <results.json>` only re-renders the report from a results file.
 * `pnpm bench ablations [--quick]` runs the paper's ablations instead (see `ablations/run.ts`).
 *
 * @example
 * ```ts
 * import { main } from '@lamina/bench';
 * process.exitCode = await main(['--quick']);
 * ```
 * @module
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import { albertForPretraining, PRESETS, tinyConfig, type AlbertConfig } from '@lamina/albert';
import { countParams, flops, selectBackend, tensorSig } from '@lamina/dsl';
import { writeSvgAtomic } from '@lamina/train';
import { loadPretrainer, type CreatePretrainer } from './lamina.js';
import { matmulRate } from './machine.js';
import { ceilingRows } from './ceiling.js';
import { benchDistributed, renderDistributed } from './distributed.js';
import { latestGenerateResults } from './generate-report.js';
import { microBenchmarks, type MicroResult } from './micro.js';
import { measureInterleaved, SYSTEM_LABELS, type Measurement, type Schedule, type SystemContext, type SystemKind, type SystemSpec } from './measure.js';
import type { KernelProfile } from './profile.js';
import { ensureTensorflow, findPython, runParamCounts, startTfWorker, startTorchWorker, type TorchWorker } from './python.js';
import { largeStepMemory, memoryChild, type LargeMemory } from './memory.js';
import { latestMemoryResults } from './memory-main.js';
import { parseResults, type Environment, type GraphStepResult, type MemoryRow, type ProfileResult, type Ratios, type Results, type ScalingPoint, type SpeedClaim, type Tried } from './results.js';
import { DEMO_BENCH_MODEL, stepGraphVsEager, STEP_BENCH_KINDS, type GraphVsEager } from './graph.js';
import { renderPlots, renderReport } from './report.js';
import { rates, ratioOfMedians, summarize } from './stats.js';
import { table1Configs, table1Rows } from './table1.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The repository root. */
export const REPO_ROOT = path.resolve(here, '..', '..', '..');
/** The hand-maintained "what we tried" table the generated report includes. */
export const TRIED_FILE = path.join(REPO_ROOT, 'packages', 'bench', 'TRIED.md');
/** Where results and plots go. */
export const RESULTS_DIR = path.join(REPO_ROOT, 'packages', 'bench', 'results');

/** Parsed command line. */
export interface BenchArgs {
  readonly quick: boolean;
  /** Tiny stand-ins for every model, one step each: checks the whole pipeline in seconds (tests). */
  readonly smoke?: boolean;
  /** Where results, plots and the report go (default: packages/bench/results and the repo root). */
  readonly out?: string;
  readonly python: boolean;
  readonly report: string | undefined;
  /** Internal: measure only ALBERT-large vs BERT-large and write the measurements to this file (run in a child process by the full bench). */
  readonly largeOnly?: string;
  /** Only 1 process vs 2 local data-parallel workers (see `distributed.ts`). */
  readonly distributed?: boolean;
  /** Internal: one large step's peak memory of one lamina engine, written to this file (a child process of the full bench, see `memory.ts`). */
  readonly memoryOnly?: string;
  /** With `memoryOnly`: the engine measured. */
  readonly engine?: 'graph' | 'eager';
  /** `--no-tensorflow`: leave out the TensorFlow-Python peer (default: measured; installed offline once when missing). */
  readonly tensorflow?: boolean;
}

/** `pnpm bench --help`. */
const USAGE = [
  'usage: pnpm bench [--quick] [--smoke] [--no-python] [--no-tensorflow] [--out <dir>]',
  '       pnpm bench --report <results.json> | pnpm bench --distributed | pnpm bench ablations [--quick] | pnpm bench generate | pnpm bench memory',
  '  --quick          base sizes, fewer steps (about 10 minutes on an idle 2-core machine (9m36s measured on AMD EPYC, 2026-12-01)); default: everything, incl. large models and peak memory',
  '  --smoke          tiny stand-ins for every model, one step each (checks the pipeline; figures mean nothing)',
  '  --no-python      leave out Hugging Face PyTorch and TensorFlow-Python',
  '  --no-tensorflow  leave out the TensorFlow-Python peer (default: measured; tensorflow-cpu==2.21.0 is installed offline into the venv once when missing)',
].join('\n');

/**
 * Parses `--quick`, `--no-python`, `--no-tensorflow`, `--report <file>`; anything else is an error value.
 * @example parseArgs(['--quick']) // right({ quick: true, python: true, report: undefined })
 */
export const parseArgs = (argv: readonly string[]): E.Either<string, BenchArgs> => {
  let quick = false;
  let python = true;
  let report: string | undefined;
  let smoke = false;
  let out: string | undefined;
  let largeOnly: string | undefined;
  let distributed = false;
  let memoryOnly: string | undefined;
  let engine: 'graph' | 'eager' | undefined;
  let tensorflow = true;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') quick = true;
    else if (a === '--no-tensorflow') tensorflow = false;
    else if (a === '--memory-only') {
      memoryOnly = argv[++i];
      if (!memoryOnly) return E.left('--memory-only needs a file');
    } else if (a === '--engine') {
      const v = argv[++i];
      if (v !== 'graph' && v !== 'eager') return E.left(`--engine must be graph or eager, got ${v === undefined ? 'nothing' : `"${v}"`}`);
      engine = v;
    }
    else if (a === '--distributed') distributed = true;
    else if (a === '--no-python') python = false;
    else if (a === '--smoke') smoke = true;
    else if (a === '--out') {
      out = argv[++i];
      if (!out) return E.left('--out needs a directory');
    }
    else if (a === '--large-only') {
      largeOnly = argv[++i];
      if (!largeOnly) return E.left('--large-only needs a file');
    } else if (a === '--report') {
      report = argv[++i];
      if (!report) return E.left('--report needs a results file');
    } else if (a === '--help' || a === '-h') return E.left(USAGE);
    else return E.left(`unknown argument "${a}" (usage: pnpm bench [--quick] [--no-python] [--no-tensorflow] [--report <results.json>])`);
  }
  return E.right({
    quick,
    python,
    report,
    ...(smoke ? { smoke } : {}),
    ...(out ? { out } : {}),
    ...(largeOnly ? { largeOnly } : {}),
    ...(distributed ? { distributed } : {}),
    ...(memoryOnly ? { memoryOnly, engine: engine ?? 'graph' } : {}),
    ...(tensorflow ? {} : { tensorflow }),
  });
};

/** The small config of the scaling curves (vocabulary kept small so the encoder dominates). */
export const scalingConfig = (over: Partial<AlbertConfig> = {}): AlbertConfig =>
  tinyConfig({ vocabSize: 2000, embeddingSize: 64, hiddenSize: 128, numAttentionHeads: 4, intermediateSize: 512, numHiddenLayers: 4, maxPositionEmbeddings: 512, ...over });

/** The tiny config of the throughput tables. */
export const tinyBenchConfig = (): AlbertConfig => tinyConfig({ maxPositionEmbeddings: 128 });

const log = (m: string): void => {
  process.stdout.write(`[bench] ${m}\n`);
};

const spec = (mode: 'train' | 'infer', model: string, config: AlbertConfig, system: SystemKind, batch = 8, seq = 128): SystemSpec => ({
  id: `${mode}:${model}:${system}`,
  model,
  config,
  system,
  mode,
  batch,
  seq,
  predictions: Math.min(20, Math.max(1, Math.round(seq * 0.15))),
  optimizer: system === 'lamina-masked' || system === 'lamina-masked-eager' ? 'lamb' : 'adamw',
});

const LIKE_FOR_LIKE: readonly SystemKind[] = ['lamina', 'handwritten', 'pytorch', 'lamina-masked'];

const paramsOf = (c: AlbertConfig): number => {
  const n = countParams(albertForPretraining(c, { objective: c.factorized ? 'sop' : 'nsp', mlmPositions: 'all' }));
  return E.isRight(n) ? n.right : NaN;
};

const writeReport = (results: Results, resultsFile: string, out?: string): void => {
  const plotsAt = out ?? RESULTS_DIR;
  const reportAt = out ?? REPO_ROOT;
  const rel = path.relative(reportAt, resultsFile);
  const plotDir = path.relative(reportAt, plotsAt) || '.';
  for (const [name, svg] of Object.entries(renderPlots(results))) {
    const w = writeSvgAtomic(path.join(plotsAt, name), svg);
    if (E.isLeft(w)) log(`could not write ${name}: ${w.left.message}`);
  }
  let tried: string | undefined;
  try {
    tried = fs.readFileSync(TRIED_FILE, 'utf8');
  } catch {
    log(`${path.relative(REPO_ROOT, TRIED_FILE)} is missing: the report has only this run's "what we tried" rows`);
  }
  const gen = latestGenerateResults(RESULTS_DIR);
  const generate = gen ? { results: gen.results, file: path.relative(reportAt, gen.file) } : undefined;
  // a run without memory rows of its own (--quick) shows the newest `pnpm bench memory` run's, named as such
  const mem = results.largeMemory ? undefined : latestMemoryResults(RESULTS_DIR);
  const memory = mem ? { results: mem.results, file: path.relative(reportAt, mem.file) } : undefined;
  fs.writeFileSync(path.join(reportAt, 'BENCHMARKS.md'), renderReport(results, { resultsFile: rel, plotDir, ...(tried ? { tried } : {}), ...(generate ? { generate } : {}), ...(memory ? { memory } : {}) }));
  log(`wrote ${path.join(reportAt, 'BENCHMARKS.md')} and plots in ${plotsAt}`);
};

/** Runs the benchmarks (or re-renders a report); resolves with the exit code. */
export const main = async (argv: readonly string[]): Promise<number> => {
  if (argv[0] === 'ablations') return (await import('./ablations/run.js')).ablationsMain(argv.slice(1));
  if (argv[0] === 'generate') return (await import('./generate.js')).generateMain(argv.slice(1));
  if (argv[0] === 'memory') return (await import('./memory-main.js')).memoryMain(argv.slice(1));
  const args = parseArgs(argv);
  if (E.isLeft(args)) {
    process.stderr.write(`${args.left}\n`);
    return 2;
  }
  if (args.right.distributed) {
    log('1 process vs 2 local workers (lamina pretrain --workers 2)…');
    const d = benchDistributed(args.right.quick ? { steps: 15, warmup: 3 } : { steps: 40, warmup: 5 });
    if (E.isLeft(d)) {
      process.stderr.write(`bench: ${d.left}\n`);
      return 1;
    }
    const dir = args.right.out ?? RESULTS_DIR;
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `distributed-${new Date().toISOString().slice(0, 10)}.json`);
    fs.writeFileSync(file, `${JSON.stringify(d.right, null, 2)}\n`);
    process.stdout.write(`${renderDistributed(d.right)}\n`);
    log(`wrote ${file}`);
    return 0;
  }
  if (args.right.memoryOnly) {
    const be = await selectBackend();
    if (E.isLeft(be)) {
      process.stderr.write(`bench: ${be.left.message}\n`);
      return 1;
    }
    const loaded = await loadPretrainer();
    if (E.isLeft(loaded)) {
      process.stderr.write(`bench: ${loaded.left}\n`);
      return 1;
    }
    await memoryChild(loaded.right.create, args.right.engine ?? 'graph', args.right.smoke === true, args.right.memoryOnly);
    return 0;
  }
  if (args.right.report) {
    const file = path.resolve(args.right.report);
    let json: unknown;
    try {
      json = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      process.stderr.write(`cannot read ${file}: ${String(e)}\n`);
      return 1;
    }
    const r = parseResults(json);
    if (E.isLeft(r)) {
      process.stderr.write(`${r.left}\n`);
      return 1;
    }
    writeReport(r.right, file, args.right.out);
    return 0;
  }
  const r = await runBench(args.right);
  if (args.right.largeOnly) return fs.existsSync(args.right.largeOnly) ? 0 : 1;
  if (E.isLeft(r)) {
    process.stderr.write(`bench: ${r.left}\n`);
    return 1;
  }
  return 0;
};

/** Runs everything and writes the files; the results value, or why the bench could not run. */
export const runBench = async (a: BenchArgs): Promise<E.Either<string, Results>> => {
  const t0 = performance.now();
  const quick = a.quick;
  const load0 = os.loadavg()[0] as number;
  const backend = await selectBackend();
  if (E.isLeft(backend)) return E.left(backend.left.message);
  const be = backend.right;
  if (!be.native) log(`WARNING: not on native TensorFlow (${be.name}); figures will not be representative`);
  const notes: string[] = [];

  // Python side (one worker for the whole run, so PyTorch steps interleave with the tfjs ones)
  const py = a.python ? findPython() : E.left('disabled with --no-python');
  let torch: E.Either<string, TorchWorker> = E.isLeft(py) ? py : E.left('not started');
  let torchInfo: Environment['pytorch'] = { skipped: E.isLeft(py) ? py.left : '' };
  if (E.isRight(py)) {
    log(`starting the PyTorch worker (${py.right})`);
    torch = await startTorchWorker(py.right);
    if (E.isRight(torch)) {
      const info = await torch.right.request({ cmd: 'info' });
      torchInfo = E.isRight(info)
        ? { torch: String(info.right.torch), transformers: String(info.right.transformers), threads: Number(info.right.threads) }
        : { skipped: info.left };
    } else torchInfo = { skipped: torch.left };
  }
  if ('skipped' in torchInfo) notes.push(`PyTorch comparison skipped: ${torchInfo.skipped}. Install it with \`node scripts/python/setup-venv.mjs\`.`);

  // TensorFlow-Python peer: the same step in the runtime lamina links, tf.function and XLA
  let tfw: E.Either<string, TorchWorker> = E.isLeft(py) ? py : a.tensorflow === false ? E.left('disabled with --no-tensorflow') : E.left('not started');
  let tfInfo: NonNullable<Environment['tensorflowPython']> = { skipped: E.isLeft(tfw) ? tfw.left : '' };
  if (E.isRight(py) && a.tensorflow !== false) {
    const ok = ensureTensorflow(py.right, { install: a.smoke !== true, log });
    if (E.isRight(ok)) {
      log(`starting the TensorFlow-Python worker (TF ${ok.right})`);
      tfw = await startTfWorker(py.right);
      const info = E.isRight(tfw) ? await tfw.right.request({ cmd: 'info' }) : tfw;
      tfInfo = E.isRight(info) ? { tensorflow: String(info.right.tensorflow), threads: Number(info.right.threads) } : { skipped: info.left };
      if (E.isLeft(info)) tfw = info;
    } else {
      tfw = ok;
      tfInfo = { skipped: ok.left };
    }
  }
  if ('skipped' in tfInfo) notes.push(`TensorFlow-Python peer not measured (its columns read "not measured"): ${tfInfo.skipped}. \`node scripts/python/setup-venv.mjs --with-tensorflow\` installs it offline.`);

  // 1. Table 1
  log('Table 1: parameter counts');
  let computed: Record<string, number | null> = {};
  let hfNote = 'Hugging Face column: recorded values (the Python helper did not run in this bench).';
  if (E.isRight(py)) {
    const pc = runParamCounts(py.right, Object.fromEntries(table1Configs().map((c) => [c.key, c.config])));
    if (E.isRight(pc)) {
      const { _versions, ...counts } = pc.right;
      computed = counts as Record<string, number | null>;
      const v = _versions as { torch?: string; transformers?: string } | undefined;
      hfNote = `Hugging Face column: computed in this run (transformers ${v?.transformers ?? '?'}, torch ${v?.torch ?? '?'}); ✓ = equal to lamina's count.`;
    } else hfNote = `Hugging Face column: recorded values (the helper failed: ${pc.left}).`;
  }
  const rows = table1Rows(computed);
  const mismatches = rows.filter((r) => r.hf !== null && r.hf !== r.lamina);
  if (mismatches.length) notes.push(`Parameter counts differ from Hugging Face for ${mismatches.map((m) => m.key).join(', ')}.`);

  const loaded = await loadPretrainer();
  if (E.isLeft(loaded)) notes.push(`lamina's training step not measured: ${loaded.left}.`);
  const createPretrainer = E.map((l: { create: CreatePretrainer }) => l.create)(loaded);
  const ctx: SystemContext = { createPretrainer, torch, tf: tfw, paramsOf, lr: 1e-4, seed: 1 };

  // matmul rate, measured before and after the main group (same run)
  const matmulN = 2048;
  const mm: number[] = [];
  const mmRun = async () => {
    const s = await matmulRate(matmulN, quick ? 2 : 3);
    mm.push(...s.seconds);
  };
  log(`matmul rate (${matmulN}³)`);
  await mmRun();

  // 2./5./6. training throughput (tiny, albert-base, bert-base), profile of albert-base
  const sched: Record<string, Schedule> = {
    train: quick ? { warmup: 1, steps: 1, repeats: 2 } : { warmup: 1, steps: 2, repeats: 3 },
    infer: quick ? { warmup: 1, steps: 1, repeats: 2 } : { warmup: 1, steps: 2, repeats: 3 },
    large: { warmup: 1, steps: 1, repeats: 2 },
    scaling: quick ? { warmup: 1, steps: 1, repeats: 2 } : { warmup: 1, steps: 2, repeats: 2 },
    tiny: { warmup: 2, steps: 5, repeats: 3 },
    demo: quick ? { warmup: 2, steps: 3, repeats: 3 } : { warmup: 2, steps: 5, repeats: 5 },
  };
  const tiny = tinyBenchConfig();
  const smoke = a.smoke === true;
  if (smoke) notes.push('Smoke run: tiny stand-in configs under every model name, one step each — the figures mean nothing.');
  const base = smoke ? tinyConfig() : PRESETS['albert-base'];
  const bertBase = smoke ? tinyConfig({ factorized: false, sharing: 'none', embeddingSize: 32, hiddenAct: 'gelu', hiddenDropoutProb: 0.1 }) : PRESETS['bert-base'];
  const S = smoke ? 32 : 128;
  if (smoke) for (const k of Object.keys(sched)) sched[k] = { warmup: 1, steps: 1, repeats: 1 };
  // 5. large (full run only). A bert-large step with LAMB state peaks near 20 GB and the memory is
  // not handed back, so the pair runs in a child process of its own (`--large-only`), one model at
  // a time, and this process merges its measurements.
  const largeSpecs = [
    spec('train', 'albert-large', smoke ? tinyConfig({ numHiddenLayers: 3 }) : PRESETS['albert-large'], 'lamina-masked', 8, S),
    spec('train', 'bert-large', smoke ? tinyConfig({ numHiddenLayers: 3, factorized: false, sharing: 'none', embeddingSize: 32 }) : PRESETS['bert-large'], 'lamina-masked', 8, S),
  ];
  if (a.largeOnly) {
    const measured: Measurement[] = [];
    for (const ls of largeSpecs) measured.push(...(await measureInterleaved([ls], ctx, sched.large as Schedule, log)).measurements);
    fs.writeFileSync(a.largeOnly, JSON.stringify(measured));
    return E.left(`large-only measurements written to ${a.largeOnly}`);
  }
  let large: Measurement[] = [];
  if (!quick || smoke) {
    log('ALBERT-large vs BERT-large (a child process, one model at a time)');
    const file = path.join(os.tmpdir(), `lamina-bench-large-${process.pid}.json`);
    const child = spawnSync(process.execPath, [path.join(REPO_ROOT, 'packages/bench/bin/bench.js'), '--large-only', file, '--no-python', ...(smoke ? ['--smoke'] : [])], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (child.status === 0 || fs.existsSync(file)) {
      try {
        large = JSON.parse(fs.readFileSync(file, 'utf8')) as Measurement[];
        notes.push('ALBERT-large and BERT-large were measured one after the other in a child process of this run (not interleaved): with their optimizer state they do not fit in memory beside the other systems.');
      } catch (e) {
        notes.push(`ALBERT-large vs BERT-large not measured: ${e instanceof Error ? e.message : String(e)}`);
      }
      fs.rmSync(file, { force: true });
    } else notes.push(`ALBERT-large vs BERT-large not measured: the child process ended with ${child.status ?? child.signal} (out of memory?).`);
  }

  // the demo model (`lamina demo`'s config) at 32 × 64: lamina's real step on both engines, the
  // TensorFlow-Python step mirroring it (masked positions, LAMB), and Hugging Face's own step
  const demo = smoke ? tinyConfig() : DEMO_BENCH_MODEL;
  const [DB, DS] = smoke ? [4, 32] : [32, 64];
  const demoSystems: SystemSpec[] = (['lamina-masked', 'lamina-masked-eager', 'pytorch', 'tf-graph', 'tf-xla'] as const).map((s) => ({
    ...spec('train', 'demo', demo, s, DB, DS),
    ...(s.startsWith('tf-') ? { optimizer: 'lamb' as const, mlmPositions: 'masked' as const } : {}),
  }));
  log(`training throughput: the demo model, ${DB} × ${DS} (${demoSystems.length} systems, interleaved)`);
  const demoProfileIds = ['train:demo:lamina-masked', 'train:demo:lamina-masked-eager'];
  const demoRes = await measureInterleaved(demoSystems, ctx, sched.demo as Schedule, log, demoProfileIds);
  const baseSystems: SystemSpec[] = [
    ...(quick ? LIKE_FOR_LIKE : ([...LIKE_FOR_LIKE, 'lamina-eager', 'tf-graph', 'tf-xla'] as const)).map((s) => spec('train', 'albert-base', base, s, 8, S)),
    ...(quick ? (['lamina', 'pytorch', 'lamina-masked'] as const) : LIKE_FOR_LIKE).map((s) => spec('train', 'bert-base', bertBase, s, 8, S)),
  ];
  log(`training throughput: albert-base and bert-base (${baseSystems.length} systems, interleaved)`);
  const profileIds = ['train:albert-base:lamina', 'train:albert-base:handwritten'];
  const baseRes = await measureInterleaved(baseSystems, ctx, sched.train as Schedule, log, profileIds);
  const train = [...demoRes.measurements, ...baseRes.measurements];
  await mmRun();

  // 3. inference
  log('inference throughput');
  const inferSpecs = (['lamina', 'lamina-eager', 'handwritten', 'pytorch'] as const).flatMap((s) => [
    spec('infer', 'tiny', tiny, s),
    spec('infer', 'albert-base', base, s, 8, S),
    ...(quick ? [] : [spec('infer', 'bert-base', bertBase, s, 8, S)]),
  ]);
  const infer = (await measureInterleaved(inferSpecs, ctx, sched.infer as Schedule, log)).measurements;

  // 7. scaling
  log('scaling');
  const scalingSpecs: { variable: 'layers' | 'seq'; value: number; sharing: string; config: AlbertConfig; spec: SystemSpec }[] = [];
  for (const n of smoke ? [1, 2] : quick ? [1, 2, 4, 8] : [1, 2, 4, 8, 12])
    for (const sharing of ['all', 'none'] as const) {
      const c = scalingConfig({ numHiddenLayers: n, sharing });
      scalingSpecs.push({ variable: 'layers', value: n, sharing, config: c, spec: { ...spec('train', `small L=${n} ${sharing}`, c, 'lamina-masked'), id: `scale:layers:${n}:${sharing}` } });
    }
  for (const s of smoke ? [16, 32] : quick ? [32, 64, 128, 256] : [32, 64, 128, 256, 512]) {
    const c = scalingConfig();
    scalingSpecs.push({ variable: 'seq', value: s, sharing: 'all', config: c, spec: { ...spec('train', `small S=${s}`, c, 'lamina-masked', 8, s), id: `scale:seq:${s}` } });
  }
  const scaleRes = (await measureInterleaved(scalingSpecs.map((x) => x.spec), ctx, sched.scaling as Schedule, log)).measurements;
  const scaling: ScalingPoint[] = scalingSpecs.map((x, i) => ({ variable: x.variable, value: x.value, sharing: x.sharing, params: paramsOf(x.config), measurement: scaleRes[i] as Measurement }));

  // candidate compiler changes, priced in isolation
  log('micro-benchmarks of candidate compiler changes');
  const micro = await microBenchmarks({ repeats: smoke ? 1 : quick ? 8 : 12, rows: smoke ? 64 : 8 * S });

  // PyTorch matmul, for context
  let pytorchGflops = null;
  if (E.isRight(torch)) {
    const r = await torch.right.request({ cmd: 'matmul', n: matmulN, repeats: 3 });
    if (E.isRight(r)) pytorchGflops = summarize((r.right.seconds as number[]).map((s) => (2 * matmulN ** 3) / s / 1e9));
    torch.right.close();
  }
  if (E.isRight(tfw)) tfw.right.close();

  // peak memory of one bert-large LAMB step, graph vs eager vs PyTorch, each in its own process (full run only)
  let largeMemory: LargeMemory | undefined;
  if (!quick || smoke) largeMemory = await largeStepMemory({ smoke, python: py, log });

  // data pipeline figure, when @lamina/albert exports it
  let dataPipeline: Results['dataPipeline'] = { skipped: '@lamina/albert does not export measureInstanceThroughput' };
  const albertMod = (await import('@lamina/albert')) as Record<string, unknown>;
  if (typeof albertMod.measureInstanceThroughput === 'function') {
    log('data pipeline throughput');
    const d = (albertMod.measureInstanceThroughput as () => E.Either<{ message?: string }, { tokensPerSecond: number; instances: number; seconds: number }>)();
    dataPipeline = E.isRight(d) ? { tokensPerSecond: d.right.tokensPerSecond, instances: d.right.instances, seconds: d.right.seconds } : { skipped: `measureInstanceThroughput failed: ${d.left.message ?? JSON.stringify(d.left)}` };
  }

  // derived figures
  const all = [...train, ...infer, ...large];
  const get = (ms: readonly Measurement[], model: string, system: SystemKind) => ms.find((m) => m.model === model && m.system === system && !m.error && m.seconds.length > 0);
  const ratio = (x: Measurement | undefined, y: Measurement | undefined) => (x && y ? ratioOfMedians(rates(x.seconds, x.tokensPerStep), rates(y.seconds, y.tokensPerStep)) : null);
  const matmulGflops = summarize(mm.map((s) => (2 * matmulN ** 3) / s / 1e9));
  const lam = get(train, 'albert-base', 'lamina');
  let utilisation: Results['utilisation'] = null;
  const fwd = flops(albertForPretraining(base, { mlmPositions: 'all' }), tensorSig([8, S], 'int32'), {
    attention_mask: tensorSig([8, S], 'int32'),
    token_type_ids: tensorSig([8, S], 'int32'),
  });
  if (lam && E.isRight(fwd)) {
    const stepFlops = 3 * fwd.right;
    const achieved = summarize(lam.seconds.map((s) => stepFlops / s / 1e9));
    utilisation = { model: 'albert-base', batch: 8, seq: S, forwardFlops: fwd.right, stepFlops, achievedGflops: achieved, matmulGflops: matmulGflops.median, utilisation: achieved.median / matmulGflops.median };
  } else if (E.isLeft(fwd)) notes.push(`FLOPs of albert-base could not be computed: ${fwd.left.message}`);
  // the ceiling of each like-for-like row: achieved GFLOP/s per system (the same FLOP count for
  // every system of a row) over this run's matmul rate, and matmul rate ÷ PyTorch's achieved rate
  const rowConfig: Readonly<Record<string, AlbertConfig>> = { 'albert-base': base, 'bert-base': bertBase };
  const forwardFlopsOf = (model: string, batch: number, seq: number): number | null => {
    const c = rowConfig[model];
    if (!c) return null;
    const f = flops(albertForPretraining(c, { mlmPositions: 'all' }), tensorSig([batch, seq], 'int32'), { attention_mask: tensorSig([batch, seq], 'int32'), token_type_ids: tensorSig([batch, seq], 'int32') });
    return E.isRight(f) ? f.right : null;
  };
  const ceiling = ceilingRows([...train, ...infer], forwardFlopsOf, matmulGflops.median);

  const speedClaim: SpeedClaim[] = [];
  for (const system of ['lamina-masked', 'lamina', 'pytorch'] as const) {
    const x = ratio(get(train, 'albert-base', system), get(train, 'bert-base', system));
    if (x !== null) speedClaim.push({ size: 'base', albert: 'albert-base', bert: 'bert-base', system: SYSTEM_LABELS[system], ratio: x, paper: 1.7 });
  }
  const lr = ratio(get(large, 'albert-large', 'lamina-masked'), get(large, 'bert-large', 'lamina-masked'));
  if (lr !== null) speedClaim.push({ size: 'large', albert: 'albert-large', bert: 'bert-large', system: SYSTEM_LABELS['lamina-masked'], ratio: lr, paper: 1.7 });

  const configOf: Record<string, AlbertConfig> = Object.fromEntries([...train, ...infer, ...large].map((m) => [m.model, m.config]));
  const ms0 = (model: string): AlbertConfig | undefined => configOf[model];
  const memory: MemoryRow[] = [];
  for (const model of [...new Set(all.map((m) => m.model))]) {
    const c = ms0(model);
    if (!c) continue;
    const n = paramsOf(c);
    const ms = all.filter((m) => m.model === model && !m.error);
    memory.push({
      model,
      params: n,
      paramBytes: 4 * n,
      optimizerBytes: 8 * n,
      peakRss: Object.fromEntries(ms.map((m) => [m.id, m.peakRssBytes])),
      tfBytes: Object.fromEntries(ms.filter((m) => m.system !== 'pytorch').map((m) => [m.id, m.tfBytes])),
    });
  }

  const prof = (id: string): KernelProfile | null => baseRes.profiles[id] ?? null;
  const demoProf = (id: string): KernelProfile | null => demoRes.profiles[id] ?? null;
  const profile: ProfileResult = {
    model: 'albert-base',
    batch: 8,
    seq: S,
    lamina: prof('train:albert-base:lamina'),
    handwritten: prof('train:albert-base:handwritten'),
    demo: { batch: DB, seq: DS, graph: demoProf('train:demo:lamina-masked'), eager: demoProf('train:demo:lamina-masked-eager') },
    note: "One like-for-like training step (MLM logits at all positions, AdamW) under `tf.profile`: each kernel is timed by the native backend as it runs (NaN checks off), grouped by kernel name; composite records (`*__op`, `forward` of a custom gradient) are left out so nothing counts twice. Profiling adds per-kernel overhead, so read the shares and call counts, not the absolute sum. lamina's column is its graph step: one call of the traced TensorFlow function, so its kernels are not visible one by one (the demo table below sets the eager step's op kinds beside the graph step's total).",
  };

  const dslVsHand = ratio(lam, get(train, 'albert-base', 'handwritten'));
  const trainVsPt = ratio(lam, get(train, 'albert-base', 'pytorch'));
  const demoGraph = get(train, 'demo', 'lamina-masked');
  const demoRatios = {
    graph_vs_eager_demo: ratio(demoGraph, get(train, 'demo', 'lamina-masked-eager')),
    train_vs_pytorch_demo: ratio(demoGraph, get(train, 'demo', 'pytorch')),
    train_vs_pytorch_bert_base: ratio(get(train, 'bert-base', 'lamina'), get(train, 'bert-base', 'pytorch')),
    train_vs_tf_graph_demo: ratio(demoGraph, get(train, 'demo', 'tf-graph')),
    train_vs_tf_xla_demo: ratio(demoGraph, get(train, 'demo', 'tf-xla')),
  };
  const inferVsPt = ratio(get(infer, 'albert-base', 'lamina'), get(infer, 'albert-base', 'pytorch'));
  const gelu = micro.find((m) => m.name.startsWith('GELU'));
  const ln = micro.find((m) => m.name.startsWith('LayerNorm'));
  const speedup = (m: MicroResult | undefined): string => {
    const first = m?.variants[0]?.ms.median;
    const last = m?.variants[m.variants.length - 1]?.ms.median;
    return first && last ? `${(first / last).toFixed(2)}× (${first.toFixed(1)} → ${last.toFixed(1)} ms median)` : '—';
  };
  // graph versus eager training steps (one TensorFlow function per step vs op by op), interleaved
  // (the demo's pretraining step is a row of the training table, measured with the others above)
  const graphRatios: { -readonly [K in 'graph_vs_eager_finetune' | 'graph_vs_eager_clm']: NonNullable<Ratios[K]> | null } = { graph_vs_eager_finetune: null, graph_vs_eager_clm: null };
  const graphSteps: GraphStepResult[] = [];
  if (be.native) {
    const g = smoke ? { repeats: 1, steps: 1, warmup: 2 } : quick ? { repeats: 3, steps: 2 } : { repeats: 5, steps: 5 };
    try {
      for (const k of STEP_BENCH_KINDS) {
        log(`graph vs eager: the ${k} step (16 × 128)`);
        const m: GraphVsEager = await stepGraphVsEager(k, g);
        graphRatios[k === 'finetune' ? 'graph_vs_eager_finetune' : 'graph_vs_eager_clm'] = m.ratio;
        graphSteps.push({ step: k, batch: m.batch, eager: m.eager, graph: m.graph, ratio: m.ratio, repeats: g.repeats, steps: g.steps });
      }
    } catch (e) {
      notes.push(`graph vs eager not measured: ${e instanceof Error ? e.message : String(e)}`);
    }
  } else notes.push('graph vs eager not measured: the graph engine needs the native TensorFlow backend.');
  log(`graph vs eager (ratio of medians): ${JSON.stringify(graphRatios)}`);
  const tried: Tried[] = [
    {
      change:
        'Hand-written gradients for GELU (tanh and exact) and LayerNorm, q scaled before q·kᵀ (commit 748a9e7). The hand-written tfjs baseline keeps the autodiff formulas, so lamina ÷ hand-written prices the change end to end (the run before it, at load ~9, measured 1.14)',
      measurement: 'albert-base 8 × 128 training tokens/s, lamina ÷ hand-written, ratio of medians (this run)',
      effect: dslVsHand === null ? '—' : dslVsHand.toFixed(3),
    },
    { change: 'GELU (tanh) analytic gradient, in isolation', measurement: 'fwd+bwd ms at albert-base shapes (section 9, this run)', effect: speedup(gelu) },
    { change: 'LayerNorm analytic gradient, in isolation', measurement: 'fwd+bwd ms at albert-base shapes (section 9, this run)', effect: speedup(ln) },
    {
      change: 'Same-run standing against PyTorch after the change',
      measurement: 'albert-base 8 × 128 training tokens/s, lamina ÷ Hugging Face PyTorch',
      effect: trainVsPt === null ? '—' : trainVsPt.toFixed(3),
    },
  ];

  const environment: Environment = {
    backend: be.name,
    native: be.native,
    tensorflowVersion: be.tensorflowVersion ?? null,
    tfjsVersion: be.tfjsVersion,
    threads: be.threads,
    node: process.version,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    cpus: os.cpus().length,
    loadAverage: [load0, os.loadavg()[0] as number],
    pytorch: torchInfo,
    tensorflowPython: tfInfo,
  };
  const date = new Date().toISOString();
  const results: Results = {
    schema: 1,
    date,
    command: `pnpm bench${quick ? ' --quick' : ''}${smoke ? ' --smoke' : ''}${a.python ? '' : ' --no-python'}${a.tensorflow === false ? ' --no-tensorflow' : ''}`,
    quick,
    durationSeconds: (performance.now() - t0) / 1000,
    environment,
    schedules: sched,
    table1: { rows, hfNote, xxlargeNote: (await import('./table1.js')).xxlargeNote(rows) },
    matmul: { n: matmulN, seconds: mm, gflops: matmulGflops, pytorchGflops },
    train,
    infer,
    large,
    utilisation,
    ceiling,
    speedClaim,
    memory,
    scaling,
    profile,
    micro,
    dataPipeline,
    tried,
    notes,
    graphSteps,
    ...(largeMemory ? { largeMemory } : {}),
    ratios: { train_vs_pytorch: trainVsPt, infer_vs_pytorch: inferVsPt, dsl_vs_handwritten: dslVsHand, utilisation: utilisation?.utilisation ?? null, ...demoRatios, ...graphRatios },
  };
  const dir = a.out ?? RESULTS_DIR;
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${date.slice(0, 10)}${quick ? '-quick' : ''}${smoke ? '-smoke' : ''}.json`);
  fs.writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  log(`wrote ${path.relative(REPO_ROOT, file)}`);
  writeReport(results, file, a.out);
  log(`ratios: ${JSON.stringify(results.ratios)}`);
  return E.right(results);
};
