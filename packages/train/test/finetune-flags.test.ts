// `finetuneFlags` is the inverse of `finetuneConfigFromFlags`: the demo runs its from-scratch
// classifier as a child `lamina finetune` with these flags, so the child must train exactly the
// config the parent meant.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { finetune, finetuneConfigFromFlags, finetuneFlags } from '../src/cli/finetune.js';
import { parseCommandArgs } from '../src/cli/command.js';
import { finetuneConfig, type FinetuneConfig } from '../src/finetune/run.js';

const path = fc.stringMatching(/^[a-z][a-z0-9_./-]{0,20}$/);
const cfgArb: fc.Arbitrary<FinetuneConfig> = fc
  .record({
    checkpoint: path,
    train: fc.oneof(fc.constant('imdb'), path),
    eval: fc.oneof(fc.constant('imdb'), path),
    out: path,
    task: fc.constantFrom('classify' as const, 'regress' as const),
    epochs: fc.integer({ min: 1, max: 50 }),
    batchSize: fc.integer({ min: 1, max: 512 }),
    evalBatchSize: fc.integer({ min: 1, max: 512 }),
    lr: fc.double({ min: 1e-7, max: 1, noNaN: true }),
    warmup: fc.option(fc.integer({ min: 0, max: 10_000 }), { nil: undefined }),
    seqLength: fc.integer({ min: 3, max: 512 }),
    maxTrain: fc.integer({ min: 0, max: 100_000 }),
    maxEval: fc.integer({ min: 0, max: 100_000 }),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    optimizer: fc.constantFrom('adamw' as const, 'lamb' as const),
    biasCorrection: fc.boolean(),
    weightDecay: fc.double({ min: 0, max: 1, noNaN: true }),
    clipNorm: fc.double({ min: 0, max: 100, noNaN: true }),
    dropout: fc.double({ min: 0, max: 0.9, noNaN: true }),
    pooling: fc.constantFrom('first' as const, 'mean' as const),
    truncation: fc.constantFrom('head' as const, 'head+tail' as const),
    evalEvery: fc.integer({ min: 0, max: 10_000 }),
    checkpointEvery: fc.integer({ min: 0, max: 10_000 }),
    fromScratch: fc.boolean(),
    overwrite: fc.boolean(),
  })
  .map((c) => finetuneConfig(c));

describe('finetuneFlags', () => {
  it('gives back the config it came from through the CLI parser (every field, numbers exactly)', () => {
    fc.assert(
      fc.property(cfgArb, (cfg) => {
        const parsed = parseCommandArgs(finetune, finetuneFlags(cfg));
        expect(finetuneConfigFromFlags(parsed.values as Record<string, unknown>)).toEqual(cfg);
      }),
      { numRuns: 200 },
    );
  });
});
