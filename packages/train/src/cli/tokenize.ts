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
import { fileURLToPath } from 'node:url';
import { type Command, EXIT, failure, intOption, LIMITS, numOr, optStr, str, usageError } from './command.js';
import { checkWritable } from '../run/rundir.js';

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
    let n = 0;
    const out: string[] = [];
    const flush = () => {
      if (out.length > 0) process.stdout.write(out.join(''));
      out.length = 0;
    };
    const encodeLine = (line: string) => {
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
    };
    // The same rule as for a corpus: UTF-8 only, an invalid byte is an error naming its line.
    for await (const line of utf8Lines(process.stdin, () => flush())) encodeLine(line);
    flush();
    return EXIT.ok;
  },
};

/**
 * Streams a byte stream as UTF-8 text lines (`\n` or `\r\n`), each as soon as it is complete;
 * invalid UTF-8 is a usage error naming the line, as `pretrain` refuses such a corpus.
 * @example for await (const line of utf8Lines(process.stdin)) console.log(line.length);
 */
export async function* utf8Lines(input: AsyncIterable<Buffer | string>, beforeError: () => void = () => {}): AsyncGenerator<string> {
  const dec = new TextDecoder('utf-8', { fatal: true });
  let rest = '';
  let n = 0;
  const split = function* (text: string, last: boolean): Generator<string> {
    const parts = (rest + text).split('\n');
    rest = parts.pop() ?? '';
    for (const p of parts) {
      n++;
      yield p.endsWith('\r') ? p.slice(0, -1) : p;
    }
    if (last && rest !== '') {
      n++;
      yield rest.endsWith('\r') ? rest.slice(0, -1) : rest;
      rest = '';
    }
  };
  const decode = (chunk: Buffer | undefined): string => {
    try {
      return chunk === undefined ? dec.decode() : dec.decode(chunk, { stream: true });
    } catch {
      // the valid prefix of this chunk (binary search) tells which line holds the bad byte
      let lo = 0;
      let hi = chunk?.length ?? 0;
      while (chunk && lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        try {
          new TextDecoder('utf-8', { fatal: true }).decode(chunk.subarray(0, mid), { stream: true });
          lo = mid;
        } catch {
          hi = mid - 1;
        }
      }
      const before = chunk ? chunk.subarray(0, lo).toString('utf8') : '';
      const line = n + 1 + ((rest + before).match(/\n/g)?.length ?? 0);
      beforeError();
      throw usageError(`stdin line ${line} is not valid UTF-8 text (like pretrain, tokenize reads UTF-8 only)`);
    }
  };
  for await (const chunk of input) yield* split(decode(typeof chunk === 'string' ? Buffer.from(chunk) : chunk), false);
  yield* split(decode(undefined), true);
}

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
    'vocab-size': intOption('number of pieces, specials included', { min: 32, max: LIMITS.vocabSize, default: 10000, arg: 'n' }),
    out: { type: 'string', arg: 'dir', help: 'directory for spiece.model (and tokenizer.json with --hf-json)' },
    seed: intOption('trainer random seed', { min: 0, max: 2 ** 31 - 1, default: 12345, arg: 'n' }),
    'hf-json': { type: 'boolean', help: 'also write tokenizer.json (needs Python transformers)' },
  },
  examples: ['lamina tokenizer train --corpus bundled --vocab-size 10000 --out runs/vocab', 'lamina tokenizer train --corpus my-books/ --vocab-size 8000 --out runs/my-vocab --hf-json'],
  async run(v) {
    const out = str(v, 'out', 'tokenizer train');
    const vocabSize = numOr(tokenizerTrain.options, v, 'vocab-size');
    const seed = numOr(tokenizerTrain.options, v, 'seed');
    const dest = checkWritable(out);
    if (E.isLeft(dest)) throw usageError(dest.left.message);
    const spec = optStr(v, 'corpus') ?? 'bundled';
    const corpus = spec === 'bundled' ? bundledCorpus() : corpusFromPath(spec);
    if (E.isLeft(corpus)) throw usageError(corpus.left.message);
    const py = findPython();
    if (py === undefined) {
      throw failure("needs Python's sentencepiece module: run `node scripts/python/setup-venv.mjs` (or `pip install sentencepiece`), or set LAMINA_PYTHON to an interpreter that has it");
    }
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lamina-vocab-'));
    let summaryLine = '';
    try {
      const input = path.join(tmp, 'corpus.txt');
      const fd = fs.openSync(input, 'w');
      let lines = 0;
      for (const line of corpusLines(corpus.right)) {
        fs.writeSync(fd, `${line}\n`);
        lines++;
      }
      fs.closeSync(fd);
      summaryLine = `${lines} lines of ${corpus.right.name}`;
      const args = [TRAIN_SCRIPT, '--input', input, '--vocab-size', String(vocabSize), '--out', out, '--seed', String(seed)];
      if (v['hf-json'] === true) args.push('--hf-json');
      const r = spawnSync(py, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      if (r.status !== 0) {
        const last = `${r.stderr ?? ''}`.trim().split('\n').filter((l) => !l.includes('PyTorch was not found')).pop() ?? `exit ${r.status}`;
        // a vocabulary size the corpus cannot give is the user's input (exit 2), not a failure
        if (/vocab(?:ulary)?[ _]size|required_chars|too (?:high|small|low)/i.test(last)) throw usageError(`--vocab-size ${vocabSize} does not fit ${corpus.right.name}: ${last.replace(/^.*?\] ?/, '')}`);
        throw failure(`SentencePiece training failed: ${last}`);
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    const check = loadTokenizer(path.join(out, 'spiece.model'));
    if (E.isLeft(check)) throw failure(`trained model does not load: ${check.left.message}`);
    console.log(`wrote ${path.join(out, 'spiece.model')}${v['hf-json'] === true ? ' and tokenizer.json' : ''} (${check.right.vocabSize} pieces, trained on ${summaryLine})`);
    return EXIT.ok;
  },
};
