import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { spawnSync } from 'node:child_process';
import {
  callFunction,
  decodeNameAttrList,
  encodeAttrValue,
  encodeGraphDef,
  encodeServerDef,
  graphToFunctionDef,
  hasFunction,
  nodeBackend,
  probeGraphFunctions,
  readFields,
  registerFunctionDef,
  removeFunction,
  TF_DTYPE,
  ProtoWriter,
  trimNativeMemory,
} from '../src/index.js';

const f32 = { kind: 'type', value: TF_DTYPE.float32 } as const;
const right = <A>(e: E.Either<{ message: string }, A>): A => {
  if (E.isLeft(e)) throw new Error(e.left.message);
  return e.right;
};

describe('protobuf writer', () => {
  it('round-trips varints (incl. negative int64), strings and floats through readFields', () => {
    const w = new ProtoWriter().int(1, 300).int(2, -1).string(3, 'héllo').float(4, 1.5);
    const fields = readFields(w.finish());
    expect(fields.map((f) => f.field)).toEqual([1, 2, 3, 4]);
    expect(fields[0]!.int).toBe(300n);
    expect(fields[1]!.int).toBe((1n << 64n) - 1n);
    expect(new TextDecoder().decode(fields[2]!.bytes)).toBe('héllo');
    expect(new DataView(fields[3]!.bytes!.buffer, fields[3]!.bytes!.byteOffset).getFloat32(0, true)).toBe(1.5);
  });

  it('writes an AttrValue type as field 6 and a ServerDef with its job and task', () => {
    expect([...encodeAttrValue(f32)]).toEqual([6 << 3, 1]);
    const sd = readFields(encodeServerDef({ cluster: { worker: ['127.0.0.1:1', '127.0.0.1:2'] }, jobName: 'worker', taskIndex: 1 }));
    expect(sd.map((f) => f.field)).toEqual([1, 2, 3, 5]);
    expect(sd[2]!.int).toBe(1n);
  });
});

describe('patched native binding', () => {
  it('registers a FunctionDef built from a GraphDef and calls it as one op with config_proto', () => {
    const fdef = right(
      graphToFunctionDef(
        encodeGraphDef([
          { name: 'a', op: 'Placeholder', inputs: [], attrs: { dtype: f32 } },
          { name: 'b', op: 'Placeholder', inputs: [], attrs: { dtype: f32 } },
          { name: 'ab', op: 'MatMul', inputs: ['a', 'b'], attrs: { T: f32, transpose_a: { kind: 'b', value: false } } },
          { name: 'y', op: 'AddV2', inputs: ['ab:0', 'a'], attrs: { T: f32 } },
        ]),
        'lamina_test_matmul_add',
        ['a:0', 'b:0'],
        ['y:0', 'ab:0'],
        ['y', 'ab'],
      ),
    );
    expect(right(hasFunction('lamina_test_matmul_add'))).toBe(false);
    right(registerFunctionDef(fdef));
    expect(right(hasFunction('lamina_test_matmul_add'))).toBe(true);
    const a = tf.tensor2d([[1, 2], [3, 4]]);
    const b = tf.tensor2d([[5, 6], [7, 8]]);
    for (const xla of [false, true]) {
      const [y, ab] = right(callFunction('lamina_test_matmul_add', [a, b], 2, { xla }));
      // [[1*5+2*7, 1*6+2*8], [3*5+4*7, 3*6+4*8]] = [[19, 22], [43, 50]]; y = ab + a
      expect(ab!.arraySync()).toEqual([[19, 22], [43, 50]]);
      expect(y!.arraySync()).toEqual([[20, 24], [46, 54]]);
      tf.dispose([y!, ab!]);
    }
    right(removeFunction('lamina_test_matmul_add'));
    expect(right(hasFunction('lamina_test_matmul_add'))).toBe(false);
    tf.dispose([a, b]);
  });

  it("surfaces TensorFlow's own message and status as a value, not 'Invalid TF_Status'", () => {
    const bad = registerFunctionDef(new Uint8Array([1, 2, 3]));
    expect(bad).toMatchObject({ _tag: 'Left', left: { code: 'TF_INVALID_ARGUMENT', message: 'Invalid FunctionDef proto' } });
    const missing = graphToFunctionDef(encodeGraphDef([{ name: 'x', op: 'NoSuchOp', inputs: [], attrs: {} }]), 'f', [], ['x:0'], ['y']);
    expect(E.isLeft(missing) && missing.left.message).toMatch(/NoSuchOp/);
    expect(E.isLeft(missing) && missing.left.message).not.toMatch(/Invalid TF_Status/);
    const call = callFunction('lamina_no_such_function', [], 1);
    expect(E.isLeft(call) && call.left.code).toBe('TF_NOT_FOUND');
  });

  it('refuses a JS string where protobuf bytes are expected', () => {
    const b = right(nodeBackend());
    expect(() => b.binding.addFunctionDef('not bytes' as unknown as Uint8Array)).toThrow(/must be a Uint8Array/);
  });

  it("returns an executed op's full attribute list, including the ones eager inferred", () => {
    const b = right(nodeBackend());
    const x = tf.ones([2, 3]);
    const axis = tf.tensor1d([1], 'int32');
    const r = b.binding.executeOpWithAttrs(
      'Sum',
      [{ name: 'keep_dims', type: b.binding.TF_ATTR_BOOL, value: true }],
      b.getInputTensorIds([x, axis]),
      1,
    );
    const attrs = decodeNameAttrList(r.attrs);
    expect(attrs.name).toBe('Sum');
    expect([...attrs.attrs.keys()].sort()).toEqual(['T', 'Tidx', 'keep_dims']);
    expect(r.outputs[0]!.shape).toEqual([2, 1]);
    // the inferred type attribute serializes exactly as lamina would write it
    expect(attrs.attrs.get('T')).toEqual({ kind: 'raw', value: encodeAttrValue(f32) });
    const out = b.createOutputTensor(r.outputs[0]!);
    expect(out.arraySync()).toEqual([[3], [3]]);
    tf.dispose([x, axis, out]);
  });

  it('probes graph functions end to end (what lamina doctor reports)', () => {
    expect(probeGraphFunctions()).toMatchObject({ available: true });
  });

  it('gives freed TensorFlow buffers back to the system (trimNativeMemory)', () => {
    expect(E.isRight(trimNativeMemory())).toBe(true);
    // A fresh process, so that no other test's buffers blur its RSS. glibc keeps heap buffers it
    // got back resident; malloc_trim returns their pages.
    const code = `
      require('@tensorflow/tfjs-node');
      const tf = require('@tensorflow/tfjs');
      const fs = require('fs');
      const b = tf.findBackend('tensorflow').binding;
      const rss = () => Number(/VmRSS:\\s+(\\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
      tf.tidy(() => tf.fill([8 << 20], 1).dataSync()); // a freed 32 MiB buffer: glibc's mmap threshold rises to 32 MiB
      const base = rss();
      const xs = Array.from({ length: 100 }, (_, i) => tf.add(tf.fill([1 << 19], i), 1)); // 100 × 2 MiB, from the heap
      const held = rss();
      tf.dispose(xs);
      const freed = rss();
      const released = b.trimNativeMemory();
      console.log(JSON.stringify({ base, held, freed, released, trimmed: rss() }));
    `;
    const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', cwd: import.meta.dirname, env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' } });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { base: number; held: number; freed: number; released: boolean; trimmed: number };
    expect(out.held - out.base, JSON.stringify(out)).toBeGreaterThan(150); // MiB: the 200 MiB were resident
    expect(out.released).toBe(true);
    expect(out.freed - out.trimmed, JSON.stringify(out)).toBeGreaterThan(100); // most of them went back
  });

  it('enables collective ops before any tensor exists, and refuses once tensors exist', () => {
    // A fresh process: enabling replaces the device manager, so it must come first.
    const code = `
      require('@tensorflow/tfjs-node');
      const tf = require('@tensorflow/tfjs');
      const b = tf.findBackend('tensorflow').binding;
      const sd = ${JSON.stringify([...encodeServerDef({ cluster: { worker: ['127.0.0.1:0'] }, jobName: 'worker', taskIndex: 0 })])};
      b.enableCollectiveOps(new Uint8Array(sd));
      const dev = b.getDefaultDevice();
      const s = tf.add(tf.scalar(2), tf.scalar(3)).dataSync()[0];
      let late = '';
      try { b.enableCollectiveOps(new Uint8Array(sd)); } catch (e) { late = e.message; }
      console.log(JSON.stringify({ dev, s, late }));
    `;
    const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', cwd: import.meta.dirname, env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' } });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { dev: string; s: number; late: string };
    expect(out.dev).toBe('/job:worker/replica:0/task:0/device:CPU:0');
    expect(out.s).toBe(5);
    expect(out.late).toMatch(/before any tensor exists/);
  });
});
