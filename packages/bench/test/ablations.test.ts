// `pnpm bench ablations`: the plan (one budget for every arm), the linear probe, the computed
// verdicts, and the pure renderer of ABLATIONS.md against a committed fixture (regenerate the
// expected file with `UPDATE_REPORT_FIXTURE=1 pnpm vitest run packages/bench/test/ablations.test.ts`
// after an intended change).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fc, test } from '@fast-check/vitest';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import {
  ablationPlan,
  barChart,
  embeddingFor,
  noiseMargin,
  PAPER_TABLE3,
  PAPER_TABLE4,
  PAPER_TABLE5,
  RECIPE_SEARCH,
  parseAblationArgs,
  parseAblationResults,
  pretrainArgs,
  probeAccuracy,
  renderAblationPlots,
  renderAblations,
  summarySentence,
  table3Claims,
  table4Claims,
  table5Claims,
  trainLinearProbe,
  type AblationResults,
} from '../src/index.js';
import { rng } from '@lamina/albert';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const fixture = JSON.parse(fs.readFileSync(path.join(dir, 'ablations-results.json'), 'utf8')) as unknown;
const opts = { resultsFile: 'packages/bench/results/ablations-fixture.json', plotDir: 'packages/bench/results' };

describe('the plan', () => {
  it('quick is Table 5 with one seed; full adds two seeds and Tables 3 and 4, training shared arms once', () => {
    const q = ablationPlan('quick');
    expect(q.arms.map((a) => a.id)).toEqual(['none-E32-all-s12345', 'nsp-E32-all-s12345', 'sop-E32-all-s12345']);
    expect(q.table4).toEqual([]);
    const f = ablationPlan('full');
    expect(f.table5.every((r) => r.arms.length === 2)).toBe(true);
    expect(f.table4.length).toBe(8);
    expect(f.table3.length).toBe(8);
    expect(f.arms.length).toBe(17);
    expect(new Set(f.arms.map((a) => a.id)).size).toBe(f.arms.length);
    // the Table 5 SOP arm of the first seed is Table 4's and Table 3's E=128 all-shared row
    const sop = f.arms.find((a) => a.id === 'sop-E32-all-s12345');
    expect(sop?.finetune && sop.probe).toBe(true);
    expect(f.table4.find((r) => r.paperE === 128 && r.sharing === 'all')?.arm).toBe('sop-E32-all-s12345');
  });

  it('maps the paper E to H/8, H/4, H/2, H', () => {
    expect([64, 128, 256, 768].map((e) => embeddingFor(e, 128))).toEqual([16, 32, 64, 128]);
    expect(() => embeddingFor(100, 128)).toThrow(/E=100/);
  });

  test.prop([fc.constantFrom('smoke', 'quick', 'full' as const)])('every arm gets the same flags except the ablated factor, and the same model except E and sharing', (mode) => {
    const p = ablationPlan(mode);
    const strip = (args: string[]) => {
      const out: string[] = [];
      for (let i = 0; i < args.length; i++) {
        if (['--objective', '--seed', '--model', '--out'].includes(args[i] as string)) i++;
        else out.push(args[i] as string);
      }
      return out.join(' ');
    };
    const flags = new Set(p.arms.map((a) => strip(pretrainArgs(a, p.budget, 'm.json', 'dir'))));
    expect(flags.size).toBe(1);
    const models = new Set(p.arms.map((a) => JSON.stringify({ ...a.config, embeddingSize: 0, sharing: '' })));
    expect(models.size).toBe(1);
    expect(new Set(p.arms.filter((a) => a.objective !== 'sop' || a.seed !== p.budget.seeds[0]).map((a) => `${a.config.embeddingSize}:${a.config.sharing}`)).size).toBeLessThanOrEqual(1);
  });

  it('parses its command line', () => {
    expect(parseAblationArgs([])).toEqual(E.right({ mode: 'full' }));
    expect(parseAblationArgs(['--quick', '--runs', 'r'])).toEqual(E.right({ mode: 'quick', runs: 'r' }));
    expect(parseAblationArgs(['--quick', '--smoke'])).toEqual(E.left(expect.stringMatching(/exclude each other/)));
    expect(parseAblationArgs(['--out'])).toEqual(E.left('--out needs a directory'));
    expect(parseAblationArgs(['--steps', '2000'])).toEqual(E.right({ mode: 'full', steps: 2000 }));
    expect(parseAblationArgs(['--steps', '0'])).toEqual(E.left('--steps needs a positive integer, got "0"'));
    expect(ablationPlan('quick', { steps: 2000 }).budget).toMatchObject({ steps: 2000, warmup: 200 });
    expect(parseAblationArgs(['--fast'])).toEqual(E.left(expect.stringMatching(/^unknown argument "--fast"/)));
  });
});

describe('linear probe', () => {
  const data = (n: number, d: number, signal: number, seed: number) => {
    const r = rng(seed);
    const x = new Float32Array(n * d);
    const y: number[] = [];
    for (let i = 0; i < n; i++) {
      const label = i % 2;
      y.push(label);
      for (let j = 0; j < d; j++) x[i * d + j] = r.next() * 2 - 1 + (j === 0 ? signal * (label ? 1 : -1) : 0);
    }
    return { x, n, d, y };
  };

  it('finds a linear signal and generalises to held-out data', () => {
    const p = trainLinearProbe(data(200, 8, 1.5, 1));
    expect(p.trainAccuracy).toBeGreaterThan(0.95);
    expect(probeAccuracy(p, data(200, 8, 1.5, 2))).toBeGreaterThan(0.95);
  });

  it('scores near chance on held-out data when the features carry no signal', () => {
    const p = trainLinearProbe(data(200, 16, 0, 3));
    expect(Math.abs(probeAccuracy(p, data(400, 16, 0, 4)) - 0.5)).toBeLessThan(0.1);
  });

  it('is deterministic', () => {
    const d = data(50, 4, 0.5, 5);
    expect(trainLinearProbe(d, { steps: 30 })).toEqual(trainLinearProbe(d, { steps: 30 }));
  });
});

describe('verdicts', () => {
  const r = parseAblationResults(fixture);
  if (E.isLeft(r)) throw new Error(r.left);
  const base = r.right;
  const with5 = (t5: Record<string, { nsp: number; sop: number; mlm: number }>): AblationResults => ({
    ...base,
    table5: Object.fromEntries(
      Object.entries(t5).map(([k, v]) => {
        const s = (x: number) => ({ mean: x, min: x, max: x, n: 1 });
        return [k, { ...v, via: k === 'none' ? 'probe' : 'head', stats: { mlm: s(v.mlm), nsp: s(v.nsp), sop: s(v.sop) }, probe: null, arms: [], paper: { mlm: 0, nsp: 0, sop: 0 } }];
      }),
    ),
  });

  it('the noise margin of a difference of two accuracies on n examples is 2·√2·50/√n points', () => {
    expect(noiseMargin(1000)).toBeCloseTo(4.472, 3);
    expect(noiseMargin(0)).toBe(Infinity);
  });

  it("reproduces the paper's Table 5 pattern when the figures show it, and says not when they do not", () => {
    const paperLike = table5Claims(with5({ none: { mlm: 54.9, nsp: 52.4, sop: 53.3 }, nsp: { mlm: 54.5, nsp: 90.5, sop: 52.0 }, sop: { mlm: 54.0, nsp: 78.9, sop: 86.5 } }));
    expect(paperLike.map((c) => c.verdict)).toEqual(['reproduced', 'reproduced', 'reproduced', 'reproduced', 'reproduced', 'reproduced']);
    const flat = table5Claims(with5({ none: { mlm: 6, nsp: 50, sop: 50 }, nsp: { mlm: 6, nsp: 71, sop: 70 }, sop: { mlm: 6, nsp: 50, sop: 49 } }));
    expect(flat.map((c) => c.verdict)).toEqual(['not reproduced', 'not reproduced', 'within noise', 'reproduced', 'reproduced', 'reproduced']);
    const flatMd = renderAblations(with5({ none: { mlm: 6, nsp: 50, sop: 50 }, nsp: { mlm: 6, nsp: 71, sop: 70 }, sop: { mlm: 6, nsp: 50, sop: 49 } }), opts);
    expect(flatMd).toContain('within 2 points of always predicting the most frequent piece (5.9%)');
    expect(renderAblations(base, opts)).not.toContain('within 2 points of always predicting');
    expect(summarySentence('Table 5', flat)).toMatch(/^At this scale, Table 5 reproduced: NSP-trained model solves NSP.* — did not reproduce: NSP-trained model is at chance on sentence order; SOP-trained model is clearly better/);
  });

  it('says so in plain words when every classifier scores the same accuracy, or every sentence head exactly 50%', () => {
    const flat: AblationResults = {
      ...base,
      arms: base.arms.map((a) => ({ ...a, imdb: a.imdb === null ? null : 48.7, evaluation: a.evaluation && { ...a.evaluation, head: a.evaluation.head && { sop: 0.5, nsp: 0.5 } } })),
    };
    const md = renderAblations(flat, opts);
    expect(md).toContain('Every fine-tuned classifier scores the same IMDB accuracy, 48.7%');
    expect(md).toContain('Every sentence head scores exactly 50.0% on both kinds of pair');
    const plain = renderAblations(base, opts);
    expect(plain).not.toContain('Every fine-tuned classifier scores the same');
    expect(plain).not.toContain('Every sentence head scores exactly 50.0%');
  });

  it('checks Tables 3 and 4 on the fixture, computing every verdict from its numbers', () => {
    const t4 = table4Claims(base);
    expect(t4.find((c) => c.claim.startsWith('E=768: not sharing'))?.verdict).toBe('reproduced'); // 68 vs 62 on 1000 examples
    expect(t4.find((c) => c.claim.startsWith('E=128: parameters'))?.verdict).toBe('reproduced');
    const t3 = table3Claims(base);
    expect(t3.find((c) => c.claim.startsWith('Not shared'))?.verdict).toBe('not measured'); // the E=64 not-shared arm failed in the fixture
    expect(t3.find((c) => c.claim.startsWith('All-shared'))?.verdict).toBe('within noise'); // 64 vs 62: +2 < 4.5
  });
});

describe('ABLATIONS.md', () => {
  const r = parseAblationResults(fixture);
  it('reads the fixture and refuses what is not a results file', () => {
    expect(E.isRight(r)).toBe(true);
    expect(parseAblationResults([])).toEqual(E.left('not an ablations results file: expected a JSON object'));
    expect(parseAblationResults({ kind: 'lamina-ablations', schema: 2 })).toEqual(E.left('unsupported ablations schema 2 (expected 1)'));
    expect(parseAblationResults({ kind: 'lamina-ablations', schema: 1 })).toEqual(E.left(expect.stringMatching(/^not an ablations results file: missing date, command/)));
  });
  if (E.isLeft(r)) return;

  it('renders the fixture to the committed markdown, deterministically', () => {
    const md = renderAblations(r.right, opts);
    expect(renderAblations(r.right, opts)).toBe(md);
    const expectedFile = path.join(dir, 'ablations-report.expected.md');
    if (process.env.UPDATE_REPORT_FIXTURE) fs.writeFileSync(expectedFile, md);
    expect(md).toBe(fs.readFileSync(expectedFile, 'utf8'));
  });

  it("puts lamina's figures beside the paper's, with parameters, tokens, wall time and one sentence per table", () => {
    const md = renderAblations(r.right, opts);
    expect(md).toMatch(/\| none \| [\d.]+ \([\d.]+–[\d.]+\) \| 54\.9 \| [\d.]+ \([\d.]+–[\d.]+\) ᵖ \| 52\.4 \|/);
    expect(md).toMatch(/\| SOP \| .* \| 86\.5 \|/);
    for (const t of ['Table 5', 'Table 4', 'Table 3']) expect(md).toContain(`At this scale, ${t} `);
    expect(md).toContain('| 768 | 128 | shared-FFN |');
    expect(md).toContain('614,400');
    expect(md).toContain('failed: lamina finetune exited with 1');
    expect(md).toContain('AMD EPYC, 2 cores');
  });

  it('renders the recipe search the results carry, and nothing for files without one', () => {
    expect(renderAblations(r.right, opts)).not.toContain('What we tried');
    const md = renderAblations({ ...r.right, recipeSearch: RECIPE_SEARCH }, opts);
    expect(md).toContain('### What we tried (choosing the shared recipe)');
    for (const t of RECIPE_SEARCH) expect(md).toContain(`| ${t.recipe} |`);
    expect(md).not.toMatch(/NaN|undefined/);
  });

  it('renders one well-formed SVG per table', () => {
    const svgs = renderAblationPlots(r.right);
    expect(Object.keys(svgs).sort()).toEqual(['ablations-table3.svg', 'ablations-table4.svg', 'ablations-table5.svg']);
    for (const svg of Object.values(svgs)) {
      expect(svg).toMatch(/^<\?xml[^\n]*\n<svg /);
      expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
      expect(svg).not.toMatch(/NaN|undefined/);
    }
    expect(barChart({ title: 'a<b', yLabel: 'y', yMax: 1, series: ['s'], groups: [{ label: 'g', values: [{ value: null }] }] })).toContain('a&lt;b');
  });
});

describe("the paper's figures", () => {
  it('agree where the tables share a row (Table 3 E=768 = Table 4 E=768; Table 3 E=128 shared = Table 4 E=128 all-shared = Table 5 SOP)', () => {
    for (const [t3, t4] of [
      ['768:shared', '768:all'],
      ['768:not-shared', '768:none'],
      ['128:shared', '128:all'],
    ] as const)
      expect(PAPER_TABLE3[t3]).toEqual(PAPER_TABLE4[t4]);
    // the paper's own difference: E=128 not-shared is 81.7 on average in Table 3, 81.6 in Table 4
    expect({ ...PAPER_TABLE3['128:not-shared'], avg: 0 }).toEqual({ ...PAPER_TABLE4['128:none'], avg: 0 });
    expect([PAPER_TABLE3['128:not-shared']?.avg, PAPER_TABLE4['128:none']?.avg]).toEqual([81.7, 81.6]);
    expect(PAPER_TABLE5.sop.avg).toBe(PAPER_TABLE4['128:all']?.avg);
    // Table 5 is about sentence order: NSP-trained at chance on SOP, SOP-trained solves both
    expect(PAPER_TABLE5.nsp.sop).toBeLessThan(55);
    expect(PAPER_TABLE5.sop.nsp).toBeGreaterThan(75);
  });
});
