/**
 * Run directories that never lose what a user has: what a directory holds, whether a command may
 * write there, creating it only after every input has been checked, staged writes that replace an
 * old run only on success, the flags a `--resume` may not change, and file-system errors as one
 * line naming the path and the real cause.
 *
 * Used by `lamina pretrain`, `finetune`, `export-hf` and meant for every command that writes a run.
 *
 * @example
 * ```ts
 * const ok = checkOutDir('runs/x', { kind: 'lamina-pretraining-run', resume: false });  // Either<RunDirError, DirInfo>
 * // … validate every other input, then create it …
 * if (E.isRight(ok)) await createRunDir('runs/x', 'config.json', { kind: 'lamina-pretraining-run', steps: 100 });
 * ```
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import fs from 'node:fs';
import path from 'node:path';
import { canonicalJson, writeFileAtomic } from '@lamina/dsl';

/**
 * A problem with a run directory; `code` 2 for the user's input or path, 1 for a failure during a run.
 * @example { message: 'runs/x is a file, not a directory (--out)', code: 2 }
 */
export interface RunDirError {
  readonly message: string;
  readonly code: 1 | 2;
}
const dirError = (message: string, code: 1 | 2 = 2): RunDirError => ({ message, code });

const CAUSES: Record<string, string> = {
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENAMETOOLONG: 'file name too long',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  ENOTDIR: 'a part of the path is a file, not a directory',
  EISDIR: 'is a directory',
  ENOENT: 'does not exist',
  EEXIST: 'already exists',
  ENOTEMPTY: 'directory not empty',
  EMFILE: 'too many open files',
  EIO: 'input/output error',
  ELOOP: 'too many symbolic links',
};

/**
 * The real cause of a file-system error in words, with its code.
 * @example fsCause(Object.assign(new Error('x'), { code: 'EROFS' })) // 'read-only file system (EROFS)'
 */
export const fsCause = (e: unknown): string => {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string') return `${CAUSES[code] ?? code.toLowerCase()} (${code})`;
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0]?.slice(0, 200) ?? 'unknown error';
};

/**
 * One line for a file-system error: what was attempted, on which path, and why.
 * @example fsErrorLine('cannot create', 'runs/x', err) // 'cannot create runs/x: permission denied (EACCES)'
 */
export const fsErrorLine = (action: string, file: string, e: unknown): string => `${action} ${file}: ${fsCause(e)}`;

/**
 * True when `e` is a Node file-system error (it has an errno code such as EACCES).
 * @example isFsError(err) && fsCause(err)
 */
export const isFsError = (e: unknown): e is NodeJS.ErrnoException =>
  e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && /^E[A-Z]+$/.test((e as NodeJS.ErrnoException).code as string);

/**
 * The kinds of directory lamina writes (the `kind` field of their config file).
 * @example const k: RunKind = 'lamina-finetune-run';
 */
export type RunKind = 'lamina-pretraining-run' | 'lamina-finetune-run';

/** The config file of each kind. */
export const RUN_KIND_FILES: Readonly<Record<RunKind, string>> = {
  'lamina-pretraining-run': 'config.json',
  'lamina-finetune-run': 'finetune.json',
};

const KIND_WORDS: Readonly<Record<string, string>> = {
  'lamina-pretraining-run': 'a lamina pretraining run',
  'lamina-finetune-run': 'a lamina fine-tuning run',
  huggingface: 'a Hugging Face model (config.json)',
  config: 'a config.json lamina did not write',
};

/** Entries lamina writes in a run directory (any of them present means the directory is in use). */
export const RUN_ENTRIES = ['config.json', 'finetune.json', 'checkpoints', 'metrics.jsonl', 'tensorboard', 'curves.svg', 'eval.json', 'tokenizer.json', 'spiece.model', 'data', 'model.safetensors'] as const;

/**
 * What a directory holds, as far as lamina is concerned.
 * @example inspectDir('runs/base') // { exists: true, isDirectory: true, kind: 'lamina-pretraining-run', entries: ['checkpoints', 'config.json', …] }
 */
export interface DirInfo {
  readonly exists: boolean;
  readonly isDirectory: boolean;
  /** The run kind of its config file, `huggingface` for an HF model's config.json, `config` for another config.json. */
  readonly kind: RunKind | 'huggingface' | 'config' | undefined;
  /** Which of {@link RUN_ENTRIES} it holds. */
  readonly entries: readonly string[];
  /** Whether it holds anything at all. */
  readonly empty: boolean;
}

const readKind = (file: string): DirInfo['kind'] => {
  try {
    const j = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    if (j.kind === 'lamina-pretraining-run' || j.kind === 'lamina-finetune-run') return j.kind;
    if ('model_type' in j || 'architectures' in j) return 'huggingface';
    return 'config';
  } catch {
    return 'config';
  }
};

/**
 * Looks at a directory without changing it (a missing one is `exists: false`).
 * @example if (inspectDir(out).kind === 'lamina-pretraining-run') refuse();
 */
export const inspectDir = (dir: string): DirInfo => {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    return { exists: false, isDirectory: false, kind: undefined, entries: [], empty: true };
  }
  if (!st.isDirectory()) return { exists: true, isDirectory: false, kind: undefined, entries: [], empty: false };
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir);
  } catch {
    names = [];
  }
  const entries = RUN_ENTRIES.filter((e) => names.includes(e));
  const kind = names.includes('finetune.json') ? readKind(path.join(dir, 'finetune.json')) : names.includes('config.json') ? readKind(path.join(dir, 'config.json')) : undefined;
  return { exists: true, isDirectory: true, kind, entries, empty: names.length === 0 };
};

/** The nearest existing ancestor of a path (itself when it exists). */
const nearestExisting = (p: string): string => {
  let cur = path.resolve(p);
  for (;;) {
    if (fs.existsSync(cur)) return cur;
    const up = path.dirname(cur);
    if (up === cur) return cur;
    cur = up;
  }
};

/** At least this much free space is wanted before a run starts. */
export const MIN_FREE_BYTES = 16 * 1024 * 1024;

/**
 * Checks that a directory could be created (or written) at `dir`: every component is short
 * enough, the nearest existing ancestor is a writable directory on a writable file system with
 * some free space. Creates nothing.
 * @example checkWritable('/proc/x') // left({ message: 'cannot create /proc/x: … (ENOENT)', code: 2 })
 */
export const checkWritable = (dir: string, flag = '--out'): E.Either<RunDirError, void> => {
  for (const part of path.resolve(dir).split(path.sep))
    if (Buffer.byteLength(part) > 255) return E.left(dirError(`cannot create ${flag} ${dir}: file name too long (ENAMETOOLONG)`));
  if (Buffer.byteLength(path.resolve(dir)) > 4000) return E.left(dirError(`cannot create ${flag} ${dir}: file name too long (ENAMETOOLONG)`));
  const base = nearestExisting(dir);
  let st: fs.Stats;
  try {
    st = fs.statSync(base);
  } catch (e) {
    return E.left(dirError(fsErrorLine(`cannot create ${flag}`, dir, e)));
  }
  if (!st.isDirectory())
    return E.left(dirError(base === path.resolve(dir) ? `${flag} ${dir} is a file, not a directory` : `cannot create ${flag} ${dir}: ${path.relative(process.cwd(), base) || base} is a file, not a directory`));
  try {
    fs.accessSync(base, fs.constants.W_OK | fs.constants.X_OK);
  } catch (e) {
    return E.left(dirError(fsErrorLine(base === path.resolve(dir) ? `cannot write to ${flag}` : `cannot create ${flag}`, dir, e)));
  }
  try {
    const s = fs.statfsSync(base);
    if (s.bavail * s.bsize < MIN_FREE_BYTES) return E.left(dirError(`cannot write to ${flag} ${dir}: no space left on device (ENOSPC; ${Math.floor((s.bavail * s.bsize) / 1024)} KiB free)`));
  } catch {
    // statfs is not available everywhere; the writes themselves will say so
  }
  return E.right(undefined);
};

/**
 * Options of {@link checkOutDir}.
 * @example checkOutDir('runs/ft', { kind: 'lamina-finetune-run', overwrite: true })
 */
export interface OutDirOptions {
  /** The kind of run the command writes. */
  readonly kind: RunKind;
  /** Continue the run already there (it must be of `kind`). */
  readonly resume?: boolean;
  /** Replace a run of the same kind (staged: see {@link stageDir}). */
  readonly overwrite?: boolean;
  /** The flag that named the directory, for messages. */
  readonly flag?: string;
}

/**
 * Whether a command may write a run of `kind` into `dir`. Refused, with one line and code 2: a
 * path that is a file or cannot be created; a directory holding a run of another kind, a Hugging
 * Face model, or checkpoints and run files it did not write; an existing run of the same kind
 * unless resuming or overwriting; resuming where there is no run. Creates nothing.
 * @example checkOutDir('runs/base', { kind: 'lamina-finetune-run' }) // left: 'runs/base holds a lamina pretraining run; choose another --out for the fine-tuning run'
 */
export const checkOutDir = (dir: string, o: OutDirOptions): E.Either<RunDirError, DirInfo> => {
  const flag = o.flag ?? '--out';
  const info = inspectDir(dir);
  if (info.exists && !info.isDirectory) return E.left(dirError(`${flag} ${dir} is a file, not a directory`));
  const w = checkWritable(dir, flag);
  if (E.isLeft(w)) return w;
  const what = o.kind === 'lamina-finetune-run' ? 'fine-tuning run' : 'run';
  if (info.kind !== undefined && info.kind !== o.kind)
    return E.left(dirError(`${dir} holds ${KIND_WORDS[info.kind]}; choose another ${flag} for the ${what}`));
  if (o.resume === true) {
    if (info.kind !== o.kind) return E.left(dirError(`nothing to resume: ${path.join(dir, RUN_KIND_FILES[o.kind])} does not exist`));
    return E.right(info);
  }
  if (info.kind === o.kind && o.overwrite !== true)
    return E.left(dirError(`${dir} already holds ${KIND_WORDS[o.kind]}; ${o.kind === 'lamina-pretraining-run' ? 'pass --resume to continue it' : 'pass --overwrite to replace it'} or choose another ${flag}`));
  if (info.kind === undefined && info.entries.length > 0)
    return E.left(dirError(`${dir} already holds ${info.entries.slice(0, 3).join(', ')} that lamina did not write for a run; choose another ${flag}`));
  return E.right(info);
};

/**
 * Creates the run directory and writes its config file atomically — call it only after every
 * input has been checked, so a failed start leaves nothing behind.
 * @example await createRunDir('runs/x', 'config.json', { kind: 'lamina-pretraining-run', ...cfg })
 */
export const createRunDir = async (dir: string, configFile: string, config: unknown): Promise<E.Either<RunDirError, string>> => {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    return E.left(dirError(fsErrorLine('cannot create', dir, e)));
  }
  const file = path.join(dir, configFile);
  const w = await writeFileAtomic(file, new TextEncoder().encode(`${JSON.stringify(config, null, 2)}\n`));
  if (E.isLeft(w)) return E.left(dirError(`cannot write ${file}: ${w.left.message}`));
  return E.right(file);
};

/**
 * A directory written beside its final place and moved there only on success.
 * @example const s = stageDir('runs/ft'); …write into s.dir…; s.commit(); // or s.abort()
 */
export interface StagedDir {
  /** Where to write meanwhile (a sibling of the final directory, same file system). */
  readonly dir: string;
  /** Moves the staged files into place (replacing an old run of the same kind). */
  readonly commit: () => E.Either<RunDirError, void>;
  /** Deletes the staged directory; the final one is untouched. */
  readonly abort: () => void;
}

/** Whether a process with this pid is alive (EPERM: alive, someone else's). */
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Cleans up after a staged run whose process died (kill -9, power loss) before it finished:
 * - `<final>.partial-<pid>`: the unfinished replacement, never committed; removed, with one line;
 * - `<final>.old-<pid>` with no `<final>`: the process died in the middle of the swap, so this is
 *   the previous run; it is moved back into place, with one line. With `<final>` present the
 *   swap had finished and the old run was being deleted anyway; its remains are removed.
 * Directories of live processes (another run replacing the same directory) are left alone.
 * @example sweepStaged(path.resolve('runs/ft'), (l) => console.error(l))
 */
export const sweepStaged = (abs: string, note: (line: string) => void): void => {
  const parent = path.dirname(abs);
  const base = path.basename(abs);
  let names: string[];
  try {
    names = fs.readdirSync(parent);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^\.(partial|old)-(\d+)$/.exec(name.startsWith(base) ? name.slice(base.length) : '');
    if (m === null || alive(Number(m[2]))) continue;
    const stale = path.join(parent, name);
    try {
      if (m[1] === 'old' && !fs.existsSync(abs)) {
        fs.renameSync(stale, abs);
        note(`note: ${abs} was being replaced when its process (${m[2]}) died; the previous run is back in place`);
      } else {
        fs.rmSync(stale, { recursive: true, force: true });
        if (m[1] === 'partial') note(`note: removed ${stale}, the unfinished replacement left by a lamina run that was killed (process ${m[2]})`);
      }
    } catch {
      // best effort: a directory we cannot clean stays as it is
    }
  }
};

/**
 * Stages a run: everything is written into `<final>.partial-<pid>`; `commit` swaps it into place
 * (the old run moved aside and deleted only after the new one is in place), `abort` removes it.
 * A Ctrl-C, a NaN or a crash thus leaves the old run as it was.
 * @example
 * ```ts
 * const s = stageDir('runs/ft');
 * const ok = await createRunDir(s.dir, 'config.json', config);  // … then the run writes into s.dir
 * E.isRight(ok) ? s.commit() : s.abort();
 * ```
 */
export const stageDir = (final: string, note: (line: string) => void = () => {}): StagedDir => {
  const abs = path.resolve(final);
  const dir = `${abs}.partial-${process.pid}`;
  sweepStaged(abs, note);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  fs.mkdirSync(dir);
  const abort = () => fs.rmSync(dir, { recursive: true, force: true });
  const commit = (): E.Either<RunDirError, void> => {
    try {
      const info = inspectDir(abs);
      if (!info.exists || info.empty) {
        if (info.exists) fs.rmdirSync(abs);
        fs.renameSync(dir, abs);
        return E.right(undefined);
      }
      if (info.kind !== undefined) {
        // replacing a run: move the old one aside, the new one in, then delete the old
        const old = `${abs}.old-${process.pid}`;
        fs.rmSync(old, { recursive: true, force: true });
        fs.renameSync(abs, old);
        fs.renameSync(dir, abs);
        fs.rmSync(old, { recursive: true, force: true });
        return E.right(undefined);
      }
      // a directory with the user's other files: move our entries in one by one
      for (const name of fs.readdirSync(dir)) fs.renameSync(path.join(dir, name), path.join(abs, name));
      fs.rmdirSync(dir);
      return E.right(undefined);
    } catch (e) {
      return E.left(dirError(`${fsErrorLine('cannot move the finished run into', final, e)}; it is in ${dir}`, 1));
    }
  };
  return { dir, commit, abort };
};

/**
 * One flag to compare on `--resume`: the value it gives now and the value the run was made with.
 * @example { flag: 'lr', given: 5, stored: 0.001 }
 */
export interface FlagValue {
  readonly flag: string;
  readonly given: unknown;
  readonly stored: unknown;
}

const same = (a: unknown, b: unknown): boolean => {
  try {
    return canonicalJson(a as never) === canonicalJson(b as never);
  } catch {
    return a === b;
  }
};

const show = (x: unknown): string => {
  const s = typeof x === 'string' ? JSON.stringify(x) : JSON.stringify(x) ?? String(x);
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
};

/**
 * The flags of a `--resume` that differ from the stored run config (the ones in `mayChange`
 * excepted), as a Left naming each with both values; Right when nothing differs.
 * @example diffResumeFlags('runs/x', [{ flag: 'lr', given: 5, stored: 0.001 }], ['steps']) // left: 'cannot resume runs/x with changed flags: --lr 5 (the run has 0.001); only --steps may change'
 */
export const diffResumeFlags = (dir: string, flags: readonly FlagValue[], mayChange: readonly string[] = ['steps']): E.Either<RunDirError, void> => {
  const changed = flags.filter((f) => !mayChange.includes(f.flag) && !same(f.given, f.stored));
  if (changed.length === 0) return E.right(undefined);
  const list = changed.map((f) => `--${f.flag} ${show(f.given)} (the run has ${show(f.stored)})`).join(', ');
  return E.left(dirError(`cannot resume ${dir} with changed flags: ${list}; only ${mayChange.map((m) => `--${m}`).join(', ')} may change (start a new run with another --out)`));
};
