import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  chooseMode,
  createProgress,
  etaSeconds,
  formatDuration,
  formatProgressLine,
  formatRate,
  initialRate,
  updateRate,
  type ProgressMode,
} from '../src/progress.js';

describe('formatting', () => {
  it('formats durations compactly, "--" when unknown', () => {
    expect([0, 0.4, 45, 59.6, 60, 125, 3599, 3600, 3725, 86399, 90000].map(formatDuration)).toEqual([
      '0s', '0s', '45s', '1m00s', '1m00s', '2m05s', '59m59s', '1h00m', '1h02m', '23h59m', '1d01h',
    ]);
    expect([NaN, Infinity, -1].map(formatDuration)).toEqual(['--', '--', '--']);
  });

  it('computes the ETA from the remaining steps and the step rate', () => {
    expect(etaSeconds(100, 2)).toBe(50);
    expect(etaSeconds(0, undefined)).toBe(0);
    expect(etaSeconds(10, undefined)).toBeNaN();
    expect(etaSeconds(10, 0)).toBeNaN();
    expect(formatDuration(etaSeconds(1000, 0.5))).toBe('33m20s');
  });

  it('formats rates with SI suffixes', () => {
    expect([0, 0.5, 12.34, 950, 999.6, 1234, 12345, 4.56e7, 2e9].map(formatRate)).toEqual(['0', '0.5', '12.3', '950', '1000', '1.23k', '12.3k', '45.6M', '2G']);
    expect(formatRate(undefined)).toBe('--');
    expect(formatRate(NaN)).toBe('--');
  });

  it('formats a progress line, with a bar on a terminal, cut to the width', () => {
    const snap = { step: 50, total: 200, loss: 2.5, tokensPerSecond: 1234, eta: 95 };
    expect(formatProgressLine(snap)).toBe('step 50/200 (25.0%) | loss 2.5000 | 1.23k tok/s | ETA 1m35s');
    expect(formatProgressLine({ ...snap, values: { lr: 1e-4 } })).toBe('step 50/200 (25.0%) | loss 2.5000 | lr 1.00e-4 | 1.23k tok/s | ETA 1m35s');
    expect(formatProgressLine(snap, { bar: true })).toBe('█████░░░░░░░░░░░░░░░ 50/200 (25.0%) | loss 2.5000 | 1.23k tok/s | ETA 1m35s');
    const cut = formatProgressLine(snap, { bar: true, width: 30 });
    expect(cut.length).toBe(30);
    expect(cut.endsWith('…')).toBe(true);
    expect(formatProgressLine({ step: 1, total: 1, loss: NaN })).toBe('step 1/1 (100.0%) | loss NaN');
  });

  it('chooses the mode from flags and the terminal', () => {
    const cases: Array<[boolean, boolean, boolean, ProgressMode]> = [
      [true, false, false, 'tty'],
      [false, false, false, 'plain'],
      [true, true, false, 'quiet'],
      [true, true, true, 'json'],
      [false, false, true, 'json'],
    ];
    for (const [isTTY, quiet, jsonLogs, mode] of cases) expect(chooseMode({ isTTY, quiet, jsonLogs })).toBe(mode);
  });
});

describe('rate smoothing', () => {
  it('starts at the first measured rate and follows a change smoothly', () => {
    let r = updateRate(initialRate, 0, 0);
    expect(r.rate).toBeUndefined();
    r = updateRate(r, 1000, 1);
    expect(r.rate).toBe(1000);
    // the rate doubles; after one half-life of samples the estimate is halfway there
    for (let t = 2; t <= 11; t++) r = updateRate(r, 1000 + 2000 * (t - 1), t, 10);
    expect(r.rate!).toBeCloseTo(1500, 6);
    for (let t = 12; t <= 200; t++) r = updateRate(r, 1000 + 2000 * (t - 1), t, 10);
    expect(r.rate!).toBeCloseTo(2000, 0);
    const same = updateRate(r, r.lastCount! + 5, r.lastTime!); // no time passed: rate unchanged
    expect(same.rate).toBe(r.rate);
  });

  it('law: a constant rate is estimated exactly, whatever the sampling intervals', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.1, max: 1e6, noNaN: true }), fc.array(fc.double({ min: 0.01, max: 100, noNaN: true }), { minLength: 1, maxLength: 30 }), (rate, dts) => {
        let r = updateRate(initialRate, 0, 0);
        let t = 0;
        for (const dt of dts) {
          t += dt;
          r = updateRate(r, rate * t, t);
        }
        expect(Math.abs(r.rate! - rate)).toBeLessThanOrEqual(1e-6 * rate);
      }),
      { numRuns: 100 },
    );
  });

  it('law: the smoothed rate stays between the smallest and largest interval rates', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ dt: fc.double({ min: 0.01, max: 50, noNaN: true }), n: fc.double({ min: 0, max: 1e5, noNaN: true }) }), { minLength: 1, maxLength: 30 }), (xs) => {
        let r = updateRate(initialRate, 0, 0);
        let t = 0;
        let c = 0;
        const inst: number[] = [];
        for (const { dt, n } of xs) {
          t += dt;
          c += n;
          inst.push(n / dt);
          r = updateRate(r, c, t);
        }
        const eps = 1e-9 * Math.max(1, ...inst);
        expect(r.rate!).toBeGreaterThanOrEqual(Math.min(...inst) - eps);
        expect(r.rate!).toBeLessThanOrEqual(Math.max(...inst) + eps);
      }),
      { numRuns: 100 },
    );
  });
});

const sink = (columns?: number) => {
  const chunks: string[] = [];
  return { chunks, text: () => chunks.join(''), write: (s: string) => chunks.push(s), columns };
};

const run = (mode: ProgressMode, opts: { everySteps?: number; everySeconds?: number } = {}) => {
  const out = sink(80);
  const err = sink();
  let clock = 100;
  const p = createProgress({ total: 10, mode, out, err, now: () => clock, ...opts });
  for (let step = 1; step <= 10; step++) {
    clock += 0.5;
    p.update({ step, loss: 5 - step * 0.1, tokens: 256 });
    if (step === 5) p.log('eval: mlm_accuracy 0.12');
  }
  p.error('checkpoint write failed: disk full');
  p.finish('done', { steps: 10, final_loss: 4, run: 'runs/a' });
  return { out: out.text(), err: err.text() };
};

describe('createProgress', () => {
  it('plain mode: a line every N steps (and at the end), messages, summary', () => {
    const { out, err } = run('plain', { everySteps: 4, everySeconds: 1000 });
    const lines = out.trimEnd().split('\n');
    expect(lines).toEqual([
      'step 4/10 (40.0%) | loss 4.6000 | 512 tok/s | ETA 3s',
      'eval: mlm_accuracy 0.12',
      'step 8/10 (80.0%) | loss 4.2000 | 512 tok/s | ETA 1s',
      'step 10/10 (100.0%) | loss 4.0000 | 512 tok/s | ETA 0s',
      'done (steps=10, final_loss=4, run=runs/a) in 5s',
    ]);
    expect(err).toBe('checkpoint write failed: disk full\n');
    expect(out).not.toContain('\r');
  });

  it('plain mode: also a line when M seconds have passed', () => {
    const { out } = run('plain', { everySteps: 1000, everySeconds: 1.5 });
    expect(out.split('\n').filter((l) => l.startsWith('step ')).map((l) => l.split(' ')[1])).toEqual(['3/10', '6/10', '9/10', '10/10']);
  });

  it('tty mode: redraws one line with a bar, keeps messages above it', () => {
    const { out } = run('tty');
    expect(out.split('\n').length).toBe(3); // the message, the summary, and a final empty piece
    expect(out).toContain('\r██████████████████░░ 9/10 (90.0%) | loss 4.1000 | 512 tok/s | ETA 1s\x1b[K');
    expect(out).toContain('\r\x1b[Keval: mlm_accuracy 0.12\n\r');
    expect(out.endsWith('\r\x1b[Kdone (steps=10, final_loss=4, run=runs/a) in 5s\n')).toBe(true);
    for (const frame of out.split('\r')) expect(frame.replace('\x1b[K', '').split('\n')[0]!.length).toBeLessThanOrEqual(79);
  });

  it('quiet mode: only errors and the final summary', () => {
    const { out, err } = run('quiet');
    expect(out).toBe('done (steps=10, final_loss=4, run=runs/a) in 5s\n');
    expect(err).toBe('checkpoint write failed: disk full\n');
  });

  it('json mode: one JSON object per event on stdout', () => {
    const { out, err } = run('json');
    const events = out.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.map((e) => e.event)).toEqual(['step', 'step', 'step', 'step', 'step', 'log', 'step', 'step', 'step', 'step', 'step', 'error', 'summary']);
    expect(events[3]).toMatchObject({ event: 'step', step: 4, total: 10, loss: 4.6, tokens_per_second: 512, eta_seconds: 3 });
    expect(events[0]).toMatchObject({ step: 1, tokens_per_second: 512, eta_seconds: 4.5 });
    expect(events[12]).toMatchObject({ event: 'summary', message: 'done', steps: 10, final_loss: 4, run: 'runs/a', elapsed_seconds: 5 });
    expect(err).toBe('checkpoint write failed: disk full\n');
  });

  it('json mode: unknown and non-finite numbers become null', () => {
    const out = sink();
    let clock = 0;
    const p = createProgress({ total: 3, mode: 'json', out, err: sink(), now: () => clock });
    p.update({ step: 1, loss: NaN }); // no time has passed: no rate yet
    clock = 1;
    p.update({ step: 2, loss: Infinity, values: { grad_norm: 0.5 } });
    const [a, b] = out.text().trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(a).toMatchObject({ step: 1, loss: null, eta_seconds: null });
    expect(a!.tokens_per_second).toBeUndefined();
    expect(b).toMatchObject({ step: 2, loss: null, grad_norm: 0.5, eta_seconds: 1 });
  });
});
