/**
 * ALBERT's text pipelines, one per reference:
 * - {@link albertPreprocess}: `AlbertTokenizer.preprocess_text` (the sentencepiece-based "slow"
 *   tokenizer): Python `" ".join(text.strip().split())`, ``` `` ```/`''` → `"`, NFKD, drop
 *   characters with a non-zero canonical combining class, Python `str.lower()`.
 * - {@link spmNormalize}: sentencepiece's own normaliser on top (charsmap with longest match, user
 *   symbols kept verbatim, leading/trailing/repeated whitespace removed, dummy prefix `▁`).
 * - {@link hfNormalizer}: the `normalizer` section of a Hugging Face `tokenizer.json` — for ALBERT a
 *   Sequence of Replace(``` `` ```), Replace(`''`), NFKD, StripAccents, Lowercase, Precompiled,
 *   Replace(/ {2,}/) — interpreted step by step with Hugging Face's semantics (per-character
 *   lowercasing, mark stripping by general category, per-grapheme charsmap).
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import { charsmapPrefix, normalizeHuggingFace, parseCharsmap, type Charsmap } from './charsmap.js';

/** Python's `str.isspace()` characters (what `str.split()` splits on). */
const PY_SPACE = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/gu;

const cccCache = new Map<string, boolean>();
/**
 * `unicodedata.combining(c) != 0`, derived from the engine's own NFD data: a mark with a combining
 * class strictly between 0 and 240 is reordered before U+0345 (class 240) by canonical ordering.
 */
const hasCombiningClass = (c: string): boolean => {
  let v = cccCache.get(c);
  if (v === undefined) {
    v = c === '\u0345' || ('\u0345' + c).normalize('NFD').startsWith(c);
    cccCache.set(c, v);
  }
  return v;
};

/**
 * `AlbertTokenizer.preprocess_text` with its defaults (`remove_space`, `do_lower_case`,
 * `keep_accents=False`).
 * @example
 * albertPreprocess('  Café  ``déjà vu'' \t ΟΔΟΣ '); // 'cafe "deja vu" οδος'
 */
export const albertPreprocess = (text: string): string => {
  let t = text.split(PY_SPACE).filter((x) => x !== '').join(' ');
  t = t.replaceAll('``', '"').replaceAll("''", '"');
  t = t.normalize('NFKD');
  let out = '';
  for (const ch of t) if (!(/\p{M}/u.test(ch) && hasCombiningClass(ch))) out += ch;
  return out.toLowerCase();
};

/**
 * The parts of a sentencepiece `NormalizerSpec` that {@link spmNormalize} uses.
 * @example
 * const spec: SpmNormalizerSpec = { charsmap: undefined, addDummyPrefix: true, removeExtraWhitespaces: true, escapeWhitespaces: true, userSymbols: ['('] };
 */
export interface SpmNormalizerSpec {
  readonly charsmap: Charsmap | undefined;
  readonly addDummyPrefix: boolean;
  readonly removeExtraWhitespaces: boolean;
  readonly escapeWhitespaces: boolean;
  /** User-defined symbols: copied verbatim, never normalised (longest match first). */
  readonly userSymbols: readonly string[];
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const SPACE = 0x20;
const META = enc.encode('▁');

/**
 * sentencepiece's `Normalizer::Normalize` (without offsets).
 * @example
 * spmNormalize(spec, '  Hello   world ') // '▁Hello▁world'
 */
export const spmNormalize = (spec: SpmNormalizerSpec, text: string): string => {
  const bytes = enc.encode(text);
  const users = spec.userSymbols.map((u) => enc.encode(u)).filter((u) => u.length > 0);
  const prefix = (at: number): { out: Uint8Array; consumed: number } => {
    let best: Uint8Array | undefined;
    for (const u of users) {
      if (u.length <= bytes.length - at && (best === undefined || u.length > best.length)) {
        let ok = true;
        for (let i = 0; i < u.length && ok; i++) ok = bytes[at + i] === u[i];
        if (ok) best = u;
      }
    }
    if (best !== undefined) return { out: best, consumed: best.length };
    if (spec.charsmap === undefined) {
      const b = bytes[at] as number;
      const len = Math.min(b < 0x80 ? 1 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1, bytes.length - at);
      return { out: bytes.subarray(at, at + len), consumed: len };
    }
    const r = charsmapPrefix(spec.charsmap, bytes, at);
    return { out: r.out ?? bytes.subarray(at, at + r.consumed), consumed: r.consumed };
  };
  let at = 0;
  if (spec.removeExtraWhitespaces) {
    while (at < bytes.length) {
      const p = prefix(at);
      if (!(p.out.length === 1 && p.out[0] === SPACE)) break;
      at += p.consumed;
    }
  }
  if (at >= bytes.length) return '';
  const out: number[] = [];
  const pushSpace = (): void => {
    if (spec.escapeWhitespaces) out.push(...META);
    else out.push(SPACE);
  };
  if (spec.addDummyPrefix) pushSpace();
  let prevSpace = spec.removeExtraWhitespaces;
  while (at < bytes.length) {
    const p = prefix(at);
    let sp = p.out;
    if (prevSpace) {
      let k = 0;
      while (k < sp.length && sp[k] === SPACE) k++;
      sp = sp.subarray(k);
    }
    if (sp.length > 0) {
      for (const b of sp) {
        if (b === SPACE && spec.escapeWhitespaces) out.push(...META);
        else out.push(b);
      }
      prevSpace = sp[sp.length - 1] === SPACE;
    }
    at += p.consumed;
    if (!spec.removeExtraWhitespaces) prevSpace = false;
  }
  if (spec.removeExtraWhitespaces) {
    const tail = spec.escapeWhitespaces ? [...META] : [SPACE];
    while (out.length >= tail.length && tail.every((b, i) => out[out.length - tail.length + i] === b)) out.length -= tail.length;
  }
  return dec.decode(new Uint8Array(out));
};

/**
 * A compiled text → text step.
 * @example
 * const lower: TextStep = (t) => t.toLowerCase();
 */
export type TextStep = (text: string) => string;

const lowercaseChars = (t: string): string => {
  let out = '';
  for (const ch of t) out += ch.toLowerCase(); // per character: no final-sigma context, like Rust's char::to_lowercase
  return out;
};

const base64ToBytes = (b64: string): Uint8Array => Uint8Array.from(Buffer.from(b64, 'base64'));

/**
 * Compiles the `normalizer` object of a `tokenizer.json` into one function; an unsupported step
 * type is an error value naming it.
 * @example
 * const n = hfNormalizer({ type: 'Sequence', normalizers: [{ type: 'NFKD' }, { type: 'Lowercase' }] });
 * E.map((f: TextStep) => f('Ǆ'))(n); // E.right('dž')
 */
export const hfNormalizer = (spec: unknown): E.Either<string, TextStep> => {
  if (spec === null || spec === undefined) return E.right((t) => t);
  if (typeof spec !== 'object') return E.left('normalizer is not an object');
  const s = spec as Record<string, unknown>;
  switch (s.type) {
    case 'Sequence': {
      const parts = Array.isArray(s.normalizers) ? s.normalizers : [];
      const steps: TextStep[] = [];
      for (const p of parts) {
        const r = hfNormalizer(p);
        if (E.isLeft(r)) return r;
        steps.push(r.right);
      }
      return E.right((t) => steps.reduce((acc, f) => f(acc), t));
    }
    case 'Replace': {
      const pat = s.pattern as Record<string, unknown> | undefined;
      const content = typeof s.content === 'string' ? s.content : '';
      if (pat && typeof pat.String === 'string') {
        const str = pat.String;
        return E.right((t) => (str === '' ? t : t.replaceAll(str, content)));
      }
      if (pat && typeof pat.Regex === 'string') {
        let re: RegExp;
        try {
          re = new RegExp(pat.Regex, 'gu');
        } catch {
          return E.left(`Replace normalizer regex ${pat.Regex} is not supported`);
        }
        return E.right((t) => t.replace(re, () => content));
      }
      return E.left('Replace normalizer without a pattern');
    }
    case 'NFKD':
    case 'NFKC':
    case 'NFD':
    case 'NFC': {
      const form = s.type;
      return E.right((t) => t.normalize(form));
    }
    case 'StripAccents':
      return E.right((t) => t.replace(/\p{M}/gu, ''));
    case 'Lowercase':
      return E.right(lowercaseChars);
    case 'Strip': {
      const left = s.strip_left !== false;
      const right = s.strip_right !== false;
      return E.right((t) => (left && right ? t.trim() : left ? t.trimStart() : right ? t.trimEnd() : t));
    }
    case 'Prepend': {
      const p = typeof s.prepend === 'string' ? s.prepend : '';
      return E.right((t) => (t === '' ? t : p + t));
    }
    case 'Precompiled': {
      if (typeof s.precompiled_charsmap !== 'string') return E.left('Precompiled normalizer without a charsmap');
      const cm = parseCharsmap(base64ToBytes(s.precompiled_charsmap));
      if (E.isLeft(cm)) return cm;
      return E.right((t) => normalizeHuggingFace(cm.right, t));
    }
    default:
      return E.left(`normalizer type ${String(s.type)} is not supported (ALBERT-style SentencePiece vocabularies use Sequence, Replace, NFKD, StripAccents, Lowercase, Precompiled)`);
  }
};
