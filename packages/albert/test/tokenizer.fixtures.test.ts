// Tokenizer ids must equal the references exactly: Hugging Face `tokenizers` on tokenizer.json
// ("fast") and Python sentencepiece under ALBERT's preprocessing on spiece.model ("slow").
// Regenerate the fixtures with scripts/python/make_tokenizer_fixtures.py (see its docstring).
import * as E from 'fp-ts/lib/Either.js';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadTokenizer, type Encoding, type Tokenizer } from '../src/tokenizer/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');

interface Case {
  text: string;
  pair?: string;
  fast: Encoding;
  slow: Encoding;
}
interface Fixture {
  vocab: string;
  singles: Case[];
  pairs: Case[];
}

const fixtures: [string, string][] = [
  ['bundled.json', 'assets/vocab'],
  ['small.json', 'test/fixtures/tokenizer/small-vocab'],
];

const load = (p: string): Tokenizer => {
  const t = loadTokenizer(p);
  if (E.isLeft(t)) throw new Error(t.left.message);
  return t.right;
};

for (const [file, dir] of fixtures) {
  const fx = JSON.parse(fs.readFileSync(path.join(here, 'fixtures/tokenizer', file), 'utf8')) as Fixture;
  describe(`tokenizer fixtures ${file}`, () => {
    const fast = load(path.join(root, dir, 'tokenizer.json'));
    const slow = load(path.join(root, dir, 'spiece.model'));
    const show = (s: string) => JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…` : s);
    it.each(fx.singles.map((c, i) => [i, show(c.text), c] as const))('single %i %s: tokenizer.json = HF tokenizers', (_i, _s, c) => {
      expect(fast.encode(c.text)).toEqual(c.fast);
    });
    it.each(fx.singles.map((c, i) => [i, show(c.text), c] as const))('single %i %s: spiece.model = sentencepiece + AlbertTokenizer', (_i, _s, c) => {
      expect(slow.encode(c.text)).toEqual(c.slow);
    });
    it.each(fx.pairs.map((c, i) => [i, show(c.text), c] as const))('pair %i %s: both references', (_i, _s, c) => {
      expect(fast.encode(c.text, c.pair)).toEqual(c.fast);
      expect(slow.encode(c.text, c.pair)).toEqual(c.slow);
    });
  });
}
