import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkRawTensors,
  decodeSafetensors,
  encodeSafetensors,
  readSafetensorsFile,
  SAFETENSORS_MAX_HEADER_BYTES,
  writeFileAtomic,
  writeSafetensorsFileAtomic,
  type RawTensor,
} from '../src/safetensors.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const venvPython = path.join(root, '.venv', 'bin', 'python');
const venvAvailable = fs.existsSync(venvPython);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lamina-safetensors-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const f32 = (shape: number[], values: number[]): RawTensor => ({ dtype: 'float32', shape, data: new Float32Array(values) });
const i32 = (shape: number[], values: number[]): RawTensor => ({ dtype: 'int32', shape, data: new Int32Array(values) });

/** Builds a file from a header value (JSON-encoded as is) and raw data bytes. */
const build = (header: unknown, data: Uint8Array = new Uint8Array(0), headerText?: string): Uint8Array => {
  const json = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
};
const bytesOf = (t: RawTensor): Uint8Array => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
const leftMessage = <A>(r: E.Either<{ message: string }, A>): string => {
  if (E.isRight(r)) throw new Error(`expected an error, got ${JSON.stringify(r.right).slice(0, 200)}`);
  return r.left.message;
};
const right = <L extends { message: string }, A>(r: E.Either<L, A>): A => {
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};

// ---- arbitraries ------------------------------------------------------------------------------
const shapeArb = fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 0, maxLength: 3 });
const tensorArb: fc.Arbitrary<RawTensor> = fc.tuple(fc.boolean(), shapeArb).chain(([isFloat, shape]) => {
  const n = shape.reduce((a, b) => a * b, 1);
  return isFloat
    ? fc.float32Array({ minLength: n, maxLength: n }).map((d): RawTensor => ({ dtype: 'float32', shape, data: d }))
    : fc.int32Array({ minLength: n, maxLength: n }).map((d): RawTensor => ({ dtype: 'int32', shape, data: d }));
});
const nameArb = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => s !== '__metadata__');
const tensorsArb = fc.dictionary(nameArb, tensorArb, { maxKeys: 5 });
const metadataArb = fc.option(fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }), { nil: undefined });
const fileArb = fc.tuple(tensorsArb, metadataArb).map(([t, m]) => encodeSafetensors(t, m));

describe('encode/decode', () => {
  it('keeps a tensor or metadata key named __proto__ (fast-check found the tensor one vanishing from the header)', () => {
    const tensors = JSON.parse('{"__proto__": {"dtype": "int32", "shape": [], "data": null}}') as Record<string, RawTensor>;
    (tensors['__proto__'] as { data: Int32Array }).data = Int32Array.from([7]);
    const metadata = JSON.parse('{"__proto__": "m"}') as Record<string, string>;
    const back = right(decodeSafetensors(encodeSafetensors(tensors, metadata)));
    expect(Object.keys(back.tensors)).toEqual(['__proto__']);
    expect(Array.from(back.tensors['__proto__']!.data)).toEqual([7]);
    expect(Object.keys(back.metadata)).toEqual(['__proto__']);
  });
  it('round-trips any tensors and metadata bit-exactly (property)', () => {
    fc.assert(
      fc.property(tensorsArb, metadataArb, (tensors, metadata) => {
        const back = right(decodeSafetensors(encodeSafetensors(tensors, metadata)));
        expect(Object.keys(back.tensors).sort()).toEqual(Object.keys(tensors).sort());
        for (const [name, t] of Object.entries(tensors)) {
          const b = back.tensors[name]!;
          expect(b.dtype).toBe(t.dtype);
          expect(b.shape).toEqual(t.shape);
          expect(bytesOf(b)).toEqual(bytesOf(t));
        }
        expect(back.metadata).toEqual(metadata ?? {});
      }),
      { numRuns: 200 },
    );
  });

  it('pads the header with spaces so data starts at a multiple of 8, and orders F32 before I32 then by name', () => {
    const bytes = encodeSafetensors({ b: f32([1], [1]), a: i32([1], [7]), c: f32([2], [2, 3]) }, { format: 'pt' });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    expect(text).toBe(
      '{"__metadata__":{"format":"pt"},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"c":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},"a":{"dtype":"I32","shape":[1],"data_offsets":[12,16]}}'.padEnd(n, ' '),
    );
    expect(bytes.length).toBe(8 + n + 16);
  });

  it('reports any truncation of a valid file as an error (property)', () => {
    fc.assert(
      fc.property(
        fileArb.chain((file) => fc.tuple(fc.constant(file), fc.integer({ min: 0, max: file.length - 1 }))),
        ([file, cut]) => {
          expect(E.isLeft(decodeSafetensors(file.slice(0, cut)))).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('never throws on randomly corrupted bytes (property)', () => {
    fc.assert(
      fc.property(
        fileArb.chain((file) =>
          fc.tuple(fc.constant(file), fc.array(fc.tuple(fc.integer({ min: 0, max: file.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 })),
        ),
        ([file, edits]) => {
          const bad = file.slice();
          for (const [at, v] of edits) bad[at] = v;
          const r = decodeSafetensors(bad);
          if (E.isLeft(r)) expect(r.left.message.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never throws on arbitrary bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        expect(E.isLeft(decodeSafetensors(bytes))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});

describe('decode errors', () => {
  const ok = build({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(8));

  it('accepts the well-formed baseline', () => {
    expect(right(decodeSafetensors(ok)).tensors['w']?.shape).toEqual([2]);
  });
  it('rejects a file shorter than the length prefix', () => {
    expect(leftMessage(decodeSafetensors(new Uint8Array(5)))).toMatch(/too short/);
  });
  it('rejects a header length beyond the file without allocating it', () => {
    const bytes = ok.slice();
    new DataView(bytes.buffer).setBigUint64(0, 1000n, true);
    expect(leftMessage(decodeSafetensors(bytes))).toMatch(/header length 1000 runs past the end of the \d+-byte file/);
  });
  it('rejects a header length over the 100 MB limit', () => {
    const bytes = new Uint8Array(16);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(SAFETENSORS_MAX_HEADER_BYTES) + 1n, true);
    expect(leftMessage(decodeSafetensors(bytes))).toMatch(/exceeds the 100000000-byte limit/);
    new DataView(bytes.buffer).setBigUint64(0, 0xffffffffffffffffn, true);
    expect(leftMessage(decodeSafetensors(bytes))).toMatch(/exceeds/);
  });
  it('rejects invalid JSON and non-object JSON', () => {
    expect(leftMessage(decodeSafetensors(build(null, undefined, '{"w": ')))).toMatch(/not valid UTF-8 JSON/);
    expect(leftMessage(decodeSafetensors(build([1, 2])))).toMatch(/not an object/);
    expect(leftMessage(decodeSafetensors(build(null, undefined, '"str"')))).toMatch(/not an object/);
    expect(leftMessage(decodeSafetensors(build({ w: 3 })))).toMatch(/tensor "w": entry is not an object/);
  });
  it('rejects invalid UTF-8 in the header', () => {
    const bytes = build(null, undefined, '{"\u00e9":1}');
    bytes[10] = 0xff;
    expect(leftMessage(decodeSafetensors(bytes))).toMatch(/UTF-8/);
  });
  it('rejects unknown and unsupported dtypes', () => {
    expect(leftMessage(decodeSafetensors(build({ w: { dtype: 'F33', shape: [], data_offsets: [0, 4] } }, new Uint8Array(4))))).toMatch(/unknown dtype "F33"/);
    expect(leftMessage(decodeSafetensors(build({ w: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1))))).toMatch(/F8_E4M3 is not supported/);
    expect(leftMessage(decodeSafetensors(build({ w: { shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4))))).toMatch(/"dtype"/);
  });
  it('rejects bad shapes and offsets', () => {
    const d = new Uint8Array(8);
    expect(leftMessage(decodeSafetensors(build({ w: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, d)))).toMatch(/"shape" must be/);
    expect(leftMessage(decodeSafetensors(build({ w: { dtype: 'F32', shape: [1.5], data_offsets: [0, 8] } }, d)))).toMatch(/"shape" must be/);
    expect(leftMessage(decodeSafetensors(build({ w: { dtype: 'F32', shape: [2], data_offsets: [0] } }, d)))).toMatch(/"data_offsets" must be/);
    expect(leftMessage(decodeSafetensors(build({ w: { dtype: 'F32', shape: [2], data_offsets: [8, 0] } }, d)))).toMatch(/end before they begin/);
    expect(leftMessage(decodeSafetensors(build({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, d)))).toMatch(/span 8 bytes but F32 \[3\] needs 12/);
    expect(leftMessage(decodeSafetensors(build({ w: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, d)))).toMatch(/gap/);
    expect(leftMessage(decodeSafetensors(build({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, d)))).toMatch(/run past the end of the 8-byte data/);
  });
  it('rejects overlapping tensors', () => {
    const h = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } };
    expect(leftMessage(decodeSafetensors(build(h, new Uint8Array(8))))).toMatch(/tensor "b".*overlap/);
  });
  it('rejects trailing bytes after the described data', () => {
    const h = { w: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } };
    expect(leftMessage(decodeSafetensors(build(h, new Uint8Array(8))))).toMatch(/describes 4 bytes of data but the file has 8/);
  });
  it('rejects non-string metadata', () => {
    expect(leftMessage(decodeSafetensors(build({ __metadata__: { a: 1 } })))).toMatch(/__metadata__.a" is not a string/);
    expect(leftMessage(decodeSafetensors(build({ __metadata__: [1] })))).toMatch(/__metadata__" is not an object/);
  });
});

describe('dtype conversion on read', () => {
  const data = (n: number, fill: (v: DataView) => void): Uint8Array => {
    const b = new Uint8Array(n);
    fill(new DataView(b.buffer));
    return b;
  };
  it('widens F16 and BF16 and narrows F64 to float32', () => {
    const h16 = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0x8000, 0x3555];
    const f16 = data(14, (v) => h16.forEach((h, i) => v.setUint16(2 * i, h, true)));
    const t16 = right(decodeSafetensors(build({ h: { dtype: 'F16', shape: [7], data_offsets: [0, 14] } }, f16))).tensors['h']!;
    expect(t16.dtype).toBe('float32');
    expect(Array.from(t16.data)).toEqual([1, -2, 65504, 2 ** -24, Infinity, -0, Math.fround(0.333251953125)]);
    const bf = data(4, (v) => {
      v.setUint16(0, 0x3f80, true);
      v.setUint16(2, 0x4049, true);
    });
    expect(Array.from(right(decodeSafetensors(build({ b: { dtype: 'BF16', shape: [2], data_offsets: [0, 4] } }, bf))).tensors['b']!.data)).toEqual([1, 3.140625]);
    const f64 = data(16, (v) => {
      v.setFloat64(0, 0.1, true);
      v.setFloat64(8, -1e300, true);
    });
    expect(Array.from(right(decodeSafetensors(build({ d: { dtype: 'F64', shape: [2, 1], data_offsets: [0, 16] } }, f64))).tensors['d']!.data)).toEqual([Math.fround(0.1), -Infinity]);
  });
  it('narrows I64 to int32 and rejects values that do not fit, naming the tensor', () => {
    const good = data(16, (v) => {
      v.setBigInt64(0, -2147483648n, true);
      v.setBigInt64(8, 2147483647n, true);
    });
    const t = right(decodeSafetensors(build({ ids: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, good))).tensors['ids']!;
    expect(t.dtype).toBe('int32');
    expect(Array.from(t.data)).toEqual([-2147483648, 2147483647]);
    const bad = data(8, (v) => v.setBigInt64(0, 2147483648n, true));
    expect(leftMessage(decodeSafetensors(build({ ids: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, bad)))).toMatch(/tensor "ids": I64 value 2147483648 at index 0 does not fit in int32/);
  });
  it('reads the small integer and bool dtypes as int32', () => {
    const b = new Uint8Array([255, 1, 0]);
    expect(Array.from(right(decodeSafetensors(build({ u: { dtype: 'U8', shape: [3], data_offsets: [0, 3] } }, b))).tensors['u']!.data)).toEqual([255, 1, 0]);
    expect(Array.from(right(decodeSafetensors(build({ i: { dtype: 'I8', shape: [3], data_offsets: [0, 3] } }, b))).tensors['i']!.data)).toEqual([-1, 1, 0]);
    expect(Array.from(right(decodeSafetensors(build({ q: { dtype: 'BOOL', shape: [3], data_offsets: [0, 3] } }, b))).tensors['q']!.data)).toEqual([1, 1, 0]);
  });
});

describe('checkRawTensors / encode preconditions', () => {
  it('names the tensor whose data does not match its shape or dtype', () => {
    expect(leftMessage(checkRawTensors({ w: f32([3], [1, 2]) }))).toMatch(/tensor "w": shape \[3\] has 3 elements but data has 2/);
    expect(leftMessage(checkRawTensors({ w: { dtype: 'int32', shape: [1], data: new Float32Array(1) } }))).toMatch(/tensor "w": dtype int32 does not match its Float32Array/);
    expect(leftMessage(checkRawTensors({ __metadata__: f32([1], [1]) }))).toMatch(/reserved/);
    expect(() => encodeSafetensors({ w: f32([3], [1]) })).toThrow(TypeError);
  });
});

describe('files', () => {
  it('writes atomically and reads back', async () => {
    const p = path.join(tmp, 'a.safetensors');
    const tensors = { x: f32([2, 2], [1, 2, 3, 4]), n: i32([1], [5]) };
    expect(E.isRight(await writeSafetensorsFileAtomic(p, tensors, { format: 'pt' }))).toBe(true);
    const back = right(await readSafetensorsFile(p));
    expect(Array.from(back.tensors['x']!.data)).toEqual([1, 2, 3, 4]);
    expect(back.metadata).toEqual({ format: 'pt' });
    expect(fs.readdirSync(tmp).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
  it('leaves the old file untouched when the new tensors are invalid', async () => {
    const p = path.join(tmp, 'b.safetensors');
    right(await writeSafetensorsFileAtomic(p, { x: f32([1], [9]) }));
    const before = fs.readFileSync(p);
    expect(leftMessage(await writeSafetensorsFileAtomic(p, { x: f32([2], [1]) }))).toMatch(/not writing .*b\.safetensors: tensor "x"/);
    expect(fs.readFileSync(p)).toEqual(before);
  });
  it('reports unreadable, unwritable and corrupt files with their path', async () => {
    expect(leftMessage(await readSafetensorsFile(path.join(tmp, 'missing.safetensors')))).toMatch(/cannot read .*missing\.safetensors/);
    expect(leftMessage(await writeFileAtomic(path.join(tmp, 'no', 'such', 'dir', 'f'), new Uint8Array(1)))).toMatch(/cannot write/);
    const p = path.join(tmp, 'c.safetensors');
    fs.writeFileSync(p, encodeSafetensors({ x: f32([4], [1, 2, 3, 4]) }).subarray(0, 30));
    expect(leftMessage(await readSafetensorsFile(p))).toMatch(/c\.safetensors: .*(truncated|past the end)/);
  });
});

describe('interop with the Python reference (needs .venv; run `node scripts/python/setup-venv.mjs`)', () => {
  const py = (code: string, ...args: string[]): string => {
    const r = spawnSync(venvPython, ['-c', code, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
    return r.stdout;
  };

  it.skipIf(!venvAvailable)('Python safetensors reads what we write, and our bytes equal its bytes', () => {
    const tensors = { 'b.kernel': f32([2, 3], [1, -2, 3.5, 4, 5, 6e-8]), 'a.ids': i32([3], [1, -7, 2147483647]), empty: f32([0, 4], []) };
    const p = path.join(tmp, 'ours.safetensors');
    fs.writeFileSync(p, encodeSafetensors(tensors, { format: 'pt', note: 'lamina' }));
    // The reference keeps metadata in a hash map (its key order varies run to run), so byte
    // equality is checked on a file with a single metadata key.
    const p1 = path.join(tmp, 'ours-1.safetensors');
    fs.writeFileSync(p1, encodeSafetensors(tensors, { format: 'pt' }));
    const out = JSON.parse(
      py(
        `import json, sys
from safetensors import safe_open
from safetensors.numpy import load_file, save
t = load_file(sys.argv[1])
with safe_open(sys.argv[1], 'np') as f: meta = f.metadata()
again = save(load_file(sys.argv[2]), metadata={'format': 'pt'})
print(json.dumps({'meta': meta, 'same_bytes': again == open(sys.argv[2], 'rb').read(), 't': {k: {'dtype': str(v.dtype), 'shape': list(v.shape), 'values': v.reshape(-1).tolist()} for k, v in t.items()}}))`,
        p,
        p1,
      ),
    );
    expect(out.meta).toEqual({ format: 'pt', note: 'lamina' });
    expect(out.same_bytes).toBe(true);
    expect(out.t['b.kernel']).toEqual({ dtype: 'float32', shape: [2, 3], values: Array.from(tensors['b.kernel'].data) });
    expect(out.t['a.ids']).toEqual({ dtype: 'int32', shape: [3], values: [1, -7, 2147483647] });
    expect(out.t['empty']).toEqual({ dtype: 'float32', shape: [0, 4], values: [] });
  });

  it.skipIf(!venvAvailable)('we read what Python writes, converting F16/BF16/F64/I64', () => {
    const p = path.join(tmp, 'theirs.safetensors');
    const expected = JSON.parse(
      py(
        `import json, sys, torch
from safetensors.torch import save_file
g = torch.Generator().manual_seed(0)
x = torch.randn(3, 4, generator=g)
t = {'f32': x, 'f16': x.half(), 'bf16': x.bfloat16(), 'f64': x.double(), 'i64': torch.tensor([[1, -2], [3, 2**31 - 1]]), 'i32': torch.arange(5, dtype=torch.int32)}
save_file(t, sys.argv[1], metadata={'format': 'pt'})
print(json.dumps({k: {'shape': list(v.shape), 'values': v.float().reshape(-1).tolist() if v.is_floating_point() else v.reshape(-1).tolist()} for k, v in t.items()}))`,
        p,
      ),
    );
    const back = right(decodeSafetensors(fs.readFileSync(p)));
    expect(back.metadata).toEqual({ format: 'pt' });
    for (const [name, want] of Object.entries(expected) as [string, { shape: number[]; values: number[] }][]) {
      const got = back.tensors[name]!;
      expect(got.shape, name).toEqual(want.shape);
      expect(got.dtype, name).toBe(name.startsWith('i') ? 'int32' : 'float32');
      expect(Array.from(got.data), name).toEqual(name.startsWith('i') ? want.values : want.values.map((v) => Math.fround(v)));
    }
  });
});
