/**
 * Dependency-free SVG line charts for training curves (loss, accuracies), one or more panels per
 * image. Non-finite points break a line instead of bending it; empty and one-point series render
 * (a "no data" note, a dot).
 *
 * @example
 * ```ts
 * const svg = renderSvgPanels([
 *   { title: 'loss', xLabel: 'step', yLabel: 'loss', series: [seriesFromMetrics(records, 'loss')] },
 *   { title: 'accuracy', xLabel: 'step', yLabel: 'accuracy',
 *     series: [seriesFromMetrics(records, 'eval/mlm_accuracy'), seriesFromMetrics(records, 'eval/sop_accuracy')] },
 * ]);
 * writeSvgAtomic('run/curves.svg', svg);
 * ```
 * @module
 */
import fs from 'node:fs';
import path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type { MetricRecord } from './metrics.js';

/**
 * One named line: `[x, y]` points in drawing order.
 * @example { name: 'train loss', points: [[0, 7.1], [100, 5.2], [200, 4.4]] }
 */
export interface Series {
  readonly name: string;
  readonly points: ReadonlyArray<readonly [number, number]>;
}

/**
 * Labels and size of one chart.
 * @example { title: 'pretraining', xLabel: 'step', yLabel: 'loss', width: 800 }
 */
export interface PlotOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  /** Pixel width of the panel (default 640). */
  readonly width?: number;
  /** Pixel height of the panel (default 400). */
  readonly height?: number;
}

/**
 * One chart of a multi-panel figure.
 * @example { title: 'accuracy', xLabel: 'step', yLabel: 'acc', series: [seriesFromMetrics(records, 'eval/sop_accuracy')] }
 */
export interface Panel extends PlotOptions {
  readonly series: readonly Series[];
}

/**
 * Why a plot could not be written.
 * @example { _tag: 'PlotError', message: 'cannot write run/curves.svg: EACCES: permission denied' }
 */
export interface PlotError {
  readonly _tag: 'PlotError';
  readonly message: string;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

/**
 * Escapes text for XML content and attribute values.
 * @example escapeXml('a<b & "c"') // 'a&lt;b &amp; &quot;c&quot;'
 */
export const escapeXml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? c);

/**
 * "Nice" axis ticks covering [lo, hi]: steps of 1, 2 or 5 × 10ᵏ, about `count` of them.
 * @example niceTicks(0, 1, 5) // [0, 0.2, 0.4, 0.6, 0.8, 1]
 */
export const niceTicks = (lo: number, hi: number, count = 5): number[] => {
  if (!(Number.isFinite(lo) && Number.isFinite(hi)) || hi <= lo) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag) as number;
  const first = Math.ceil(lo / step - 1e-9);
  const last = Math.floor(hi / step + 1e-9);
  const out: number[] = [];
  for (let i = first; i <= last; i++) out.push(Number((i * step).toPrecision(12)));
  return out;
};

/**
 * A short tick label: plain decimals for ordinary magnitudes, exponent form for very large or
 * very small ones.
 * @example formatTick(0.25) // "0.25"; formatTick(120000) // "1.2e5"
 */
export const formatTick = (v: number): string => {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(1).replace(/\.0e/, 'e').replace('e+', 'e');
  return String(Number(v.toPrecision(4)));
};

interface Extent {
  lo: number;
  hi: number;
}

const extent = (xs: number[]): Extent | undefined => {
  if (xs.length === 0) return undefined;
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of xs) {
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  if (lo === hi) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    return { lo: lo - pad, hi: hi + pad };
  }
  return { lo, hi };
};

const fmt = (n: number): string => String(Math.round(n * 100) / 100);

/** Splits a series into runs of finite points (a non-finite point breaks the line). */
const segments = (points: ReadonlyArray<readonly [number, number]>): Array<Array<readonly [number, number]>> => {
  const out: Array<Array<readonly [number, number]>> = [];
  let cur: Array<readonly [number, number]> = [];
  for (const p of points) {
    if (Number.isFinite(p[0]) && Number.isFinite(p[1])) cur.push(p);
    else if (cur.length > 0) {
      out.push(cur);
      cur = [];
    }
  }
  if (cur.length > 0) out.push(cur);
  return out;
};

/** The SVG elements of one panel, drawn in a `width × height` box at the origin. */
const panelBody = (panel: Panel, width: number, height: number): string => {
  const m = { left: 64, right: 16, top: 36, bottom: 48 };
  const pw = Math.max(10, width - m.left - m.right);
  const ph = Math.max(10, height - m.top - m.bottom);
  const finite = panel.series.flatMap((s) => s.points.filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1])));
  const parts: string[] = [];
  parts.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  parts.push(`<text x="${fmt(width / 2)}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(panel.title)}</text>`);
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#444444" stroke-width="1"/>`);
  parts.push(`<text x="${fmt(m.left + pw / 2)}" y="${height - 8}" text-anchor="middle" font-size="12">${escapeXml(panel.xLabel)}</text>`);
  parts.push(
    `<text x="14" y="${fmt(m.top + ph / 2)}" text-anchor="middle" font-size="12" transform="rotate(-90 14 ${fmt(m.top + ph / 2)})">${escapeXml(panel.yLabel)}</text>`,
  );
  const ex = extent(finite.map((p) => p[0]));
  const eyRaw = extent(finite.map((p) => p[1]));
  // 5% head- and foot-room so curves do not run along the frame.
  const ey = eyRaw && { lo: eyRaw.lo - 0.05 * (eyRaw.hi - eyRaw.lo), hi: eyRaw.hi + 0.05 * (eyRaw.hi - eyRaw.lo) };
  if (ex === undefined || ey === undefined) {
    parts.push(`<text x="${fmt(m.left + pw / 2)}" y="${fmt(m.top + ph / 2)}" text-anchor="middle" font-size="13" fill="#888888">no data</text>`);
  } else {
    const sx = (x: number) => m.left + ((x - ex.lo) / (ex.hi - ex.lo)) * pw;
    const sy = (y: number) => m.top + ph - ((y - ey.lo) / (ey.hi - ey.lo)) * ph;
    for (const t of niceTicks(ex.lo, ex.hi, 6)) {
      const x = fmt(sx(t));
      parts.push(`<line x1="${x}" y1="${m.top}" x2="${x}" y2="${m.top + ph}" stroke="#e6e6e6" stroke-width="1"/>`);
      parts.push(`<text x="${x}" y="${m.top + ph + 16}" text-anchor="middle" font-size="11" fill="#333333">${escapeXml(formatTick(t))}</text>`);
    }
    for (const t of niceTicks(ey.lo, ey.hi, 5)) {
      const y = fmt(sy(t));
      parts.push(`<line x1="${m.left}" y1="${y}" x2="${m.left + pw}" y2="${y}" stroke="#e6e6e6" stroke-width="1"/>`);
      parts.push(`<text x="${m.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" font-size="11" fill="#333333">${escapeXml(formatTick(t))}</text>`);
    }
    panel.series.forEach((s, i) => {
      const color = PALETTE[i % PALETTE.length] as string;
      for (const seg of segments(s.points)) {
        if (seg.length === 1) {
          const [p] = seg as [readonly [number, number]];
          parts.push(`<circle cx="${fmt(sx(p[0]))}" cy="${fmt(sy(p[1]))}" r="3" fill="${color}"/>`);
        } else {
          const pts = seg.map((p) => `${fmt(sx(p[0]))},${fmt(sy(p[1]))}`).join(' ');
          parts.push(`<polyline points="${pts}" fill="none" stroke="${color}" stroke-width="1.5" stroke-linejoin="round"/>`);
        }
      }
    });
  }
  // Legend (also for empty series, so every name appears), on a translucent box.
  if (panel.series.length > 0) {
    const longest = Math.max(...panel.series.map((s) => s.name.length));
    const boxW = Math.min(pw - 4, 34 + longest * 6.5);
    parts.push(
      `<rect x="${fmt(m.left + pw - 4 - boxW)}" y="${m.top + 2}" width="${fmt(boxW)}" height="${panel.series.length * 16 + 4}" fill="#ffffff" fill-opacity="0.85" stroke="#dddddd"/>`,
    );
  }
  panel.series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length] as string;
    const y = m.top + 14 + i * 16;
    const x = m.left + pw - 8;
    parts.push(`<line x1="${x - 18}" y1="${y - 4}" x2="${x - 4}" y2="${y - 4}" stroke="${color}" stroke-width="2.5"/>`);
    parts.push(`<text x="${x - 22}" y="${y}" text-anchor="end" font-size="11" fill="#222222">${escapeXml(s.name)}</text>`);
  });
  return parts.join('\n');
};

/**
 * Renders panels side by side (`columns` per row, default up to 2) as one SVG document.
 * @example renderSvgPanels([{ title: 'loss', xLabel: 'step', yLabel: 'loss', series: [{ name: 'train', points: [[0, 3], [10, 2]] }] }])
 */
export const renderSvgPanels = (panels: readonly Panel[], opts: { readonly columns?: number } = {}): string => {
  const columns = Math.max(1, Math.min(opts.columns ?? 2, Math.max(1, panels.length)));
  const rows = Math.max(1, Math.ceil(panels.length / columns));
  const cellW = Math.max(200, ...panels.map((p) => p.width ?? 640));
  const cellH = Math.max(150, ...panels.map((p) => p.height ?? 400));
  const width = cellW * columns;
  const height = cellH * rows;
  const body = panels
    .map((p, i) => `<g transform="translate(${(i % columns) * cellW} ${Math.floor(i / columns) * cellH})">\n${panelBody(p, cellW, cellH)}\n</g>`)
    .join('\n');
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    body,
    '</svg>',
    '',
  ].join('\n');
};

/**
 * Renders one chart as an SVG document.
 * @example renderSvgPlot([{ name: 'loss', points: [[0, 3], [1, 2.5]] }], { title: 'Training', xLabel: 'step', yLabel: 'loss' })
 */
export const renderSvgPlot = (series: readonly Series[], opts: PlotOptions): string => renderSvgPanels([{ ...opts, series }], { columns: 1 });

/**
 * The `(step, values[key])` points of the records that have `key`, as a series named `name`.
 * @example seriesFromMetrics(records, 'loss') // { name: 'loss', points: [[1, 3.2], [2, 3.1]] }
 */
export const seriesFromMetrics = (records: readonly MetricRecord[], key: string, name: string = key): Series => ({
  name,
  points: records.filter((r) => key in r.values).map((r) => [r.step, r.values[key] as number] as const),
});

/**
 * Writes an SVG (or any text) so that `file` holds either the old or the complete new content:
 * temp file in the same directory, fsync, rename.
 * @example writeSvgAtomic('run/curves.svg', svg)
 */
export const writeSvgAtomic = (file: string, svg: string): E.Either<PlotError, void> => {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}`);
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeSync(fd, svg);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    return E.right(undefined);
  } catch (e) {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // the temp file could not even be created
    }
    return E.left({ _tag: 'PlotError', message: `cannot write ${file}: ${e instanceof Error ? e.message : String(e)}` });
  }
};
