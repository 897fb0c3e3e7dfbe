/**
 * Training metrics: an append-only `metrics.jsonl` (one JSON object per line), TensorBoard event
 * files through tfjs-node's summary writer when the native backend runs, and a reader that
 * tolerates the torn last line a `kill -9` can leave behind.
 *
 * A line looks like `{"step":120,"time":1764000000.123,"loss":3.41,"mlm_accuracy":0.12}`: `step`,
 * `time` (Unix seconds) and the named values. Non-finite values are written as `null` (JSON has no
 * NaN) and read back as `NaN`.
 *
 * @example
 * ```ts
 * const log = openMetricsLogger({ runDir: 'run', tensorboard: true });
 * if (E.isRight(log)) {
 *   log.right.log(10, { loss: 3.2, lr: 1e-4 });
 *   log.right.close();
 * }
 * const back = readMetrics('run/metrics.jsonl'); // Right({ records: [{ step: 10, … }], tornTail: false })
 * ```
 * @module
 */
import fs from 'node:fs';
import path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { tfNode, type SummaryWriter } from '@lamina/dsl';

/**
 * One line of `metrics.jsonl`.
 * @example { step: 120, time: 1764000000.1, values: { loss: 3.41, lr: 1e-4 } }
 */
export interface MetricRecord {
  /** Optimizer step the values belong to. */
  readonly step: number;
  /** Wall-clock time of the record, Unix seconds. */
  readonly time: number;
  /** The named values (loss, accuracies, learning rate, …). */
  readonly values: Readonly<Record<string, number>>;
}

/**
 * A metrics file that could not be read or written.
 * @example { _tag: 'MetricsError', message: 'run/metrics.jsonl: line 7 is not a metrics record: …' }
 */
export interface MetricsError {
  readonly _tag: 'MetricsError';
  readonly message: string;
}

const metricsError = (message: string): MetricsError => ({ _tag: 'MetricsError', message });
const describe = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * The file name lamina uses inside a run directory.
 * @example readMetrics(path.join(runDir, METRICS_FILE))
 */
export const METRICS_FILE = 'metrics.jsonl';
/**
 * The TensorBoard log directory inside a run directory.
 * @example // tensorboard --logdir run/tensorboard
 * openTensorBoard(path.join(runDir, TENSORBOARD_DIR))
 */
export const TENSORBOARD_DIR = 'tensorboard';

const RESERVED = new Set(['step', 'time']);

/**
 * Serialises one record as a JSON line (with the trailing newline).
 * @example formatMetricLine({ step: 1, time: 2, values: { loss: NaN } }) // '{"step":1,"time":2,"loss":null}\n'
 */
export const formatMetricLine = (r: MetricRecord): string => {
  const obj: Record<string, number | null> = { step: r.step, time: r.time };
  for (const [k, v] of Object.entries(r.values)) {
    if (RESERVED.has(k)) throw new Error(`metric name "${k}" is reserved`);
    obj[k] = Number.isFinite(v) ? v : null;
  }
  return `${JSON.stringify(obj)}\n`;
};

/**
 * Parses one line; `undefined` when it is not a metrics object.
 * @example parseMetricLine('{"step":1,"time":2,"loss":0.5}') // { step: 1, time: 2, values: { loss: 0.5 } }
 */
export const parseMetricLine = (line: string): MetricRecord | undefined => {
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return undefined;
  const { step, time, ...rest } = obj as Record<string, unknown>;
  if (typeof step !== 'number' || !Number.isInteger(step) || typeof time !== 'number') return undefined;
  const values: Record<string, number> = {};
  for (const [k, v] of Object.entries(rest)) {
    if (v === null) values[k] = NaN;
    else if (typeof v === 'number') values[k] = v;
    else return undefined;
  }
  return { step, time, values };
};

/**
 * Result of {@link parseMetricsText} / {@link readMetrics}.
 * @example const { records, tornTail } = E.getOrElse(() => empty)(readMetrics(file));
 */
export interface MetricsContent {
  readonly records: MetricRecord[];
  /**
   * True when the last line was incomplete (e.g. the writer was killed mid-line) and was ignored.
   * A last line that is a complete record but lacks its newline is kept, not torn.
   */
  readonly tornTail: boolean;
  /** Length in bytes of the well-formed prefix (everything before a torn tail). */
  readonly goodBytes: number;
}

/**
 * Parses the text of a metrics file. Only the last line may be malformed (then `tornTail`); a
 * malformed line anywhere else is a `Left` naming the line.
 * @example parseMetricsText('{"step":1,"time":0,"loss":2}\n{"step":2,"ti') // Right({ records: [step 1], tornTail: true, … })
 */
export const parseMetricsText = (text: string, name = METRICS_FILE): E.Either<MetricsError, MetricsContent> => {
  const records: MetricRecord[] = [];
  let offset = 0;
  let lineNo = 0;
  while (offset < text.length) {
    const nl = text.indexOf('\n', offset);
    const end = nl === -1 ? text.length : nl;
    const line = text.slice(offset, end);
    lineNo++;
    const isLast = nl === -1 || nl === text.length - 1;
    if (line.trim() !== '') {
      const rec = parseMetricLine(line);
      if (rec === undefined) {
        if (isLast) return E.right({ records, tornTail: true, goodBytes: Buffer.byteLength(text.slice(0, offset)) });
        return E.left(metricsError(`${name}: line ${lineNo} is not a metrics record: ${line.length > 80 ? `${line.slice(0, 80)}…` : line}`));
      }
      // A complete record that only lost its newline is kept; the writer adds the newline back.
      records.push(rec);
    }
    offset = end + 1;
  }
  return E.right({ records, tornTail: false, goodBytes: Buffer.byteLength(text) });
};

/**
 * Reads a `metrics.jsonl`, ignoring a torn last line. A missing file reads as empty.
 * @example readMetrics('run/metrics.jsonl')
 */
export const readMetrics = (file: string): E.Either<MetricsError, MetricsContent> => {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return E.right({ records: [], tornTail: false, goodBytes: 0 });
    return E.left(metricsError(`cannot read ${file}: ${describe(e)}`));
  }
  return parseMetricsText(text, file);
};

/**
 * An open, append-only metrics file.
 * @example log.append(10, { loss: 2.5 }); log.sync(); log.close();
 */
export interface MetricsLog {
  /** The file being written. */
  readonly file: string;
  /** Appends one record (one `write` call per line). `time` defaults to now. */
  append(step: number, values: Readonly<Record<string, number>>, time?: number): E.Either<MetricsError, void>;
  /** Flushes the file to disk (fsync). */
  sync(): void;
  /** Closes the file. */
  close(): void;
}

/**
 * Options of {@link openMetricsLog}.
 * @example openMetricsLog(file, { truncateAfterStep: 300 })
 */
export interface OpenMetricsOptions {
  /**
   * On resume: drop records with `step` greater than this (they belong to steps that will be run
   * again), so the file never holds the same step twice.
   */
  readonly truncateAfterStep?: number;
}

/**
 * Opens (creating if needed) a metrics file for appending. An existing file is repaired first: a
 * torn last line is cut off (otherwise the next record would be glued to it), and with
 * `truncateAfterStep` later records are dropped (rewritten atomically).
 *
 * @example
 * ```ts
 * const m = openMetricsLog('run/metrics.jsonl', { truncateAfterStep: resumedStep });
 * if (E.isRight(m)) m.right.append(resumedStep + 1, { loss: 2.9 });
 * ```
 */
export const openMetricsLog = (file: string, opts: OpenMetricsOptions = {}): E.Either<MetricsError, MetricsLog> => {
  const existing = readMetrics(file);
  if (E.isLeft(existing)) return existing;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const { records, tornTail, goodBytes } = existing.right;
    const cut = opts.truncateAfterStep;
    if (cut !== undefined && records.some((r) => r.step > cut)) {
      const tmp = `${file}.tmp-${process.pid}`;
      fs.writeFileSync(tmp, records.filter((r) => r.step <= cut).map(formatMetricLine).join(''));
      const fd = fs.openSync(tmp, 'r+');
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      fs.renameSync(tmp, file);
    } else if (tornTail) {
      fs.truncateSync(file, goodBytes);
    }
    const size = fs.existsSync(file) ? fs.statSync(file).size : 0;
    if (size > 0) {
      const last = Buffer.alloc(1);
      const rfd = fs.openSync(file, 'r');
      fs.readSync(rfd, last, 0, 1, size - 1);
      fs.closeSync(rfd);
      if (last[0] !== 0x0a) fs.appendFileSync(file, '\n');
    }
  } catch (e) {
    return E.left(metricsError(`cannot prepare ${file}: ${describe(e)}`));
  }
  let fd: number;
  try {
    fd = fs.openSync(file, 'a');
  } catch (e) {
    return E.left(metricsError(`cannot open ${file}: ${describe(e)}`));
  }
  let open = true;
  return E.right({
    file,
    append: (step, values, time = Date.now() / 1000) => {
      if (!open) return E.left(metricsError(`${file} is closed`));
      const bad = Object.keys(values).find((k) => RESERVED.has(k));
      if (bad !== undefined) return E.left(metricsError(`metric name "${bad}" is reserved (step and time are written automatically)`));
      try {
        fs.writeSync(fd, formatMetricLine({ step, time, values }));
        return E.right(undefined);
      } catch (e) {
        return E.left(metricsError(`cannot append to ${file}: ${describe(e)}`));
      }
    },
    sync: () => {
      if (open) fs.fsyncSync(fd);
    },
    close: () => {
      if (!open) return;
      open = false;
      fs.closeSync(fd);
    },
  });
};

let tensorboardNoted = false;

/**
 * A TensorBoard scalar writer for `logdir`, or `undefined` (with a one-time note through `note`)
 * when the backend is not native TensorFlow, which is the only one with a summary writer.
 * @example const tb = openTensorBoard('run/tensorboard'); tb?.scalar('loss', 2.5, 10);
 */
export const openTensorBoard = (logdir: string, note: (message: string) => void = (m) => process.stderr.write(`${m}\n`)): SummaryWriter | undefined => {
  const node = tfNode();
  if (node === undefined) {
    if (!tensorboardNoted) {
      tensorboardNoted = true;
      note('note: TensorBoard event files are not written: the summary writer needs the native TensorFlow backend (metrics.jsonl is still written)');
    }
    return undefined;
  }
  fs.mkdirSync(logdir, { recursive: true });
  return node.summaryFileWriter(logdir);
};

/**
 * Options of {@link openMetricsLogger}.
 * @example openMetricsLogger({ runDir: 'run', tensorboard: false })
 */
export interface MetricsLoggerOptions {
  /** The run directory; `metrics.jsonl` and `tensorboard/` go inside. */
  readonly runDir: string;
  /** Also write TensorBoard event files (default true). */
  readonly tensorboard?: boolean;
  /** See {@link OpenMetricsOptions.truncateAfterStep}. */
  readonly truncateAfterStep?: number;
  /** Where the one-time "no TensorBoard" note goes (default: stderr). */
  readonly note?: (message: string) => void;
}

/**
 * Writes every record to `metrics.jsonl` and, when available, to TensorBoard.
 * @example logger.log(step, { loss, lr }); logger.close();
 */
export interface MetricsLogger {
  /** Logs named values for a step (non-finite values go to TensorBoard as they are). */
  log(step: number, values: Readonly<Record<string, number>>): E.Either<MetricsError, void>;
  /** Whether TensorBoard event files are being written. */
  readonly tensorboard: boolean;
  /** Flushes both sinks (fsync for the JSONL). */
  flush(): void;
  /** Flushes and closes. */
  close(): void;
}

/**
 * Opens `metrics.jsonl` (and TensorBoard) in a run directory.
 * @example
 * ```ts
 * const m = openMetricsLogger({ runDir: 'run' });
 * if (E.isRight(m)) m.right.log(1, { loss: 4.1 });
 * ```
 */
export const openMetricsLogger = (opts: MetricsLoggerOptions): E.Either<MetricsError, MetricsLogger> => {
  const jsonl = openMetricsLog(path.join(opts.runDir, METRICS_FILE), opts.truncateAfterStep === undefined ? {} : { truncateAfterStep: opts.truncateAfterStep });
  if (E.isLeft(jsonl)) return jsonl;
  const log = jsonl.right;
  const tb = opts.tensorboard === false ? undefined : openTensorBoard(path.join(opts.runDir, TENSORBOARD_DIR), opts.note);
  return E.right({
    tensorboard: tb !== undefined,
    log: (step, values) => {
      const r = log.append(step, values);
      if (E.isRight(r) && tb !== undefined) for (const [k, v] of Object.entries(values)) tb.scalar(k, v, step);
      return r;
    },
    flush: () => {
      log.sync();
      tb?.flush();
    },
    close: () => {
      tb?.flush();
      log.sync();
      log.close();
    },
  });
};
