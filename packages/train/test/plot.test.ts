import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type { MetricRecord } from '../src/metrics.js';
import { escapeXml, formatTick, niceTicks, renderSvgPanels, renderSvgPlot, seriesFromMetrics, writeSvgAtomic } from '../src/plot.js';

/**
 * A strict little well-formedness check: one XML declaration, then tags with quoted attributes
 * that nest and close properly, text without raw `<` or stray `&`. Returns the problem or 'ok'.
 */
const wellFormed = (doc: string): string => {
  let s = doc;
  if (s.startsWith('<?xml')) s = s.slice(s.indexOf('?>') + 2);
  const stack: string[] = [];
  let roots = 0;
  const tag = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>/y;
  let i = 0;
  while (i < s.length) {
    const lt = s.indexOf('<', i);
    const text = s.slice(i, lt === -1 ? s.length : lt);
    if (/&(?!(amp|lt|gt|quot|apos);)/.test(text)) return `stray & in text: ${text}`;
    if (text.includes('>')) return `stray > in text: ${text}`;
    if (text.trim() !== '' && stack.length === 0) return `text outside the root: ${text}`;
    if (lt === -1) break;
    tag.lastIndex = lt;
    const m = tag.exec(s);
    if (!m) return `malformed tag at ${lt}: ${s.slice(lt, lt + 40)}`;
    const [whole, close, name, attrs, selfClose] = m;
    if (/&(?!(amp|lt|gt|quot|apos);)/.test(attrs ?? '')) return `stray & in attributes of <${name}>`;
    if (close) {
      if (stack.pop() !== name) return `</${name}> closes the wrong element`;
    } else {
      if (stack.length === 0) roots++;
      if (!selfClose) stack.push(name!);
    }
    i = lt + whole.length;
  }
  if (stack.length > 0) return `unclosed <${stack.join('><')}>`;
  return roots === 1 ? 'ok' : `${roots} root elements`;
};

const opts = { title: 'Training <loss> & "accuracy"', xLabel: 'step', yLabel: 'loss' };

describe('wellFormed (the checker itself)', () => {
  it('rejects broken documents', () => {
    expect(wellFormed('<svg><g></svg>')).not.toBe('ok');
    expect(wellFormed('<svg><text>a < b</text></svg>')).not.toBe('ok');
    expect(wellFormed('<svg><text>a & b</text></svg>')).not.toBe('ok');
    expect(wellFormed('<svg x=1></svg>')).not.toBe('ok');
    expect(wellFormed('<svg/><svg/>')).not.toBe('ok');
    expect(wellFormed('<?xml version="1.0"?>\n<svg><g a="1"/><text>x &amp; y</text></svg>')).toBe('ok');
  });
});

describe('renderSvgPlot', () => {
  it('renders well-formed SVG containing every series name, escaped', () => {
    const svg = renderSvgPlot(
      [
        { name: 'train <loss>', points: [[0, 3], [1, 2.5], [2, 2.1], [3, 1.9]] },
        { name: 'eval & co', points: [[1, 2.7], [3, 2.2]] },
      ],
      opts,
    );
    expect(wellFormed(svg)).toBe('ok');
    expect(svg).toContain('train &lt;loss&gt;');
    expect(svg).toContain('eval &amp; co');
    expect(svg).toContain('Training &lt;loss&gt; &amp; &quot;accuracy&quot;');
    expect(svg.match(/<polyline /g)?.length).toBe(2);
  });

  it('handles empty series, one-point series and NaN (which breaks the line)', () => {
    const empty = renderSvgPlot([{ name: 'nothing', points: [] }], opts);
    expect(wellFormed(empty)).toBe('ok');
    expect(empty).toContain('no data');
    expect(empty).toContain('nothing');
    expect(wellFormed(renderSvgPlot([], opts))).toBe('ok');

    const one = renderSvgPlot([{ name: 'single', points: [[5, 0.5]] }], opts);
    expect(wellFormed(one)).toBe('ok');
    expect(one).toContain('<circle');
    expect(one).not.toContain('NaN');

    const broken = renderSvgPlot([{ name: 'gap', points: [[0, 1], [1, 2], [2, NaN], [3, 1], [4, Infinity], [5, 0.5], [6, 0.4]] }], opts);
    expect(wellFormed(broken)).toBe('ok');
    expect(broken.match(/<polyline /g)?.length).toBe(2); // [0..1] and [5..6]
    expect(broken.match(/<circle /g)?.length).toBe(1); // the isolated point at x=3
    expect(broken).not.toMatch(/NaN|Infinity/);
  });

  it('renders several panels in one document', () => {
    const svg = renderSvgPanels([
      { title: 'loss', xLabel: 'step', yLabel: 'loss', series: [{ name: 'mlm', points: [[0, 5], [10, 3]] }] },
      { title: 'accuracy', xLabel: 'step', yLabel: 'acc', series: [{ name: 'sop', points: [[0, 0.5], [10, 0.8]] }, { name: 'mlm_acc', points: [[0, 0.01], [10, 0.3]] }] },
      { title: 'lr', xLabel: 'step', yLabel: 'lr', series: [{ name: 'lr', points: [[0, 0], [5, 1e-3], [10, 0]] }] },
    ]);
    expect(wellFormed(svg)).toBe('ok');
    for (const n of ['mlm', 'sop', 'mlm_acc', 'accuracy']) expect(svg).toContain(`>${n}<`);
    expect(svg.match(/<g transform/g)?.length).toBe(3);
    expect(svg).toContain('width="1280" height="800"');
  });
});

describe('axis helpers', () => {
  it('picks nice ticks and short labels', () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(3, 97, 5)).toEqual([20, 40, 60, 80]);
    expect(niceTicks(-0.3, 0.3, 3)).toEqual([-0.2, 0, 0.2]);
    expect(formatTick(0.25)).toBe('0.25');
    expect(formatTick(120000)).toBe('1.2e5');
    expect(formatTick(0.0001)).toBe('1e-4');
    expect(escapeXml(`a<b & "c" 'd'`)).toBe('a&lt;b &amp; &quot;c&quot; &apos;d&apos;');
  });

  it('builds series from metric records, skipping records without the key', () => {
    const recs: MetricRecord[] = [
      { step: 1, time: 0, values: { loss: 3 } },
      { step: 2, time: 0, values: { acc: 0.5 } },
      { step: 3, time: 0, values: { loss: 2, acc: 0.6 } },
    ];
    expect(seriesFromMetrics(recs, 'loss')).toEqual({ name: 'loss', points: [[1, 3], [3, 2]] });
    expect(seriesFromMetrics(recs, 'acc', 'accuracy').points).toEqual([[2, 0.5], [3, 0.6]]);
  });
});

describe('writeSvgAtomic', () => {
  it('writes the file and leaves no temp files behind', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lamina-plot-'));
    const file = path.join(dir, 'sub', 'curves.svg');
    const svg = renderSvgPlot([{ name: 'x', points: [[0, 1], [1, 0]] }], opts);
    expect(writeSvgAtomic(file, svg)).toEqual(E.right(undefined));
    expect(fs.readFileSync(file, 'utf8')).toBe(svg);
    expect(fs.readdirSync(path.join(dir, 'sub'))).toEqual(['curves.svg']);
    const bad = writeSvgAtomic(path.join(file, 'inside-a-file.svg'), svg);
    expect(E.isLeft(bad) && bad.left.message).toMatch(/^cannot write .*inside-a-file\.svg: /);
  });
});
