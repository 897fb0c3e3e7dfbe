// GPT-2 byte-level BPE: ids equal transformers' GPT2Tokenizer exactly on committed fixtures
// (a ~500-token vocabulary trained by `tokenizers` on Moby-Dick; regenerate with
// `.venv/bin/python scripts/python/make_bpe_fixtures.py`), decode(encode(s)) === s as a property,
// and malformed files are errors naming the file.
import { fc, test } from '@fast-check/vitest';
import * as E from 'fp-ts/lib/Either.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { bpeFromTokenizerJson, bpeTokenizer, bytesToUnicode, END_OF_TEXT, GPT2_PRETOKENIZE, loadBpeTokenizer, parseMerges, type BpeTokenizer } from '../src/tokenizer/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fx = path.join(here, 'fixtures/bpe');
const vocabDir = path.join(fx, 'vocab');

interface Case {
  text: string;
  ids: number[];
  tokens: string[];
  decoded: string;
}
const cases = (JSON.parse(fs.readFileSync(path.join(fx, 'cases.json'), 'utf8')) as { cases: Case[] }).cases;

const load = (dir: string): BpeTokenizer => {
  const t = loadBpeTokenizer(dir);
  if (E.isLeft(t)) throw new Error(t.left.message);
  return t.right;
};
const tok = load(vocabDir);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lamina-bpe-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const dirWith = (files: Record<string, string>): string => {
  const d = fs.mkdtempSync(path.join(tmp, 'd-'));
  for (const [f, s] of Object.entries(files)) fs.writeFileSync(path.join(d, f), s);
  return d;
};
const vocabText = fs.readFileSync(path.join(vocabDir, 'vocab.json'), 'utf8');
const mergesText = fs.readFileSync(path.join(vocabDir, 'merges.txt'), 'utf8');
const leftMessage = (r: E.Either<{ message: string }, unknown>): string => (E.isLeft(r) ? r.left.message : 'Right');

describe('GPT-2 BPE against GPT2Tokenizer (fixtures)', () => {
  it('loads the fixture vocabulary', () => {
    expect(tok.format).toBe('gpt2-bpe');
    expect(tok.vocabSize).toBe(500);
    expect(tok.endOfText).toBe(0);
    expect(tok.isSpecial(0)).toBe(true);
    expect(tok.isSpecial(1)).toBe(false);
    expect(cases.length).toBeGreaterThanOrEqual(25);
  });
  for (const c of cases)
    it(`ids and decode of ${JSON.stringify(c.text).slice(0, 60)}`, () => {
      expect(tok.tokens(c.text)).toEqual(c.tokens);
      expect(tok.encode(c.text)).toEqual(c.ids);
      expect(tok.decode(c.ids)).toBe(c.decoded);
    });
  it('the HF model directory (vocab.json + merges.txt beside config.json) loads the same tokenizer', () => {
    const t = load(path.join(fx, 'gpt2-tiny'));
    for (const c of cases) expect(t.encode(c.text)).toEqual(c.ids);
  });
});

describe('byte-level pieces', () => {
  it('bytesToUnicode: 256 distinct characters; printable Latin-1 stands for itself; space is Ġ, newline Ċ', () => {
    const m = bytesToUnicode();
    expect(new Set(m).size).toBe(256);
    expect(m[32]).toBe('Ġ');
    expect(m[10]).toBe('Ċ');
    expect(m[65]).toBe('A');
    expect(m[0xe9]).toBe('é');
  });
  it('pre-tokenization: contractions, a space before words, whitespace runs keep their last space for the next word', () => {
    expect("I'm  here\n\n".match(GPT2_PRETOKENIZE)).toEqual(['I', "'m", ' ', ' here', '\n\n']);
    // U+0085 is a space to Python's regex (and here), U+FEFF is not (JavaScript's \s says otherwise)
    expect('a\u0085b\ufeffc'.match(GPT2_PRETOKENIZE)).toEqual(['a', '\u0085', 'b', '\ufeff', 'c']);
  });
  it('a merge applies everywhere in a piece, lowest rank first', () => {
    const vocab: Record<string, number> = Object.fromEntries(bytesToUnicode().map((c, i) => [c, i]));
    vocab['aa'] = 256;
    vocab['aaa'] = 257;
    vocab['aaaa'] = 258;
    const t = bpeTokenizer(vocab, [['a', 'a'], ['aa', 'a'], ['aa', 'aa']]);
    if (E.isLeft(t)) throw new Error(t.left.message);
    // 'aaaaa' → aa aa a (left to right) → then 'aa a' (rank 1) beats 'aa aa' (rank 2): aa aaa
    expect(t.right.tokens('aaaaa')).toEqual(['aa', 'aaa']);
    expect(t.right.tokens('aaaa')).toEqual(['aaaa']);
    expect(t.right.decode(t.right.encode('aaaaa'))).toBe('aaaaa');
  });
  it('decoding bytes that are not UTF-8 gives U+FFFD, as errors="replace" does', () => {
    const lone = tok.tokenToId(bytesToUnicode()[0xe6] as string) as number; // the first byte of a 3-byte character
    expect(tok.decode([lone])).toBe('\ufffd');
    expect(tok.decode([...tok.encode('a'), lone, ...tok.encode('b')])).toBe('a\ufffdb');
  });
  it('unknown ids are skipped by decode', () => {
    expect(tok.decode([...tok.encode('ab'), 99_999, -1])).toBe('ab');
  });
});

describe('round trip', () => {
  const piece = fc.constantFrom('a', 'Z', ' ', '  ', '\n', '\r\n', '\t', "'s", "'ll", "n't", '1', '42', '.', '!?', 'é', 'e\u0301', '日本', '한', '😀', '👍🏽', '👨‍👩‍👧', '🇺🇸', '\u00a0', '\u3000', '\u0085', '\ufeff', '\u200b', END_OF_TEXT, '<|', 'endoftext', '|>', '\u0000');
  const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 60 }), fc.string({ unit: 'grapheme', maxLength: 30 }), fc.array(piece, { maxLength: 25 }).map((xs) => xs.join('')), fc.lorem({ maxCount: 10 }));
  test.prop([text], { numRuns: 300 })('decode(encode(s)) === s; ids in range; <|endoftext|> only where the text has it', (s) => {
    const ids = tok.encode(s);
    expect(tok.decode(ids)).toBe(s);
    for (const i of ids) expect(i >= 0 && i < tok.vocabSize).toBe(true);
    expect(ids.filter((i) => i === tok.endOfText).length).toBe(s.split(END_OF_TEXT).length - 1);
  });
  test.prop([fc.array(text, { minLength: 1, maxLength: 4 })], { numRuns: 100 })('encoding is cut at special tokens: encode(a + EOT + b) = encode(a), EOT, encode(b)', (parts) => {
    const joined = parts.map((p) => tok.encode(p)).reduce((acc, ids) => [...acc, tok.endOfText as number, ...ids]);
    // a part may itself end or start inside a special token's text; then the cut is elsewhere
    fc.pre(!parts.join(END_OF_TEXT).split(END_OF_TEXT).some((x, i) => x !== parts[i]));
    expect(tok.encode(parts.join(END_OF_TEXT))).toEqual(joined);
  });
});

describe('files and errors', () => {
  it('tokenizer.json alone gives the same ids', () => {
    const vocab = JSON.parse(vocabText) as Record<string, number>;
    const merges = mergesText.split('\n').slice(1).filter((l) => l !== '');
    const json = {
      added_tokens: [{ id: 0, content: END_OF_TEXT, special: true }],
      pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false },
      model: { type: 'BPE', vocab, merges: merges.map((m, i) => (i % 2 === 0 ? m : m.split(' '))) },
    };
    const d = dirWith({ 'tokenizer.json': JSON.stringify(json) });
    const t = load(d);
    for (const c of cases) expect(t.encode(c.text)).toEqual(c.ids);
    expect(leftMessage(bpeFromTokenizerJson({ ...json, model: { ...json.model, type: 'Unigram' } }, 'x/tokenizer.json'))).toMatch(/x\/tokenizer.json holds a "Unigram" model/);
    expect(leftMessage(bpeFromTokenizerJson({ ...json, pre_tokenizer: { type: 'Metaspace' } }, 'x/tokenizer.json'))).toMatch(/not ByteLevel/);
  });
  it('a directory without tokenizer files, or with one of the two, names what is missing', () => {
    expect(leftMessage(loadBpeTokenizer(dirWith({ 'config.json': '{}' })))).toMatch(/has no GPT-2 tokenizer: vocab.json and merges.txt are missing/);
    expect(leftMessage(loadBpeTokenizer(dirWith({ 'vocab.json': vocabText })))).toMatch(/merges.txt is missing/);
    expect(leftMessage(loadBpeTokenizer(path.join(tmp, 'nope')))).toMatch(/does not exist/);
  });
  it('malformed files are one line naming the file (and the line)', () => {
    const bad = (files: Record<string, string>) => {
      const m = leftMessage(loadBpeTokenizer(dirWith(files)));
      expect(m).not.toContain('\n');
      return m;
    };
    expect(bad({ 'vocab.json': '{"a": ', 'merges.txt': mergesText })).toMatch(/vocab.json is not valid JSON/);
    expect(bad({ 'vocab.json': '[1, 2]', 'merges.txt': mergesText })).toMatch(/vocab.json is not a JSON object/);
    expect(bad({ 'vocab.json': '{"a": 0, "b": 0}', 'merges.txt': '' })).toMatch(/vocab.json: id 0 is given to both "a" and "b"/);
    expect(bad({ 'vocab.json': '{"a": 1.5}', 'merges.txt': '' })).toMatch(/vocab.json: the id of "a" is 1.5/);
    expect(bad({ 'vocab.json': '{"a": 0}', 'merges.txt': '' })).toMatch(/vocab.json lacks 255 of the 256 byte tokens/);
    expect(bad({ 'vocab.json': vocabText, 'merges.txt': '#version: 0.2\nĠ t\nthree parts here\n' })).toMatch(/merges.txt:3: a merge is two tokens/);
    expect(bad({ 'vocab.json': vocabText, 'merges.txt': '#version: 0.2\nĠ t\nq z\n' })).toMatch(/merges.txt: merge 2 \("q" "z"\) makes or uses "qz", which .*vocab.json lacks/);
  });
  it('parseMerges skips the #version line and blank lines, and keeps the order', () => {
    expect(parseMerges('#version: 0.2\nĠ t\n\nh e\r\n', 'm')).toEqual(E.right([['Ġ', 't'], ['h', 'e']]));
  });
});
