/**
 * safetensors: Hugging Face's tensor file format, read and written without tfjs.
 *
 * A file is an 8-byte little-endian `u64` header length N, N bytes of UTF-8 JSON
 * (`{ "name": { "dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end] }, "__metadata__": {…} }`),
 * then the raw little-endian data; offsets are relative to the start of the data. Decoding checks
 * everything the reference implementation checks (header length against the file and a 100 MB cap,
 * JSON shape, dtype, offsets contiguous, in range and matching dtype × shape, no trailing bytes) and
 * returns a {@link SafetensorsError} for any violation — it never throws and never allocates more
 * than the input's size. Half, bfloat16 and double floats are widened/narrowed to float32; all
 * integer dtypes become int32 when every value fits.
 *
 * @example
 * ```ts
 * import { encodeSafetensors, decodeSafetensors } from '@lamina/dsl';
 * const bytes = encodeSafetensors({ w: { dtype: 'float32', shape: [2], data: new Float32Array([1, 2]) } });
 * const back = decodeSafetensors(bytes); // Right({ tensors: { w: … }, metadata: {} })
 * ```
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';

/**
 * A dense tensor as plain host data: row-major `data` of length `product(shape)`.
 * @example const t: RawTensor = { dtype: 'float32', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) };
 */
export interface RawTensor {
  readonly dtype: 'float32' | 'int32';
  readonly shape: readonly number[];
  readonly data: Float32Array | Int32Array;
}

/**
 * A safetensors file that could not be read or written; `message` says what is wrong and where.
 * @example { _tag: 'SafetensorsError', message: 'tensor "w": data_offsets [0, 8] run past the end of the 4-byte data (truncated file?)' }
 */
export interface SafetensorsError {
  readonly _tag: 'SafetensorsError';
  readonly message: string;
}

/**
 * The decoded content of a safetensors file.
 * @example { tensors: { w: { dtype: 'float32', shape: [1], data: Float32Array [1] } }, metadata: { format: 'pt' } }
 */
export interface SafetensorsContent {
  readonly tensors: Record<string, RawTensor>;
  readonly metadata: Record<string, string>;
}

/**
 * The reference implementation's limit on the JSON header (`MAX_HEADER_SIZE`); longer headers are rejected before any allocation.
 * @example SAFETENSORS_MAX_HEADER_BYTES // 100_000_000
 */
export const SAFETENSORS_MAX_HEADER_BYTES = 100_000_000;

const err = (message: string): SafetensorsError => ({ _tag: 'SafetensorsError', message });

/** Bytes per element of every dtype this module reads; other dtype names are reported as unsupported. */
const DTYPE_BYTES = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
} as const;
type StDtype = keyof typeof DTYPE_BYTES;
const FLOAT_DTYPES: ReadonlySet<string> = new Set(['F64', 'F32', 'F16', 'BF16']);
/** Dtypes of the format we know of but do not convert (fp8 variants, complex, sub-byte). */
const KNOWN_UNSUPPORTED: ReadonlySet<string> = new Set(['F8_E4M3', 'F8_E5M2', 'F8_E8M0', 'F6_E2M3', 'F6_E3M2', 'F4', 'C64']);

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Exact product of a shape, or undefined when it is not a list of safe non-negative integers. */
const elementCount = (shape: unknown): number | undefined => {
  if (!Array.isArray(shape)) return undefined;
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) return undefined;
    n *= d;
    if (!Number.isSafeInteger(n)) return undefined;
  }
  return n;
};

const halfToFloat = (h: number): number => {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
};

/** Converts `count` elements of `dtype` at `view[offset..]` into a float32 or int32 array. */
const convert = (name: string, dtype: StDtype, view: DataView, offset: number, count: number): E.Either<SafetensorsError, Float32Array | Int32Array> => {
  switch (dtype) {
    case 'F32': {
      if (LITTLE_ENDIAN) return E.right(new Float32Array(view.buffer.slice(view.byteOffset + offset, view.byteOffset + offset + count * 4)));
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(offset + 4 * i, true);
      return E.right(out);
    }
    case 'I32': {
      if (LITTLE_ENDIAN) return E.right(new Int32Array(view.buffer.slice(view.byteOffset + offset, view.byteOffset + offset + count * 4)));
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(offset + 4 * i, true);
      return E.right(out);
    }
    case 'F64': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(offset + 8 * i, true);
      return E.right(out);
    }
    case 'F16': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(offset + 2 * i, true));
      return E.right(out);
    }
    case 'BF16': {
      const out = new Float32Array(count);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) bits[i] = view.getUint16(offset + 2 * i, true) << 16;
      return E.right(out);
    }
    default: {
      const out = new Int32Array(count);
      const size = DTYPE_BYTES[dtype];
      for (let i = 0; i < count; i++) {
        const at = offset + size * i;
        let v: number | bigint;
        switch (dtype) {
          case 'I64': v = view.getBigInt64(at, true); break;
          case 'U64': v = view.getBigUint64(at, true); break;
          case 'U32': v = view.getUint32(at, true); break;
          case 'I16': v = view.getInt16(at, true); break;
          case 'U16': v = view.getUint16(at, true); break;
          case 'I8': v = view.getInt8(at); break;
          case 'U8': v = view.getUint8(at); break;
          case 'BOOL': v = view.getUint8(at) ? 1 : 0; break;
        }
        if (v < -2147483648 || v > 2147483647)
          return E.left(err(`tensor "${name}": ${dtype} value ${v} at index ${i} does not fit in int32`));
        out[i] = Number(v);
      }
      return E.right(out);
    }
  }
};

const isPlainObject = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u);

/**
 * Sets `obj[key]` as an own property even for `__proto__`, which plain assignment would take as
 * the object's prototype (a tensor named `__proto__` would vanish from the header).
 */
const setOwn = <T>(obj: Record<string, T>, key: string, value: T): void => {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
};

/**
 * Decodes a safetensors file. Every structural problem is a `Left` naming the tensor and the
 * check that failed; the function never throws.
 *
 * @example
 * ```ts
 * const r = decodeSafetensors(fs.readFileSync('model.safetensors'));
 * if (E.isLeft(r)) console.error(r.left.message);
 * else console.log(Object.keys(r.right.tensors));
 * ```
 */
export const decodeSafetensors = (bytes: Uint8Array): E.Either<SafetensorsError, SafetensorsContent> => {
  if (bytes.byteLength < 8) return E.left(err(`file is ${bytes.byteLength} bytes, too short for the 8-byte header length`));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 > BigInt(SAFETENSORS_MAX_HEADER_BYTES))
    return E.left(err(`header length ${n64} exceeds the ${SAFETENSORS_MAX_HEADER_BYTES}-byte limit (corrupt file, or not safetensors)`));
  const n = Number(n64);
  if (8 + n > bytes.byteLength)
    return E.left(err(`header length ${n} runs past the end of the ${bytes.byteLength}-byte file (truncated file, or not safetensors)`));
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    return E.left(err(`header is not valid UTF-8 JSON: ${e instanceof Error ? e.message : String(e)}`));
  }
  if (!isPlainObject(header)) return E.left(err('header JSON is not an object'));

  const metadata: Record<string, string> = {};
  const rawMeta = header['__metadata__'];
  if (rawMeta !== undefined && rawMeta !== null) {
    if (!isPlainObject(rawMeta)) return E.left(err('"__metadata__" is not an object of strings'));
    for (const [k, v] of Object.entries(rawMeta)) {
      if (typeof v !== 'string') return E.left(err(`"__metadata__.${k}" is not a string`));
      setOwn(metadata, k, v);
    }
  }

  const dataStart = 8 + n;
  const dataLength = bytes.byteLength - dataStart;
  interface Entry { name: string; dtype: StDtype; shape: number[]; count: number; begin: number; end: number }
  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (!isPlainObject(info)) return E.left(err(`tensor "${name}": entry is not an object`));
    const { dtype, shape, data_offsets: offsets } = info;
    if (typeof dtype !== 'string') return E.left(err(`tensor "${name}": missing or non-string "dtype"`));
    if (!Object.hasOwn(DTYPE_BYTES, dtype))
      return E.left(
        err(
          KNOWN_UNSUPPORTED.has(dtype)
            ? `tensor "${name}": dtype ${dtype} is not supported (supported: ${Object.keys(DTYPE_BYTES).join(', ')})`
            : `tensor "${name}": unknown dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(DTYPE_BYTES).join(', ')})`,
        ),
      );
    const count = elementCount(shape);
    if (count === undefined) return E.left(err(`tensor "${name}": "shape" must be a list of non-negative integers, got ${JSON.stringify(shape)}`));
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0))
      return E.left(err(`tensor "${name}": "data_offsets" must be [begin, end] non-negative integers, got ${JSON.stringify(offsets)}`));
    const [begin, end] = offsets as [number, number];
    if (end < begin) return E.left(err(`tensor "${name}": data_offsets [${begin}, ${end}] end before they begin`));
    const size = DTYPE_BYTES[dtype as StDtype];
    if (end - begin !== count * size)
      return E.left(err(`tensor "${name}": data_offsets [${begin}, ${end}] span ${end - begin} bytes but ${dtype} ${JSON.stringify(shape)} needs ${count * size}`));
    entries.push({ name, dtype: dtype as StDtype, shape: shape as number[], count, begin, end });
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const e of entries) {
    if (e.begin < cursor) return E.left(err(`tensor "${e.name}": data_offsets [${e.begin}, ${e.end}] overlap the previous tensor (which ends at ${cursor})`));
    if (e.begin > cursor) return E.left(err(`tensor "${e.name}": data_offsets [${e.begin}, ${e.end}] leave a gap after byte ${cursor}`));
    if (e.end > dataLength)
      return E.left(err(`tensor "${e.name}": data_offsets [${e.begin}, ${e.end}] run past the end of the ${dataLength}-byte data (truncated file?)`));
    cursor = e.end;
  }
  if (cursor !== dataLength)
    return E.left(err(`the header describes ${cursor} bytes of data but the file has ${dataLength} (truncated or trailing bytes)`));

  const tensors: Record<string, RawTensor> = {};
  for (const e of entries) {
    const data = convert(e.name, e.dtype, view, dataStart + e.begin, e.count);
    if (E.isLeft(data)) return data;
    setOwn(tensors, e.name, { dtype: FLOAT_DTYPES.has(e.dtype) ? 'float32' : 'int32', shape: e.shape, data: data.right });
  }
  return E.right({ tensors, metadata });
};

/**
 * Checks that each tensor's `data` is the typed array its `dtype` names and has `product(shape)`
 * elements; encoding relies on this.
 *
 * @example
 * ```ts
 * checkRawTensors({ w: { dtype: 'float32', shape: [3], data: new Float32Array(2) } });
 * // Left: tensor "w": shape [3] has 3 elements but data has 2
 * ```
 */
export const checkRawTensors = <T extends Readonly<Record<string, RawTensor>>>(tensors: T): E.Either<SafetensorsError, T> => {
  for (const [name, t] of Object.entries(tensors)) {
    if (name === '__metadata__') return E.left(err('"__metadata__" is reserved and cannot name a tensor'));
    const count = elementCount(t.shape);
    if (count === undefined) return E.left(err(`tensor "${name}": shape ${JSON.stringify(t.shape)} is not a list of non-negative integers`));
    const want = t.dtype === 'float32' ? Float32Array : t.dtype === 'int32' ? Int32Array : undefined;
    if (want === undefined || !(t.data instanceof want)) return E.left(err(`tensor "${name}": dtype ${String(t.dtype)} does not match its ${t.data?.constructor?.name ?? typeof t.data} data`));
    if (t.data.length !== count) return E.left(err(`tensor "${name}": shape ${JSON.stringify(t.shape)} has ${count} elements but data has ${t.data.length}`));
  }
  return E.right(tensors);
};

/**
 * Encodes tensors as a safetensors file laid out as the reference writer does: tensors ordered by
 * dtype (F32 before I32) then name, a compact JSON header padded with spaces so the data starts at
 * a multiple of 8, little-endian data. `metadata` becomes `__metadata__` when given.
 *
 * Precondition: {@link checkRawTensors} holds (the file writers check it and return a `Left`);
 * violating it is a programming error and throws a `TypeError`.
 *
 * @example
 * ```ts
 * const bytes = encodeSafetensors({ 'layer.kernel': { dtype: 'float32', shape: [2, 2], data: new Float32Array(4) } }, { format: 'pt' });
 * ```
 */
export const encodeSafetensors = (tensors: Readonly<Record<string, RawTensor>>, metadata?: Readonly<Record<string, string>>): Uint8Array => {
  const checked = checkRawTensors(tensors);
  if (E.isLeft(checked)) throw new TypeError(`encodeSafetensors: ${checked.left.message}`);
  const rank = (t: RawTensor): number => (t.dtype === 'float32' ? 0 : 1);
  const names = Object.keys(tensors).sort((a, b) => rank(tensors[a]!) - rank(tensors[b]!) || (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) header['__metadata__'] = { ...metadata };
  let offset = 0;
  for (const name of names) {
    const t = tensors[name]!;
    const end = offset + t.data.length * 4;
    setOwn(header, name, { dtype: t.dtype === 'float32' ? 'F32' : 'I32', shape: [...t.shape], data_offsets: [offset, end] });
    offset = end;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = json.byteLength + ((8 - (json.byteLength % 8)) % 8);
  const out = new Uint8Array(8 + headerLength + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.byteLength, 8 + headerLength);
  let at = 8 + headerLength;
  for (const name of names) {
    const t = tensors[name]!;
    if (LITTLE_ENDIAN) out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    else if (t.data instanceof Float32Array) t.data.forEach((v, i) => view.setFloat32(at + 4 * i, v, true));
    else t.data.forEach((v, i) => view.setInt32(at + 4 * i, v, true));
    at += t.data.byteLength;
  }
  return out;
};

// ---------------------------------------------------------------------------------------------
// Node-only file helpers. `node:fs` is imported lazily so the pure codec above stays usable in a
// browser bundle.

const describeIo = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * Reads and decodes a safetensors file; a missing or unreadable file is a `Left` like any format
 * error. Node only.
 *
 * @example
 * ```ts
 * const r = await readSafetensorsFile('run/model.safetensors');
 * ```
 */
export const readSafetensorsFile = async (path: string): Promise<E.Either<SafetensorsError, SafetensorsContent>> => {
  const fs = await import('node:fs/promises');
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(path);
  } catch (e) {
    return E.left(err(`cannot read ${path}: ${describeIo(e)}`));
  }
  const r = decodeSafetensors(bytes);
  return E.isLeft(r) ? E.left(err(`${path}: ${r.left.message}`)) : r;
};

/**
 * Writes bytes so that `path` holds either its old content or all of the new one, even across a
 * crash: a temporary file in the same directory, fsync, rename over `path`, fsync of the
 * directory. Node only.
 *
 * @example
 * ```ts
 * await writeFileAtomic('out/config.json', new TextEncoder().encode('{}'));
 * ```
 */
export const writeFileAtomic = async (path: string, bytes: Uint8Array): Promise<E.Either<SafetensorsError, void>> => {
  const fs = await import('node:fs/promises');
  const nodePath = await import('node:path');
  const dir = nodePath.dirname(path);
  const tmp = nodePath.join(dir, `.${nodePath.basename(path)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    const fh = await fs.open(tmp, 'wx');
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    return E.left(err(`cannot write ${path}: ${describeIo(e)}`));
  }
  try {
    const dh = await fs.open(dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } catch {
    // Some file systems refuse fsync on a directory; the rename itself has already happened.
  }
  return E.right(undefined);
};

/**
 * Encodes tensors and writes them atomically (see {@link writeFileAtomic}); invalid tensors are a
 * `Left` and leave the file untouched. Node only.
 *
 * @example
 * ```ts
 * await writeSafetensorsFileAtomic('out/model.safetensors', { w: { dtype: 'float32', shape: [1], data: new Float32Array([1]) } }, { format: 'pt' });
 * ```
 */
export const writeSafetensorsFileAtomic = async (
  path: string,
  tensors: Readonly<Record<string, RawTensor>>,
  metadata?: Readonly<Record<string, string>>,
): Promise<E.Either<SafetensorsError, void>> => {
  const checked = checkRawTensors(tensors);
  if (E.isLeft(checked)) return E.left(err(`not writing ${path}: ${checked.left.message}`));
  return writeFileAtomic(path, encodeSafetensors(tensors, metadata));
};
