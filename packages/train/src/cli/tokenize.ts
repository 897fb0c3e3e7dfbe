/**
 * `lamina tokenize` (stdin lines → one JSON encoding per line) and `lamina tokenizer train`
 * (a new ALBERT-style vocabulary from a corpus, with SentencePiece's own trainer).
 *
 * Training shells out to Python's `sentencepiece` (scripts/python/train_vocab.py): no npm package
 * ships SentencePiece's trainer (the wasm builds on npm are encode-only, and the `tokenizers` Node
 * binding exposes no configurable Unigram trainer), and a home-made trainer would not produce the
 * vocabularies users compare against. When Python or the module is missing the command fails with
 * one line naming what to install.
 * @module
 */
import { bundledCorpus, corpusFromPath, corpusLines, DEFAULT_VOCAB_DIR, loadTokenizer } from '@lamina/albert';
import * as E from 'fp-ts/lib/Either.js';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type Command, EXIT, failure, num, optStr, str, usageError } from './command.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const TRAIN_SCRIPT = path.join(REPO, 'scripts/python/train_vocab.py');

/**
 * `lamina tokenize`: stdin lines → `{"input_ids": […], "token_type_ids": […]}` per line.
 * @example
 * // echo "Call me Ishmael." | lamina tokenize
 * // {"input_ids":[2,…,3],"token_type_ids":[0,…,0]}
 */
export const tokenize: Command = {
  name: 'tokenize',
  summary: 'tokenize stdin lines into ALBERT input ids (one JSON object per line)',
  usage: 'lamina tokenize [--tokenizer <dir|tokenizer.json|spiece.model>] [--pair] < lines.txt',
  options: {
    tokenizer: { type: 'string', arg: 'path', help: 'vocabulary: a directory, tokenizer.json or spiece.model (default: the committed vocabulary)' },
    pair: { type: 'boolean', help: 'each line is "A<TAB>B": encode [CLS] A [SEP] B [SEP]' },
  },
  examples: [
    'echo "Call me Ishmael." | lamina tokenize',
    'printf "first sentence\\tsecond one\\n" | lamina tokenize --pair --tokenizer albert-base-v2/spiece.model',
  ],
  async run(v) {
    const t = loadTokenizer(optStr(v, 'tokenizer') ?? DEFAULT_VOCAB_DIR);
    if (E.isLeft(t)) throw usageError(t.left.message);
    const tok = t.right;
    const pair = v.pair === true;
    const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
    let n = 0;
    const out: string[] = [];
    const flush = () => {
      if (out.length > 0) process.stdout.write(out.join(''));
      out.length = 0;
    };
    for await (const line of rl) {
      n++;
      let enc;
      if (pair) {
        const tab = line.indexOf('\t');
        if (tab < 0) {
          flush();
          throw usageError(`line ${n} has no tab separating the pair (--pair expects "A<TAB>B")`);
        }
        enc = tok.encode(line.slice(0, tab), line.slice(tab + 1));
      } else enc = tok.encode(line);
      out.push(`${JSON.stringify({ input_ids: enc.input_ids, token_type_ids: enc.token_type_ids })}\n`);
      if (out.length >= 256) flush();
    }
    flush();
    return EXIT.ok;
  },
};

/** The Python interpreter to train with: LAMINA_PYTHON, the repo's .venv, then python3. */
const findPython = (): string | undefined => {
  const candidates = [process.env.LAMINA_PYTHON, path.join(REPO, '.venv/bin/python'), 'python3'].filter((x): x is string => !!x);
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', 'import sentencepiece'], { stdio: 'ignore' });
    if (r.status === 0) return py;
  }
  return undefined;
};

/**
 * `lamina tokenizer train`: SentencePiece's trainer (through Python) on the bundled or a user corpus.
 * @example
 * // lamina tokenizer train --corpus bundled --vocab-size 10000 --out runs/vocab --hf-json
 */
export const tokenizerTrain: Command = {
  name: 'tokenizer train',
  summary: 'train an ALBERT-style SentencePiece unigram vocabulary on a corpus',
  usage: 'lamina tokenizer train --corpus <bundled|file|dir> --vocab-size <n> --out <dir> [--hf-json] [--seed <n>]',
  options: {
    corpus: { type: 'string', arg: 'bundled|path', help: 'the bundled corpus, a text file (blank-line separated documents) or a directory (one document per file)', default: 'bundled' },
    'vocab-size': { type: 'string', arg: 'n', help: 'number of pieces, specials included', default: '10000' },
    out: { type: 'string', arg: 'dir', help: 'directory for spiece.model (and tokenizer.json with --hf-json)' },
    seed: { type: 'string', arg: 'n', help: 'trainer random seed', default: '12345' },
    'hf-json': { type: 'boolean', help: 'also write tokenizer.json (needs Python transformers)' },
  },
  examples: ['lamina tokenizer train --corpus bundled --vocab-size 10000 --out runs/vocab', 'lamina tokenizer train --corpus my-books/ --vocab-size 8000 --out runs/my-vocab --hf-json'],
  async run(v) {
    const out = str(v, 'out', 'tokenizer train');
    const vocabSize = num(v, 'vocab-size', 10000, { min: 32, max: 1_000_000, integer: true });
    const seed = num(v, 'seed', 12345, { min: 0, max: 2 ** 31 - 1, integer: true });
    const spec = optStr(v, 'corpus') ?? 'bundled';
    const corpus = spec === 'bundled' ? bundledCorpus() : corpusFromPath(spec);
    if (E.isLeft(corpus)) throw usageError(corpus.left.message);
    const py = findPython();
    if (py === undefined) {
      throw failure("needs Python's sentencepiece module: run `node scripts/python/setup-venv.mjs` (or `pip install sentencepiece`), or set LAMINA_PYTHON to an interpreter that has it");
    }
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lamina-vocab-'));
    try {
      const input = path.join(tmp, 'corpus.txt');
      const fd = fs.openSync(input, 'w');
      let lines = 0;
      for (const line of corpusLines(corpus.right)) {
        fs.writeSync(fd, `${line}\n`);
        lines++;
      }
      fs.closeSync(fd);
      console.error(`lamina tokenizer train: ${lines} lines from ${corpus.right.name}; training ${vocabSize} pieces with ${py} …`);
      const args = [TRAIN_SCRIPT, '--input', input, '--vocab-size', String(vocabSize), '--out', out, '--seed', String(seed)];
      if (v['hf-json'] === true) args.push('--hf-json');
      const r = spawnSync(py, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      if (r.status !== 0) {
        const last = `${r.stderr ?? ''}`.trim().split('\n').filter((l) => !l.includes('PyTorch was not found')).pop() ?? `exit ${r.status}`;
        throw failure(`SentencePiece training failed: ${last}`);
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    const check = loadTokenizer(path.join(out, 'spiece.model'));
    if (E.isLeft(check)) throw failure(`trained model does not load: ${check.left.message}`);
    console.log(`wrote ${path.join(out, 'spiece.model')}${v['hf-json'] === true ? ' and tokenizer.json' : ''} (${check.right.vocabSize} pieces)`);
    return EXIT.ok;
  },
};
