/**
 * ALBERT's n-gram masked-LM selection (`create_masked_lm_predictions` of Google's
 * `create_pretraining_data.py` with `ngram=3`, `favor_shorter_ngram=True`, whole-word masking):
 * candidates are whole words (a piece starting with `▁` plus the continuation pieces after it),
 * spans of n ≤ 3 consecutive words are drawn with p(n) ∝ 1/n (6/11, 3/11, 2/11), the budget is
 * `min(maxPredictionsPerSeq, max(1, round(len × maskedLmProb)))`, and each chosen position becomes
 * `[MASK]` (80%), a random ordinary piece (10%) or stays (10%). Special tokens are never candidates.
 *
 * Two deliberate differences from the reference, both documented in the tests: random replacements
 * are drawn from ordinary pieces only (the script draws from the whole vocabulary, specials
 * included), and when every word is longer than the budget — where the script masks nothing — one
 * word (truncated to the budget) is masked, so a non-empty input always has ≥ 1 prediction.
 * @module
 */
import type { Rng } from './prng.js';

/**
 * What masking needs to know about a vocabulary (a {@link Tokenizer} satisfies it).
 * @example
 * maskSequence(ids, tokenizer, options, rng(1)); // a Tokenizer is a MaskingVocab
 */
export interface MaskingVocab {
  readonly special: { readonly mask: number };
  readonly isSpecial: (id: number) => boolean;
  readonly isWordStart: (id: number) => boolean;
  /** Pool for the 10% random replacements. */
  readonly normalIds: Int32Array;
}

/**
 * Masking parameters.
 * @example
 * const o: MaskingOptions = { maskedLmProb: 0.15, maxPredictionsPerSeq: 20, maxNgram: 3 };
 */
export interface MaskingOptions {
  readonly maskedLmProb: number;
  readonly maxPredictionsPerSeq: number;
  /** Largest n-gram (in words); ALBERT uses 3. */
  readonly maxNgram: number;
}

/**
 * The masked sequence and its prediction targets (positions ascending).
 * @example
 * const { inputIds, positions, labels } = maskSequence(ids, tokenizer, o, rng(1));
 */
export interface Masked {
  readonly inputIds: Int32Array;
  readonly positions: Int32Array;
  readonly labels: Int32Array;
  /** The n (in words) of every span that was masked, for distribution checks. */
  readonly spanWords: readonly number[];
}

/**
 * Draws an n-gram length in 1..maxN with p(n) ∝ 1/n.
 * @example
 * sampleNgram(rng(0), 3); // 1 with probability 6/11, 2 with 3/11, 3 with 2/11
 */
export const sampleNgram = (r: Rng, maxN: number): number => {
  let total = 0;
  for (let n = 1; n <= maxN; n++) total += 1 / n;
  let u = r.next() * total;
  for (let n = 1; n <= maxN; n++) {
    u -= 1 / n;
    if (u < 0) return n;
  }
  return maxN;
};

/**
 * Chooses and applies the masked-LM predictions for one sequence.
 * @example
 * const m = maskSequence(Int32Array.from([2, 15, 16, 3]), tokenizer, { maskedLmProb: 0.15, maxPredictionsPerSeq: 20, maxNgram: 3 }, rng(1));
 * m.positions.length; // 1: round(4 × 0.15) = 1, never the [CLS]/[SEP] at 0 and 3
 */
export const maskSequence = (tokens: Int32Array, vocab: MaskingVocab, o: MaskingOptions, r: Rng): Masked => {
  // candidate words: lists of positions
  const words: number[][] = [];
  for (let i = 0; i < tokens.length; i++) {
    const id = tokens[i] as number;
    if (vocab.isSpecial(id)) continue;
    const last = words[words.length - 1];
    if (last !== undefined && !vocab.isWordStart(id) && last[last.length - 1] === i - 1) last.push(i);
    else words.push([i]);
  }
  const out = Int32Array.from(tokens);
  if (words.length === 0 || o.maskedLmProb <= 0 || o.maxPredictionsPerSeq <= 0) {
    return { inputIds: out, positions: new Int32Array(0), labels: new Int32Array(0), spanWords: [] };
  }
  const budget = Math.min(o.maxPredictionsPerSeq, Math.max(1, Math.round(tokens.length * o.maskedLmProb)));
  const order = words.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = r.int(0, i);
    const t = order[i] as number;
    order[i] = order[j] as number;
    order[j] = t;
  }
  const covered = new Uint8Array(tokens.length);
  const chosen: number[] = [];
  const spanWords: number[] = [];
  const replace = (pos: number): void => {
    covered[pos] = 1;
    chosen.push(pos);
    if (r.next() < 0.8) out[pos] = vocab.special.mask;
    else if (r.next() >= 0.5) out[pos] = vocab.normalIds[r.int(0, vocab.normalIds.length - 1)] ?? vocab.special.mask;
    // else: keep the original piece
  };
  const span = (start: number, n: number): number[] => words.slice(start, start + n).flat();
  for (const start of order) {
    if (chosen.length >= budget) break;
    const avail = Math.min(o.maxNgram, words.length - start);
    let n = sampleNgram(r, avail);
    let positions = span(start, n);
    while (chosen.length + positions.length > budget && n > 1) {
      n -= 1;
      positions = span(start, n);
    }
    if (chosen.length + positions.length > budget) continue;
    if (positions.some((p) => covered[p] === 1)) continue;
    for (const p of positions) replace(p);
    spanWords.push(n);
  }
  if (chosen.length === 0) {
    // every word is longer than the budget: mask the first word in shuffled order, truncated
    const w = words[order[0] as number] as number[];
    for (const p of w.slice(0, Math.min(w.length, o.maxPredictionsPerSeq))) replace(p);
    spanWords.push(1);
  }
  chosen.sort((a, b) => a - b);
  const positions = Int32Array.from(chosen);
  const labels = Int32Array.from(chosen, (p) => tokens[p] as number);
  return { inputIds: out, positions, labels, spanWords };
};
