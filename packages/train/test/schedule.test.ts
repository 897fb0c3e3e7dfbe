import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { lrAt, validateSchedule, type LinearSchedule } from '../src/schedule.js';

const arbSchedule = (decayFrom: 'warmup' | 'zero'): fc.Arbitrary<LinearSchedule> =>
  fc
    .record({ peak: fc.double({ min: 1e-6, max: 10, noNaN: true }), warmup: fc.integer({ min: 0, max: 60 }), extra: fc.integer({ min: 1, max: 200 }) })
    .map(({ peak, warmup, extra }) => ({ peak, warmup, total: warmup + extra, decayFrom }));

const curve = (s: LinearSchedule): number[] => Array.from({ length: s.total + 6 }, (_, i) => lrAt(i - 1, s));

describe('lrAt', () => {
  it('follows the worked example', () => {
    const s = { peak: 1e-3, warmup: 10, total: 100 };
    expect([0, 5, 10, 55, 100, 150].map((t) => lrAt(t, s))).toEqual([0, 5e-4, 1e-3, 5e-4, 0, 0]);
    expect(lrAt(0, { peak: 2, warmup: 0, total: 4 })).toBe(2);
    expect(lrAt(-3, s)).toBe(0);
  });

  it('reproduces ALBERT polynomial decay with decayFrom "zero"', () => {
    const s = { peak: 1, warmup: 10, total: 100, decayFrom: 'zero' as const };
    // warmup: step/10; after: 1 − step/100 (tf.train.polynomial_decay with power 1, end 0)
    expect([0, 9, 10, 50, 99, 100].map((t) => lrAt(t, s))).toEqual([0, 0.9, 0.9, 0.5, 0.01, 0]);
  });

  for (const decayFrom of ['warmup', 'zero'] as const) {
    it(`laws (${decayFrom}): within [0, peak], rises then falls, 0 at total`, () => {
      fc.assert(
        fc.property(arbSchedule(decayFrom), (s) => {
          const c = curve(s);
          expect(c.filter((x) => !(x >= 0 && x <= s.peak))).toEqual([]);
          expect(lrAt(s.total, s)).toBe(0);
          const top = c.indexOf(Math.max(...c));
          const badRise = c.slice(1, top + 1).filter((x, i) => x < c[i]!);
          const badFall = c.slice(top + 1).filter((x, i) => x > c[top + i]!);
          expect([badRise, badFall]).toEqual([[], []]);
          // the maximum is at the end of warmup (or one step before it, for ALBERT's variant)
          expect(top - 1 === s.warmup || (decayFrom === 'zero' && top - 1 === s.warmup - 1)).toBe(true);
        }),
        { numRuns: 200 },
      );
    });
  }

  it('law (warmup): exactly peak at the end of warmup, and linear in between', () => {
    fc.assert(
      fc.property(arbSchedule('warmup'), fc.integer({ min: 0, max: 1000 }), (s, k) => {
        expect(lrAt(s.warmup, s)).toBe(s.peak);
        const t = k % s.total;
        const expected = t < s.warmup ? (s.peak * t) / s.warmup : (s.peak * (s.total - t)) / (s.total - s.warmup);
        expect(Math.abs(lrAt(t, s) - expected)).toBeLessThanOrEqual(1e-12 * s.peak);
      }),
      { numRuns: 200 },
    );
  });
});

describe('validateSchedule', () => {
  it('accepts a valid schedule and explains every problem of an invalid one', () => {
    expect(validateSchedule({ peak: 1e-3, warmup: 0, total: 1 })).toEqual(E.right({ peak: 1e-3, warmup: 0, total: 1 }));
    const bad = validateSchedule({ peak: -1, warmup: 200, total: 100 });
    expect(bad).toEqual(
      E.left({ _tag: 'ScheduleError', message: 'invalid learning-rate schedule: peak learning rate must be a finite number ≥ 0, got -1; total (100) must be greater than warmup (200)' }),
    );
    expect(E.isLeft(validateSchedule({ peak: 1, warmup: 1.5, total: 0 }))).toBe(true);
  });
});
