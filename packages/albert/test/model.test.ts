// ALBERT/BERT as DSL values: exact parameter counts (derived from the model value, compared to
// Hugging Face's AlbertModel/BertModel counts), Table 4 sharing strategies, and agreement between
// the model's parameter paths and the Hugging Face name map.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { countParams, inferShape, paramSpecs, tensorSig, unwrap } from '@lamina/dsl';
import { PRESETS, albertForPretraining, albertForTask, albertModel, groupOfLayer, hfNameMap, tinyConfig, type AlbertConfig, type Sharing } from '../src/index.js';

const params = (c: AlbertConfig) => unwrap(countParams(albertModel(c)));

describe('parameter counts equal the reference (AlbertModel / BertModel, with pooler, no heads)', () => {
  it.each([
    ['albert-base', 11_683_584],
    ['albert-large', 17_683_968],
    ['albert-xlarge', 58_724_864],
    ['albert-xxlarge', 222_595_584],
    ['bert-base', 109_482_240],
    ['bert-large', 335_141_888],
  ] as const)('%s has %d parameters', (name, expected) => {
    expect(params(PRESETS[name])).toBe(expected);
  });

  it('follow the closed form for any small config (property, 200 cases)', () => {
    fc.assert(
      fc.property(
        fc.record({
          V: fc.integer({ min: 5, max: 200 }),
          E: fc.integer({ min: 1, max: 16 }),
          heads: fc.integer({ min: 1, max: 4 }),
          headSize: fc.integer({ min: 1, max: 8 }),
          I: fc.integer({ min: 1, max: 40 }),
          N: fc.integer({ min: 1, max: 6 }),
          groups: fc.integer({ min: 1, max: 6 }),
          inner: fc.integer({ min: 1, max: 3 }),
        }),
        ({ V, E: Em, heads, headSize, I, N, groups, inner }) => {
          const H = heads * headSize;
          const G = Math.min(groups, N);
          const c = tinyConfig({ vocabSize: V, embeddingSize: Em, hiddenSize: H, numAttentionHeads: heads, intermediateSize: I, numHiddenLayers: N, numHiddenGroups: G, innerGroupNum: inner });
          const layer = 4 * (H * H + H) + 2 * H + (H * I + I) + (I * H + H) + 2 * H;
          const emb = (V + c.maxPositionEmbeddings + c.typeVocabSize) * Em + 2 * Em + (Em * H + H);
          // groups that some layer actually uses (HF builds all G groups; with floor(i/(N/G)) every group is used)
          const used = new Set(groupOfLayer(c)).size;
          expect(used).toBe(G);
          expect(params(c)).toBe(emb + G * inner * layer + (H * H + H));
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('sharing strategies (paper Table 4)', () => {
  const strategies: Sharing[] = ['all', 'ffn', 'attention', 'none'];
  it('all-shared < ffn-shared < attention-shared < not-shared, by the amounts the architecture gives', () => {
    const c = PRESETS['albert-base'];
    const counts = strategies.map((s) => params({ ...c, sharing: s }));
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    const H = c.hiddenSize;
    const I = c.intermediateSize;
    const attn = 4 * (H * H + H) + 2 * H;
    const ffn = H * I + I + I * H + H + 2 * H;
    const N = c.numHiddenLayers;
    const [all, ffnShared, attnShared, none] = counts as [number, number, number, number];
    expect(ffnShared - all).toBe((N - 1) * attn);
    expect(attnShared - all).toBe((N - 1) * ffn);
    expect(none - all).toBe((N - 1) * (attn + ffn));
    // The paper's Table 4 (ALBERT-base, E=128) reports 12M, 38M, 64M, 89M; the architecture gives
    // 11.7M, 38.0M, 64.3M, 89.7M (the paper rounds down): within 1M of each.
    const paper = [12, 38, 64, 89];
    counts.forEach((n, i) => expect(Math.abs(n / 1e6 - (paper[i] as number))).toBeLessThan(1));
  });
});

describe('model values', () => {
  it('ALBERT reads like the paper: the encoder stack is repeat(shared(group), N)', () => {
    const m = albertModel(tinyConfig({ numHiddenLayers: 5 }));
    const json = JSON.stringify(m);
    expect(json).toContain('"kind":"repeat"');
    expect(json).toContain('"times":5');
    expect(json).toContain('"name":"encoder.group0"');
  });

  it('every parameter path matches the Hugging Face name map exactly, for several configs', () => {
    const configs = [
      tinyConfig(),
      tinyConfig({ numHiddenLayers: 3, numHiddenGroups: 2 }),
      tinyConfig({ innerGroupNum: 2 }),
      tinyConfig({ embeddingSize: 32 }),
    ];
    for (const c of configs) {
      const specs = unwrap(paramSpecs(albertForPretraining(c)));
      const map = hfNameMap(c, 'AlbertForPreTraining');
      expect(new Map(specs.map((s) => [s.path, s.shape]))).toEqual(new Map(map.map((e) => [e.lamina, e.shape])));
      const seqCls = unwrap(paramSpecs(albertForTask(c, 'sequence-classification', 3)));
      expect(seqCls.map((s) => s.path).sort()).toEqual(hfNameMap(c, 'AlbertForSequenceClassification', 3).map((e) => e.lamina).sort());
    }
  });

  it('output shapes of the pretraining model (all positions and masked positions only)', () => {
    const c = tinyConfig();
    const side = { token_type_ids: tensorSig([2, 7], 'int32'), attention_mask: tensorSig([2, 7], 'int32'), masked_lm_positions: tensorSig([2, 3], 'int32') };
    const all = unwrap(inferShape(albertForPretraining(c), tensorSig([2, 7], 'int32'), side));
    expect(all).toEqual({
      outputs: {
        last_hidden_state: tensorSig([2, 7, 32]),
        pooler_output: tensorSig([2, 32]),
        prediction_logits: tensorSig([2, 7, 99]),
        sop_logits: tensorSig([2, 2]),
      },
    });
    const masked = unwrap(inferShape(albertForPretraining(c, { mlmPositions: 'masked', objective: 'nsp' }), tensorSig([2, 7], 'int32'), side));
    expect('outputs' in masked && masked.outputs.prediction_logits).toEqual(tensorSig([2, 3, 99]));
    expect('outputs' in masked && Object.keys(masked.outputs)).toContain('nsp_logits');
  });

  it('a sequence longer than max_position_embeddings is a located error', () => {
    const r = inferShape(albertModel(tinyConfig({ maxPositionEmbeddings: 8 })), tensorSig([1, 9], 'int32'));
    expect(E.isLeft(r) && `${r.left.path}: ${r.left.message}`).toMatch(/embeddings.*position.*sequence length 9 exceeds maxLen 8/);
  });
});
