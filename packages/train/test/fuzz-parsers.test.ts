// Fuzzing every parser a user's bytes reach (issue 14, "make it stay fixed"): CLI arguments,
// config JSON, safetensors headers and offsets, spiece.model, tokenizer.json, forward input JSON,
// corpus and task files. Properties: nothing escapes but an error value (a Left, or the CLI's
// CliError), and the heap grows by no more than a bound proportional to the input.
import { describe, expect } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { decodeSafetensors, encodeSafetensors } from '@lamina/dsl';
import { corpusFromPath, decodeConfig, DEFAULT_VOCAB_DIR, tokenizerFromJson, tokenizerFromSentencePiece } from '@lamina/albert';
import { CliError, parseCommandArgs } from '../src/cli/command.js';
import { commands } from '../src/cli/commands.js';
import { finetuneConfigFromFlags } from '../src/cli/finetune.js';
import { checkForwardInputs } from '../src/cli/forward.js';
import { resolveModel } from '../src/cli/model-arg.js';
import { parseTaskText } from '../src/finetune/data.js';

const RUNS = { numRuns: 200 };

/** Runs `f`; fails if it throws anything but an allowed error, or the heap grows beyond the bound. */
const bounded = <A>(inputBytes: number, f: () => A, allowed: (e: unknown) => boolean = () => false): A | undefined => {
  const before = process.memoryUsage().heapUsed;
  let out: A | undefined;
  try {
    out = f();
  } catch (e) {
    if (!allowed(e)) throw e;
  }
  const grew = process.memoryUsage().heapUsed - before;
  expect(grew).toBeLessThan(64 * 1024 * 1024 + 64 * inputBytes);
  return out;
};

const isEither = (x: unknown): boolean => typeof x === 'object' && x !== null && ((x as { _tag?: string })._tag === 'Left' || (x as { _tag?: string })._tag === 'Right');

describe('CLI arguments', () => {
  const token = fc.oneof(
    fc.constantFrom('--steps', '--batch-size', '--lr', '--seed', '--out', '--model', '--resume', '--frobnicate', '-h', '--', '--dropout', '--epochs', '--seq-len', '--max-train'),
    fc.constantFrom('-1', '0', '1e300', '0x3', 'NaN', 'Infinity', '1.5', '', ' 7', '9007199254740993', '-0', '.5', '5.', '1e-400', 'albert-base'),
    fc.string({ maxLength: 12 }),
  );
  test.prop([fc.nat({ max: commands.length - 1 }), fc.array(token, { maxLength: 10 })], RUNS)('parseCommandArgs throws only CliError', (k, argv) => {
    const c = commands[k] as (typeof commands)[number];
    bounded(argv.join(' ').length, () => parseCommandArgs(c, argv), (e) => e instanceof CliError);
  });
  test.prop([fc.dictionary(fc.constantFrom('epochs', 'batch-size', 'lr', 'seed', 'dropout', 'warmup', 'task', 'optimizer', 'seq-len', 'max-train'), fc.string({ maxLength: 10 }))], RUNS)(
    'finetune flags: a config or a CliError',
    (flags) => {
      bounded(JSON.stringify(flags).length, () => finetuneConfigFromFlags({ checkpoint: 'c', train: 't', eval: 'e', out: 'o', ...flags }), (e) => e instanceof CliError);
    },
  );
});

describe('config JSON', () => {
  const field = fc.constantFrom('vocabSize', 'embeddingSize', 'hiddenSize', 'numHiddenLayers', 'numHiddenGroups', 'numAttentionHeads', 'intermediateSize', 'maxPositionEmbeddings', 'typeVocabSize', 'layerNormEps', 'hiddenDropoutProb', 'sharing', 'factorized', 'preset', 'hiddenAct', 'extra');
  const value = fc.oneof(fc.jsonValue(), fc.double(), fc.integer(), fc.constantFrom(1e300, -1, 0, 2 ** 53, 65536, 65537, 'albert-base', 'all'));
  test.prop([fc.oneof(fc.jsonValue(), fc.dictionary(field, value))], RUNS)('decodeConfig returns an Either; a Right is within the limits', (json) => {
    const r = bounded(JSON.stringify(json ?? null).length, () => decodeConfig(json));
    expect(isEither(r)).toBe(true);
    if (r && E.isRight(r)) expect(r.right.hiddenSize).toBeLessThanOrEqual(65536);
  });
  test.prop([fc.dictionary(field, value)], { numRuns: 200 })('a config file read by --model: a config or a CliError', (json) => {
    const file = path.join(os.tmpdir(), `lamina-fuzz-config-${process.pid}.json`);
    fs.writeFileSync(file, JSON.stringify(json));
    bounded(JSON.stringify(json).length, () => resolveModel({ model: file }), (e) => e instanceof CliError);
  });
});

describe('safetensors headers and offsets', () => {
  const valid = encodeSafetensors({ a: { dtype: 'float32', shape: [2, 3], data: new Float32Array(6) }, b: { dtype: 'int32', shape: [4], data: new Int32Array(4) } });
  const header = (h: unknown, body: number): Uint8Array => {
    const json = Buffer.from(JSON.stringify(h));
    const out = new Uint8Array(8 + json.length + body);
    new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
    out.set(json, 8);
    return out;
  };
  const entry = fc.record({
    dtype: fc.oneof(fc.constantFrom('F32', 'I32', 'F16', 'BF16', 'I64', 'U8', 'BOOL', 'F64'), fc.string({ maxLength: 4 })),
    shape: fc.array(fc.oneof(fc.nat({ max: 8 }), fc.constantFrom(-1, 2 ** 40, 1e300)), { maxLength: 4 }),
    data_offsets: fc.tuple(fc.oneof(fc.nat({ max: 200 }), fc.constantFrom(-5, 2 ** 53, 1e300)), fc.oneof(fc.nat({ max: 200 }), fc.constantFrom(-5, 2 ** 53))),
  });
  test.prop([fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(entry, fc.jsonValue()), { maxKeys: 4 }), fc.nat({ max: 256 })], RUNS)('random headers and offsets', (h, body) => {
    const bytes = header(h, body);
    const r = bounded(bytes.length, () => decodeSafetensors(bytes));
    expect(isEither(r)).toBe(true);
  });
  test.prop([fc.array(fc.tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.nat({ max: valid.length })], RUNS)('bit flips and truncations of a valid file', (flips, cut) => {
    const bytes = valid.slice(0, cut);
    for (const [i, b] of flips) if (i < bytes.length) bytes[i] = b;
    const r = bounded(bytes.length, () => decodeSafetensors(bytes));
    expect(isEither(r)).toBe(true);
  });
  test.prop([fc.uint8Array({ maxLength: 300 }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })], RUNS)('arbitrary bytes and header lengths', (rest, len) => {
    const bytes = new Uint8Array(8 + rest.length);
    new DataView(bytes.buffer).setBigUint64(0, len, true);
    bytes.set(rest, 8);
    expect(isEither(bounded(bytes.length, () => decodeSafetensors(bytes)))).toBe(true);
  });
});

describe('tokenizer files', () => {
  const spiece = new Uint8Array(fs.readFileSync(path.join(DEFAULT_VOCAB_DIR, 'spiece.model')));
  test.prop([fc.array(fc.tuple(fc.nat({ max: spiece.length - 1 }), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), fc.nat({ max: spiece.length })], RUNS)('spiece.model: flips and truncations', (flips, cut) => {
    const bytes = spiece.slice(0, Math.max(cut, spiece.length - 2000) === cut ? cut : Math.min(cut, 4000));
    for (const [i, b] of flips) if (i < bytes.length) bytes[i] = b;
    const r = bounded(bytes.length, () => tokenizerFromSentencePiece(bytes));
    expect(isEither(r)).toBe(true);
    if (r && E.isRight(r)) expect(Array.isArray(r.right.encode('Call me Ishmael.').input_ids)).toBe(true);
  });
  test.prop([fc.uint8Array({ maxLength: 400 })], RUNS)('spiece.model: arbitrary bytes', (bytes) => {
    expect(isEither(bounded(bytes.length, () => tokenizerFromSentencePiece(bytes)))).toBe(true);
  });
  const full = JSON.parse(fs.readFileSync(path.join(DEFAULT_VOCAB_DIR, 'tokenizer.json'), 'utf8')) as Record<string, unknown> & { model: { vocab: unknown[] } };
  const small = { ...full, model: { ...full.model, vocab: full.model.vocab.slice(0, 300) } };
  const keys = ['normalizer', 'pre_tokenizer', 'post_processor', 'added_tokens', 'model', 'decoder'];
  test.prop([fc.array(fc.tuple(fc.constantFrom(...keys), fc.jsonValue({ maxDepth: 3 })), { maxLength: 3 }), fc.jsonValue({ maxDepth: 2 })], RUNS)('tokenizer.json: fields replaced by random JSON', (repl, vocabEntry) => {
    const j: Record<string, unknown> = { ...small, model: { ...small.model, vocab: [...small.model.vocab, vocabEntry] } };
    for (const [k, v] of repl) j[k] = v;
    const r = bounded(JSON.stringify(j).length, () => tokenizerFromJson(j));
    expect(isEither(r)).toBe(true);
    if (r && E.isRight(r)) r.right.encode('a whale, a ship.');
  });
  test.prop([fc.jsonValue()], RUNS)('tokenizer.json: any JSON value', (j) => {
    expect(isEither(bounded(JSON.stringify(j ?? null).length, () => tokenizerFromJson(j)))).toBe(true);
  });
});

describe('forward input JSON', () => {
  const row = fc.array(fc.oneof(fc.integer({ min: -3, max: 120 }), fc.double(), fc.constantFrom(1e300, 2 ** 53 + 2, null, '3')), { maxLength: 6 });
  const input = fc.oneof(
    fc.jsonValue(),
    fc.record({ input_ids: fc.array(row, { maxLength: 5 }) }, { requiredKeys: [] }),
    fc.record({ input_ids: fc.array(row, { maxLength: 4 }), token_type_ids: fc.array(row, { maxLength: 4 }), attention_mask: fc.jsonValue() }, { requiredKeys: ['input_ids'] }),
  );
  test.prop([input], RUNS)('checkForwardInputs returns an Either; a Right is in range and rectangular', (json) => {
    const r = bounded(JSON.stringify(json ?? null).length, () => checkForwardInputs(json, 'in.json', 100, 8, 2));
    expect(isEither(r)).toBe(true);
    if (r && E.isRight(r)) {
      const ids = r.right.input_ids as number[][];
      expect(ids.length).toBeGreaterThan(0);
      for (const x of ids.flat()) expect(x >= 0 && x < 100).toBe(true);
      for (const k of ['token_type_ids', 'attention_mask']) expect((r.right[k] as number[][]).map((x) => x.length)).toEqual(ids.map((x) => x.length));
    }
  });
});

describe('corpus and task files', () => {
  const text = fc.oneof(
    fc.string({ maxLength: 300 }),
    fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1')),
    fc.array(fc.constantFrom('The whale.', 'Call me Ishmael!', '\n\n', '\r\n', '\t', ' ', '\u0000', '\uFFFD', 'x'.repeat(500), '?', '"', '{}'), { maxLength: 30 }).map((xs) => xs.join('')),
  );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lamina-fuzz-'));
  test.prop([fc.oneof(text.map((t) => Buffer.from(t, 'utf8')), fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b)))], RUNS)('corpusFromPath: documents or an error value', (bytes) => {
    const file = path.join(dir, 'c.txt');
    fs.writeFileSync(file, bytes);
    bounded(bytes.length, () => {
      const c = corpusFromPath(file);
      expect(isEither(c)).toBe(true);
      if (E.isRight(c)) for (const d of c.right.documents()) expect(d.sentences.length).toBeGreaterThan(0);
    });
  });
  const line = fc.oneof(
    text,
    fc.record({ text: fc.oneof(fc.string(), fc.jsonValue()), label: fc.oneof(fc.string(), fc.double(), fc.boolean(), fc.jsonValue()), text_pair: fc.jsonValue() }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
    fc.tuple(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 })).map(([a, b]) => `${a}\t${b}`),
  );
  test.prop([fc.array(line, { maxLength: 12 }), fc.constantFrom('t.jsonl', 't.tsv', 't.txt', 't.json')], RUNS)('parseTaskText: examples or an error value', (lines, name) => {
    const t = (name.endsWith('.tsv') ? ['text\tlabel', ...lines] : lines).join('\n');
    const r = bounded(t.length, () => parseTaskText(t, name));
    expect(isEither(r)).toBe(true);
    if (r && E.isLeft(r)) expect(r.left.length).toBeLessThan(2000);
  });
});
