/**
 * The bench's Python side: finding an interpreter with torch + transformers, the parameter-count
 * helper, and a long-lived PyTorch worker (`python/torch_step.py`) spoken to in JSON lines, so
 * PyTorch measurements can be interleaved with the tfjs ones. Every failure is a value (the report
 * shows it as a visible "skipped" note), never a throw.
 *
 * @example
 * ```ts
 * const py = findPython();                         // Either<string, string>
 * if (E.isRight(py)) {
 *   const w = await startTorchWorker(py.right);    // Either<string, TorchWorker>
 *   if (E.isRight(w)) { console.log(await w.right.request({ cmd: 'info' })); w.right.close(); }
 * }
 * ```
 * @module
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** Directory of the bench's Python scripts. */
export const PYTHON_DIR = path.resolve(here, '..', 'python');
const repoRoot = path.resolve(here, '..', '..', '..');

/**
 * The Python interpreter to use: `LAMINA_PYTHON`, else the repository venv (`.venv/bin/python`,
 * made by `node scripts/python/setup-venv.mjs`), checked to import torch and transformers.
 * @example findPython() // right('/work/main/.venv/bin/python') or left('… torch is not importable …')
 */
export const findPython = (): E.Either<string, string> => {
  const candidates = [process.env.LAMINA_PYTHON, path.join(repoRoot, '.venv', 'bin', 'python')].filter((p): p is string => !!p);
  const reasons: string[] = [];
  for (const p of candidates) {
    if (!fs.existsSync(p)) {
      reasons.push(`${p} does not exist`);
      continue;
    }
    const r = spawnSync(p, ['-c', 'import torch, transformers'], { encoding: 'utf8', timeout: 120_000 });
    if (r.status === 0) return E.right(p);
    reasons.push(`${p}: torch/transformers not importable (${(r.stderr || r.error?.message || '').trim().split('\n').pop()})`);
  }
  return E.left(`no Python with torch + transformers (${reasons.join('; ') || 'set LAMINA_PYTHON or run node scripts/python/setup-venv.mjs'})`);
};

/**
 * Runs `param_counts.py` on named lamina configs → `{ name: count | null, _versions }`.
 * @example runParamCounts(py, { 'albert-base:all': PRESETS['albert-base'] })
 */
export const runParamCounts = (python: string, configs: Readonly<Record<string, unknown>>): E.Either<string, Record<string, unknown>> => {
  const r = spawnSync(python, [path.join(PYTHON_DIR, 'param_counts.py')], { input: JSON.stringify(configs), encoding: 'utf8', cwd: PYTHON_DIR, timeout: 600_000, maxBuffer: 1 << 24 });
  if (r.status !== 0) return E.left(`param_counts.py failed (${r.error?.message ?? `exit ${r.status}`}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`);
  try {
    return E.right(JSON.parse(r.stdout) as Record<string, unknown>);
  } catch (e) {
    return E.left(`param_counts.py printed something that is not JSON: ${String(e)}`);
  }
};

/** A running `torch_step.py` worker. */
export interface TorchWorker {
  /** Sends one command, resolves with its one-line JSON reply (a Left when the worker died or replied `ok: false`). */
  request(msg: Record<string, unknown>): Promise<E.Either<string, Record<string, unknown>>>;
  /** The worker's process id (for peak-memory notes). */
  readonly pid: number;
  /** Asks the worker to quit. */
  close(): void;
}

/**
 * Starts `torch_step.py` with `python` and waits for its ready line. Threads follow
 * `TF_NUM_INTRAOP_THREADS` when set (so both sides use the same count), else torch's default.
 * @example const w = await startTorchWorker(py); // Either<string, TorchWorker>
 */
export const startTorchWorker = (python: string): Promise<E.Either<string, TorchWorker>> => startWorker(python, 'torch_step.py');

/**
 * Starts `tf_step.py` (the same pretraining step in TensorFlow 2.21 Python, `tf.function` with or
 * without XLA), spoken to exactly like the PyTorch worker.
 * @example const w = await startTfWorker(py); if (E.isRight(w)) await w.right.request({ cmd: 'info' });
 */
export const startTfWorker = (python: string): Promise<E.Either<string, TorchWorker>> => startWorker(python, 'tf_step.py');

/** The TensorFlow wheel the bench's TensorFlow-Python peer uses: the runtime lamina's binding links. */
export const TF_PYTHON_PACKAGE = 'tensorflow-cpu==2.21.0';

/**
 * Whether `python` imports TensorFlow 2.21; with `install`, first installs {@link TF_PYTHON_PACKAGE}
 * offline into that interpreter's environment (`node scripts/python/setup-venv.mjs --with-tensorflow`
 * for the repository venv, pip with no retries otherwise) when it is missing. Only the bench asks for
 * it, so the test suite's venv setup does not grow. A Left says why the peer cannot run.
 * @example ensureTensorflow(py, { install: false }) // right('2.21.0') or left('tensorflow is not importable …')
 */
export const ensureTensorflow = (python: string, o: { readonly install: boolean; readonly log?: (m: string) => void }): E.Either<string, string> => {
  const probe = () => spawnSync(python, ['-c', 'import os; os.environ["TF_CPP_MIN_LOG_LEVEL"]="3"; import tensorflow as tf; print(tf.__version__)'], { encoding: 'utf8', timeout: 300_000 });
  let r = probe();
  if (r.status !== 0 && o.install) {
    o.log?.(`TensorFlow is not importable by ${python}; installing ${TF_PYTHON_PACKAGE} offline (once)`);
    const repoVenv = path.resolve(python) === path.resolve(repoRoot, '.venv', 'bin', 'python');
    const inst = repoVenv
      ? spawnSync(process.execPath, [path.join(repoRoot, 'scripts', 'python', 'setup-venv.mjs'), '--with-tensorflow'], { encoding: 'utf8', timeout: 1_800_000, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawnSync(python, ['-m', 'pip', 'install', '--retries', '0', '--timeout', '3', '--disable-pip-version-check', TF_PYTHON_PACKAGE], { encoding: 'utf8', timeout: 1_800_000 });
    if (inst.status !== 0) return E.left(`could not install ${TF_PYTHON_PACKAGE} (${(inst.stderr || inst.stdout || inst.error?.message || '').trim().split('\n').pop()})`);
    r = probe();
  }
  if (r.status !== 0) return E.left(`tensorflow is not importable by ${python} (${(r.stderr || r.error?.message || '').trim().split('\n').pop()})`);
  const v = r.stdout.trim().split('\n').pop() ?? '';
  return v.startsWith('2.21') ? E.right(v) : E.left(`TensorFlow-Python is ${v}, not the 2.21 lamina links`);
};

const startWorker = async (python: string, script: string): Promise<E.Either<string, TorchWorker>> => {
  const env = { ...process.env };
  if (process.env.TF_NUM_INTRAOP_THREADS) env.OMP_NUM_THREADS = process.env.TF_NUM_INTRAOP_THREADS;
  env.TF_CPP_MIN_LOG_LEVEL ??= '3';
  let child: ChildProcessWithoutNullStreams;
  try {
    child = spawn(python, [path.join(PYTHON_DIR, script)], { cwd: PYTHON_DIR, env, stdio: 'pipe' });
  } catch (e) {
    return E.left(`cannot start ${script}: ${String(e)}`);
  }
  let stderrTail = '';
  child.stderr.on('data', (d: Buffer) => {
    stderrTail = (stderrTail + d.toString()).slice(-2000);
  });
  const lines = readline.createInterface({ input: child.stdout });
  const waiting: ((line: string | undefined) => void)[] = [];
  const queued: string[] = [];
  let closed = false;
  lines.on('line', (l) => {
    const w = waiting.shift();
    if (w) w(l);
    else queued.push(l);
  });
  const onEnd = () => {
    closed = true;
    for (const w of waiting.splice(0)) w(undefined);
  };
  child.on('exit', onEnd);
  child.on('error', onEnd);
  const nextLine = (): Promise<string | undefined> =>
    queued.length ? Promise.resolve(queued.shift()) : closed ? Promise.resolve(undefined) : new Promise((res) => waiting.push(res));
  const ready = await nextLine();
  if (ready === undefined) return E.left(`${script} exited before it was ready: ${stderrTail.trim().split('\n').slice(-3).join(' | ')}`);
  let chain: Promise<unknown> = Promise.resolve();
  const request = (msg: Record<string, unknown>): Promise<E.Either<string, Record<string, unknown>>> => {
    const run = async (): Promise<E.Either<string, Record<string, unknown>>> => {
      if (closed) return E.left(`${script} has exited: ${stderrTail.trim().split('\n').slice(-3).join(' | ')}`);
      child.stdin.write(`${JSON.stringify(msg)}\n`);
      const line = await nextLine();
      if (line === undefined) return E.left(`${script} died: ${stderrTail.trim().split('\n').slice(-3).join(' | ')}`);
      try {
        const reply = JSON.parse(line) as Record<string, unknown>;
        return reply.ok === false ? E.left(String(reply.error)) : E.right(reply);
      } catch {
        return E.left(`${script} printed a non-JSON line: ${line.slice(0, 200)}`);
      }
    };
    const p = chain.then(run);
    chain = p.catch(() => undefined);
    return p;
  };
  return E.right({
    request,
    pid: child.pid ?? -1,
    close: () => {
      if (!closed) child.stdin.end(`${JSON.stringify({ cmd: 'quit' })}\n`);
    },
  });
};
