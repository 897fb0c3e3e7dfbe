/**
 * A built pretraining dataset on disk, re-read without re-tokenizing, with random access.
 *
 * Format (little-endian): `"LAMINAPT"` magic, u32 version, u32 count, u32 seqLength,
 * u32 maxPredictions, u32 header-JSON byte length, the header JSON (the cache key and the options
 * that built it), zero padding to a multiple of 8, then `count` fixed-size records:
 * u16 length, u16 predictions, u8 label, 3 pad bytes, i32 ids[S], u8 types[S] (padded to 4),
 * i32 positions[P], i32 labels[P]. Written to a temporary file and renamed into place, so a
 * reader never sees a half-written cache.
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import fs from 'node:fs';
import path from 'node:path';
import type { InstanceSource } from './batch.js';
import { dataError, type DataError } from './errors.js';
import type { Instance } from './instances.js';

const MAGIC = 'LAMINAPT';
const VERSION = 1;
const FIXED = 8 + 4 * 5;

/**
 * The header of a cached dataset.
 * @example
 * const h: CacheHeader = { key: datasetKey(corpus, tok, o), seqLength: 128, maxPredictions: 20, meta: { corpus: corpus.name } };
 */
export interface CacheHeader {
  /** Identifies what built the cache (corpus fingerprint, tokenizer, options); compared on open. */
  readonly key: string;
  readonly seqLength: number;
  readonly maxPredictions: number;
  /** Free-form description stored alongside (options, corpus name…). */
  readonly meta: Record<string, unknown>;
}

/**
 * An opened cache: random access to its instances. Call `close` when done.
 * @example
 * const ds = E.getOrElseW(fail)(openDatasetCache(file)); ds.get(0); ds.close();
 */
export interface CachedDataset extends InstanceSource {
  readonly header: CacheHeader;
  readonly file: string;
  readonly close: () => void;
  /** Streams all instances in stored order. */
  readonly instances: () => Generator<Instance>;
}

const pad4 = (n: number): number => (n + 3) & ~3;
const recordSize = (S: number, P: number): number => 8 + 4 * S + pad4(S) + 8 * P;

/**
 * Writes instances to `file` atomically (temp file + rename), streaming: memory does not grow with
 * the number of instances. Returns the count written.
 * @example
 * writeDatasetCache('runs/data/train.lpt', { key, seqLength: 128, maxPredictions: 20, meta: {} }, instances);
 */
export const writeDatasetCache = (file: string, header: CacheHeader, instances: Iterable<Instance>): E.Either<DataError, number> => {
  const S = header.seqLength;
  const P = header.maxPredictions;
  if (S > 0xffff || P > 0xffff) return E.left(dataError('bad-options', `seqLength and maxPredictions must be < 65536`));
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  let fd: number | undefined;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fd = fs.openSync(tmp, 'w');
    const json = Buffer.from(JSON.stringify({ key: header.key, meta: header.meta }), 'utf8');
    const headLen = (FIXED + json.length + 7) & ~7;
    const head = Buffer.alloc(headLen);
    head.write(MAGIC, 0, 'latin1');
    head.writeUInt32LE(VERSION, 8);
    head.writeUInt32LE(0, 12);
    head.writeUInt32LE(S, 16);
    head.writeUInt32LE(P, 20);
    head.writeUInt32LE(json.length, 24);
    json.copy(head, FIXED);
    fs.writeSync(fd, head);
    const rs = recordSize(S, P);
    const perChunk = 256;
    const buf = Buffer.alloc(rs * perChunk);
    let inChunk = 0;
    let count = 0;
    for (const x of instances) {
      const n = x.inputIds.length;
      const p = x.maskedLmPositions.length;
      if (n > S || p > P) {
        fs.closeSync(fd);
        fd = undefined;
        fs.rmSync(tmp, { force: true });
        return E.left(dataError('bad-options', `instance ${count} has ${n} tokens / ${p} predictions, more than the cache's ${S} / ${P}`));
      }
      const o = inChunk * rs;
      buf.fill(0, o, o + rs);
      buf.writeUInt16LE(n, o);
      buf.writeUInt16LE(p, o + 2);
      buf.writeUInt8(x.sentenceOrderLabel, o + 4);
      for (let i = 0; i < n; i++) buf.writeInt32LE(x.inputIds[i] as number, o + 8 + 4 * i);
      for (let i = 0; i < n; i++) buf.writeUInt8(x.tokenTypeIds[i] as number, o + 8 + 4 * S + i);
      const po = o + 8 + 4 * S + pad4(S);
      for (let i = 0; i < p; i++) {
        buf.writeInt32LE(x.maskedLmPositions[i] as number, po + 4 * i);
        buf.writeInt32LE(x.maskedLmIds[i] as number, po + 4 * P + 4 * i);
      }
      count++;
      if (++inChunk === perChunk) {
        fs.writeSync(fd, buf);
        inChunk = 0;
      }
    }
    if (inChunk > 0) fs.writeSync(fd, buf, 0, inChunk * rs);
    const c = Buffer.alloc(4);
    c.writeUInt32LE(count, 0);
    fs.writeSync(fd, c, 0, 4, 12);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
    return E.right(count);
  } catch (e) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    return E.left(dataError('io', `cannot write dataset cache ${file}: ${(e as Error).message}`));
  }
};

/**
 * Opens a cache written by {@link writeDatasetCache}. A missing file, a foreign or truncated file,
 * or (when `expectedKey` is given) a cache built from other inputs is an error value.
 * @example
 * const ds = openDatasetCache('runs/data/train.lpt', key);
 * if (E.isRight(ds)) { const first = ds.right.get(0); ds.right.close(); }
 */
export const openDatasetCache = (file: string, expectedKey?: string): E.Either<DataError, CachedDataset> => {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return E.left(dataError('not-found', `dataset cache ${file} does not exist`));
  }
  const fail = (m: string): E.Either<DataError, CachedDataset> => {
    fs.closeSync(fd);
    return E.left(dataError('bad-cache', `${file}: ${m}`));
  };
  const size = fs.fstatSync(fd).size;
  const fixed = Buffer.alloc(FIXED);
  if (fs.readSync(fd, fixed, 0, FIXED, 0) < FIXED || fixed.toString('latin1', 0, 8) !== MAGIC) return fail('not a lamina dataset cache');
  if (fixed.readUInt32LE(8) !== VERSION) return fail(`cache version ${fixed.readUInt32LE(8)} is not ${VERSION}; rebuild it`);
  const count = fixed.readUInt32LE(12);
  const S = fixed.readUInt32LE(16);
  const P = fixed.readUInt32LE(20);
  const jsonLen = fixed.readUInt32LE(24);
  const headLen = (FIXED + jsonLen + 7) & ~7;
  const rs = recordSize(S, P);
  if (headLen + count * rs !== size) return fail(`size ${size} does not match ${count} records of ${rs} bytes (truncated?)`);
  const jb = Buffer.alloc(jsonLen);
  fs.readSync(fd, jb, 0, jsonLen, FIXED);
  let parsed: { key?: unknown; meta?: unknown };
  try {
    parsed = JSON.parse(jb.toString('utf8')) as typeof parsed;
  } catch {
    return fail('header is not valid JSON');
  }
  const key = typeof parsed.key === 'string' ? parsed.key : '';
  if (expectedKey !== undefined && key !== expectedKey) return fail('built from other inputs (cache key differs); rebuild it');
  const header: CacheHeader = { key, seqLength: S, maxPredictions: P, meta: (parsed.meta ?? {}) as Record<string, unknown> };
  const rec = Buffer.alloc(rs);
  let open = true;
  const get = (i: number): Instance => {
    if (!open) throw new Error('dataset cache is closed');
    if (!Number.isInteger(i) || i < 0 || i >= count) throw new RangeError(`instance ${i} is outside 0..${count - 1}`);
    fs.readSync(fd, rec, 0, rs, headLen + i * rs);
    const n = rec.readUInt16LE(0);
    const p = rec.readUInt16LE(2);
    const inputIds = new Int32Array(n);
    const tokenTypeIds = new Int32Array(n);
    for (let k = 0; k < n; k++) {
      inputIds[k] = rec.readInt32LE(8 + 4 * k);
      tokenTypeIds[k] = rec.readUInt8(8 + 4 * S + k);
    }
    const po = 8 + 4 * S + pad4(S);
    const maskedLmPositions = new Int32Array(p);
    const maskedLmIds = new Int32Array(p);
    for (let k = 0; k < p; k++) {
      maskedLmPositions[k] = rec.readInt32LE(po + 4 * k);
      maskedLmIds[k] = rec.readInt32LE(po + 4 * P + 4 * k);
    }
    return { inputIds, tokenTypeIds, maskedLmPositions, maskedLmIds, sentenceOrderLabel: rec.readUInt8(4) === 1 ? 1 : 0 };
  };
  return E.right({
    header,
    file,
    size: count,
    get,
    close: () => {
      if (open) fs.closeSync(fd);
      open = false;
    },
    instances: function* () {
      for (let i = 0; i < count; i++) yield get(i);
    },
  });
};
