/**
 * Summaries of repeated measurements: min / median / max, and ratios of medians. Every figure
 * the bench reports is one of these, never a single sample.
 *
 * @example
 * ```ts
 * summarize([3, 1, 2]);             // { n: 3, min: 1, median: 2, max: 3 }
 * ratioOfMedians([2, 2], [1, 1]);   // 2
 * ```
 * @module
 */

/** min / median / max of a sample (NaN fields for an empty one). */
export interface Summary {
  readonly n: number;
  readonly min: number;
  readonly median: number;
  readonly max: number;
}

/**
 * Summarises a sample. The median of an even-sized sample is the mean of the two middle values.
 * @example summarize([4, 1, 3, 2]) // { n: 4, min: 1, median: 2.5, max: 4 }
 */
export const summarize = (xs: readonly number[]): Summary => {
  if (xs.length === 0) return { n: 0, min: NaN, median: NaN, max: NaN };
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
  return { n: s.length, min: s[0] as number, median, max: s[s.length - 1] as number };
};

/**
 * Maps a sample of per-step seconds to a sample of rates (`work / seconds`), e.g. tokens/s.
 * @example rates([0.5, 1], 1024) // [2048, 1024]
 */
export const rates = (seconds: readonly number[], work: number): number[] => seconds.map((s) => work / s);

/**
 * `median(a) / median(b)` (NaN when either is empty or b's median is 0).
 * @example ratioOfMedians([300, 310], [150, 160]) // 1.9677…
 */
export const ratioOfMedians = (a: readonly number[], b: readonly number[]): number => {
  const ma = summarize(a).median;
  const mb = summarize(b).median;
  return mb === 0 ? NaN : ma / mb;
};
