// The ConfigProto settings a graph function call can carry (threads, Grappler's optimizers), their
// exact bytes, and that TensorFlow accepts them on a call of a registered function (each setting
// computes the same result), including through the process-wide default.
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { fc, test } from '@fast-check/vitest';
import {
  callFunction,
  encodeConfigProto,
  encodeGraphDef,
  graphToFunctionDef,
  GRAPPLER_OPTIMIZERS,
  hasFunction,
  readFields,
  registerFunctionDef,
  setDefaultConfigProto,
  TF_DTYPE,
  type ConfigProtoOptions,
} from '../src/index.js';

describe('encodeConfigProto', () => {
  it('stays empty with no options (TensorFlow default optimizations)', () => {
    expect(encodeConfigProto({})).toEqual(new Uint8Array(0));
  });
  it('writes a Grappler toggle as graph_options(10).rewrite_options(10).<optimizer field> = OFF(2)', () => {
    // 0x52 = field 10, length-delimited; 0x70 = field 14 (remapping), varint
    expect([...encodeConfigProto({ rewrite: { remapping: 'off' } })]).toEqual([0x52, 4, 0x52, 2, 0x70, 2]);
  });
  it('writes threads, use_per_session_threads, meta-optimizer passes and the off switch', () => {
    const top = readFields(encodeConfigProto({ intraOpThreads: 2, interOpThreads: 1, usePerSessionThreads: true, metaOptimizerIterations: 1, disableMetaOptimizer: true }));
    expect(top.filter((f) => f.wire === 0).map((f) => [f.field, Number(f.int)])).toEqual([[2, 2], [5, 1], [9, 1]]);
    const graph = top.find((f) => f.field === 10)?.bytes as Uint8Array;
    const rw = readFields(readFields(graph).find((f) => f.field === 10)?.bytes as Uint8Array);
    expect(rw.map((f) => [f.field, Number(f.int)])).toEqual([[12, 1], [19, 1]]);
  });
  test.prop([fc.dictionary(fc.constantFrom(...(Object.keys(GRAPPLER_OPTIMIZERS) as (keyof typeof GRAPPLER_OPTIMIZERS)[])), fc.constantFrom('on' as const, 'off' as const, 'aggressive' as const))])(
    'every optimizer toggle lands in its own RewriterConfig field with its Toggle value',
    (rewrite) => {
      const top = readFields(encodeConfigProto({ rewrite }));
      const keys = Object.keys(rewrite) as (keyof typeof GRAPPLER_OPTIMIZERS)[];
      if (!keys.length) {
        expect(top).toEqual([]);
        return;
      }
      const graph = top.find((f) => f.field === 10)?.bytes as Uint8Array;
      const rw = readFields(readFields(graph).find((f) => f.field === 10)?.bytes as Uint8Array);
      const want = keys.map((k) => [GRAPPLER_OPTIMIZERS[k], { on: 1, off: 2, aggressive: 3 }[rewrite[k]!]]).sort((a, b) => a[0]! - b[0]!);
      expect(rw.map((f) => [f.field, Number(f.int)])).toEqual(want);
    },
  );
});

describe('a registered function called with each setting', () => {
  const name = 'lamina_test_config_proto';
  const f32 = { kind: 'type', value: TF_DTYPE.float32 } as const;
  const register = (): void => {
    const has = hasFunction(name);
    if (E.isRight(has) && has.right) return;
    const fdef = graphToFunctionDef(
      encodeGraphDef([
        { name: 'x', op: 'Placeholder', inputs: [], attrs: { dtype: f32 } },
        { name: 'y', op: 'Mul', inputs: ['x', 'x'], attrs: { T: f32 } },
        { name: 'z', op: 'AddV2', inputs: ['y', 'x'], attrs: { T: f32 } },
      ]),
      name,
      ['x:0'],
      ['z:0'],
      ['z'],
    );
    if (E.isLeft(fdef)) throw new Error(fdef.left.message);
    const r = registerFunctionDef(fdef.right);
    if (E.isLeft(r)) throw new Error(r.left.message);
  };
  const settings: ConfigProtoOptions[] = [{}, { intraOpThreads: 1 }, { interOpThreads: 1 }, { usePerSessionThreads: true }, { rewrite: { remapping: 'off', arithmetic: 'aggressive', layout: 'off' } }, { metaOptimizerIterations: 1 }, { disableMetaOptimizer: true }];
  it('computes x·x + x for every setting (TensorFlow accepts the bytes)', () => {
    register();
    const x = tf.tensor1d([1, 2, 3]);
    for (const s of settings) {
      const out = callFunction(name, [x], 1, { configProto: encodeConfigProto(s) });
      if (E.isLeft(out)) throw new Error(`${JSON.stringify(s)}: ${out.left.message}`);
      expect(Array.from(out.right[0]!.dataSync())).toEqual([2, 6, 12]);
      tf.dispose(out.right);
    }
    x.dispose();
  });
  it('uses the process-wide default when a call gives none, and hands the previous one back', () => {
    register();
    const off = encodeConfigProto({ disableMetaOptimizer: true });
    const before = setDefaultConfigProto(off);
    try {
      const x = tf.tensor1d([4]);
      const out = callFunction(name, [x], 1);
      if (E.isLeft(out)) throw new Error(out.left.message);
      expect(Array.from(out.right[0]!.dataSync())).toEqual([20]);
      tf.dispose([x, ...out.right]);
    } finally {
      expect(setDefaultConfigProto(before)).toBe(off);
    }
  });
});
