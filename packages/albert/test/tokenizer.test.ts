// Tokenizer loading errors, template structure and segmentation properties (the exact-id checks
// against the references are in tokenizer.fixtures.test.ts).
import { fc, test } from '@fast-check/vitest';
import * as E from 'fp-ts/lib/Either.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pb from 'protobufjs/minimal.js';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  albertPreprocess,
  DEFAULT_VOCAB_DIR,
  defaultTokenizer,
  decodeSentencePieceModel,
  loadTokenizer,
  normalizeHuggingFace,
  parseCharsmap,
  tokenizerFromJson,
  tokenizerFromSentencePiece,
  unigramModel,
  type Tokenizer,
} from '../src/tokenizer/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lamina-tok-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const must = (r: E.Either<{ message: string }, Tokenizer>): Tokenizer => {
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};
const fast = must(loadTokenizer(DEFAULT_VOCAB_DIR));
const slow = must(loadTokenizer(path.join(DEFAULT_VOCAB_DIR, 'spiece.model')));
const modelBytes = fs.readFileSync(path.join(DEFAULT_VOCAB_DIR, 'spiece.model'));

/** A minimal ModelProto with the given pieces ([piece, type]); type 2 unknown, 3 control, 1 normal. */
const makeModel = (pieces: [string, number][]): Uint8Array => {
  const w = pb.Writer.create();
  for (const [p, type] of pieces) {
    w.uint32((1 << 3) | 2).fork();
    w.uint32((1 << 3) | 2).string(p);
    w.uint32((2 << 3) | 5).float(type === 1 ? -1 - p.length : 0);
    w.uint32((3 << 3) | 0).int32(type);
    w.ldelim();
  }
  w.uint32((2 << 3) | 2).fork().uint32((3 << 3) | 0).int32(1).uint32((40 << 3) | 0).int32(1).ldelim();
  return w.finish();
};

describe('loading', () => {
  it('the committed vocabulary: 10,000 pieces, ALBERT special ids, both formats agree on them', () => {
    expect(fast.format).toBe('tokenizer.json');
    expect(slow.format).toBe('spiece.model');
    expect(fast.vocabSize).toBe(10_000);
    expect(fast.special).toEqual({ pad: 0, unk: 1, cls: 2, sep: 3, mask: 4 });
    expect(slow.special).toEqual(fast.special);
    expect(E.isRight(defaultTokenizer())).toBe(true);
    expect(fast.idToPiece(4)).toBe('[MASK]');
    expect(fast.normalIds.includes(4)).toBe(false);
    expect(fast.isWordStart(fast.pieceToId('▁the') ?? -1)).toBe(true);
  });

  it('a corrupt spiece.model is one clear error value', () => {
    const cases = [
      Buffer.from('definitely not a protobuf file, just some text\n'),
      modelBytes.subarray(0, 1000),
      Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f]),
      new Uint8Array(0),
    ];
    for (const bytes of cases) {
      const r = tokenizerFromSentencePiece(bytes, 'bad.model');
      expect(E.isLeft(r) && r.left.kind).toBe('corrupt');
      expect(E.isLeft(r) && r.left.message).toMatch(/^bad\.model: not a valid SentencePiece model \(/);
    }
    const f = path.join(tmp, 'spiece.model');
    fs.writeFileSync(f, modelBytes.subarray(0, 5000));
    expect(E.isLeft(loadTokenizer(f))).toBe(true);
  });

  it('a vocabulary without [MASK] is a bad-vocab error, in both formats', () => {
    const noMask = makeModel([
      ['<pad>', 3],
      ['<unk>', 2],
      ['[CLS]', 3],
      ['[SEP]', 3],
      ['▁a', 1],
      ['b', 1],
    ]);
    const d = decodeSentencePieceModel(noMask);
    expect(E.isRight(d) && d.right.pieces).toEqual(['<pad>', '<unk>', '[CLS]', '[SEP]', '▁a', 'b']);
    expect(tokenizerFromSentencePiece(noMask, 'x.model')).toEqual(
      E.left({ kind: 'bad-vocab', message: 'x.model: vocabulary has no [MASK] piece; ALBERT vocabularies need <pad>, [CLS], [SEP] and [MASK]' }),
    );
    const withMask = makeModel([
      ['<pad>', 3],
      ['<unk>', 2],
      ['[CLS]', 3],
      ['[SEP]', 3],
      ['[MASK]', 3],
      ['▁a', 1],
      ['b', 1],
    ]);
    const t = must(tokenizerFromSentencePiece(withMask));
    expect(t.encode('ab AB', 'a')).toEqual({ input_ids: [2, 5, 6, 5, 6, 3, 5, 3], token_type_ids: [0, 0, 0, 0, 0, 0, 1, 1] });
    const json = JSON.parse(fs.readFileSync(path.join(here, 'fixtures/tokenizer/small-vocab/tokenizer.json'), 'utf8'));
    json.model.vocab[4][0] = '[MASQUE]';
    const r = tokenizerFromJson(json, 'small.json');
    expect(E.isLeft(r) && r.left.kind).toBe('bad-vocab');
    expect(E.isLeft(r) && r.left.message).toMatch(/no \[MASK\] piece/);
  });

  it('unsupported or malformed tokenizer.json files and missing paths are error values', () => {
    expect(E.isLeft(tokenizerFromJson({ model: { type: 'BPE', vocab: {}, merges: [] } }))).toBe(true);
    expect(E.isLeft(tokenizerFromJson({ model: { type: 'Unigram', vocab: [] } }))).toBe(true);
    expect(E.isLeft(tokenizerFromJson('nope'))).toBe(true);
    const json = JSON.parse(fs.readFileSync(path.join(here, 'fixtures/tokenizer/small-vocab/tokenizer.json'), 'utf8'));
    expect(E.isLeft(tokenizerFromJson({ ...json, normalizer: { type: 'Mystery' } }))).toBe(true);
    fs.writeFileSync(path.join(tmp, 'broken.json'), '{"model": ');
    expect(E.isLeft(loadTokenizer(path.join(tmp, 'broken.json')) ) && (loadTokenizer(path.join(tmp, 'broken.json')) as E.Left<{ kind: string }>).left.kind).toBe('corrupt');
    expect((loadTokenizer(path.join(tmp, 'nothing-here')) as E.Left<{ kind: string }>).left.kind).toBe('not-found');
    fs.mkdirSync(path.join(tmp, 'emptydir'));
    expect((loadTokenizer(path.join(tmp, 'emptydir')) as E.Left<{ message: string }>).left.message).toMatch(/neither tokenizer.json nor spiece.model/);
    expect(E.isLeft(parseCharsmap(new Uint8Array([200, 0, 0, 0, 1, 2])))).toBe(true);
  });
});

describe('encoding (properties)', () => {
  const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), fc.string({ unit: 'grapheme', maxLength: 40 }), fc.lorem({ maxCount: 12 }));

  test.prop([text, fc.option(text, { nil: undefined })], { numRuns: 200 })('never throws; [CLS] A [SEP] (B [SEP]); ids in range; types 0…0 1…1', (a, b) => {
    for (const t of [fast, slow]) {
      const ta = t.tokenize(a);
      const e = t.encode(a, b);
      const expected = b === undefined ? [2, ...ta, 3] : [2, ...ta, 3, ...t.tokenize(b), 3];
      expect(e.input_ids).toEqual(expected);
      expect(e.token_type_ids).toEqual(expected.map((_, i) => (i <= ta.length + 1 ? 0 : 1)));
      for (const id of e.input_ids) expect(id >= 0 && id < t.vocabSize).toBe(true);
    }
  });

  test.prop([text], { numRuns: 150 })('spiece.model (AlbertTokenizer): surrounding whitespace never matters', (a) => {
    expect(slow.tokenize(` \t${a}\n  `)).toEqual(slow.tokenize(a));
  });

  test.prop([fc.array(fc.constantFrom('▁', 'a', 'b', 'c', 'ab', 'é', '😀'), { maxLength: 30 }).map((xs) => xs.join(''))], { numRuns: 200 })(
    'unigram Viterbi: the pieces of a segmentation concatenate back to the input unless an unknown was fused',
    (s) => {
      const vocab = { pieces: ['<unk>', '▁', 'a', 'b', 'ab', '▁a', 'abc', 'c', 'é'], scores: [0, -1, -2, -2, -3, -2.5, -3.5, -4, -5], types: [2, 1, 1, 1, 1, 1, 1, 1, 1] as (1 | 2)[], unkId: 0 };
      for (const sem of ['sentencepiece', 'huggingface'] as const) {
        const ids = unigramModel(vocab, sem).encode(s);
        if (!s.includes('😀')) expect(ids.map((i) => vocab.pieces[i]).join('')).toBe(s);
        else expect(ids.filter((i) => i === 0).length).toBeGreaterThan(0);
        for (let i = 1; i < ids.length; i++) expect(ids[i] === 0 && ids[i - 1] === 0).toBe(false);
      }
    },
  );

  const charsmap = (() => {
    const j = JSON.parse(fs.readFileSync(path.join(DEFAULT_VOCAB_DIR, 'tokenizer.json'), 'utf8'));
    const pre = j.normalizer.normalizers.find((n: { type: string }) => n.type === 'Precompiled');
    const cm = parseCharsmap(Uint8Array.from(Buffer.from(pre.precompiled_charsmap, 'base64')));
    if (E.isLeft(cm)) throw new Error(cm.left);
    return cm.right;
  })();
  const pieces = fc.constantFrom('a', ' ', '\r', '\n', '\t', '\u0301', '\u200d', '😀', '🏽', '🇺', '🇸', 'ｶ', 'ﾞ', 'é', '\u0915', '\u094d', '\u00a0', '①', 'Ａ');
  test.prop([fc.array(pieces, { maxLength: 40 }).map((xs) => xs.join(''))], { numRuns: 300 })(
    'Precompiled per grapheme: the ASCII shortcut gives what whole-string Intl.Segmenter clusters give',
    (s) => {
      // one cluster at a time (each is its own single cluster), split by ICU over the whole string
      const naive = [...new Intl.Segmenter('en', { granularity: 'grapheme' }).segment(s)].map(({ segment }) => normalizeHuggingFace(charsmap, segment)).join('');
      expect(normalizeHuggingFace(charsmap, s)).toBe(naive);
    },
  );

  it('Viterbi picks the best-scoring segmentation, not the greedy longest match', () => {
    const m = unigramModel({ pieces: ['<unk>', 'ab', 'c', 'a', 'bc'], scores: [0, -1, -10, -1, -1], types: [2, 1, 1, 1, 1], unkId: 0 }, 'huggingface');
    expect(m.encode('abc')).toEqual([3, 4]); // a + bc (-2) beats ab + c (-11)
  });

  it("ALBERT's preprocessing: quotes, accents, case, whitespace, final sigma", () => {
    expect(albertPreprocess("  ``Café''\t Déjà  vu ΟΔΟΣ ")).toBe('"cafe" deja vu οδος');
  });

  it('very long inputs stay linear (100k characters tokenize)', () => {
    const long = 'The whale, 1,000 naïve sailors and 😀 '.repeat(2700);
    expect(fast.tokenize(long).length).toBeGreaterThan(20_000);
    expect(slow.tokenize(long).length).toBeGreaterThan(20_000);
  });
});
