/**
 * The paper's claims per table, checked against measured figures. Every verdict is computed from
 * the numbers with a stated noise margin, never written by hand:
 * - an accuracy on n balanced examples has a binomial standard error of at most 50/√n points, so
 *   a difference between two independent accuracies is called real when it exceeds
 *   2·√2·50/√n (about a 95% two-sided test) plus the seed spread when there are several seeds;
 * - "near chance" means within 5 points of 50% and within the noise margin of it.
 * A verdict is `reproduced`, `not reproduced` (the measured difference goes clearly the other way,
 * or the expected difference is absent), or `within noise` (the data cannot tell).
 *
 * @example
 * ```ts
 * const cs = table5Claims(results);
 * cs.map((c) => `${c.claim}: ${c.verdict}`);
 * summarySentence('Table 5', cs);  // 'At this scale, Table 5 reproduced: …; not reproduced: …'
 * ```
 * @module
 */
import type { AblationResults, DownstreamEntry, Table5Entry } from './results.js';

/** A verdict. */
export type Verdict = 'reproduced' | 'not reproduced' | 'within noise' | 'not measured';

/** One checked claim. */
export interface Claim {
  readonly claim: string;
  readonly verdict: Verdict;
  /** The figures behind the verdict. */
  readonly detail: string;
}

/**
 * The margin (points) beyond which two accuracies on `n` examples each differ: 2·√2·(50/√n).
 * @example noiseMargin(1000) // ≈ 4.47
 */
export const noiseMargin = (n: number): number => (n > 0 ? (2 * Math.SQRT2 * 50) / Math.sqrt(n) : Infinity);

const f1 = (x: number): string => x.toFixed(1);

/** `a` clearly above `b` by more than `margin`: reproduced; clearly below: not reproduced; else within noise. */
const above = (claim: string, a: number | null | undefined, b: number | null | undefined, margin: number, what: string): Claim => {
  if (a === null || a === undefined || b === null || b === undefined || !Number.isFinite(a) || !Number.isFinite(b)) return { claim, verdict: 'not measured', detail: 'a figure is missing' };
  const d = a - b;
  const detail = `${what}: ${f1(a)} vs ${f1(b)} (difference ${d >= 0 ? '+' : ''}${f1(d)}, noise margin ±${f1(margin)})`;
  return { claim, verdict: d > margin ? 'reproduced' : d < -margin ? 'not reproduced' : 'within noise', detail };
};

/** Near chance: within max(5, margin) of 50 → reproduced; clearly above → not reproduced. */
const nearChance = (claim: string, a: number | null | undefined, margin: number, what: string): Claim => {
  if (a === null || a === undefined || !Number.isFinite(a)) return { claim, verdict: 'not measured', detail: 'a figure is missing' };
  const tol = Math.max(5, margin);
  return { claim, verdict: Math.abs(a - 50) <= tol ? 'reproduced' : 'not reproduced', detail: `${what}: ${f1(a)} (chance 50, tolerance ±${f1(tol)})` };
};

/** Close: |a − b| ≤ tol → reproduced; else not reproduced. */
const close = (claim: string, a: number | null | undefined, b: number | null | undefined, tol: number, what: string): Claim => {
  if (a === null || a === undefined || b === null || b === undefined) return { claim, verdict: 'not measured', detail: 'a figure is missing' };
  return { claim, verdict: Math.abs(a - b) <= tol ? 'reproduced' : 'not reproduced', detail: `${what}: ${f1(a)} vs ${f1(b)} (tolerance ±${f1(tol)})` };
};

const spread = (e: Table5Entry | undefined, k: 'nsp' | 'sop' | 'mlm'): number => (e ? e.stats[k].max - e.stats[k].min : 0);

/**
 * Table 5's claims: an NSP-trained model is at chance on sentence order; an SOP-trained one is
 * clearly better at it, and also solves NSP; NSP training solves NSP; without a sentence objective
 * neither is solved; the sentence objective leaves MLM nearly unchanged.
 * @example table5Claims(results).find((c) => c.claim.startsWith('NSP-trained'))?.verdict
 */
export const table5Claims = (r: AblationResults): Claim[] => {
  const t = r.table5;
  const n = Math.min(...Object.values(r.evaluation.heldOutPairs));
  const m = noiseMargin(n);
  const plus = (a?: Table5Entry, b?: Table5Entry, k: 'nsp' | 'sop' | 'mlm' = 'sop') => m + spread(a, k) + spread(b, k);
  return [
    nearChance('NSP-trained model is at chance on sentence order (paper 52.0)', t.nsp?.sop, m / Math.SQRT2 + spread(t.nsp, 'sop'), 'NSP arm, SOP accuracy'),
    above('SOP-trained model is clearly better than the NSP-trained one on sentence order (paper 86.5 vs 52.0)', t.sop?.sop, t.nsp?.sop, plus(t.sop, t.nsp), 'SOP accuracy, SOP arm vs NSP arm'),
    above('SOP-trained model also solves NSP, above chance (paper 78.9)', t.sop?.nsp, 50, m / Math.SQRT2 + spread(t.sop, 'nsp'), 'SOP arm, NSP accuracy vs chance'),
    above('NSP-trained model solves NSP, above chance (paper 90.5)', t.nsp?.nsp, 50, m / Math.SQRT2 + spread(t.nsp, 'nsp'), 'NSP arm, NSP accuracy vs chance'),
    nearChance('Without a sentence objective, sentence order stays near chance (probe; paper 53.3)', t.none?.sop, m / Math.SQRT2 + spread(t.none, 'sop'), '"none" arm, probe SOP accuracy'),
    close('The sentence objective barely changes MLM accuracy: SOP vs none within 2 points (paper 54.0 vs 54.9)', t.sop?.mlm, t.none?.mlm, 2 + spread(t.sop, 'mlm') + spread(t.none, 'mlm'), 'MLM accuracy, SOP arm vs none'),
  ];
};

const imdbMargin = (e: readonly (DownstreamEntry | undefined)[], r: AblationResults): number => {
  const n = Math.min(...r.arms.filter((a) => e.some((x) => x?.arm === a.id)).map((a) => a.imdbExamples ?? 0));
  return noiseMargin(n);
};

/**
 * Table 4's claims (IMDB fine-tuned accuracy standing in for the paper's downstream average):
 * sharing all layers costs accuracy against not sharing; sharing attention costs less than sharing
 * the FFN; and the cost of sharing all is smaller at the small E than at E = H. Plus the parameter
 * ordering all < FFN-shared < attention-shared < none, which is exact.
 * @example table4Claims(results).map((c) => c.verdict)
 */
export const table4Claims = (r: AblationResults): Claim[] => {
  const t = r.table4;
  const es = [...new Set(Object.values(t).map((x) => x.paperE))].sort((a, b) => a - b);
  const out: Claim[] = [];
  for (const E of es) {
    const g = (s: string) => t[`${E}:${s}`];
    const m = imdbMargin([g('all'), g('none'), g('attention'), g('ffn')], r);
    out.push(above(`E=${E}: not sharing beats sharing all layers (paper ${E === 768 ? '82.3 vs 79.8' : '81.6 vs 80.1'})`, g('none')?.imdb, g('all')?.imdb, m, 'IMDB accuracy, not-shared vs all-shared'));
    if (g('attention') && g('ffn'))
      out.push(above(`E=${E}: sharing attention hurts less than sharing the FFN (paper ${E === 768 ? '81.6 vs 79.5' : '81.7 vs 80.2'})`, g('attention')?.imdb, g('ffn')?.imdb, m, 'IMDB accuracy, shared-attention vs shared-FFN'));
    const ps = ['all', 'ffn', 'attention', 'none'].map((s) => g(s)?.params).filter((x): x is number => x !== undefined);
    if (ps.length === 4)
      out.push({ claim: `E=${E}: parameters all-shared < shared-FFN < shared-attention < not-shared (paper ${E === 768 ? '31M < 57M < 83M < 108M' : '12M < 38M < 64M < 89M'})`, verdict: ps.every((p, i) => i === 0 || p > (ps[i - 1] as number)) ? 'reproduced' : 'not reproduced', detail: ps.map((p) => `${(p / 1e6).toFixed(2)}M`).join(' < ') });
  }
  if (es.length >= 2) {
    const [lo, hi] = [es[0] as number, es[es.length - 1] as number];
    const gap = (E: number) => {
      const a = t[`${E}:none`]?.imdb;
      const b = t[`${E}:all`]?.imdb;
      return a === null || a === undefined || b === null || b === undefined ? null : a - b;
    };
    const m = imdbMargin(Object.values(t), r) * Math.SQRT2;
    out.push(above(`Sharing all layers costs less at E=${lo} than at E=${hi} (paper: −1.5 vs −2.5 points)`, gap(hi), gap(lo), m, `(not-shared − all-shared) at E=${hi} vs at E=${lo}`));
  }
  return out;
};

/**
 * Table 3's claims: without sharing, a larger E is better (E = H beats the smallest E); with all
 * layers shared, the best E is the paper's 128 rather than the largest.
 * @example table3Claims(results)[0]?.verdict
 */
export const table3Claims = (r: AblationResults): Claim[] => {
  const t = r.table3;
  const es = [...new Set(Object.values(t).map((x) => x.paperE))].sort((a, b) => a - b);
  if (es.length < 2) return [{ claim: 'Embedding-size trends (needs at least two E values)', verdict: 'not measured', detail: `E values measured: ${es.join(', ') || 'none'}` }];
  const m = imdbMargin(Object.values(t), r);
  const [lo, hi] = [es[0] as number, es[es.length - 1] as number];
  const out: Claim[] = [above(`Not shared: E=${hi} beats E=${lo} (paper 82.3 vs 81.3)`, t[`${hi}:not-shared`]?.imdb, t[`${lo}:not-shared`]?.imdb, m, `IMDB accuracy, not-shared, E=${hi} vs E=${lo}`)];
  const shared = es.map((E) => ({ E, v: t[`${E}:shared`]?.imdb })).filter((x): x is { E: number; v: number } => typeof x.v === 'number');
  if (shared.some((x) => x.E === 128) && shared.length >= 2) {
    const at = shared.find((x) => x.E === 128)?.v as number;
    const best = shared.reduce((a, b) => (b.v > a.v ? b : a));
    const rest = Math.max(...shared.filter((x) => x.E !== 128).map((x) => x.v));
    const claim = 'All-shared: E=128 is the best embedding size (paper 80.1 vs 79.0 / 79.6 / 79.8)';
    const detail = `IMDB accuracy, all-shared: ${shared.map((x) => `E=${x.E} ${f1(x.v)}`).join(', ')} (noise margin ±${f1(m)})`;
    out.push({ claim, verdict: at - rest > m ? 'reproduced' : best.E !== 128 && best.v - at > m ? 'not reproduced' : 'within noise', detail });
  }
  const ps = es.map((E) => t[`${E}:shared`]?.params).filter((x): x is number => x !== undefined);
  if (ps.length === es.length)
    out.push({ claim: 'Parameters grow with E (paper 10M → 31M shared)', verdict: ps.every((p, i) => i === 0 || p > (ps[i - 1] as number)) ? 'reproduced' : 'not reproduced', detail: ps.map((p) => `${(p / 1e6).toFixed(2)}M`).join(' → ') });
  return out;
};

/**
 * One plain sentence from a table's verdicts.
 * @example summarySentence('Table 5', claims) // 'At this scale, Table 5 reproduced: … — did not reproduce: … — could not tell (within noise): ….'
 */
export const summarySentence = (table: string, claims: readonly Claim[]): string => {
  const by = (v: Verdict) => claims.filter((c) => c.verdict === v).map((c) => c.claim.replace(/ \(paper[^)]*\)$/, ''));
  const parts: string[] = [];
  const ok = by('reproduced');
  const no = by('not reproduced');
  const noise = by('within noise');
  const miss = by('not measured');
  if (ok.length) parts.push(`reproduced: ${ok.join('; ')}`);
  if (no.length) parts.push(`did not reproduce: ${no.join('; ')}`);
  if (noise.length) parts.push(`could not tell (within noise): ${noise.join('; ')}`);
  if (miss.length) parts.push(`not measured: ${miss.join('; ')}`);
  return `At this scale, ${table} ${parts.length ? parts.join(' — ') : 'has no claims to check'}.`;
};
