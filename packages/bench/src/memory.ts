/**
 * Peak memory of one large training step (issue 12, "Memory"): bert-large with LAMB, lamina's
 * graph step versus its eager step versus Hugging Face PyTorch, each in a process of its own, so
 * no system's figure includes what another left to the allocator.
 *
 * Each process first runs the steps that are not yet its steady state: one for eager lamina and
 * PyTorch, two for lamina's graph engine (bert-large's update runs per parameter, so its first
 * step traces the step function; a model updated in the function runs its first step eagerly and
 * traces on the second). Then it resets its peak RSS (Linux `/proc/self/clear_refs`, value 5) and
 * runs the measured steps: `stepPeakBytes` is the peak of those steps alone, `firstStepPeakBytes`
 * the peak up to the reset (the trace included), `stepSeconds` their mean wall time.
 *
 * @example
 * ```ts
 * const rows = await largeStepMemory({ smoke: true, python: E.left('no python') });
 * rows.rows.map((r) => [r.system, r.stepPeakBytes]);
 * ```
 * @module
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import { PRESETS, tinyConfig, type AlbertConfig } from '@lamina/albert';
import type { CreatePretrainer } from './lamina.js';
import { startTorchWorker } from './python.js';
import { syntheticBatch } from './synthetic.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * One system's peak memory over one large step.
 * @example { system: 'lamina graph', firstStepPeakBytes: 2e10, stepPeakBytes: 1.6e10 }
 */
export interface LargeMemoryRow {
  readonly system: 'lamina graph' | 'lamina graph, malloc tuned' | 'lamina eager' | 'Hugging Face PyTorch';
  /** Peak RSS up to the end of the unmeasured steps (the first step; for lamina graph also the tracing step). */
  readonly firstStepPeakBytes: number | null;
  /** Peak RSS of the measured steps alone (after the reset). */
  readonly stepPeakBytes: number | null;
  /** Wall seconds of the measured step (their mean): what a malloc setting costs in speed. Absent in files older than 2026-12-02. */
  readonly stepSeconds?: number | null;
  readonly optimizer: string;
  readonly error?: string;
}

/**
 * What {@link largeStepMemory} measured.
 * @example r.rows.find((x) => x.system === 'lamina graph')?.stepPeakBytes
 */
export interface LargeMemory {
  readonly model: string;
  readonly batch: number;
  readonly seq: number;
  /** Measured steps after the first. */
  readonly steps: number;
  readonly rows: readonly LargeMemoryRow[];
}

/**
 * The process's peak RSS since start or the last {@link resetPeakRss} (`VmHWM`); null off Linux.
 * @example peakRssBytes() // 1_234_567_890
 */
export const peakRssBytes = (): number | null => {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
};

/**
 * Resets the peak RSS to the current RSS; false when the kernel does not allow it.
 * @example resetPeakRss() // true on Linux
 */
export const resetPeakRss = (): boolean => {
  try {
    fs.writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
};

/**
 * The model, batch and steps of the measurement: bert-large at 8 × 128 with 20 masked positions
 * per row, or a tiny BERT under `smoke` (the same code path in seconds).
 * @example largeMemoryPlan(true).model // 'bert-large (smoke stand-in)'
 */
export const largeMemoryPlan = (smoke: boolean): { model: string; config: AlbertConfig; batch: number; seq: number; predictions: number; steps: number } =>
  smoke
    ? { model: 'bert-large (smoke stand-in)', config: tinyConfig({ numHiddenLayers: 3, factorized: false, sharing: 'none', embeddingSize: 32, hiddenAct: 'gelu' }), batch: 4, seq: 32, predictions: 5, steps: 1 }
    : { model: 'bert-large', config: PRESETS['bert-large'], batch: 8, seq: 128, predictions: 20, steps: 1 };

/**
 * The child side (`bench --memory-only <file> --engine graph|eager`): one LAMB pretraining step of
 * the plan's model, the reset, the measured steps; writes a {@link LargeMemoryRow} to `file`.
 * @example await memoryChild(create, 'graph', false, '/tmp/row.json')
 */
export const memoryChild = async (create: CreatePretrainer, engine: 'graph' | 'eager', smoke: boolean, file: string): Promise<void> => {
  const plan = largeMemoryPlan(smoke);
  const system = engine === 'graph' ? 'lamina graph' : 'lamina eager';
  const write = (row: LargeMemoryRow) => fs.writeFileSync(file, JSON.stringify(row));
  const notices: string[] = [];
  const t = create({ config: plan.config, objective: 'nsp', mlmPositions: 'masked', optimizer: 'lamb', seed: 1, clipNorm: 1, engine, onNotice: (l) => notices.push(l) });
  if (E.isLeft(t)) return write({ system, firstStepPeakBytes: null, stepPeakBytes: null, optimizer: 'lamb', error: t.left.message });
  const b = syntheticBatch(plan.config, { batch: plan.batch, seq: plan.seq, predictions: plan.predictions, seed: 1 });
  const step = async (i: number) => {
    const r = t.right.trainStep([b], 1e-4, i);
    await r.loss.data();
    r.dispose();
  };
  // graph: step 0 runs eager (it creates the optimizer state), step 1 traces; neither is the steady step
  const warmup = engine === 'graph' ? 2 : 1;
  for (let i = 0; i < warmup; i++) await step(i);
  const first = peakRssBytes();
  const reset = resetPeakRss();
  const t0 = performance.now();
  for (let i = warmup; i < warmup + plan.steps; i++) await step(i);
  const stepSeconds = (performance.now() - t0) / 1000 / plan.steps;
  const fell = engine === 'graph' && t.right.engine?.() === 'eager';
  write({
    system,
    firstStepPeakBytes: first,
    stepPeakBytes: reset ? peakRssBytes() : null,
    stepSeconds,
    optimizer: 'lamb',
    ...(fell ? { error: `the graph engine fell back to eager (${notices.join('; ')})` } : !reset ? { error: 'the peak RSS could not be reset (/proc/self/clear_refs)' } : {}),
  });
  t.right.dispose();
};

/**
 * glibc malloc settings for a large model's step: every buffer of 4 MiB or more gets a mapping of
 * its own, returned to the system when freed, in transparent huge pages where the kernel allows
 * them (`madvise` mode): fewer page faults than 4 KiB pages. With glibc's defaults (an mmap
 * threshold that rises to 32 MiB after the first large free) freed activation and gradient buffers
 * stay resident and fragment the heap. They must be in the environment when the process starts.
 * The price is speed: each large buffer is mapped and faulted in anew every step.
 * @example spawnSync('node', args, { env: { ...process.env, GLIBC_TUNABLES: MALLOC_TUNED } })
 */
export const MALLOC_TUNED = 'glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=4194304';

/** The environment without a user's malloc settings: glibc's defaults. */
const glibcDefaults = (): NodeJS.ProcessEnv => Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(GLIBC_TUNABLES|MALLOC_ARENA_MAX|MALLOC_MMAP_THRESHOLD_)$/.test(k)));

/** The mean of a worker's per-step seconds (null when it sent none). */
const meanOf = (xs: unknown): number | null => (Array.isArray(xs) && xs.length && xs.every((x) => typeof x === 'number') ? (xs as number[]).reduce((a, b) => a + b, 0) / xs.length : null);

const failed = (system: LargeMemoryRow['system'], optimizer: string, error: string): LargeMemoryRow => ({ system, firstStepPeakBytes: null, stepPeakBytes: null, optimizer, error });

/**
 * The parent side: lamina graph (with glibc's default malloc, and again with {@link MALLOC_TUNED})
 * and lamina eager each in a child `node` process, PyTorch in a fresh
 * worker process of its own (AdamW: torch has no LAMB; its state is the same two moments per
 * parameter). A process that dies (out of memory) is a row with its error.
 * @example see the module example
 */
export const largeStepMemory = async (o: { readonly smoke: boolean; readonly python: E.Either<string, string>; readonly log?: (m: string) => void }): Promise<LargeMemory> => {
  const plan = largeMemoryPlan(o.smoke);
  const rows: LargeMemoryRow[] = [];
  const children = [
    { engine: 'graph', system: 'lamina graph', tuned: false },
    { engine: 'graph', system: 'lamina graph, malloc tuned', tuned: true },
    { engine: 'eager', system: 'lamina eager', tuned: false },
  ] as const;
  for (const { engine, system, tuned } of children) {
    o.log?.(`peak memory of one ${plan.model} LAMB step: ${system} (a child process${tuned ? `, GLIBC_TUNABLES=${MALLOC_TUNED}` : ", glibc's default malloc"})`);
    const file = path.join(os.tmpdir(), `lamina-bench-memory-${process.pid}-${engine}${tuned ? '-tuned' : ''}.json`);
    const child = spawnSync(process.execPath, [path.join(here, '..', 'bin', 'bench.js'), '--memory-only', file, '--engine', engine, '--no-python', ...(o.smoke ? ['--smoke'] : [])], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: tuned ? { ...glibcDefaults(), GLIBC_TUNABLES: MALLOC_TUNED } : glibcDefaults(),
    });
    try {
      rows.push({ ...(JSON.parse(fs.readFileSync(file, 'utf8')) as LargeMemoryRow), system });
    } catch {
      rows.push(failed(system, 'lamb', `the child process ended with ${child.status ?? child.signal} and wrote no figure (out of memory?)`));
    }
    fs.rmSync(file, { force: true });
  }
  o.log?.(`peak memory of one ${plan.model} step: Hugging Face PyTorch (a worker process of its own)`);
  if (E.isLeft(o.python)) rows.push(failed('Hugging Face PyTorch', 'adamw', o.python.left));
  else {
    const w = await startTorchWorker(o.python.right);
    if (E.isLeft(w)) rows.push(failed('Hugging Face PyTorch', 'adamw', w.left));
    else {
      const setup = await w.right.request({ cmd: 'setup', id: 'memory', config: plan.config, batch: plan.batch, seq: plan.seq, predictions: plan.predictions, mode: 'train', lr: 1e-4, clip_norm: 1.0, seed: 1 });
      const first = E.isRight(setup) ? await w.right.request({ cmd: 'time', id: 'memory', steps: 0, warmup: 1 }) : setup;
      const reset = E.isRight(first) ? await w.right.request({ cmd: 'reset_peak' }) : first;
      const timed = E.isRight(reset) ? await w.right.request({ cmd: 'time', id: 'memory', steps: plan.steps, warmup: 0 }) : reset;
      rows.push(
        E.isRight(first) && E.isRight(timed)
          ? {
              system: 'Hugging Face PyTorch',
              firstStepPeakBytes: (first.right.hwm_bytes as number | null) ?? null,
              stepPeakBytes: (timed.right.hwm_bytes as number | null) ?? null,
              stepSeconds: meanOf(timed.right.seconds),
              optimizer: 'adamw',
            }
          : failed('Hugging Face PyTorch', 'adamw', E.isLeft(timed) ? timed.left : 'not measured'),
      );
      w.right.close();
    }
  }
  return { model: plan.model, batch: plan.batch, seq: plan.seq, steps: plan.steps, rows };
};
