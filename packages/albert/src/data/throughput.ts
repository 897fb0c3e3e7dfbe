/**
 * How fast instances are built (the part of the pipeline that runs per epoch when no cache is used):
 * sentence chunking, pairing, truncation and n-gram masking over already tokenized documents.
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import { defaultTokenizer, type Tokenizer } from '../tokenizer/index.js';
import { bundledCorpus } from './corpus.js';
import type { DataError } from './errors.js';
import { pretrainingInstances, pretrainingOptions, tokenizeCorpus, type PretrainingOptions, type TokenizedDocument } from './instances.js';

/**
 * A throughput figure: tokens of instances built per second on the calling thread.
 * @example
 * const t: InstanceThroughput = E.getOrElseW(fail)(measureInstanceThroughput()); t.tokensPerSecond;
 */
export interface InstanceThroughput {
  readonly instances: number;
  readonly tokens: number;
  readonly seconds: number;
  readonly tokensPerSecond: number;
  readonly documents: number;
}

/**
 * Measures instance building on one core. Tokenizes `documents` (default: the first 60 documents of
 * the bundled corpus with the committed vocabulary) once, untimed, then times `repeats` passes of
 * instance creation and reports tokens (of produced instances, specials included) per second.
 * @example
 * const r = measureInstanceThroughput();
 * if (E.isRight(r)) console.log(`${Math.round(r.right.tokensPerSecond)} tokens/s`);
 */
export const measureInstanceThroughput = (
  a: { tokenizer?: Tokenizer; documents?: readonly TokenizedDocument[]; maxDocuments?: number; options?: Partial<PretrainingOptions>; repeats?: number } = {},
): E.Either<DataError, InstanceThroughput> => {
  const o = pretrainingOptions(a.options);
  if (E.isLeft(o)) return o;
  let tok = a.tokenizer;
  if (tok === undefined) {
    const t = defaultTokenizer();
    if (E.isLeft(t)) return E.left({ kind: 'bad-vocab', message: t.left.message });
    tok = t.right;
  }
  let docs = a.documents;
  if (docs === undefined) {
    const c = bundledCorpus();
    if (E.isLeft(c)) return c;
    const out: TokenizedDocument[] = [];
    for (const d of tokenizeCorpus(c.right, tok)) {
      out.push(d);
      if (out.length >= (a.maxDocuments ?? 60)) break;
    }
    docs = out;
  }
  const repeats = Math.max(1, a.repeats ?? 3);
  let instances = 0;
  let tokens = 0;
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < repeats; r++) {
    for (const x of pretrainingInstances(docs, tok, { ...o.right, seed: o.right.seed + r })) {
      instances++;
      tokens += x.inputIds.length;
    }
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return E.right({ instances, tokens, seconds, tokensPerSecond: tokens / seconds, documents: docs.length });
};
