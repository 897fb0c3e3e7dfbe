/**
 * ALBERT tokenizers loaded from a Hugging Face `tokenizer.json` or a SentencePiece `spiece.model`,
 * giving exactly the ids of the matching reference:
 * - `tokenizer.json` → Hugging Face `tokenizers` / `AlbertTokenizerFast`: added tokens split out of
 *   the raw text, the file's normaliser, Metaspace pre-tokenisation, unigram per word, the file's
 *   TemplateProcessing post-processor.
 * - `spiece.model` → Python `sentencepiece` under `AlbertTokenizer` (the sentencepiece-based one):
 *   special-token literals split out, {@link albertPreprocess}, sentencepiece normalisation and
 *   unigram on the whole text, then ALBERT's digit-comma rule (`"▁1990,"` → `"▁1990" ","`).
 * The two references differ on a few inputs (e.g. trailing spaces, text next to user symbols);
 * each loader follows its own, and the committed fixtures check both.
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCharsmap } from './charsmap.js';
import { albertPreprocess, hfNormalizer, spmNormalize, type SpmNormalizerSpec, type TextStep } from './normalize.js';
import { decodeSentencePieceModel } from './spiece.js';
import { PieceType, unigramModel, type UnigramModel } from './unigram.js';

/**
 * Why a tokenizer could not be loaded.
 * @example
 * loadTokenizer('missing/'); // E.left({ kind: 'not-found', message: 'tokenizer missing/ does not exist' })
 */
export interface TokenizerError {
  readonly kind: 'not-found' | 'io' | 'corrupt' | 'unsupported' | 'bad-vocab';
  readonly message: string;
}

const tokErr = (kind: TokenizerError['kind'], message: string): TokenizerError => ({ kind, message });

/**
 * Model inputs for one sequence or a pair: `[CLS] A [SEP]` or `[CLS] A [SEP] B [SEP]`.
 * @example
 * const e: Encoding = { input_ids: [2, 4195, 3], token_type_ids: [0, 0, 0] }; // [CLS] ▁hello [SEP]
 */
export interface Encoding {
  readonly input_ids: number[];
  readonly token_type_ids: number[];
}

/**
 * Ids of the special pieces every ALBERT vocabulary has.
 * @example
 * tokenizer.special; // { pad: 0, unk: 1, cls: 2, sep: 3, mask: 4 } for ALBERT vocabularies
 */
export interface SpecialIds {
  readonly pad: number;
  readonly unk: number;
  readonly cls: number;
  readonly sep: number;
  readonly mask: number;
}

/**
 * A loaded tokenizer: pure functions over text, no I/O.
 * @example
 * const t: Tokenizer = E.getOrElseW(fail)(defaultTokenizer());
 * t.encode('Call me Ishmael.', 'Some years ago.').token_type_ids; // [0, …, 0, 1, …, 1]
 */
export interface Tokenizer {
  /** Which reference this tokenizer reproduces. */
  readonly format: 'tokenizer.json' | 'spiece.model';
  /** Where it was loaded from (a path, or `<memory>`). */
  readonly source: string;
  readonly vocabSize: number;
  readonly special: SpecialIds;
  /** Text → piece ids without special tokens. */
  readonly tokenize: (text: string) => number[];
  /** Text (or a pair) → ids and token types with `[CLS]`/`[SEP]`. */
  readonly encode: (text: string, pair?: string) => Encoding;
  readonly idToPiece: (id: number) => string | undefined;
  readonly pieceToId: (piece: string) => number | undefined;
  /** True for `<pad>`, `[CLS]`, `[SEP]` and `[MASK]`: never masked, never a prediction target. */
  readonly isSpecial: (id: number) => boolean;
  /** True when the piece starts a word (begins with `▁`), for whole-word masking. */
  readonly isWordStart: (id: number) => boolean;
  /** Ids of ordinary pieces (not special, not unknown): the pool for random replacement in masking. */
  readonly normalIds: Int32Array;
}

const META = '▁';

const specialIdsOf = (pieceToId: (p: string) => number | undefined, unkId: number): E.Either<TokenizerError, SpecialIds> => {
  const need = ['<pad>', '[CLS]', '[SEP]', '[MASK]'] as const;
  const missing = need.filter((p) => pieceToId(p) === undefined);
  if (missing.length > 0) {
    return E.left(tokErr('bad-vocab', `vocabulary has no ${missing.join(', ')} piece${missing.length > 1 ? 's' : ''}; ALBERT vocabularies need <pad>, [CLS], [SEP] and [MASK]`));
  }
  return E.right({ pad: pieceToId('<pad>')!, unk: unkId, cls: pieceToId('[CLS]')!, sep: pieceToId('[SEP]')!, mask: pieceToId('[MASK]')! });
};

const finish = (
  format: Tokenizer['format'],
  source: string,
  pieces: readonly string[],
  model: UnigramModel,
  special: SpecialIds,
  tokenize: (text: string) => number[],
  template: (a: number[], b: number[] | undefined) => Encoding,
): Tokenizer => {
  const specialSet = new Set([special.pad, special.cls, special.sep, special.mask]);
  const wordStart = new Uint8Array(pieces.length);
  const normal: number[] = [];
  pieces.forEach((p, id) => {
    if (p.startsWith(META)) wordStart[id] = 1;
    if (!specialSet.has(id) && id !== special.unk && model.vocab.types[id] !== PieceType.control) normal.push(id);
  });
  return {
    format,
    source,
    vocabSize: pieces.length,
    special,
    tokenize,
    encode: (text, pair) => template(tokenize(text), pair === undefined ? undefined : tokenize(pair)),
    idToPiece: (id) => pieces[id],
    pieceToId: model.pieceToId,
    isSpecial: (id) => specialSet.has(id),
    isWordStart: (id) => wordStart[id] === 1,
    normalIds: Int32Array.from(normal),
  };
};

const albertTemplate =
  (s: SpecialIds) =>
  (a: number[], b: number[] | undefined): Encoding => {
    const ids = [s.cls, ...a, s.sep];
    const types = ids.map(() => 0);
    if (b !== undefined) {
      for (const id of b) ids.push(id);
      ids.push(s.sep);
      for (let i = 0; i <= b.length; i++) types.push(1);
    }
    return { input_ids: ids, token_type_ids: types };
  };

/** Splits `text` around literal occurrences of `tokens` (leftmost, longest first). */
const splitOnLiterals = (
  text: string,
  tokens: readonly { content: string; id: number; lstrip: boolean; rstrip: boolean }[],
): ({ text: string } | { id: number })[] => {
  const out: ({ text: string } | { id: number })[] = [];
  if (tokens.length === 0) return [{ text }];
  const sorted = [...tokens].filter((t) => t.content !== '').sort((x, y) => y.content.length - x.content.length);
  let start = 0;
  let i = 0;
  let pendingRstrip = false;
  while (i < text.length) {
    const hit = sorted.find((t) => text.startsWith(t.content, i));
    if (hit === undefined) {
      i++;
      continue;
    }
    let left = text.slice(start, i);
    if (pendingRstrip) left = left.replace(/^\s+/u, '');
    if (hit.lstrip) left = left.replace(/\s+$/u, '');
    if (left !== '') out.push({ text: left });
    out.push({ id: hit.id });
    i += hit.content.length;
    start = i;
    pendingRstrip = hit.rstrip;
  }
  let rest = text.slice(start);
  if (pendingRstrip) rest = rest.replace(/^\s+/u, '');
  if (rest !== '') out.push({ text: rest });
  return out;
};

/**
 * Builds a tokenizer from a parsed `tokenizer.json` (Unigram model only).
 * @example
 * const t = tokenizerFromJson(JSON.parse(fs.readFileSync('tokenizer.json', 'utf8')));
 * if (E.isRight(t)) t.right.encode('Hello', 'world'); // { input_ids: [2, …, 3, …, 3], token_type_ids: [0, …, 1] }
 */
export const tokenizerFromJson = (json: unknown, source = '<memory>'): E.Either<TokenizerError, Tokenizer> => {
  if (json === null || typeof json !== 'object') return E.left(tokErr('corrupt', `${source} is not a tokenizer.json object`));
  const j = json as Record<string, unknown>;
  const m = j.model as Record<string, unknown> | undefined;
  if (!m || typeof m !== 'object') return E.left(tokErr('corrupt', `${source} is not a tokenizer.json (it has no model section)`));
  if (m.type !== 'Unigram') {
    return E.left(tokErr('unsupported', `${source}: model type ${String(m?.type)} is not supported (ALBERT uses a SentencePiece Unigram model)`));
  }
  if (m.byte_fallback === true) return E.left(tokErr('unsupported', `${source}: Unigram byte_fallback is not supported`));
  if (!Array.isArray(m.vocab) || m.vocab.length === 0) return E.left(tokErr('corrupt', `${source}: model.vocab is missing or empty`));
  const pieces: string[] = [];
  const scores: number[] = [];
  for (const e of m.vocab as unknown[]) {
    if (!Array.isArray(e) || typeof e[0] !== 'string' || typeof e[1] !== 'number') return E.left(tokErr('corrupt', `${source}: model.vocab entries must be [piece, score]`));
    pieces.push(e[0]);
    scores.push(e[1]);
  }
  const unkId = typeof m.unk_id === 'number' ? m.unk_id : -1;
  const types = pieces.map((_, i) => (i === unkId ? PieceType.unknown : PieceType.normal));
  const model = unigramModel({ pieces, scores, types, unkId }, 'huggingface');
  const norm = hfNormalizer(j.normalizer);
  if (E.isLeft(norm)) return E.left(tokErr('unsupported', `${source}: ${norm.left}`));
  const pre = hfPreTokenizer(j.pre_tokenizer);
  if (E.isLeft(pre)) return E.left(tokErr('unsupported', `${source}: ${pre.left}`));
  const specials = specialIdsOf(model.pieceToId, unkId);
  if (E.isLeft(specials)) return E.left({ ...specials.left, message: `${source}: ${specials.left.message}` });
  const added = (Array.isArray(j.added_tokens) ? (j.added_tokens as Record<string, unknown>[]) : [])
    .filter((t) => typeof t === 'object' && t !== null && typeof t.content === 'string' && typeof t.id === 'number')
    .map((t) => ({ content: t.content as string, id: t.id as number, lstrip: t.lstrip === true, rstrip: t.rstrip === true, normalized: t.normalized === true }));
  const raw = added.filter((t) => !t.normalized);
  const normed = added.filter((t) => t.normalized);
  const normalize: TextStep = norm.right;
  const pretok = pre.right;
  const unk = unkId;
  const wordIds = (word: string): number[] => model.encode(word).map((id) => (id < 0 ? unk : id));
  const tokenize = (text: string): number[] => {
    const out: number[] = [];
    for (const seg of splitOnLiterals(text, raw)) {
      if ('id' in seg) {
        out.push(seg.id);
        continue;
      }
      for (const seg2 of splitOnLiterals(normalize(seg.text), normed)) {
        if ('id' in seg2) out.push(seg2.id);
        else for (const w of pretok(seg2.text)) for (const id of wordIds(w)) out.push(id);
      }
    }
    return out;
  };
  const template = hfTemplate(j.post_processor, model.pieceToId);
  if (E.isLeft(template)) return E.left(tokErr('unsupported', `${source}: ${template.left}`));
  return E.right(finish('tokenizer.json', source, pieces, model, specials.right, tokenize, template.right ?? albertTemplate(specials.right)));
};

/** Compiles a `pre_tokenizer` (Metaspace, WhitespaceSplit, Sequence) into text → words. */
const hfPreTokenizer = (spec: unknown): E.Either<string, (t: string) => string[]> => {
  if (spec === null || spec === undefined) return E.right((t) => (t === '' ? [] : [t]));
  const s = spec as Record<string, unknown>;
  switch (s.type) {
    case 'Metaspace': {
      const rep = typeof s.replacement === 'string' ? s.replacement : META;
      const scheme = typeof s.prepend_scheme === 'string' ? s.prepend_scheme : s.add_prefix_space === false ? 'never' : 'always';
      const split = s.split !== false;
      return E.right((t) => {
        if (t === '') return [];
        let x = t.replaceAll(' ', rep);
        if (scheme !== 'never' && !x.startsWith(rep)) x = rep + x;
        if (!split) return [x];
        const words: string[] = [];
        let cur = '';
        for (const ch of x) {
          if (ch === rep && cur !== '') {
            words.push(cur);
            cur = '';
          }
          cur += ch;
        }
        if (cur !== '') words.push(cur);
        return words;
      });
    }
    case 'WhitespaceSplit':
      return E.right((t) => t.split(/\s+/u).filter((w) => w !== ''));
    case 'Sequence': {
      const parts: ((t: string) => string[])[] = [];
      for (const p of Array.isArray(s.pretokenizers) ? s.pretokenizers : []) {
        const r = hfPreTokenizer(p);
        if (E.isLeft(r)) return r;
        parts.push(r.right);
      }
      return E.right((t) => parts.reduce<string[]>((ws, f) => ws.flatMap(f), [t]));
    }
    default:
      return E.left(`pre_tokenizer type ${String(s.type)} is not supported`);
  }
};

type TemplateItem = { special: number[]; type: number } | { seq: 'A' | 'B'; type: number };

/** Compiles a TemplateProcessing post-processor; `undefined` (no post-processor) falls back to ALBERT's template. */
const hfTemplate = (
  spec: unknown,
  pieceToId: (p: string) => number | undefined,
): E.Either<string, ((a: number[], b: number[] | undefined) => Encoding) | undefined> => {
  if (spec === null || spec === undefined) return E.right(undefined);
  const s = spec as Record<string, unknown>;
  if (s.type !== 'TemplateProcessing') return E.left(`post_processor type ${String(s.type)} is not supported`);
  const specials = (s.special_tokens ?? {}) as Record<string, { ids?: number[] }>;
  const compile = (items: unknown): E.Either<string, TemplateItem[]> => {
    const out: TemplateItem[] = [];
    for (const it of Array.isArray(items) ? (items as Record<string, Record<string, unknown>>[]) : []) {
      if (it.SpecialToken) {
        const name = String(it.SpecialToken.id);
        const ids = specials[name]?.ids ?? (pieceToId(name) !== undefined ? [pieceToId(name)!] : undefined);
        if (!ids) return E.left(`template special token ${name} is not defined`);
        out.push({ special: ids, type: Number(it.SpecialToken.type_id ?? 0) });
      } else if (it.Sequence) out.push({ seq: it.Sequence.id === 'B' ? 'B' : 'A', type: Number(it.Sequence.type_id ?? 0) });
    }
    return E.right(out);
  };
  const single = compile(s.single);
  const pair = compile(s.pair);
  if (E.isLeft(single)) return single;
  if (E.isLeft(pair)) return pair;
  const apply = (items: TemplateItem[], a: number[], b: number[] | undefined): Encoding => {
    const ids: number[] = [];
    const types: number[] = [];
    for (const it of items) {
      const xs = 'special' in it ? it.special : it.seq === 'A' ? a : (b ?? []);
      for (const x of xs) {
        ids.push(x);
        types.push(it.type);
      }
    }
    return { input_ids: ids, token_type_ids: types };
  };
  return E.right((a, b) => apply(b === undefined ? single.right : pair.right, a, b));
};

const isDigit = (c: string | undefined): boolean => c !== undefined && /^\p{Nd}$/u.test(c);

/**
 * Builds a tokenizer from the bytes of a `spiece.model`, reproducing `AlbertTokenizer` over Python
 * `sentencepiece`. Corrupt files, non-unigram models and vocabularies without ALBERT's special
 * pieces are error values.
 * @example
 * const t = tokenizerFromSentencePiece(fs.readFileSync('spiece.model'));
 * if (E.isRight(t)) t.right.tokenize('It cost $1,000.'); // piece ids, no [CLS]/[SEP]
 */
export const tokenizerFromSentencePiece = (bytes: Uint8Array, source = '<memory>'): E.Either<TokenizerError, Tokenizer> => {
  const decoded = decodeSentencePieceModel(bytes);
  if (E.isLeft(decoded)) return E.left(tokErr('corrupt', `${source}: ${decoded.left}`));
  const sp = decoded.right;
  if (sp.modelType !== 1) return E.left(tokErr('unsupported', `${source}: SentencePiece model type ${sp.modelType} is not unigram (1)`));
  if (sp.byteFallback) return E.left(tokErr('unsupported', `${source}: byte_fallback models are not supported`));
  if (sp.treatWhitespaceAsSuffix) return E.left(tokErr('unsupported', `${source}: treat_whitespace_as_suffix models are not supported`));
  let charsmap;
  if (sp.normalizer.precompiledCharsmap.length > 0) {
    const cm = parseCharsmap(sp.normalizer.precompiledCharsmap);
    if (E.isLeft(cm)) return E.left(tokErr('corrupt', `${source}: ${cm.left}`));
    charsmap = cm.right;
  }
  const model = unigramModel({ pieces: sp.pieces, scores: sp.scores, types: sp.types, unkId: sp.unkId }, 'sentencepiece');
  const specials = specialIdsOf(model.pieceToId, sp.unkId);
  if (E.isLeft(specials)) return E.left({ ...specials.left, message: `${source}: ${specials.left.message}` });
  const spec: SpmNormalizerSpec = {
    charsmap,
    addDummyPrefix: sp.normalizer.addDummyPrefix,
    removeExtraWhitespaces: sp.normalizer.removeExtraWhitespaces,
    escapeWhitespaces: sp.normalizer.escapeWhitespaces,
    userSymbols: sp.pieces.filter((_, i) => sp.types[i] === PieceType.userDefined),
  };
  const pieces = sp.pieces;
  const spEncode = (text: string): number[] => model.encode(spmNormalize(spec, text));
  // AlbertTokenizer._tokenize: preprocess, encode, then split pieces like "▁1990," into "▁1990" ","
  const chunk = (text: string): number[] => {
    const out: number[] = [];
    for (const id of spEncode(albertPreprocess(text))) {
      const piece = pieces[id] ?? '';
      const chars = [...piece];
      if (chars.length > 1 && chars[chars.length - 1] === ',' && isDigit(chars[chars.length - 2])) {
        let cur = spEncode(chars.slice(0, -1).join('').replaceAll(META, ''));
        const first = cur[0] === undefined ? '' : (pieces[cur[0]] ?? '');
        if (!piece.startsWith(META) && first.startsWith(META)) {
          if ([...first].length === 1) cur = cur.slice(1);
          else cur = [model.pieceToId(first.slice(1)) ?? sp.unkId, ...cur.slice(1)];
        }
        for (const id of cur) out.push(id);
        out.push(model.pieceToId(',') ?? sp.unkId);
      } else out.push(id);
    }
    return out;
  };
  const literals = sp.pieces
    .map((p, id) => ({ content: p, id, lstrip: false, rstrip: false }))
    .filter((t) => sp.types[t.id] === PieceType.control || sp.types[t.id] === PieceType.unknown);
  const tokenize = (text: string): number[] =>
    splitOnLiterals(text, literals).flatMap((seg) => ('id' in seg ? [seg.id] : chunk(seg.text)));
  return E.right(finish('spiece.model', source, pieces, model, specials.right, tokenize, albertTemplate(specials.right)));
};

/**
 * Loads a tokenizer from a `tokenizer.json`, a `spiece.model`, or a directory holding either
 * (`tokenizer.json` preferred). Errors are values with a one-line message.
 * @example
 * const t = loadTokenizer('packages/albert/assets/vocab');
 * if (E.isLeft(t)) console.error(t.left.message);
 */
export const loadTokenizer = (p: string): E.Either<TokenizerError, Tokenizer> => {
  let file = p;
  try {
    if (fs.statSync(p).isDirectory()) {
      const json = path.join(p, 'tokenizer.json');
      const model = path.join(p, 'spiece.model');
      if (fs.existsSync(json)) file = json;
      else if (fs.existsSync(model)) file = model;
      else return E.left(tokErr('not-found', `${p} holds neither tokenizer.json nor spiece.model`));
    }
  } catch {
    return E.left(tokErr('not-found', `tokenizer ${p} does not exist`));
  }
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    return E.left(tokErr('io', `cannot read ${file}: ${(e as Error).message}`));
  }
  if (file.endsWith('.json')) {
    let json: unknown;
    try {
      json = JSON.parse(bytes.toString('utf8'));
    } catch (e) {
      return E.left(tokErr('corrupt', `${file} is not valid JSON (${(e as Error).message.split('\n')[0]})`));
    }
    return tokenizerFromJson(json, file);
  }
  return tokenizerFromSentencePiece(bytes, file);
};

/**
 * Directory of the vocabulary committed with lamina (10,000 pieces trained on the bundled corpus).
 * @example
 * loadTokenizer(path.join(DEFAULT_VOCAB_DIR, 'spiece.model')); // the sentencepiece form of the same vocabulary
 */
export const DEFAULT_VOCAB_DIR = fileURLToPath(new URL('../../assets/vocab', import.meta.url));

let cachedDefault: E.Either<TokenizerError, Tokenizer> | undefined;
/**
 * The committed vocabulary (`assets/vocab/tokenizer.json`), loaded once.
 * @example
 * const t = defaultTokenizer();
 * if (E.isRight(t)) t.right.encode('The whale!').input_ids;
 */
export const defaultTokenizer = (): E.Either<TokenizerError, Tokenizer> => (cachedDefault ??= loadTokenizer(DEFAULT_VOCAB_DIR));
