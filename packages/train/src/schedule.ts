/**
 * Learning-rate schedule: linear warmup from 0 to the peak, then linear decay to 0 (ALBERT's
 * `polynomial_decay` with power 1 plus warmup).
 *
 * @example
 * ```ts
 * const s = { peak: 1e-3, warmup: 10, total: 100 };
 * lrAt(0, s);   // 0
 * lrAt(5, s);   // 5e-4
 * lrAt(10, s);  // 1e-3
 * lrAt(55, s);  // 5e-4
 * lrAt(100, s); // 0
 * ```
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';

/**
 * A warmup-then-linear-decay schedule. `step` counts optimizer updates from 0 (the rate of the
 * first update is `lrAt(0)`, which is 0 when there is warmup, as in ALBERT and Hugging Face).
 * @example const s: LinearSchedule = { peak: 1.76e-3, warmup: 3125, total: 125000 }; // ALBERT's base pretraining
 */
export interface LinearSchedule {
  /** The highest learning rate, reached at step `warmup`. */
  readonly peak: number;
  /** Number of warmup steps (0 = start at the peak). */
  readonly warmup: number;
  /** Step at which the rate reaches 0 (and stays there). */
  readonly total: number;
  /**
   * Where the linear decay starts from:
   * - `'warmup'` (default): from `peak` at step `warmup` down to 0 at `total` — the rate is
   *   exactly `peak` at the end of warmup (Hugging Face's `get_linear_schedule_with_warmup`).
   * - `'zero'`: ALBERT/BERT's TF code, `peak·(1 − step/total)` after warmup, i.e. the decay line
   *   starts at step 0, so the rate right after warmup is `peak·(1 − warmup/total)`.
   */
  readonly decayFrom?: 'warmup' | 'zero';
}

/**
 * Why a schedule is invalid.
 * @example { _tag: 'ScheduleError', message: 'invalid learning-rate schedule: total (100) must be greater than warmup (200)' }
 */
export interface ScheduleError {
  readonly _tag: 'ScheduleError';
  readonly message: string;
}

/**
 * Checks a schedule: peak finite and ≥ 0, warmup an integer ≥ 0, total an integer > warmup.
 * @example validateSchedule({ peak: 1e-3, warmup: 200, total: 100 }) // left("… total (100) must be greater than warmup (200)")
 */
export const validateSchedule = (s: LinearSchedule): E.Either<ScheduleError, LinearSchedule> => {
  const problems: string[] = [];
  if (!(Number.isFinite(s.peak) && s.peak >= 0)) problems.push(`peak learning rate must be a finite number ≥ 0, got ${s.peak}`);
  if (!(Number.isInteger(s.warmup) && s.warmup >= 0)) problems.push(`warmup must be an integer ≥ 0, got ${s.warmup}`);
  if (!(Number.isInteger(s.total) && s.total > 0)) problems.push(`total steps must be a positive integer, got ${s.total}`);
  else if (Number.isInteger(s.warmup) && s.total <= s.warmup) problems.push(`total (${s.total}) must be greater than warmup (${s.warmup})`);
  return problems.length === 0 ? E.right(s) : E.left({ _tag: 'ScheduleError', message: `invalid learning-rate schedule: ${problems.join('; ')}` });
};

/**
 * The learning rate at optimizer step `step` (0-based). Total for every input: negative steps
 * and steps at or after `total` give 0; the result is always in [0, peak] for a valid schedule.
 *
 * @example lrAt(50, { peak: 1, warmup: 0, total: 100 }) // 0.5
 */
export const lrAt = (step: number, s: LinearSchedule): number => {
  const { peak, warmup, total } = s;
  if (!(step >= 0) || step >= total) return 0;
  if (step < warmup) return peak * (step / warmup);
  if ((s.decayFrom ?? 'warmup') === 'zero') return peak * ((total - step) / total);
  return peak * ((total - step) / (total - warmup));
};
