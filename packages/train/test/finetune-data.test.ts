// Fine-tuning data: JSONL/TSV parsing, label sets, label resolution, errors with line numbers,
// tokenization into typed arrays (prefix tokenization equals full tokenization), batches.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { defaultTokenizer, type Tokenizer } from '@lamina/albert';
import { labelSetOf, parseTaskText, readExamples, readTaskFile, resolveExamples, type RawExample } from '../src/finetune/data.js';
import { encodeExamples, orderedBatches, sliceBatch, tokenizePrefix, tokenizeSuffix, truncatePair, truncateSingle } from '../src/finetune/encode.js';

const right = <A>(r: E.Either<string, A>): A => {
  if (E.isLeft(r)) throw new Error(r.left);
  return r.right;
};
const left = <A>(r: E.Either<string, A>): string => {
  if (E.isRight(r)) throw new Error(`expected an error, got ${JSON.stringify(r.right)}`);
  return r.left;
};

describe('parseTaskText: JSONL', () => {
  it('reads text, text_pair and labels (numbers and booleans become strings), skipping blank lines', () => {
    const xs = right(parseTaskText('{"text":"a","label":"pos"}\n\n{"text":"b","text_pair":"c","label":1}\r\n{"text":"d","label":true}\n', 'x.jsonl'));
    expect(xs).toEqual([
      { text: 'a', label: 'pos', line: 1 },
      { text: 'b', textPair: 'c', label: 1, line: 3 },
      { text: 'd', label: 'true', line: 4 },
    ]);
  });

  it('names the file and line of a bad JSON line, a missing field, a wrong type', () => {
    expect(left(parseTaskText('{"text":"a","label":0}\n{"text": oops}\n', 'train.jsonl'))).toMatch(/^train\.jsonl:2: not valid JSON/);
    expect(left(parseTaskText('{"text":"a","label":0}\n\n{"label":1}\n', 'd.jsonl'))).toBe('d.jsonl:3: missing "text"');
    expect(left(parseTaskText('{"text":"a"}\n', 'd.jsonl'))).toBe('d.jsonl:1: missing "label"');
    expect(left(parseTaskText('{"text":3,"label":1}\n', 'd.jsonl'))).toBe('d.jsonl:1: "text" must be a string');
    expect(left(parseTaskText('[1,2]\n', 'd.jsonl'))).toMatch(/^d\.jsonl:1: expected a JSON object/);
    expect(left(parseTaskText('{"text":"a","label":[1]}\n', 'd.jsonl'))).toMatch(/^d\.jsonl:1: "label" must be/);
  });

  it('an empty file (or only blank lines) is an error', () => {
    expect(left(parseTaskText('', 'e.jsonl'))).toBe('e.jsonl has no examples');
    expect(left(parseTaskText('\n \n', 'e.jsonl'))).toBe('e.jsonl has no examples');
  });
});

describe('parseTaskText: TSV', () => {
  it('reads columns by header name, in any order, ignoring extra columns', () => {
    const xs = right(parseTaskText('id\tlabel\ttext_pair\ttext\n1\t0.5\tB1\tA1\n2\t4\tB2\tA2\n', 'sts.tsv'));
    expect(xs).toEqual([
      { text: 'A1', textPair: 'B1', label: '0.5', line: 2 },
      { text: 'A2', textPair: 'B2', label: '4', line: 3 },
    ]);
  });

  it('sniffs the format of a file without a known extension', () => {
    expect(right(parseTaskText('text\tlabel\nhi\tx\n', 'data.txt'))).toEqual([{ text: 'hi', label: 'x', line: 2 }]);
    expect(right(parseTaskText('{"text":"hi","label":"x"}\n', 'data.txt'))).toEqual([{ text: 'hi', label: 'x', line: 1 }]);
  });

  it('a missing column, a short row or an empty label is one line naming the place', () => {
    expect(left(parseTaskText('sentence\tlabel\nhi\t1\n', 'a.tsv'))).toMatch(/^a\.tsv:1: the header row has no "text" column \(found: "sentence", "label"\)/);
    expect(left(parseTaskText('text\tscore\nhi\t1\n', 'a.tsv'))).toMatch(/^a\.tsv:1: the header row has no "label" column/);
    expect(left(parseTaskText('text\tlabel\nhi\t1\nno tab here\n', 'a.tsv'))).toBe('a.tsv:3: expected 2 tab-separated fields, found 1');
    expect(left(parseTaskText('text\tlabel\nhi\t \n', 'a.tsv'))).toBe('a.tsv:2: empty label');
    expect(left(parseTaskText('text\tlabel\n', 'a.tsv'))).toBe('a.tsv has no examples');
  });
});

describe('labels', () => {
  it('sorts numeric labels numerically and names lexicographically', () => {
    expect(labelSetOf([{ label: '10' }, { label: 2 }, { label: '9' }, { label: 2 }])).toEqual(['2', '9', '10']);
    expect(labelSetOf([{ label: 'pos' }, { label: 'neg' }, { label: 'Neutral' }])).toEqual(['Neutral', 'neg', 'pos']);
  });

  it('the label set is independent of example order (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constantFrom('a', 'b', 'c'), fc.integer({ min: -3, max: 20 })), { minLength: 1 }), (ls) => {
        const xs = ls.map((label) => ({ label }));
        expect(labelSetOf([...xs].reverse())).toEqual(labelSetOf(xs));
        expect(new Set(labelSetOf(xs))).toEqual(new Set(ls.map(String)));
      }),
    );
  });

  it('resolves classes by index and rejects an unknown label with its line', () => {
    const raw: RawExample[] = [
      { text: 'a', label: 'pos', line: 1 },
      { text: 'b', label: 'neg', line: 2 },
    ];
    const ex = right(resolveExamples(raw, 'classify', ['neg', 'pos'], 'd.jsonl'));
    expect(Array.from(ex.targets)).toEqual([1, 0]);
    expect(ex.pairs).toBeUndefined();
    expect(left(resolveExamples([...raw, { text: 'c', label: 'meh', line: 7 }], 'classify', ['neg', 'pos'], 'dev.jsonl'))).toBe(
      'dev.jsonl:7: label "meh" is not one of the training labels ("neg", "pos")',
    );
  });

  it('regression needs numbers', () => {
    const ex = right(resolveExamples([{ text: 'a', label: '0.25', line: 2 }, { text: 'b', textPair: 'c', label: 3, line: 3 }], 'regress', [], 's.tsv'));
    expect(Array.from(ex.targets)).toEqual([0.25, 3]);
    expect(ex.pairs).toEqual([undefined, 'c']);
    expect(left(resolveExamples([{ text: 'a', label: 'high', line: 4 }], 'regress', [], 's.tsv'))).toMatch(/^s\.tsv:4: label "high" is not a number/);
  });

  it('readTaskFile reports a missing file and a directory in one line; readExamples keeps the first N', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lamina-ftdata-'));
    expect(left(readTaskFile(path.join(dir, 'nope.jsonl')))).toMatch(/does not exist$/);
    expect(left(readTaskFile(dir))).toMatch(/is a directory/);
    const f = path.join(dir, 'd.jsonl');
    fs.writeFileSync(f, ['a', 'b', 'c'].map((t, i) => JSON.stringify({ text: t, label: i })).join('\n'));
    expect(right(readExamples(f, 'train', 2)).raw.map((r) => r.text)).toEqual(['a', 'b']);
    expect(right(readExamples(f, 'train', 0)).raw).toHaveLength(3);
  });
});

describe('encoding', () => {
  const tok: Tokenizer = right(E.mapLeft((e: { message: string }) => e.message)(defaultTokenizer()));

  it('truncatePair is longest-first and fits the budget', () => {
    expect(truncatePair(10, 3, 8)).toEqual([5, 3]);
    expect(truncatePair(4, 4, 6)).toEqual([3, 3]);
    fc.assert(
      fc.property(fc.nat(300), fc.nat(300), fc.integer({ min: 1, max: 200 }), (a, b, k) => {
        const [x, y] = truncatePair(a, b, k);
        expect(x + y).toBe(Math.min(a + b, k));
        expect(x <= a && y <= b).toBe(true);
        if (a + b > k) expect(Math.abs(x - y) <= 1 || x === a || y === b).toBe(true);
      }),
    );
  });

  it('tokenizePrefix equals the first k pieces of the whole text', () => {
    const words = ['whale', 'the', 'Ishmael', 'sea,', 'harpoon!', 'über', '1851', 'naïve', 'x', "don't", 'co-operate', '...'];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...words), { minLength: 0, maxLength: 400 }), fc.constantFrom(' ', '  ', '\n', ' \t'), fc.integer({ min: 1, max: 140 }), (ws, sep, k) => {
        const text = ws.join(sep);
        expect(tokenizePrefix(tok, text, k)).toEqual(tok.tokenize(text).slice(0, k));
      }),
      { numRuns: 60 },
    );
  });

  it('tokenizeSuffix equals the last k pieces of the whole text; head+tail keeps a quarter of the budget from the head and the rest from the tail', () => {
    const words = ['whale', 'the', 'Ishmael', 'sea,', 'harpoon!', 'über', '1851', 'naïve', 'x', "don't", 'co-operate', '...'];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...words), { minLength: 0, maxLength: 400 }), fc.constantFrom(' ', '  ', '\n', ' \t'), fc.integer({ min: 1, max: 140 }), (ws, sep, k) => {
        const text = ws.join(sep);
        const all = tok.tokenize(text);
        expect(tokenizeSuffix(tok, text, k)).toEqual(all.slice(-k));
        expect(truncateSingle(tok, text, k, 'head')).toEqual(all.slice(0, k));
        const h = Math.floor(k / 4);
        expect(truncateSingle(tok, text, k, 'head+tail')).toEqual(all.length <= k ? all : [...all.slice(0, h), ...all.slice(all.length - (k - h))]);
      }),
      { numRuns: 100 },
    );
  });

  it('tokenizePrefix equals full tokenization on real reviews (bundled IMDB)', () => {
    const dev = right(readExamples('imdb', 'dev', 25)).raw;
    expect(dev).toHaveLength(25);
    expect(new Set(dev.map((r) => r.label))).toEqual(new Set(['negative', 'positive']));
    for (const r of dev) for (const k of [20, 126, 510]) expect(tokenizePrefix(tok, r.text, k)).toEqual(tok.tokenize(r.text).slice(0, k));
  });

  it('encodes [CLS] A [SEP] (B [SEP]) with type ids, truncated to the sequence length', () => {
    const ex = right(resolveExamples(
      [
        { text: 'the whale', label: 'a', line: 1 },
        { text: 'the whale swims in the deep blue sea and sings', textPair: 'a second segment that is long too', label: 'b', line: 2 },
      ],
      'classify',
      ['a', 'b'],
      'x',
    ));
    const S = 12;
    const enc = encodeExamples(tok, ex, S);
    const { cls, sep, pad } = tok.special;
    const a0 = tok.tokenize('the whale');
    expect(Array.from(enc.inputIds.subarray(0, S))).toEqual([cls, ...a0, sep, ...Array(S - a0.length - 2).fill(pad)]);
    expect(enc.lengths[0]).toBe(a0.length + 2);
    const row1 = Array.from(enc.inputIds.subarray(S, 2 * S));
    expect(enc.lengths[1]).toBe(S);
    expect(row1[0]).toBe(cls);
    expect(row1.filter((x) => x === sep)).toHaveLength(2);
    expect(row1[S - 1]).toBe(sep);
    const types = Array.from(enc.tokenTypeIds.subarray(S, 2 * S));
    const firstSep = row1.indexOf(sep);
    expect(types.slice(0, firstSep + 1).every((t) => t === 0)).toBe(true);
    expect(types.slice(firstSep + 1).every((t) => t === 1)).toBe(true);
  });

  it('batches are padded to their longest example, with a matching attention mask', () => {
    const texts = ['a', 'the whale swims', 'x y'];
    const ex = right(resolveExamples(texts.map((t, i) => ({ text: t, label: String(i % 2), line: i + 1 })), 'classify', ['0', '1'], 'x'));
    const enc = encodeExamples(tok, ex, 32);
    const b = sliceBatch(enc, [2, 0]);
    const S = Math.max(enc.lengths[2] as number, enc.lengths[0] as number);
    expect(b.seqLength).toBe(S);
    expect(b.size).toBe(2);
    expect(Array.from(b.targets)).toEqual([0, 0]);
    expect(Array.from(b.attentionMask.subarray(0, S)).reduce((s, x) => s + x, 0)).toBe(enc.lengths[2]);
    expect(Array.from(b.attentionMask.subarray(S, 2 * S)).reduce((s, x) => s + x, 0)).toBe(enc.lengths[0]);
    const all = [...orderedBatches(enc, 2)];
    expect(all.map((x) => x.size)).toEqual([2, 1]);
  });
});
