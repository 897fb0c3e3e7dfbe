/**
 * Backend selection: native TensorFlow first, the pure-JS CPU backend only as a loud last resort.
 *
 * Order of preference (the default, "best available"): `tensorflow-gpu` (when an NVIDIA GPU is
 * present and `@tensorflow/tfjs-node-gpu` is installed) → `tensorflow` (`@tensorflow/tfjs-node`)
 * → `wasm` → `cpu`. `LAMINA_BACKEND` (or the CLI's `--backend`) forces one; forcing a backend that
 * cannot load is an error, never a silent fallback.
 *
 * @example
 * ```ts
 * import { selectBackend } from '@lamina/dsl';
 * const r = await selectBackend();            // Either<BackendError, BackendInfo>
 * if (r._tag === 'Right') console.log(r.right.name); // "tensorflow"
 * ```
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';

/** The backends lamina knows how to run on, best first. */
export const BACKEND_NAMES = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
/** One of {@link BACKEND_NAMES}. */
export type BackendName = (typeof BACKEND_NAMES)[number];

/** Why a backend could not be selected. */
export interface BackendError {
  readonly _tag: 'BackendError';
  readonly message: string;
}

/** What {@link selectBackend} chose, and why. */
export interface BackendInfo {
  /** The backend in use. */
  readonly name: BackendName;
  /** True for TensorFlow's native library (CPU or GPU). */
  readonly native: boolean;
  /** Version of the native TensorFlow library, when native. */
  readonly tensorflowVersion: string | undefined;
  /** Version of tfjs-core. */
  readonly tfjsVersion: string;
  /** Threads TensorFlow may use for one op (TF_NUM_INTRAOP_THREADS, else the core count). */
  readonly threads: number;
  /** Whether an NVIDIA GPU is visible to this process. */
  readonly gpu: boolean;
  /** True when the best backend could not load and a slower one was taken instead. */
  readonly fellBack: boolean;
  /** Why this backend was chosen (and why better ones were not). */
  readonly reasons: readonly string[];
}

const backendError = (message: string): BackendError => ({ _tag: 'BackendError', message });

/**
 * Parses a backend name as given by a user (env var or flag).
 * @example parseBackendName('tensorflow') // right('tensorflow'); parseBackendName('tpu') // left(...)
 */
export const parseBackendName = (s: string): E.Either<BackendError, BackendName> =>
  (BACKEND_NAMES as readonly string[]).includes(s)
    ? E.right(s as BackendName)
    : E.left(backendError(`unknown backend "${s}" (LAMINA_BACKEND / --backend): allowed values are ${BACKEND_NAMES.join(', ')}`));

/** True when an NVIDIA GPU driver is visible (no GPU library is loaded to find out). */
export const gpuPresent = (): boolean => fs.existsSync('/proc/driver/nvidia/version') || fs.existsSync('/dev/nvidia0');

const requireHere = createRequire(import.meta.url);

type Loader = () => Promise<E.Either<string, { native: boolean; tensorflowVersion?: string }>>;

const loadNode = (pkg: string): Loader => async () => {
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '3';
  try {
    // tfjs-node registers the "tensorflow" backend when it is required.
    const mod = requireHere(pkg) as { version?: Record<string, string>; backend?: () => unknown };
    const ok = await tf.setBackend('tensorflow');
    if (!ok) return E.left(`${pkg} loaded but the tensorflow backend did not initialise`);
    const binding = (tf.backend() as unknown as { binding?: { TF_Version?: string } }).binding;
    void mod;
    return E.right({ native: true, tensorflowVersion: binding?.TF_Version });
  } catch (e) {
    const msg = e instanceof Error ? e.message.split('\n')[0] ?? String(e) : String(e);
    return E.left(`${pkg} could not load (${msg}); run \`node scripts/setup-native.mjs\` to build it`);
  }
};

const LOADERS: Record<BackendName, Loader> = {
  'tensorflow-gpu': async () => {
    if (!gpuPresent()) return E.left('no NVIDIA GPU visible');
    try {
      requireHere.resolve('@tensorflow/tfjs-node-gpu');
    } catch {
      return E.left('@tensorflow/tfjs-node-gpu is not installed');
    }
    return loadNode('@tensorflow/tfjs-node-gpu')();
  },
  tensorflow: loadNode('@tensorflow/tfjs-node'),
  wasm: async () => {
    try {
      await import('@tensorflow/tfjs-backend-wasm');
      const ok = await tf.setBackend('wasm');
      return ok ? E.right({ native: false }) : E.left('the wasm backend did not initialise');
    } catch (e) {
      return E.left(`@tensorflow/tfjs-backend-wasm could not load (${e instanceof Error ? e.message : String(e)})`);
    }
  },
  cpu: async () => ((await tf.setBackend('cpu')) ? E.right({ native: false }) : E.left('the cpu backend did not initialise')),
};

let selected: BackendInfo | undefined;

/** Options of {@link selectBackend}. */
export interface SelectOptions {
  /** A backend name to force (overrides `LAMINA_BACKEND`). */
  readonly requested?: string | undefined;
  /** Where the loud fallback warning goes; default: stderr. */
  readonly warn?: (message: string) => void;
}

/** The warning printed whenever lamina runs on the pure-JS CPU backend. */
export const PURE_JS_WARNING =
  'WARNING: lamina is running on the pure-JS "cpu" backend, about 100x slower than native TensorFlow. ' +
  'Run `lamina doctor` to see why the native backend is unavailable.';

/**
 * Selects and initialises the tfjs backend: the forced one (`requested`, else `LAMINA_BACKEND`),
 * or the best available. Returns a readable error when a forced backend is unknown or cannot
 * load. Warns loudly (stderr) whenever the result is the pure-JS CPU backend.
 *
 * @example
 * ```ts
 * const info = await selectBackend({ requested: 'tensorflow' });
 * ```
 */
export const selectBackend = async (opts: SelectOptions = {}): Promise<E.Either<BackendError, BackendInfo>> => {
  const warn = opts.warn ?? ((m: string) => process.stderr.write(`${m}\n`));
  const raw = opts.requested ?? process.env.LAMINA_BACKEND;
  const wanted = raw === undefined || raw === '' || raw === 'auto' ? undefined : parseBackendName(raw);
  if (wanted && E.isLeft(wanted)) return wanted;
  const candidates: readonly BackendName[] = wanted ? [wanted.right] : BACKEND_NAMES;
  const reasons: string[] = [];
  for (const name of candidates) {
    const r = await LOADERS[name]();
    if (E.isLeft(r)) {
      reasons.push(`${name}: ${r.left}`);
      continue;
    }
    reasons.push(wanted ? `${name}: forced by ${opts.requested ? '--backend' : 'LAMINA_BACKEND'}` : `${name}: best available`);
    const info: BackendInfo = {
      name,
      native: r.right.native,
      tensorflowVersion: r.right.tensorflowVersion,
      tfjsVersion: tf.version_core,
      threads: Number(process.env.TF_NUM_INTRAOP_THREADS) || os.availableParallelism(),
      gpu: gpuPresent(),
      fellBack: !wanted && !r.right.native,
      reasons,
    };
    if (name === 'cpu') warn(PURE_JS_WARNING);
    else if (info.fellBack || (name === 'tensorflow' && info.gpu && !wanted)) warn(`WARNING: lamina fell back to the "${name}" backend: ${reasons.join('; ')}`);
    selected = info;
    return E.right(info);
  }
  return E.left(backendError(`backend ${candidates.join('/')} unavailable: ${reasons.join('; ')}`));
};

/** The backend chosen by the last successful {@link selectBackend}, if any. */
export const currentBackend = (): BackendInfo | undefined => selected;

/**
 * The `tf.node` namespace of tfjs-node (summary writers, image decoding), when the native backend
 * is loaded; `undefined` otherwise.
 */
export const tfNode = (): { summaryFileWriter: (logdir: string) => SummaryWriter } | undefined => {
  if (!selected?.native) return undefined;
  const pkg = selected.name === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
  return (requireHere(pkg) as { node: { summaryFileWriter: (logdir: string) => SummaryWriter } }).node;
};

/** The subset of tfjs-node's SummaryFileWriter lamina uses. */
export interface SummaryWriter {
  scalar(name: string, value: number, step: number): void;
  flush(): void;
}

/**
 * Versions of the tfjs packages and the chosen libraries as installed beside `@lamina/dsl`
 * (`null` for a package that is not installed).
 */
export const packageVersions = (): Record<string, string | null> => {
  const names = ['@tensorflow/tfjs', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-backend-wasm', 'fp-ts', 'io-ts'];
  const out: Record<string, string | null> = {};
  for (const n of names) {
    try {
      out[n] = (requireHere(`${n}/package.json`) as { version: string }).version;
    } catch {
      out[n] = null;
    }
  }
  return out;
};
