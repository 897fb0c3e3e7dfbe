/**
 * Progress reporting for training: a single redrawn line on a terminal (step/total, loss,
 * tokens/s, ETA), plain log lines every N steps or M seconds otherwise, nothing but errors and
 * the final summary with `--quiet`, and one JSON object per event with `--json-logs`.
 *
 * The formatting is pure ({@link formatDuration}, {@link formatRate}, {@link updateRate},
 * {@link formatProgressLine}); {@link createProgress} only decides when and where to write.
 *
 * @example
 * ```ts
 * const p = createProgress({ total: 1000, mode: chooseMode({ isTTY: process.stdout.isTTY, quiet, jsonLogs }) });
 * for (let step = 1; step <= 1000; step++) p.update({ step, loss, tokens: batch * seqLen });
 * p.finish('pretraining done', { steps: 1000, final_loss: loss });
 * ```
 * @module
 */

/**
 * How progress is shown.
 * @example const mode: ProgressMode = chooseMode({ isTTY: process.stdout.isTTY, quiet: false, jsonLogs: true }); // 'json'
 */
export type ProgressMode = 'tty' | 'plain' | 'quiet' | 'json';

/**
 * Picks the mode from the flags and the output stream: `--json-logs` wins, then `--quiet`, then a
 * TTY gets the redrawn line and anything else plain lines.
 * @example chooseMode({ isTTY: false, quiet: false, jsonLogs: false }) // 'plain'
 */
export const chooseMode = (o: { readonly isTTY: boolean | undefined; readonly quiet?: boolean; readonly jsonLogs?: boolean }): ProgressMode =>
  o.jsonLogs ? 'json' : o.quiet ? 'quiet' : o.isTTY ? 'tty' : 'plain';

/**
 * A short human duration: `45s`, `2m05s`, `1h02m`, `3d04h`; `--` when unknown (non-finite or
 * negative).
 * @example formatDuration(125) // "2m05s"
 */
export const formatDuration = (seconds: number): string => {
  if (!(Number.isFinite(seconds) && seconds >= 0)) return '--';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86400)}d${pad(Math.floor((s % 86400) / 3600))}h`;
};

/**
 * Seconds left for `remaining` steps at `stepsPerSecond`; `NaN` when the rate is unknown or 0.
 * @example etaSeconds(100, 2) // 50
 */
export const etaSeconds = (remaining: number, stepsPerSecond: number | undefined): number =>
  remaining <= 0 ? 0 : stepsPerSecond !== undefined && stepsPerSecond > 0 && Number.isFinite(stepsPerSecond) ? remaining / stepsPerSecond : NaN;

/**
 * A rate with an SI suffix and three significant digits: `950`, `1.23k`, `45.6M`; `--` if unknown.
 * @example formatRate(12345) // "12.3k"
 */
export const formatRate = (x: number | undefined): string => {
  if (x === undefined || !Number.isFinite(x) || x < 0) return '--';
  const units: Array<[number, string]> = [[1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [u, suffix] of units) if (x >= u) return `${Number((x / u).toPrecision(3))}${suffix}`;
  return x >= 100 ? String(Math.round(x)) : String(Number(x.toPrecision(3)));
};

/**
 * State of a smoothed rate (e.g. tokens/s); create with {@link initialRate}.
 * @example let r: RateState = initialRate; r = updateRate(r, tokensSoFar, performance.now() / 1000);
 */
export interface RateState {
  /** Smoothed rate per second; undefined until two samples have been seen. */
  readonly rate: number | undefined;
  /** Count and time (seconds) of the last sample. */
  readonly lastCount: number | undefined;
  readonly lastTime: number | undefined;
}

/**
 * The empty {@link RateState}.
 * @example updateRate(initialRate, 0, 0).rate // undefined until a second sample
 */
export const initialRate: RateState = { rate: undefined, lastCount: undefined, lastTime: undefined };

/**
 * Folds a cumulative count observed at `time` (seconds) into an exponentially smoothed rate whose
 * memory halves every `halfLife` seconds (irregular sampling is fine: the weight of a new sample
 * grows with the time it covers). The first interval sets the rate directly.
 *
 * @example
 * ```ts
 * let r = initialRate;
 * r = updateRate(r, 0, 0); r = updateRate(r, 1000, 1); // r.rate = 1000
 * ```
 */
export const updateRate = (s: RateState, count: number, time: number, halfLife = 10): RateState => {
  if (s.lastCount === undefined || s.lastTime === undefined) return { rate: undefined, lastCount: count, lastTime: time };
  const dt = time - s.lastTime;
  if (!(dt > 0)) return { ...s, lastCount: count };
  const inst = (count - s.lastCount) / dt;
  const w = 1 - 2 ** (-dt / halfLife);
  const rate = s.rate === undefined ? inst : s.rate + w * (inst - s.rate);
  return { rate, lastCount: count, lastTime: time };
};

/**
 * What one progress line shows.
 * @example formatProgressLine({ step: 5, total: 10, loss: 1.25 }) // 'step 5/10 (50.0%) | loss 1.2500'
 */
export interface ProgressSnapshot {
  readonly step: number;
  readonly total: number;
  readonly loss?: number | undefined;
  readonly tokensPerSecond?: number | undefined;
  readonly eta?: number | undefined;
  /** Extra named values, shown as `name value`. */
  readonly values?: Readonly<Record<string, number>>;
  /** A tag shown after the step, e.g. `2 workers` (the cluster size of a distributed run). */
  readonly label?: string | undefined;
}

const fmtValue = (x: number): string => (Number.isFinite(x) ? (Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(2) : x.toFixed(4)) : String(x));

const trimZeros = (s: string): string => (s.includes('.') && !s.includes('e') ? s.replace(/\.?0+$/, '') : s);

/**
 * One progress line. With `bar` (a terminal), a 20-cell bar; the result is cut to `width`.
 * @example formatProgressLine({ step: 50, total: 200, loss: 2.5, tokensPerSecond: 1234, eta: 95 }) // "step 50/200 (25.0%) | loss 2.5000 | 1.23k tok/s | ETA 1m35s"
 */
export const formatProgressLine = (p: ProgressSnapshot, opts: { readonly bar?: boolean; readonly width?: number } = {}): string => {
  const frac = p.total > 0 ? Math.min(1, Math.max(0, p.step / p.total)) : 0;
  const parts: string[] = [];
  if (opts.bar) {
    const cells = 20;
    const full = Math.round(frac * cells);
    parts.push(`${'█'.repeat(full)}${'░'.repeat(cells - full)} ${p.step}/${p.total} (${(frac * 100).toFixed(1)}%)`);
  } else parts.push(`step ${p.step}/${p.total} (${(frac * 100).toFixed(1)}%)`);
  if (p.label !== undefined) parts.push(p.label);
  if (p.loss !== undefined) parts.push(`loss ${fmtValue(p.loss)}`);
  for (const [k, v] of Object.entries(p.values ?? {})) parts.push(`${k} ${fmtValue(v)}`);
  if (p.tokensPerSecond !== undefined) parts.push(`${formatRate(p.tokensPerSecond)} tok/s`);
  if (p.eta !== undefined) parts.push(`ETA ${formatDuration(p.eta)}`);
  const line = parts.join(' | ');
  const width = opts.width;
  return width !== undefined && width > 1 && line.length > width ? `${line.slice(0, width - 1)}…` : line;
};

/**
 * A text sink (a Node stream fits).
 * @example createProgress({ total: 10, mode: 'plain', out: { write: (s) => lines.push(s) } })
 */
export interface TextOut {
  write(s: string): unknown;
  readonly columns?: number | undefined;
}

/**
 * Options of {@link createProgress}.
 * @example createProgress({ total: 1000, mode: 'plain', everySteps: 100, everySeconds: 60 })
 */
export interface ProgressOptions {
  /** Total number of steps. */
  readonly total: number;
  /** See {@link chooseMode}. */
  readonly mode: ProgressMode;
  /** Step that the run starts from (when resuming); default 0. */
  readonly startStep?: number;
  /** Where progress goes; default stdout. */
  readonly out?: TextOut;
  /** Where errors go; default stderr. */
  readonly err?: TextOut;
  /** Plain mode: print a line every this many steps (default 50)… */
  readonly everySteps?: number;
  /** …or when this many seconds passed since the last line (default 30). */
  readonly everySeconds?: number;
  /** Clock in seconds (for tests); default `performance.now() / 1000`. */
  readonly now?: () => number;
  /** Shown in every progress line (e.g. `2 workers`; tokens/s is then the whole cluster's). */
  readonly label?: string;
}

/**
 * One training step's numbers, as given to {@link Progress.update}.
 * @example progress.update({ step: 12, loss: 3.1, tokens: 8 * 128, values: { lr: 1e-4 } })
 */
export interface StepUpdate {
  readonly step: number;
  readonly loss?: number;
  /** Tokens processed in this step (for tokens/s). */
  readonly tokens?: number;
  readonly values?: Readonly<Record<string, number>>;
}

/**
 * A progress reporter.
 * @example p.update({ step, loss }); p.log('saved checkpoint'); p.finish('done', { steps: 1000 });
 */
export interface Progress {
  /** Reports a finished step (TTY: redraw; plain: maybe a line; json: an event; quiet: nothing). */
  update(u: StepUpdate): void;
  /** An informational message (suppressed by quiet). */
  log(message: string): void;
  /** An error: always shown (stderr; json: an event on stdout as well). */
  error(message: string): void;
  /** The final summary: always shown. */
  finish(message: string, data?: Readonly<Record<string, unknown>>): void;
}

/**
 * A reporter writing to `out` in the given mode.
 * @example const p = createProgress({ total: 100, mode: 'plain', everySteps: 10 });
 */
export const createProgress = (o: ProgressOptions): Progress => {
  const out: TextOut = o.out ?? process.stdout;
  const err: TextOut = o.err ?? process.stderr;
  const now = o.now ?? (() => performance.now() / 1000);
  const everySteps = o.everySteps ?? 50;
  const everySeconds = o.everySeconds ?? 30;
  const t0 = now();
  let tokens = 0;
  let tokenRate = updateRate(initialRate, 0, t0);
  let stepRate = updateRate(initialRate, o.startStep ?? 0, t0);
  let lastLineStep = o.startStep ?? 0;
  let lastLineTime = t0;
  let lastDraw = -Infinity;
  let drawn = false;
  let lastSnapshot: ProgressSnapshot | undefined;

  const json = (event: string, data: Readonly<Record<string, unknown>>): void => {
    out.write(`${JSON.stringify({ event, time: Date.now() / 1000, ...data }, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v))}\n`);
  };
  const clearLine = (): void => {
    if (drawn) out.write('\r\x1b[K');
    drawn = false;
  };
  const draw = (snap: ProgressSnapshot): void => {
    out.write(`\r${formatProgressLine(snap, { bar: true, width: (out.columns ?? 100) - 1 })}\x1b[K`);
    drawn = true;
  };

  return {
    update: (u) => {
      const t = now();
      tokens += u.tokens ?? 0;
      tokenRate = updateRate(tokenRate, tokens, t);
      stepRate = updateRate(stepRate, u.step, t);
      const snap: ProgressSnapshot = {
        step: u.step,
        total: o.total,
        loss: u.loss,
        tokensPerSecond: u.tokens === undefined ? undefined : tokenRate.rate,
        eta: etaSeconds(o.total - u.step, stepRate.rate),
        ...(u.values === undefined ? {} : { values: u.values }),
        ...(o.label === undefined ? {} : { label: o.label }),
      };
      lastSnapshot = snap;
      switch (o.mode) {
        case 'quiet':
          return;
        case 'json':
          json('step', { step: u.step, total: o.total, ...(o.label === undefined ? {} : { label: o.label }), loss: u.loss, tokens_per_second: snap.tokensPerSecond, eta_seconds: snap.eta, ...u.values });
          return;
        case 'tty':
          if (t - lastDraw >= 0.1 || u.step >= o.total) {
            draw(snap);
            lastDraw = t;
          }
          return;
        case 'plain':
          if (u.step - lastLineStep >= everySteps || t - lastLineTime >= everySeconds || u.step >= o.total) {
            out.write(`${formatProgressLine(snap)}\n`);
            lastLineStep = u.step;
            lastLineTime = t;
          }
      }
    },
    log: (message) => {
      if (o.mode === 'quiet') return;
      if (o.mode === 'json') return json('log', { message });
      clearLine();
      out.write(`${message}\n`);
      if (o.mode === 'tty' && lastSnapshot !== undefined) draw(lastSnapshot);
    },
    error: (message) => {
      if (o.mode === 'json') json('error', { message });
      clearLine();
      err.write(`${message}\n`);
      if (o.mode === 'tty' && lastSnapshot !== undefined) draw(lastSnapshot);
    },
    finish: (message, data = {}) => {
      if (o.mode === 'json') return json('summary', { message, elapsed_seconds: now() - t0, ...data });
      clearLine();
      const fields = Object.entries(data).map(([k, v]) => `${k}=${typeof v === 'number' ? trimZeros(fmtValue(v)) : String(v)}`);
      out.write(`${message}${fields.length > 0 ? ` (${fields.join(', ')})` : ''} in ${formatDuration(now() - t0)}\n`);
    },
  };
};
