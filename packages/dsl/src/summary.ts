/**
 * A Keras-like `summary()` table of a model for an input signature: one row per layer with its
 * output shape and parameters, and, per shared node, stored vs applied parameters and the reuse
 * count — the view that makes cross-layer sharing visible.
 *
 * @example
 * ```ts
 * console.log(unwrap(summary(model, tensorSig([8, 128], 'int32'))));
 * ```
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Node } from './layer.js';
import { countParams, ownParams, paramSpecs, sizeOf } from './params.js';
import { primitiveOf } from './primitives/index.js';
import { inferShape, type ModelError, type Signature, type TensorSig } from './shape.js';
import { children, repeatShares } from './tree.js';

/** One row of the summary. */
export interface SummaryRow {
  readonly depth: number;
  readonly label: string;
  readonly output: string;
  /** Parameters stored by this node (shared ones counted at their first occurrence only). */
  readonly stored: number;
  /** Parameters applied by one pass through this node (stored × reuse). */
  readonly applied: number;
  readonly note: string;
}

/** The summary as data: rows, totals and the shared nodes with their reuse. */
export interface Summary {
  readonly rows: readonly SummaryRow[];
  readonly totalStored: number;
  readonly totalApplied: number;
  readonly shared: readonly { readonly name: string; readonly stored: number; readonly uses: number; readonly applied: number }[];
  readonly output: string;
}

const showSig = (s: Signature): string =>
  'shape' in s
    ? `[${s.shape.map((d) => (d === null ? '*' : String(d))).join(', ')}]`
    : `{${Object.entries(s.outputs)
        .map(([k, v]) => `${k}: ${showSig(v)}`)
        .join(', ')}}`;

const own = (n: Node): number => ownParams(n).reduce((a, p) => a + sizeOf(p.shape), 0);

/** Parameters applied by one pass through a node (stored × reuse; a tied decoder applies its table too). */
const applied = (n: Node): number => {
  const p = primitiveOf(n);
  if (p) {
    const tie = p.tie?.(n as never);
    return own(n) + (tie ? tie.vocab * tie.dim : 0);
  }
  const sum = children(n).reduce((a, [, c]) => a + applied(c), 0);
  return n.kind === 'repeat' ? n.times * sum : sum;
};

/** Parameters stored by a node (a shared body counted at its first occurrence only). */
const stored = (n: Node, seen: Set<string>): number => {
  if (primitiveOf(n)) return own(n);
  if (n.kind === 'shared') {
    if (seen.has(n.name)) return 0;
    seen.add(n.name);
    return stored(n.layer, seen);
  }
  if (n.kind === 'repeat') {
    const body = repeatShares(n) ? stored(n.layer, seen) : Array.from({ length: n.times }).reduce<number>((a) => a + stored(n.layer, seen), 0);
    return body + (n.step ? stored(n.step, seen) : 0);
  }
  return children(n).reduce((a, [, c]) => a + stored(c, seen), 0);
};

const label = (n: Node): string => {
  const p = primitiveOf(n);
  if (p) return p.label(n as never);
  switch (n.kind) {
    case 'repeat':
      return `repeat ×${n.times}${n.step ? ` (${n.step.signal} step signal)` : ''}`;
    case 'shared':
      return `shared "${n.name}"`;
    case 'named':
      return n.name;
    case 'branch':
      return n.branches.length === 2 && n.merge === 'add' && n.branches[0]?.kind === 'identity' ? 'residual' : `branch (${n.merge})`;
    default:
      return n.kind;
  }
};

/** Builds the summary of `model` for the input signature (+ side inputs). */
export const summarize = (model: Node, input: TensorSig, side: Readonly<Record<string, TensorSig>> = {}): E.Either<ModelError, Summary> => {
  const specs = paramSpecs(model);
  if (E.isLeft(specs)) return specs;
  const out = inferShape(model, input, side);
  if (E.isLeft(out)) return out;
  const rows: SummaryRow[] = [];
  const seen = new Set<string>();
  const uses = new Map<string, number>();
  const sharedStored = new Map<string, number>();
  const walk = (n: Node, x: Signature, depth: number, mult: number, expand: boolean): Signature => {
    const y = E.getOrElse((): Signature => x)(inferShape(n, 'shape' in x ? x : input, side, model));
    const st = stored(n, new Set(seen));
    const row = (note = '', s = st): void => {
      rows.push({ depth, label: label(n), output: showSig(y), stored: s, applied: applied(n), note });
    };
    switch (n.kind) {
      case 'seq':
        if (depth === 0) {
          let cur = x;
          for (const l of n.layers) cur = walk(l, cur, depth, mult, expand);
          return y;
        }
        row();
        if (expand) {
          let cur = x;
          for (const l of n.layers) cur = walk(l, cur, depth + 1, mult, expand);
        }
        return y;
      case 'branch':
        row();
        if (expand) for (const l of n.branches) walk(l, x, depth + 1, mult, expand);
        return y;
      case 'repeat': {
        const shared = n.layer.kind === 'shared';
        row(shared ? `one parameter set applied ${n.times}×` : `${n.times} copies, each with its own parameters`);
        if (expand) {
          if (shared) walk(n.layer, x, depth + 1, mult * n.times, expand);
          else walk(n.layer, x, depth + 1, mult, expand);
        }
        return y;
      }
      case 'shared': {
        uses.set(n.name, (uses.get(n.name) ?? 0) + mult);
        const first = !seen.has(n.name);
        const s = stored(n, new Set(seen));
        if (first) sharedStored.set(n.name, s);
        seen.add(n.name);
        row(first ? '' : 'same parameters as above', first ? s : 0);
        if (first && expand) walk(n.layer, x, depth + 1, mult, expand);
        return y;
      }
      case 'named':
        row();
        if (expand) walk(n.layer, x, depth + 1, mult, expand);
        return y;
      case 'fanout':
        row();
        if (expand) for (const [, l] of Object.entries(n.outputs)) walk(l, x, depth + 1, mult, expand);
        return y;
      default: {
        const tie = primitiveOf(n)?.tie?.(n as never);
        if (tie) uses.set(tie.target, (uses.get(tie.target) ?? 0) + mult);
        row(tie ? `decoder = transpose of "${tie.target}" (tied)` : '');
        return y;
      }
    }
  };
  walk(model, input, 0, 1, true);
  const totalStored = E.getOrElse(() => 0)(countParams(model));
  return E.right({
    rows,
    totalStored,
    totalApplied: applied(model),
    shared: [...uses.entries()].map(([name, u]) => ({ name, stored: sharedStored.get(name) ?? 0, uses: u, applied: (sharedStored.get(name) ?? 0) * u })),
    output: showSig(out.right),
  });
};

const fmt = (n: number): string => n.toLocaleString('en-US');

/** Renders a {@link Summary} as a fixed-width table. */
export const formatSummary = (s: Summary): string => {
  const head = ['Layer', 'Output shape', 'Params', 'Applied', ''];
  const body = s.rows.map((r) => [`${'  '.repeat(r.depth)}${r.label}`, r.output, r.stored ? fmt(r.stored) : '0', r.applied ? fmt(r.applied) : '0', r.note]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i >= 2 && i <= 3 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const rule = '─'.repeat(widths.reduce((a, w) => a + w + 2, -2));
  const out = [rule, line(head), rule, ...body.map(line), rule];
  out.push(`Total params (stored):        ${fmt(s.totalStored)}`);
  out.push(`Params applied per forward:   ${fmt(s.totalApplied)}`);
  for (const sh of s.shared)
    out.push(`Shared "${sh.name}": ${fmt(sh.stored)} stored, used ${sh.uses}×, ${fmt(sh.applied)} applied (saves ${fmt(sh.applied - sh.stored)})`);
  out.push(`Output: ${s.output}`);
  return out.join('\n');
};

/** The summary table as text, or the model's error. */
export const summary = (model: Node, input: TensorSig, side: Readonly<Record<string, TensorSig>> = {}): E.Either<ModelError, string> =>
  E.map(formatSummary)(summarize(model, input, side));
