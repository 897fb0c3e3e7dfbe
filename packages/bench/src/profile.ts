/**
 * Where a step's time goes: runs a function under `tf.profile` (every kernel timed by the native
 * backend as it executes) and groups kernel time by kernel name, with call counts. The profile of
 * lamina's step next to the hand-written one shows whether the DSL adds kernels.
 *
 * @example
 * ```ts
 * const p = await profileKernels(async () => { const r = trainer.trainStep([b], 1e-4); await r.loss.data(); r.dispose(); });
 * p.byKernel[0]; // { kernel: 'BatchMatMul', calls: 240, ms: 5123.4 }
 * ```
 * @module
 */
import * as tf from '@tensorflow/tfjs';

/** Time of one kernel name over the profiled function. */
export interface KernelTime {
  readonly kernel: string;
  readonly calls: number;
  readonly ms: number;
}

/** A grouped profile. */
export interface KernelProfile {
  /** Wall time of the profiled call (profiling adds overhead; shares are what to read). */
  readonly wallMs: number;
  /** Sum of kernel times. */
  readonly kernelMs: number;
  readonly kernelCalls: number;
  /** Sorted by time, largest first. */
  readonly byKernel: readonly KernelTime[];
}

/**
 * Records that wrap other kernels (a `tf.customGrad` op is recorded as `forward` or `unnamed scope`,
 * a composite op as `<name>__op`) and would count their children twice.
 * @example isComposite('fusedMatMul__op') // true
 */
export const isComposite = (name: string): boolean => name.endsWith('__op') || name === 'forward' || name === 'unnamed scope';

/**
 * Groups kernel records (composites skipped, see {@link isComposite}) by name (pure; exported for tests).
 * @example groupKernels([{ kernelName: 'Add', kernelTimeMs: 1 }, { kernelName: 'Add', kernelTimeMs: 2 }]) // [{ kernel: 'Add', calls: 2, ms: 3 }]
 */
export const groupKernels = (ks: readonly { readonly kernelName: string; readonly kernelTimeMs: number }[]): KernelTime[] => {
  const m = new Map<string, { calls: number; ms: number }>();
  for (const k of ks) {
    if (isComposite(k.kernelName)) continue;
    const e = m.get(k.kernelName) ?? { calls: 0, ms: 0 };
    e.calls += 1;
    e.ms += Number.isFinite(k.kernelTimeMs) ? k.kernelTimeMs : 0;
    m.set(k.kernelName, e);
  }
  return [...m.entries()].map(([kernel, e]) => ({ kernel, ...e })).sort((a, b) => b.ms - a.ms || a.kernel.localeCompare(b.kernel));
};

/**
 * Profiles one call of `f` (NaN checks off, so only kernel time is measured).
 */
export const profileKernels = async (f: () => Promise<void>): Promise<KernelProfile> => {
  const prev = tf.env().getBool('CHECK_COMPUTATION_FOR_ERRORS');
  tf.env().set('CHECK_COMPUTATION_FOR_ERRORS', false);
  const t0 = performance.now();
  try {
    const info = await tf.profile(async () => {
      await f();
      return [];
    });
    const wallMs = performance.now() - t0;
    const kernels = await Promise.all(
      info.kernels.map(async (k) => ({ kernelName: k.name, kernelTimeMs: Number(await (k.kernelTimeMs as unknown as Promise<number> | number)) })),
    );
    const byKernel = groupKernels(kernels);
    return { wallMs, kernelMs: byKernel.reduce((a, k) => a + k.ms, 0), kernelCalls: kernels.length, byKernel };
  } finally {
    tf.env().set('CHECK_COMPUTATION_FOR_ERRORS', prev);
  }
};
