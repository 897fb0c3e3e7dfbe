/**
 * SentencePiece's precompiled normalisation map (`precompiled_charsmap`, e.g. the `nmt_nfkc` rule
 * ALBERT uses), applied exactly as the two references do.
 *
 * The blob is `u32 trie size (LE) | darts-clone double-array trie (u32 units) | NUL-terminated
 * replacement strings`; the trie maps UTF-8 byte sequences to offsets into the strings.
 * - {@link normalizeSentencePiece}: sentencepiece's `Normalizer::NormalizePrefix` — at each position
 *   the longest match wins, else one character is copied unchanged.
 * - {@link normalizeHuggingFace}: Hugging Face's `Precompiled` normaliser (`spm_precompiled`) — per
 *   extended grapheme cluster: a cluster shorter than 6 bytes is replaced by the first (shortest)
 *   match of its prefix if there is one; otherwise each character is looked up on its own.
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';

/**
 * A parsed precompiled charsmap.
 * @example
 * const cm = parseCharsmap(blob); // E.right({ units, normalized })
 */
export interface Charsmap {
  readonly units: Uint32Array;
  readonly normalized: Uint8Array;
}

/**
 * Parses a `precompiled_charsmap` blob (from a `spiece.model` or a `tokenizer.json`); a truncated or
 * inconsistent blob is an error value.
 * @example
 * const cm = parseCharsmap(bytes); // E.right({ units, normalized }) or E.left('…')
 */
export const parseCharsmap = (blob: Uint8Array): E.Either<string, Charsmap> => {
  if (blob.length < 4) return E.left('precompiled charsmap is shorter than its 4-byte header');
  const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const trieSize = dv.getUint32(0, true);
  if (trieSize % 4 !== 0 || trieSize === 0 || 4 + trieSize > blob.length) {
    return E.left(`precompiled charsmap trie size ${trieSize} does not fit the ${blob.length}-byte blob`);
  }
  const units = new Uint32Array(trieSize / 4);
  for (let i = 0; i < units.length; i++) units[i] = dv.getUint32(4 + 4 * i, true);
  return E.right({ units, normalized: blob.slice(4 + trieSize) });
};

const hasLeaf = (u: number): boolean => ((u >>> 8) & 1) === 1;
const value = (u: number): number => u & 0x7fffffff;
const label = (u: number): number => u & 0x800000ff;
const offset = (u: number): number => (u >>> 10) << ((u & 0x200) >>> 6);

/**
 * darts-clone `commonPrefixSearch`: calls `found(length, value)` for every key that is a prefix of
 * `key[start..end)`, shortest first. Out-of-range units end the search (a corrupt trie cannot crash).
 */
const commonPrefixSearch = (
  units: Uint32Array,
  key: Uint8Array,
  start: number,
  end: number,
  found: (length: number, value: number) => boolean,
): void => {
  let pos = 0;
  let unit = units[pos];
  if (unit === undefined) return;
  pos ^= offset(unit);
  for (let i = start; i < end; i++) {
    const c = key[i] as number;
    pos ^= c;
    unit = units[pos];
    if (unit === undefined || label(unit) !== c) return;
    pos ^= offset(unit);
    if (hasLeaf(unit)) {
      const leaf = units[pos];
      if (leaf === undefined) return;
      if (found(i - start + 1, value(leaf))) return;
    }
  }
};

const decoder = new TextDecoder('utf-8');
const encoder = new TextEncoder();

const replacementAt = (cm: Charsmap, at: number): Uint8Array | undefined => {
  if (at >= cm.normalized.length) return undefined;
  let end = at;
  while (end < cm.normalized.length && cm.normalized[end] !== 0) end++;
  return cm.normalized.subarray(at, end);
};

const utf8Len = (b: number): number => (b < 0x80 ? 1 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1);

/** Byte-level output buffer that grows as needed. */
class Bytes {
  buf = new Uint8Array(256);
  n = 0;
  push(src: Uint8Array, from = 0, to = src.length): void {
    const need = this.n + (to - from);
    if (need > this.buf.length) {
      const b = new Uint8Array(Math.max(need, this.buf.length * 2));
      b.set(this.buf.subarray(0, this.n));
      this.buf = b;
    }
    this.buf.set(src.subarray(from, to), this.n);
    this.n = need;
  }
  text(): string {
    return decoder.decode(this.buf.subarray(0, this.n));
  }
}

/**
 * One step of sentencepiece's `NormalizePrefix` on UTF-8 bytes: returns the replacement bytes (or
 * `undefined` to copy the next character unchanged) and how many input bytes it consumed.
 * @example
 * charsmapPrefix(cm, new TextEncoder().encode('①x'), 0); // { out: bytes of '1', consumed: 3 }
 */
export const charsmapPrefix = (cm: Charsmap, bytes: Uint8Array, at: number): { out: Uint8Array | undefined; consumed: number } => {
  let bestLen = 0;
  let bestVal = -1;
  commonPrefixSearch(cm.units, bytes, at, bytes.length, (len, v) => {
    if (len > bestLen) {
      bestLen = len;
      bestVal = v;
    }
    return false;
  });
  if (bestLen > 0) {
    const rep = replacementAt(cm, bestVal);
    if (rep !== undefined) return { out: rep, consumed: bestLen };
  }
  return { out: undefined, consumed: Math.min(utf8Len(bytes[at] as number), bytes.length - at) };
};

/**
 * Applies the charsmap with sentencepiece's semantics (longest match at each position) and no
 * whitespace handling (that is done by the caller, see `spmNormalize`).
 * @example
 * normalizeSentencePiece(cm, 'ｶﾞ①') // 'ガ1' under nmt_nfkc
 */
export const normalizeSentencePiece = (cm: Charsmap, text: string): string => {
  const bytes = encoder.encode(text);
  const out = new Bytes();
  for (let at = 0; at < bytes.length; ) {
    const { out: rep, consumed } = charsmapPrefix(cm, bytes, at);
    out.push(rep ?? bytes, rep ? 0 : at, rep ? rep.length : at + consumed);
    at += consumed;
  }
  return out.text();
};

const transformFirst = (cm: Charsmap, bytes: Uint8Array): Uint8Array | undefined => {
  let rep: Uint8Array | undefined;
  commonPrefixSearch(cm.units, bytes, 0, bytes.length, (_len, v) => {
    rep = replacementAt(cm, v);
    return true; // spm_precompiled uses results[0]: the shortest match
  });
  return rep;
};

const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });

const isAscii = (c: number): boolean => c < 0x80;

/**
 * Extended grapheme clusters of `text`. Between two ASCII characters there is always a boundary
 * (except CR LF), so ASCII stretches are cut without ICU and only the non-ASCII runs between them go
 * through `Intl.Segmenter` (which costs microseconds per cluster).
 */
function* graphemeClusters(text: string): Generator<string> {
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    const next = i + 1 < n ? text.charCodeAt(i + 1) : -1;
    if (isAscii(c) && (next === -1 || (isAscii(next) && !(c === 13 && next === 10)))) {
      yield text[i] as string;
      i++;
      continue;
    }
    // a run up to the next guaranteed boundary: two adjacent ASCII characters (not CR LF)
    let j = i + 1;
    while (j < n && !(isAscii(text.charCodeAt(j - 1)) && isAscii(text.charCodeAt(j)) && !(text.charCodeAt(j - 1) === 13 && text.charCodeAt(j) === 10))) j++;
    for (const { segment } of graphemes.segment(text.slice(i, j))) yield segment;
    i = j;
  }
}

const utf8Length = (s: string): number => {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c <= 0xdbff ? (i++, 4) : 3;
  }
  return n;
};

/** Per-charsmap memo of cluster → replacement (`null`: none), bounded in size. */
const memo = new WeakMap<Charsmap, Map<string, string | null>>();

const transformCached = (cm: Charsmap, cache: Map<string, string | null>, s: string): string | null => {
  let v = cache.get(s);
  if (v === undefined) {
    const rep = transformFirst(cm, encoder.encode(s));
    v = rep === undefined ? null : decoder.decode(rep);
    if (cache.size < 200_000) cache.set(s, v);
  }
  return v;
};

/**
 * Applies the charsmap as Hugging Face `tokenizers`' `Precompiled` normaliser does (per grapheme
 * cluster, see the module doc).
 * @example
 * normalizeHuggingFace(cm, 'Ａｂｃ') // 'Abc' under nmt_nfkc
 */
export const normalizeHuggingFace = (cm: Charsmap, text: string): string => {
  let cache = memo.get(cm);
  if (cache === undefined) memo.set(cm, (cache = new Map()));
  const parts: string[] = [];
  for (const segment of graphemeClusters(text)) {
    // UTF-8 length < 6 ⇔ at most 5 bytes; each UTF-16 unit is ≥ 1 byte, so long clusters skip the lookup
    if (segment.length < 6 && utf8Length(segment) < 6) {
      const rep = transformCached(cm, cache, segment);
      if (rep !== null) {
        parts.push(rep);
        continue;
      }
    }
    for (const ch of segment) {
      const rep = transformCached(cm, cache, ch);
      parts.push(rep ?? ch);
    }
  }
  return parts.join('');
};
