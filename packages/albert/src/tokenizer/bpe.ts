/**
 * GPT-2's byte-level BPE tokenizer, loaded from a Hugging Face directory's `vocab.json` +
 * `merges.txt` (or its `tokenizer.json` when only that exists), giving exactly the ids of
 * transformers' `GPT2Tokenizer` (checked on committed fixtures made by
 * `scripts/python/make_bpe_fixtures.py`, which also checks transformers 4's pure-Python one):
 *
 * 1. special tokens (`<|endoftext|>`) are split out of the raw text first, leftmost-longest;
 * 2. each remaining run is cut by GPT-2's pre-tokenization pattern
 *    (`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`, where `\s` is
 *    Unicode `White_Space`, as in Python's `regex` and Rust's `onig`, not JavaScript's `\s`);
 * 3. each piece's UTF-8 bytes become printable characters through GPT-2's byte-to-unicode map
 *    ({@link bytesToUnicode}; a space is `Ġ`, a newline `Ċ`);
 * 4. the lowest-ranked adjacent pair in `merges.txt` is merged, everywhere in the piece, until no
 *    ranked pair is left (cached per piece);
 * 5. each resulting token is looked up in `vocab.json`.
 *
 * Decoding maps token characters back to bytes and reads them as UTF-8, bad sequences becoming
 * U+FFFD (as `errors="replace"` and Rust's `from_utf8_lossy`); special tokens decode to their own
 * text. So `decode(encode(s)) === s` for every well-formed string (a lone surrogate has no UTF-8
 * form and becomes U+FFFD). Letters and numbers (`\p{L}`, `\p{N}`) follow the Unicode version of
 * the JavaScript engine (Node 20: Unicode 15.1+); Python's `regex` may know a few newer letters.
 *
 * @example
 * ```ts
 * const t = unwrap(loadBpeTokenizer('packages/albert/test/fixtures/bpe/vocab'));
 * const ids = t.encode("I'm here.<|endoftext|>");   // [...,  t.endOfText]
 * t.decode(ids);                                     // "I'm here.<|endoftext|>"
 * ```
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import fs from 'node:fs';
import path from 'node:path';
import type { TokenizerError } from './tokenizer.js';

const tokErr = (kind: TokenizerError['kind'], message: string): TokenizerError => ({ kind, message });

/** GPT-2's end-of-text token: the one special token of its vocabulary. */
export const END_OF_TEXT = '<|endoftext|>';

/**
 * GPT-2's pre-tokenization pattern (global, unicode), with `\s` spelled as `\p{White_Space}` so it
 * matches what Python's `regex` (and Rust's `onig`) mean by `\s`: U+0085 is a space, U+FEFF is not.
 * @example "I'm  here".match(GPT2_PRETOKENIZE) // ['I', "'m", ' ', ' here']
 */
export const GPT2_PRETOKENIZE = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+/gu;

/**
 * GPT-2's byte-to-unicode map: entry `b` is the printable character that stands for byte `b`
 * (printable Latin-1 bytes stand for themselves; the others take code points from U+0100 on).
 * @example bytesToUnicode()[32] // 'Ġ' (a space)
 */
export const bytesToUnicode = (): readonly string[] => BYTE_TO_CHAR;

const BYTE_TO_CHAR: readonly string[] = (() => {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out: string[] = [];
  let n = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCharCode(printable(b) ? b : 256 + n++);
  return out;
})();
const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

/**
 * A loaded GPT-2 byte-level BPE tokenizer: pure functions over text, no I/O.
 * @example
 * const t = unwrap(loadBpeTokenizer('gpt2-dir'));
 * t.decode(t.encode('Hello world')) // 'Hello world'
 */
export interface BpeTokenizer {
  /** Which reference this tokenizer reproduces. */
  readonly format: 'gpt2-bpe';
  /** Where it was loaded from (a directory, a file, or `<memory>`). */
  readonly source: string;
  /** One more than the largest id (50257 for GPT-2). */
  readonly vocabSize: number;
  /** The id of `<|endoftext|>` (undefined if the vocabulary has none). */
  readonly endOfText: number | undefined;
  /** Special tokens (split out of the text before BPE) and their ids. */
  readonly specialTokens: ReadonlyMap<string, number>;
  /** Text → ids (special-token text becomes the special id; nothing is added around). */
  readonly encode: (text: string) => number[];
  /** Ids → text (bytes read as UTF-8, bad sequences → U+FFFD; special tokens as their text). */
  readonly decode: (ids: readonly number[]) => string;
  /** Text → byte-level token strings (`'Ġworld'`), before the vocabulary lookup. */
  readonly tokens: (text: string) => string[];
  readonly idToToken: (id: number) => string | undefined;
  readonly tokenToId: (token: string) => number | undefined;
  /** True for special tokens (`<|endoftext|>`). */
  readonly isSpecial: (id: number) => boolean;
}

/** Options of {@link bpeTokenizer}. */
export interface BpeOptions {
  /** Tokens split out of the text before BPE (default: `<|endoftext|>` if the vocabulary has it). */
  readonly specialTokens?: readonly string[];
  /** Named in error messages and {@link BpeTokenizer.source}. */
  readonly source?: string;
  /** Name of the vocabulary file in error messages (default `vocab.json`). */
  readonly vocabName?: string;
  /** Name of the merges file in error messages (default `merges.txt`). */
  readonly mergesName?: string;
  /** Pieces kept in the BPE cache before it is emptied (default 10,000). */
  readonly cacheSize?: number;
}

const pairKey = (a: string, b: string): string => `${a.length}:${a}${b}`;

/**
 * Builds a tokenizer from a vocabulary (token → id) and rank-ordered merges. The vocabulary must
 * hold every byte's character (so any text can be encoded) and each merge's two parts and their
 * concatenation; ids must be distinct non-negative integers. Errors name the file (`vocabName`,
 * `mergesName`) and the entry.
 * @example
 * const t = unwrap(bpeTokenizer(vocab, [['Ġ', 't'], ['h', 'e']]));
 */
export const bpeTokenizer = (vocab: Readonly<Record<string, number>>, merges: readonly (readonly [string, string])[], o: BpeOptions = {}): E.Either<TokenizerError, BpeTokenizer> => {
  const vf = o.vocabName ?? 'vocab.json';
  const mf = o.mergesName ?? 'merges.txt';
  const toId = new Map<string, number>();
  const toToken = new Map<number, string>();
  for (const [tok, id] of Object.entries(vocab)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > 0x7fffffff) return E.left(tokErr('bad-vocab', `${vf}: the id of ${JSON.stringify(tok)} is ${JSON.stringify(id)}, not a non-negative integer`));
    const other = toToken.get(id);
    if (other !== undefined) return E.left(tokErr('bad-vocab', `${vf}: id ${id} is given to both ${JSON.stringify(other)} and ${JSON.stringify(tok)}`));
    toId.set(tok, id);
    toToken.set(id, tok);
  }
  if (toId.size === 0) return E.left(tokErr('bad-vocab', `${vf} is empty`));
  const missingBytes = BYTE_TO_CHAR.filter((c) => !toId.has(c));
  if (missingBytes.length > 0)
    return E.left(tokErr('bad-vocab', `${vf} lacks ${missingBytes.length} of the 256 byte tokens (e.g. ${JSON.stringify(missingBytes[0])}), so it is not a byte-level BPE vocabulary`));
  const ranks = new Map<string, number>();
  for (let r = 0; r < merges.length; r++) {
    const [a, b] = merges[r] as readonly [string, string];
    for (const t of [a, b, a + b])
      if (!toId.has(t)) return E.left(tokErr('bad-vocab', `${mf}: merge ${r + 1} (${JSON.stringify(a)} ${JSON.stringify(b)}) makes or uses ${JSON.stringify(t)}, which ${vf} lacks`));
    const k = pairKey(a, b);
    if (!ranks.has(k)) ranks.set(k, r);
  }
  const specials = o.specialTokens ?? (toId.has(END_OF_TEXT) ? [END_OF_TEXT] : []);
  const specialIds = new Map<string, number>();
  for (const s of specials) {
    const id = toId.get(s);
    if (id === undefined) return E.left(tokErr('bad-vocab', `${vf} has no special token ${JSON.stringify(s)}`));
    if (s === '') return E.left(tokErr('bad-vocab', `${vf}: a special token is empty`));
    specialIds.set(s, id);
  }
  const specialSet = new Set(specialIds.values());
  const splitter =
    specialIds.size === 0
      ? undefined
      : new RegExp(
          [...specialIds.keys()]
            .sort((x, y) => y.length - x.length)
            .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
            .join('|'),
          'gu',
        );
  const cacheSize = o.cacheSize ?? 10_000;
  const cache = new Map<string, readonly string[]>();
  const bpe = (piece: string): readonly string[] => {
    const hit = cache.get(piece);
    if (hit) return hit;
    let word: string[] = [...piece];
    while (word.length > 1) {
      let best = Infinity;
      let first = '';
      let second = '';
      for (let i = 0; i + 1 < word.length; i++) {
        const r = ranks.get(pairKey(word[i] as string, word[i + 1] as string));
        if (r !== undefined && r < best) {
          best = r;
          first = word[i] as string;
          second = word[i + 1] as string;
        }
      }
      if (best === Infinity) break;
      const next: string[] = [];
      for (let i = 0; i < word.length; ) {
        if (word[i] === first && i + 1 < word.length && word[i + 1] === second) {
          next.push(first + second);
          i += 2;
        } else next.push(word[i++] as string);
      }
      word = next;
    }
    if (cache.size >= cacheSize) cache.clear();
    cache.set(piece, word);
    return word;
  };
  const encoder = new TextEncoder();
  const ordinary = (text: string, out: string[]): void => {
    for (const m of text.matchAll(GPT2_PRETOKENIZE)) {
      let mapped = '';
      for (const b of encoder.encode(m[0])) mapped += BYTE_TO_CHAR[b] as string;
      out.push(...bpe(mapped));
    }
  };
  const tokens = (text: string): string[] => {
    const out: string[] = [];
    if (!splitter) {
      ordinary(text, out);
      return out;
    }
    let last = 0;
    for (const m of text.matchAll(splitter)) {
      ordinary(text.slice(last, m.index), out);
      out.push(m[0]);
      last = m.index + m[0].length;
    }
    ordinary(text.slice(last), out);
    return out;
  };
  // every token BPE can produce is in the vocabulary (bytes and merge results were checked above)
  const encode = (text: string): number[] => tokens(text).map((t) => toId.get(t) as number);
  const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
  const decode = (ids: readonly number[]): string => {
    const bytes: number[] = [];
    for (const id of ids) {
      const t = toToken.get(id);
      if (t === undefined) continue;
      const mapped: number[] = [];
      let all = !specialSet.has(id);
      if (all)
        for (const c of t) {
          const b = CHAR_TO_BYTE.get(c);
          if (b === undefined) {
            all = false;
            break;
          }
          mapped.push(b);
        }
      // a token with a character outside the byte map (a special token) stands for its own UTF-8
      bytes.push(...(all ? mapped : encoder.encode(t)));
    }
    return decoder.decode(Uint8Array.from(bytes));
  };
  return E.right({
    format: 'gpt2-bpe',
    source: o.source ?? '<memory>',
    vocabSize: Math.max(...toToken.keys()) + 1,
    endOfText: toId.get(END_OF_TEXT),
    specialTokens: specialIds,
    encode,
    decode,
    tokens,
    idToToken: (id) => toToken.get(id),
    tokenToId: (t) => toId.get(t),
    isSpecial: (id) => specialSet.has(id),
  });
};

/**
 * Reads `vocab.json` text: a JSON object from token to id.
 * @example parseVocabJson('{"a": 0, "b": 1}', 'vocab.json') // right({ a: 0, b: 1 })
 */
export const parseVocabJson = (text: string, file: string): E.Either<TokenizerError, Record<string, number>> => {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return E.left(tokErr('corrupt', `${file} is not valid JSON (${(e as Error).message.split('\n')[0]})`));
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return E.left(tokErr('corrupt', `${file} is not a JSON object from token to id`));
  return E.right(Object.fromEntries(Object.entries(json as Record<string, unknown>)) as Record<string, number>);
};

/**
 * Reads `merges.txt` text: an optional `#version` first line, then one merge per line (two tokens
 * separated by one space), highest priority first. Blank lines are skipped; any other line is an
 * error naming its number.
 * @example parseMerges('#version: 0.2\nĠ t\nh e\n', 'merges.txt') // right([['Ġ', 't'], ['h', 'e']])
 */
export const parseMerges = (text: string, file: string): E.Either<TokenizerError, [string, string][]> => {
  const lines = text.split(/\r?\n/);
  const out: [string, string][] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line === '' || (i === 0 && line.startsWith('#version'))) continue;
    const parts = line.split(' ');
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '')
      return E.left(tokErr('corrupt', `${file}:${i + 1}: a merge is two tokens separated by one space, got ${JSON.stringify(line.length > 60 ? `${line.slice(0, 60)}…` : line)}`));
    out.push([parts[0] as string, parts[1] as string]);
  }
  return E.right(out);
};

const readText = (file: string): E.Either<TokenizerError, string> => {
  try {
    return E.right(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return E.left(code === 'ENOENT' ? tokErr('not-found', `${file} does not exist`) : tokErr('io', `cannot read ${file}: ${(e as Error).message}`));
  }
};

/**
 * A byte-level BPE from a Hugging Face `tokenizer.json` value: a `BPE` model (`vocab`, `merges`
 * as `"a b"` strings or `[a, b]` pairs) with a `ByteLevel` pre-tokenizer; its special added tokens
 * are split out first.
 * @example bpeFromTokenizerJson(JSON.parse(fs.readFileSync('gpt2/tokenizer.json', 'utf8')), 'gpt2/tokenizer.json')
 */
export const bpeFromTokenizerJson = (json: unknown, file: string): E.Either<TokenizerError, BpeTokenizer> => {
  const rec = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
  if (!rec(json) || !rec(json['model'])) return E.left(tokErr('corrupt', `${file} has no "model" object`));
  const model = json['model'];
  if (model['type'] !== 'BPE') return E.left(tokErr('unsupported', `${file} holds a ${JSON.stringify(model['type'])} model, not GPT-2's byte-level BPE`));
  const pre = json['pre_tokenizer'];
  const byteLevel = (p: unknown): boolean => rec(p) && (p['type'] === 'ByteLevel' || (p['type'] === 'Sequence' && Array.isArray(p['pretokenizers']) && p['pretokenizers'].some(byteLevel)));
  if (!byteLevel(pre)) return E.left(tokErr('unsupported', `${file}: the pre-tokenizer is not ByteLevel, so this is not a GPT-2 byte-level BPE`));
  if (!rec(model['vocab'])) return E.left(tokErr('corrupt', `${file}: model.vocab is not an object from token to id`));
  if (!Array.isArray(model['merges'])) return E.left(tokErr('corrupt', `${file}: model.merges is not a list`));
  const merges: [string, string][] = [];
  for (const [i, m] of (model['merges'] as unknown[]).entries()) {
    const pair = typeof m === 'string' ? m.split(' ') : m;
    if (!Array.isArray(pair) || pair.length !== 2 || !pair.every((p) => typeof p === 'string' && p !== ''))
      return E.left(tokErr('corrupt', `${file}: model.merges[${i}] is not two tokens (${JSON.stringify(m)})`));
    merges.push([pair[0] as string, pair[1] as string]);
  }
  const added = Array.isArray(json['added_tokens']) ? (json['added_tokens'] as unknown[]) : [];
  const vocab = { ...(model['vocab'] as Record<string, number>) };
  const specials: string[] = [];
  for (const a of added) {
    if (!rec(a) || typeof a['content'] !== 'string' || typeof a['id'] !== 'number') return E.left(tokErr('corrupt', `${file}: an added token is not {content, id}`));
    vocab[a['content']] = a['id'];
    specials.push(a['content']);
  }
  return bpeTokenizer(vocab, merges, { specialTokens: specials, source: file, vocabName: `${file} (model.vocab)`, mergesName: `${file} (model.merges)` });
};

/**
 * True when a directory holds GPT-2 tokenizer files (`vocab.json` + `merges.txt`).
 * @example hasBpeFiles('packages/albert/test/fixtures/bpe/vocab') // true
 */
export const hasBpeFiles = (dir: string): boolean => fs.existsSync(path.join(dir, 'vocab.json')) && fs.existsSync(path.join(dir, 'merges.txt'));

/**
 * Loads GPT-2's tokenizer from a directory: `vocab.json` + `merges.txt` (what `GPT2Tokenizer`
 * reads), else `tokenizer.json`. A directory with neither, an unreadable or malformed file, and
 * a vocabulary that is not byte-level are each a one-line {@link TokenizerError} naming the file.
 * @example
 * ```ts
 * const t = loadBpeTokenizer('packages/albert/test/fixtures/bpe/gpt2-tiny');
 * if (E.isLeft(t)) console.error(t.left.message);
 * ```
 */
export const loadBpeTokenizer = (dir: string): E.Either<TokenizerError, BpeTokenizer> => {
  try {
    if (!fs.statSync(dir).isDirectory()) return E.left(tokErr('not-found', `${dir} is not a directory (GPT-2's tokenizer is a directory with vocab.json and merges.txt)`));
  } catch {
    return E.left(tokErr('not-found', `${dir} does not exist`));
  }
  const vf = path.join(dir, 'vocab.json');
  const mf = path.join(dir, 'merges.txt');
  const tj = path.join(dir, 'tokenizer.json');
  const hasV = fs.existsSync(vf);
  const hasM = fs.existsSync(mf);
  if (!hasV && !hasM && fs.existsSync(tj)) {
    const text = readText(tj);
    if (E.isLeft(text)) return text;
    let json: unknown;
    try {
      json = JSON.parse(text.right);
    } catch (e) {
      return E.left(tokErr('corrupt', `${tj} is not valid JSON (${(e as Error).message.split('\n')[0]})`));
    }
    return bpeFromTokenizerJson(json, tj);
  }
  if (!hasV || !hasM) return E.left(tokErr('not-found', `${dir} has no GPT-2 tokenizer: ${!hasV && !hasM ? 'vocab.json and merges.txt are' : `${hasV ? 'merges.txt' : 'vocab.json'} is`} missing (and there is no tokenizer.json)`));
  const vt = readText(vf);
  if (E.isLeft(vt)) return vt;
  const vocab = parseVocabJson(vt.right, vf);
  if (E.isLeft(vocab)) return vocab;
  const mt = readText(mf);
  if (E.isLeft(mt)) return mt;
  const merges = parseMerges(mt.right, mf);
  if (E.isLeft(merges)) return merges;
  return bpeTokenizer(vocab.right, merges.right, { source: dir, vocabName: vf, mergesName: mf });
};
