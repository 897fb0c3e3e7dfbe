// The per-kind tables are complete by construction: dropping any entry, or putting one primitive
// under another's kind, fails the type-check (each @ts-expect-error below must be an error, or tsc
// reports the directive unused and the test command fails). At run time: every kind has a codec,
// a label and its table entry, and every primitive's codec accepts what its constructor builds.
import { describe, expect, it } from 'vitest';
import * as E from 'fp-ts/lib/Either.js';
import {
  COMBINATORS,
  decodeModel,
  densePrimitive,
  encodeModel,
  layerNormPrimitive,
  PRIMITIVES,
  type CombinatorKind,
  type CombinatorTable,
  type Kind,
  type PrimitiveKind,
  type PrimitiveTable,
} from '../src/index.js';
import { everyPrimitive } from './primitive-examples.js';

/** 'breaks' when a table without entry K is no longer a table; a union over all K. */
type DropBreaks<T, K extends keyof T> = Omit<T, K> extends T ? 'still a table' : 'breaks';
type EveryPrimitiveDropBreaks = { [K in PrimitiveKind]: DropBreaks<PrimitiveTable, K> }[PrimitiveKind];
type EveryCombinatorDropBreaks = { [K in CombinatorKind]: DropBreaks<CombinatorTable, K> }[CombinatorKind];

describe('a kind without its table entry does not type-check', () => {
  it('for every primitive kind and every combinator kind (type-level, all kinds at once)', () => {
    const p: EveryPrimitiveDropBreaks = 'breaks';
    const c: EveryCombinatorDropBreaks = 'breaks';
    // @ts-expect-error — no primitive kind can be dropped from the table
    const p2: EveryPrimitiveDropBreaks = 'still a table';
    // @ts-expect-error — no combinator kind can be dropped from the table
    const c2: EveryCombinatorDropBreaks = 'still a table';
    expect([p, c, p2, c2]).toHaveLength(4);
  });

  it('spelled out: a table without dense, and dense filled with layerNorm', () => {
    const { dense: _dense, ...withoutDense } = PRIMITIVES;
    // @ts-expect-error — a primitive table without `dense` is not a PrimitiveTable
    const t1: PrimitiveTable = withoutDense;
    // @ts-expect-error — `dense` must be the dense primitive, not layerNorm's
    const t2: PrimitiveTable = { ...PRIMITIVES, dense: layerNormPrimitive };
    const t3: PrimitiveTable = { ...PRIMITIVES, dense: densePrimitive };
    expect([t1, t2, t3].length).toBe(3);
  });
});

describe('the tables at run time', () => {
  it('cover every kind exactly once, and each entry is for its own kind', () => {
    const kinds: Kind[] = [...(Object.keys(PRIMITIVES) as PrimitiveKind[]), ...(Object.keys(COMBINATORS) as CombinatorKind[])];
    expect(new Set(kinds).size).toBe(kinds.length);
    for (const [k, p] of Object.entries(PRIMITIVES)) expect(p.kind).toBe(k);
  });

  it('every primitive (one example of each) round-trips through its codec and has a label', () => {
    const examples = everyPrimitive();
    expect(new Set(examples.map((e) => e.kind))).toEqual(new Set(Object.keys(PRIMITIVES)));
    for (const n of examples) {
      const back = decodeModel(JSON.parse(JSON.stringify(encodeModel(n))));
      expect(E.isRight(back) ? back.right : back.left).toEqual(n);
      expect((PRIMITIVES[n.kind].label as (x: typeof n) => string)(n)).not.toBe('');
    }
  });
});
