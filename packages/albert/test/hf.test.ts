import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import type { RawTensor } from '@lamina/dsl';
import { tinyConfig, type AlbertConfig } from '../src/config.js';
import {
  albertToHfConfig,
  fromHfStateDict,
  headLabels,
  HF_ARCHITECTURES,
  hfConfigToAlbert,
  hfNameMap,
  toHfStateDict,
  type HfArchitecture,
} from '../src/hf/index.js';

const right = <L extends { message: string }, A>(r: E.Either<L, A>): A => {
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};
const left = <L, A>(r: E.Either<L, A>): L => {
  if (E.isRight(r)) throw new Error('expected a Left');
  return r.left;
};

/** Deterministic pseudo-random floats (mulberry32). */
const rng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
};

/**
 * The lamina parameters an architecture has, written out independently of the implementation from
 * the table in issue 4: path -> shape.
 */
const expectedParams = (c: AlbertConfig, arch: HfArchitecture, labels = 2): Map<string, number[]> => {
  const { vocabSize: V, embeddingSize: Em, hiddenSize: H, intermediateSize: I } = c;
  const m = new Map<string, number[]>([
    ['embeddings.word.embeddings', [V, Em]],
    ['embeddings.position.embeddings', [c.maxPositionEmbeddings, Em]],
    ['embeddings.token_type.embeddings', [c.typeVocabSize, Em]],
    ['embeddings.layer_norm.gamma', [Em]],
    ['embeddings.layer_norm.beta', [Em]],
    ['embeddings.projection.kernel', [Em, H]],
    ['embeddings.projection.bias', [H]],
  ]);
  for (let g = 0; g < c.numHiddenGroups; g++)
    for (let k = 0; k < c.innerGroupNum; k++) {
      const l = `encoder.group${g}.layer${k}`;
      for (const a of ['query', 'key', 'value', 'output']) {
        m.set(`${l}.attention.${a}.kernel`, [H, H]);
        m.set(`${l}.attention.${a}.bias`, [H]);
      }
      m.set(`${l}.attention_norm.gamma`, [H]).set(`${l}.attention_norm.beta`, [H]);
      m.set(`${l}.ffn.kernel`, [H, I]).set(`${l}.ffn.bias`, [I]);
      m.set(`${l}.ffn_output.kernel`, [I, H]).set(`${l}.ffn_output.bias`, [H]);
      m.set(`${l}.ffn_norm.gamma`, [H]).set(`${l}.ffn_norm.beta`, [H]);
    }
  const pooler = ['AlbertModel', 'AlbertForPreTraining', 'AlbertForSequenceClassification', 'AlbertForMultipleChoice'].includes(arch);
  if (pooler) m.set('pooler.kernel', [H, H]).set('pooler.bias', [H]);
  if (arch === 'AlbertForPreTraining' || arch === 'AlbertForMaskedLM') {
    m.set('mlm.dense.kernel', [H, Em]).set('mlm.dense.bias', [Em]);
    m.set('mlm.layer_norm.gamma', [Em]).set('mlm.layer_norm.beta', [Em]);
    m.set('mlm.decoder.bias', [V]);
  }
  if (arch === 'AlbertForPreTraining') m.set('sop.kernel', [H, 2]).set('sop.bias', [2]);
  if (arch === 'AlbertForSequenceClassification' || arch === 'AlbertForTokenClassification')
    m.set('classifier.kernel', [H, labels]).set('classifier.bias', [labels]);
  if (arch === 'AlbertForMultipleChoice') m.set('classifier.kernel', [H, 1]).set('classifier.bias', [1]);
  if (arch === 'AlbertForQuestionAnswering') m.set('qa_outputs.kernel', [H, 2]).set('qa_outputs.bias', [2]);
  return m;
};

const randomParams = (shapes: Map<string, number[]>, seed = 1): Record<string, RawTensor> => {
  const r = rng(seed);
  return Object.fromEntries(
    [...shapes].map(([k, shape]) => [k, { dtype: 'float32', shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, r) } satisfies RawTensor]),
  );
};

const CONFIGS: Record<string, AlbertConfig> = {
  tiny: tinyConfig(),
  groupsNotDividing: tinyConfig({ numHiddenLayers: 3, numHiddenGroups: 2 }),
  inner: tinyConfig({ innerGroupNum: 2 }),
  groupsAndInner: tinyConfig({ numHiddenLayers: 5, numHiddenGroups: 3, innerGroupNum: 2, embeddingSize: 32 }),
};

describe('hfNameMap', () => {
  for (const [cname, c] of Object.entries(CONFIGS))
    for (const arch of HF_ARCHITECTURES)
      it(`covers every ${arch} parameter exactly once (${cname})`, () => {
        const labels = arch === 'AlbertForSequenceClassification' ? 5 : undefined;
        const map = hfNameMap(c, arch, labels);
        const want = expectedParams(c, arch, labels);
        expect(map.map((e) => e.lamina).sort()).toEqual([...want.keys()].sort());
        expect(new Set(map.map((e) => e.hf)).size).toBe(map.length);
        for (const e of map) {
          expect(e.shape, e.lamina).toEqual(want.get(e.lamina));
          expect(e.transpose, e.lamina).toBe(e.lamina.endsWith('.kernel'));
          const base = !/^(predictions|sop_classifier|classifier|qa_outputs)\./.test(e.hf);
          if (arch === 'AlbertModel') expect(e.hf.startsWith('albert.'), e.hf).toBe(false);
          else expect(e.hf.startsWith('albert.'), e.hf).toBe(base);
        }
      });

  it('uses the HF names of the table', () => {
    const byLamina = new Map(hfNameMap(CONFIGS['groupsAndInner']!, 'AlbertForPreTraining').map((e) => [e.lamina, e.hf]));
    expect(byLamina.get('encoder.group2.layer1.attention.output.kernel')).toBe('albert.encoder.albert_layer_groups.2.albert_layers.1.attention.dense.weight');
    expect(byLamina.get('encoder.group0.layer1.attention_norm.gamma')).toBe('albert.encoder.albert_layer_groups.0.albert_layers.1.attention.LayerNorm.weight');
    expect(byLamina.get('encoder.group1.layer0.ffn_norm.beta')).toBe('albert.encoder.albert_layer_groups.1.albert_layers.0.full_layer_layer_norm.bias');
    expect(byLamina.get('embeddings.projection.kernel')).toBe('albert.encoder.embedding_hidden_mapping_in.weight');
    expect(byLamina.get('mlm.decoder.bias')).toBe('predictions.bias');
    expect(byLamina.get('sop.kernel')).toBe('sop_classifier.classifier.weight');
    expect(byLamina.get('pooler.bias')).toBe('albert.pooler.bias');
  });

  it('gives multiple choice one output and QA two, whatever numLabels says', () => {
    expect(headLabels('AlbertForMultipleChoice', 7)).toBe(1);
    expect(headLabels('AlbertForQuestionAnswering', 7)).toBe(2);
    expect(headLabels('AlbertForTokenClassification', 7)).toBe(7);
    expect(headLabels('AlbertForTokenClassification')).toBe(2);
    expect(headLabels('AlbertForPreTraining', 7)).toBeUndefined();
  });
});

describe('toHfStateDict / fromHfStateDict', () => {
  const c = CONFIGS['groupsAndInner']!;

  for (const arch of HF_ARCHITECTURES)
    it(`round-trips ${arch} parameters exactly`, () => {
      const params = randomParams(expectedParams(c, arch, 3), 7);
      const sd = right(toHfStateDict(params, c, arch));
      expect(Object.keys(sd).length).toBe(Object.keys(params).length);
      const back = right(fromHfStateDict(sd, c, arch, { numLabels: headLabels(arch, 3) }));
      expect(Object.keys(back).sort()).toEqual(Object.keys(params).sort());
      for (const [k, t] of Object.entries(params)) {
        expect(back[k]!.shape, k).toEqual(t.shape);
        expect(Array.from(back[k]!.data), k).toEqual(Array.from(t.data));
      }
    });

  it('transposes kernels to PyTorch [out, in] and leaves embeddings and vectors alone', () => {
    const params = randomParams(expectedParams(c, 'AlbertForPreTraining'), 3);
    const sd = right(toHfStateDict(params, c, 'AlbertForPreTraining'));
    const k = params['embeddings.projection.kernel']!; // [E, H]
    const w = sd['albert.encoder.embedding_hidden_mapping_in.weight']!; // [H, E]
    const [Em, H] = k.shape as [number, number];
    expect(w.shape).toEqual([H, Em]);
    for (const [i, j] of [[0, 0], [1, 5], [Em - 1, H - 1], [3, 17]] as const) expect(w.data[j * Em + i]).toBe(k.data[i * H + j]);
    expect(sd['albert.embeddings.word_embeddings.weight']).toBe(params['embeddings.word.embeddings']);
    expect(sd['predictions.bias']).toBe(params['mlm.decoder.bias']);
    expect(Object.keys(sd).some((n) => n.startsWith('predictions.decoder'))).toBe(false);
  });

  it('names every missing, unexpected and mis-shaped lamina parameter in one error', () => {
    const params = randomParams(expectedParams(c, 'AlbertForPreTraining'));
    delete params['sop.bias'];
    delete params['encoder.group1.layer1.ffn.kernel'];
    params['nsp.kernel'] = params['sop.kernel']!;
    params['pooler.bias'] = { dtype: 'float32', shape: [3], data: new Float32Array(3) };
    const e = left(toHfStateDict(params, c, 'AlbertForPreTraining'));
    expect(e.kind).toBe('tensors');
    expect(e.missing).toEqual(['encoder.group1.layer1.ffn.kernel', 'sop.bias']);
    expect(e.unexpected).toEqual(['nsp.kernel']);
    expect(e.message).toMatch(/missing 2: encoder\.group1\.layer1\.ffn\.kernel, sop\.bias/);
    expect(e.message).toMatch(/unexpected 1: nsp\.kernel/);
    expect(e.message).toMatch(/pooler\.bias \(expected float32 \[32\], got float32 \[3\]\)/);
  });

  const hfSd = () => right(toHfStateDict(randomParams(expectedParams(c, 'AlbertForPreTraining'), 11), c, 'AlbertForPreTraining'));

  it('names every missing, unexpected, mis-shaped and non-float HF tensor in one error', () => {
    const sd = hfSd();
    delete sd['albert.pooler.bias'];
    delete sd['predictions.bias'];
    sd['albert.encoder.albert_layer_groups.0.albert_layers.0.ffn.weight'] = { dtype: 'float32', shape: [32, 37], data: new Float32Array(32 * 37) };
    sd['sop_classifier.classifier.bias'] = { dtype: 'int32', shape: [2], data: new Int32Array(2) };
    sd['cls.extra.weight'] = { dtype: 'float32', shape: [1], data: new Float32Array(1) };
    const e = left(fromHfStateDict(sd, c, 'AlbertForPreTraining'));
    expect(e.missing).toEqual(['albert.pooler.bias', 'predictions.bias']);
    expect(e.unexpected).toEqual(['cls.extra.weight']);
    expect(e.misshaped).toEqual([
      'albert.encoder.albert_layer_groups.0.albert_layers.0.ffn.weight (expected float32 [37, 32], got float32 [32, 37])',
      'sop_classifier.classifier.bias (expected float32 [2], got int32 [2])',
    ]);
    expect(e.message).toMatch(/^checkpoint does not match AlbertForPreTraining \(V=99, E=32, H=32, I=37, P=64, groups=3, inner_group_num=2\): missing 2: albert\.pooler\.bias, predictions\.bias; unexpected 1: cls\.extra\.weight; wrong shape or dtype 2: /);
  });

  it('accepts the stored tied decoder (weight and bias) as older checkpoints have it, and the legacy position_ids buffer', () => {
    const sd = hfSd();
    sd['predictions.decoder.weight'] = sd['albert.embeddings.word_embeddings.weight']!;
    sd['predictions.decoder.bias'] = sd['predictions.bias']!;
    sd['albert.embeddings.position_ids'] = { dtype: 'int32', shape: [1, 64], data: new Int32Array(64) };
    const p = right(fromHfStateDict(sd, c, 'AlbertForPreTraining'));
    expect(p['mlm.decoder.bias']).toBe(sd['predictions.bias']);
    expect(Object.keys(p).length).toBe(expectedParams(c, 'AlbertForPreTraining').size);
  });

  it('takes predictions.decoder.bias when predictions.bias is absent', () => {
    const sd = hfSd();
    const bias = sd['predictions.bias']!;
    delete sd['predictions.bias'];
    sd['predictions.decoder.bias'] = bias;
    expect(right(fromHfStateDict(sd, c, 'AlbertForPreTraining'))['mlm.decoder.bias']).toBe(bias);
  });

  it('rejects a mis-shaped tied decoder weight', () => {
    const sd = hfSd();
    sd['predictions.decoder.weight'] = { dtype: 'float32', shape: [99, 16], data: new Float32Array(99 * 16) };
    expect(left(fromHfStateDict(sd, c, 'AlbertForPreTraining')).misshaped).toEqual(['predictions.decoder.weight (expected float32 [99, 32], got float32 [99, 16])']);
  });

  it('treats predictions.decoder.* as unexpected for architectures without an MLM head', () => {
    const sd = right(toHfStateDict(randomParams(expectedParams(c, 'AlbertModel')), c, 'AlbertModel'));
    sd['predictions.decoder.weight'] = sd['embeddings.word_embeddings.weight']!;
    expect(left(fromHfStateDict(sd, c, 'AlbertModel')).unexpected).toEqual(['predictions.decoder.weight']);
  });

  it('reads the encoder of a heads checkpoint as AlbertModel only when unexpected tensors are allowed', () => {
    const sd = hfSd();
    const e = left(fromHfStateDict(sd, c, 'AlbertModel'));
    expect(e.missing).toEqual([]);
    expect(e.unexpected).toEqual(['predictions.LayerNorm.bias', 'predictions.LayerNorm.weight', 'predictions.bias', 'predictions.dense.bias', 'predictions.dense.weight', 'sop_classifier.classifier.bias', 'sop_classifier.classifier.weight']);
    const p = right(fromHfStateDict(sd, c, 'AlbertModel', { allowUnexpected: true }));
    expect(Object.keys(p).sort()).toEqual([...expectedParams(c, 'AlbertModel').keys()].sort());
  });

  it('adds the albert. prefix when an AlbertModel checkpoint is read as a heads model, reporting the head as missing', () => {
    const sd = right(toHfStateDict(randomParams(expectedParams(c, 'AlbertModel')), c, 'AlbertModel'));
    expect(Object.keys(sd).every((k) => !k.startsWith('albert.'))).toBe(true);
    const e = left(fromHfStateDict(sd, c, 'AlbertForSequenceClassification', { numLabels: 4 }));
    expect(e.missing).toEqual(['classifier.weight', 'classifier.bias']);
    expect(e.unexpected).toEqual([]);
    expect(e.misshaped).toEqual([]);
  });
});

describe('config.json', () => {
  const hfJson = {
    architectures: ['AlbertForPreTraining'],
    attention_probs_dropout_prob: 0,
    embedding_size: 8,
    hidden_act: 'gelu_new',
    hidden_dropout_prob: 0,
    hidden_size: 16,
    initializer_range: 0.02,
    inner_group_num: 1,
    intermediate_size: 24,
    layer_norm_eps: 1e-12,
    max_position_embeddings: 16,
    model_type: 'albert',
    num_attention_heads: 2,
    num_hidden_groups: 2,
    num_hidden_layers: 3,
    type_vocab_size: 2,
    vocab_size: 64,
    transformers_version: '5.18.0',
    pad_token_id: 0,
  };

  it('reads an HF config into a lamina config', () => {
    const r = right(hfConfigToAlbert(hfJson));
    expect(r.architecture).toBe('AlbertForPreTraining');
    expect(r.numLabels).toBeUndefined();
    expect(r.config).toEqual({
      vocabSize: 64, embeddingSize: 8, hiddenSize: 16, numHiddenLayers: 3, numHiddenGroups: 2, numAttentionHeads: 2, intermediateSize: 24, innerGroupNum: 1,
      hiddenAct: 'gelu_new', maxPositionEmbeddings: 16, typeVocabSize: 2, layerNormEps: 1e-12, initializerRange: 0.02, hiddenDropoutProb: 0, attentionProbsDropoutProb: 0,
      sharing: 'all', factorized: true,
    });
  });

  it("fills missing keys with HF's AlbertConfig defaults (albert-xxlarge) and defaults the architecture to AlbertModel", () => {
    const r = right(hfConfigToAlbert({ model_type: 'albert' }));
    expect(r.architecture).toBe('AlbertModel');
    expect(r.config).toMatchObject({ vocabSize: 30000, embeddingSize: 128, hiddenSize: 4096, numHiddenLayers: 12, numAttentionHeads: 64, intermediateSize: 16384, hiddenAct: 'gelu_new' });
  });

  it('reads numLabels from id2label or num_labels for classification heads', () => {
    expect(right(hfConfigToAlbert({ ...hfJson, architectures: ['AlbertForSequenceClassification'], id2label: { 0: 'a', 1: 'b', 2: 'c' } })).numLabels).toBe(3);
    expect(right(hfConfigToAlbert({ ...hfJson, architectures: ['AlbertForTokenClassification'], num_labels: 9 })).numLabels).toBe(9);
    expect(right(hfConfigToAlbert({ ...hfJson, architectures: ['AlbertForTokenClassification'] })).numLabels).toBe(2);
  });

  it('reports every bad key by name in one error', () => {
    const e = left(hfConfigToAlbert({ ...hfJson, model_type: 'bert', hidden_size: 'big', hidden_act: 'swish', hidden_dropout_prob: 1.5, architectures: ['AlbertForCausalLM'] }));
    expect(e.kind).toBe('config');
    expect(e.message).toMatch(/model_type: expected "albert", got "bert"/);
    expect(e.message).toMatch(/hidden_size: expected a positive integer, got "big"/);
    expect(e.message).toMatch(/hidden_act: expected one of gelu_new, gelu, relu, tanh, got "swish"/);
    expect(e.message).toMatch(/hidden_dropout_prob: expected a probability/);
    expect(e.message).toMatch(/unsupported architecture "AlbertForCausalLM" \(supported: AlbertModel, /);
  });

  it('rejects non-objects, inconsistent sizes, relative positions and an untied decoder', () => {
    expect(left(hfConfigToAlbert([1])).message).toMatch(/must be a JSON object/);
    expect(left(hfConfigToAlbert({ ...hfJson, num_attention_heads: 3 })).message).toMatch(/hiddenSize \(16\) must be a multiple of numAttentionHeads \(3\)/);
    expect(left(hfConfigToAlbert({ ...hfJson, position_embedding_type: 'relative_key' })).message).toMatch(/position_embedding_type: only "absolute"/);
    expect(left(hfConfigToAlbert({ ...hfJson, tie_word_embeddings: false })).message).toMatch(/tie_word_embeddings: false .* not supported/);
    expect(E.isRight(hfConfigToAlbert({ ...hfJson, architectures: ['AlbertModel'], tie_word_embeddings: false }))).toBe(true);
  });

  it('writes the keys save_pretrained writes, sorted', () => {
    const json = right(albertToHfConfig(right(hfConfigToAlbert(hfJson)).config, 'AlbertForPreTraining'));
    expect(Object.keys(json)).toEqual(Object.keys(json).sort());
    const { transformers_version: _v, ...rest } = hfJson;
    expect(json).toMatchObject({ ...rest, tie_word_embeddings: true, bos_token_id: 2, eos_token_id: 3 });
    expect(json['id2label']).toBeUndefined();
    const cls = right(albertToHfConfig(tinyConfig(), 'AlbertForSequenceClassification', 3));
    expect(cls['id2label']).toEqual({ 0: 'LABEL_0', 1: 'LABEL_1', 2: 'LABEL_2' });
    expect(right(hfConfigToAlbert(cls)).numLabels).toBe(3);
  });

  it('round-trips any exportable config (property)', () => {
    const arb = fc
      .record({
        vocabSize: fc.integer({ min: 1, max: 40000 }),
        embeddingSize: fc.integer({ min: 1, max: 512 }),
        heads: fc.integer({ min: 1, max: 16 }),
        headDim: fc.integer({ min: 1, max: 64 }),
        numHiddenLayers: fc.integer({ min: 1, max: 24 }),
        groupFrac: fc.double({ min: 0, max: 1, noNaN: true }),
        innerGroupNum: fc.integer({ min: 1, max: 4 }),
        intermediateSize: fc.integer({ min: 1, max: 4096 }),
        hiddenAct: fc.constantFrom('gelu_new', 'gelu', 'relu', 'tanh' as const),
        maxPositionEmbeddings: fc.integer({ min: 1, max: 1024 }),
        typeVocabSize: fc.integer({ min: 1, max: 4 }),
        layerNormEps: fc.double({ min: 1e-14, max: 1e-3, noNaN: true }),
        initializerRange: fc.double({ min: 1e-4, max: 1, noNaN: true }),
        hiddenDropoutProb: fc.double({ min: 0, max: 0.9, noNaN: true }),
        attentionProbsDropoutProb: fc.double({ min: 0, max: 0.9, noNaN: true }),
        arch: fc.constantFrom(...HF_ARCHITECTURES),
        labels: fc.integer({ min: 1, max: 10 }),
      })
      .map(({ heads, headDim, groupFrac, arch, labels, ...r }) => ({
        arch,
        labels,
        config: {
          ...r,
          hiddenSize: heads * headDim,
          numAttentionHeads: heads,
          numHiddenGroups: 1 + Math.floor(groupFrac * (r.numHiddenLayers - 1)),
          sharing: 'all',
          factorized: true,
        } satisfies AlbertConfig,
      }));
    fc.assert(
      fc.property(arb, ({ config, arch, labels }) => {
        const back = right(hfConfigToAlbert(JSON.parse(JSON.stringify(right(albertToHfConfig(config, arch, labels))))));
        expect(back.config).toEqual(config);
        expect(back.architecture).toBe(arch);
        expect(back.numLabels).toBe(arch === 'AlbertForSequenceClassification' || arch === 'AlbertForTokenClassification' ? labels : undefined);
      }),
      { numRuns: 150 },
    );
  });

  it('refuses to export configs HF ALBERT cannot express', () => {
    expect(left(albertToHfConfig(tinyConfig({ sharing: 'ffn' }), 'AlbertModel')).message).toMatch(/sharing "ffn" has no Hugging Face ALBERT equivalent/);
    expect(left(albertToHfConfig(tinyConfig({ sharing: 'none', factorized: false, embeddingSize: 32 }), 'AlbertModel')).message).toMatch(/sharing "none".*unfactorised/);
    expect(left(albertToHfConfig(tinyConfig({ numAttentionHeads: 5 }), 'AlbertModel')).message).toMatch(/multiple of numAttentionHeads/);
  });
});
