// GPT-2 Hugging Face interop: config.json in both directions, the state-dict conversion (fused
// c_attn, [in, out] Conv1D weights, tied lm_head, both key layouts), directory read/write and its
// errors, and — in the reference venv — export followed by GPT2LMHeadModel.from_pretrained.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, describe, expect, it } from 'vitest';
import { compile, decodeSafetensors, encodeSafetensors, paramSpecs, unwrap, type RawTensor } from '@lamina/dsl';
import {
  GPT2_PRESETS,
  decodeGpt2Config,
  gpt2FromHfStateDict,
  gpt2HfNameMap,
  gpt2LMHeadModel,
  gpt2ToHfConfig,
  gpt2ToHfStateDict,
  hfConfigToGpt2,
  isGpt2HfConfig,
  readGpt2HfDirectory,
  tinyGpt2Config,
  writeGpt2HfDirectory,
  type Gpt2Config,
} from '../src/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..', '..');
const FIXTURES = path.join(here, 'fixtures', 'gpt2');
const FIXTURE_NAMES = ['small', 'inner', 'gelu'];
const venvPython = path.join(root, '.venv', 'bin', 'python');
const venvAvailable = fs.existsSync(venvPython);
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'lamina-gpt2-'));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
let counter = 0;
const tmpDir = (): string => {
  const d = path.join(tmpRoot, `d${counter++}`);
  fs.mkdirSync(d);
  return d;
};
const right = <L extends { message: string }, A>(r: E.Either<L, A>): A => {
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};
const leftMessage = <L extends { message: string }, A>(r: E.Either<L, A>): string => {
  if (E.isRight(r)) throw new Error('expected a Left');
  return r.left.message;
};
/** Every parameter of the model drawn from a seeded LCG in [-0.5, 0.5) (LayerNorm gammas around 1). */
const randomParams = (c: Gpt2Config, seed = 5): Record<string, RawTensor> => {
  let s = seed;
  const next = (): number => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648 - 0.5;
  };
  return Object.fromEntries(
    unwrap(paramSpecs(gpt2LMHeadModel(c))).map((p) => [
      p.path,
      { dtype: 'float32', shape: p.shape, data: Float32Array.from({ length: p.shape.reduce((a, b) => a * b, 1) }, () => (p.path.endsWith('gamma') ? 1 + next() : next())) } satisfies RawTensor,
    ]),
  );
};
const sameParams = (a: Record<string, RawTensor>, b: Record<string, RawTensor>): void => {
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  for (const [k, t] of Object.entries(a)) {
    expect(b[k]!.shape, k).toEqual(t.shape);
    expect(Array.from(b[k]!.data), k).toEqual(Array.from(t.data));
  }
};

describe('config.json', () => {
  it('reads the fixtures written by save_pretrained', async () => {
    const json = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'small', 'config.json'), 'utf8'));
    expect(isGpt2HfConfig(json)).toBe(true);
    expect(right(hfConfigToGpt2(json))).toEqual({
      architecture: 'GPT2LMHeadModel',
      config: { ...tinyGpt2Config(), vocabSize: 61, maxPositions: 16, hiddenSize: 16, numLayers: 2, numHeads: 2, innerSize: 64, bosTokenId: 60, eosTokenId: 60 },
    });
    const gelu = right(hfConfigToGpt2(JSON.parse(fs.readFileSync(path.join(FIXTURES, 'gelu', 'config.json'), 'utf8')))).config;
    expect(gelu).toMatchObject({ activation: 'gelu', layerNormEps: 1e-6, innerSize: 20 });
  });

  it('missing keys take GPT2Config defaults: {} is gpt2 (124M)', () => {
    expect(right(hfConfigToGpt2({})).config).toEqual(GPT2_PRESETS.gpt2);
    // the original OpenAI upload: legacy n_ctx, no n_inner
    expect(right(hfConfigToGpt2({ model_type: 'gpt2', n_ctx: 1024, n_embd: 1600, n_layer: 48, n_head: 25, architectures: ['GPT2LMHeadModel'] })).config).toEqual(GPT2_PRESETS['gpt2-xl']);
    expect(right(hfConfigToGpt2({ activation_function: 'gelu_pytorch_tanh' })).config.activation).toBe('gelu_new');
  });

  it('round-trips any valid config (property, 100 cases)', () => {
    fc.assert(
      fc.property(
        fc.record({
          vocabSize: fc.integer({ min: 2, max: 60000 }),
          maxPositions: fc.integer({ min: 1, max: 4096 }),
          numHeads: fc.integer({ min: 1, max: 32 }),
          headSize: fc.integer({ min: 1, max: 128 }),
          numLayers: fc.integer({ min: 1, max: 64 }),
          inner: fc.option(fc.integer({ min: 1, max: 10000 })),
          activation: fc.constantFrom('gelu_new', 'gelu', 'relu', 'tanh' as const),
          residDropout: fc.double({ min: 0, max: 0.9, noNaN: true }),
          layerNormEps: fc.double({ min: 1e-12, max: 1e-3, noNaN: true }),
        }),
        ({ headSize, inner, ...r }) => {
          const hiddenSize = r.numHeads * headSize;
          const c = tinyGpt2Config({ ...r, hiddenSize, innerSize: inner ?? 4 * hiddenSize, bosTokenId: 0, eosTokenId: r.vocabSize - 1 });
          const json = right(gpt2ToHfConfig(c));
          expect(JSON.parse(JSON.stringify(json))).toEqual(json);
          expect(right(hfConfigToGpt2(json))).toEqual({ config: c, architecture: 'GPT2LMHeadModel' });
        },
      ),
      { numRuns: 100 },
    );
  });

  it.each([
    [{ model_type: 'bert' }, /model_type: expected "gpt2", got "bert"/],
    [{ n_embd: -3 }, /n_embd: expected a positive integer, got -3/],
    [{ resid_pdrop: 1.5 }, /resid_pdrop: expected a probability in \[0, 1\), got 1.5/],
    [{ n_embd: 10, n_head: 3 }, /hiddenSize \(10\) must be a multiple of numHeads \(3\)/],
    [{ activation_function: 'swish' }, /activation_function: expected one of gelu_new, gelu, relu, tanh, gelu_pytorch_tanh, got "swish"/],
    [{ scale_attn_by_inverse_layer_idx: true }, /scale_attn_by_inverse_layer_idx: true is not supported/],
    [{ scale_attn_weights: false }, /scale_attn_weights: false is not supported/],
    [{ add_cross_attention: true }, /add_cross_attention: true is not supported/],
    [{ tie_word_embeddings: false }, /untied LM head/],
    [{ architectures: ['GPT2ForSequenceClassification'] }, /architectures: expected one of \["GPT2LMHeadModel", "GPT2Model"\]/],
    [{ n_ctx: 512, n_positions: 1024 }, /n_ctx \(512\) and n_positions \(1024\) disagree/],
    [[1, 2], /must be a JSON object/],
  ])('rejects %j naming the key', (json, message) => {
    expect(leftMessage(hfConfigToGpt2(json))).toMatch(message);
  });
});

describe('lamina GPT-2 config files', () => {
  it('start from a preset; a new width keeps the 4·H MLP unless innerSize is given', () => {
    expect(right(decodeGpt2Config({}))).toEqual(GPT2_PRESETS.gpt2);
    expect(right(decodeGpt2Config({ preset: 'gpt2-large', numLayers: 2 }))).toEqual({ ...GPT2_PRESETS['gpt2-large'], numLayers: 2 });
    expect(right(decodeGpt2Config({ hiddenSize: 256, numHeads: 4 })).innerSize).toBe(1024);
    expect(right(decodeGpt2Config({ hiddenSize: 256, numHeads: 4, innerSize: 300 })).innerSize).toBe(300);
  });

  it('reject unknown fields, ill-typed fields and inconsistent combinations', () => {
    expect(leftMessage(decodeGpt2Config({ kind: 'seq', layers: [] }))).toMatch(/unknown GPT-2 config fields "kind", "layers" \(known: preset, vocabSize/);
    expect(leftMessage(decodeGpt2Config({ preset: 'gpt3' }))).toMatch(/preset: expected "gpt2" \| "gpt2-medium" \| "gpt2-large" \| "gpt2-xl", got "gpt3"/);
    expect(leftMessage(decodeGpt2Config({ numLayers: 1.5 }))).toMatch(/numLayers: expected a positive integer, got 1.5/);
    expect(leftMessage(decodeGpt2Config({ vocabSize: 100 }))).toMatch(/bosTokenId \(50256\) must be < vocabSize \(100\)/);
    expect(leftMessage(decodeGpt2Config('gpt2'))).toMatch(/must be a JSON object/);
  });
});

describe('state dicts', () => {
  const c = tinyGpt2Config({ numLayers: 2, hiddenSize: 8, numHeads: 2, innerSize: 12, vocabSize: 11, maxPositions: 5, bosTokenId: 0, eosTokenId: 0 });

  it('c_attn is [query | key | value] along the columns; Conv1D weights are not transposed', () => {
    const params = randomParams(c);
    const sd = right(gpt2ToHfStateDict(params, c));
    const w = sd['transformer.h.1.attn.c_attn.weight']!;
    expect(w.shape).toEqual([8, 24]);
    for (const [k, name] of ['query', 'key', 'value'].entries())
      for (let r = 0; r < 8; r++)
        for (let j = 0; j < 8; j++) expect(w.data[r * 24 + k * 8 + j]).toBe(params[`h.1.attn.${name}.kernel`]!.data[r * 8 + j]);
    expect(Array.from(sd['transformer.h.1.attn.c_attn.bias']!.data)).toEqual(['query', 'key', 'value'].flatMap((n) => Array.from(params[`h.1.attn.${n}.bias`]!.data)));
    expect(sd['transformer.h.0.mlp.c_fc.weight']).toBe(params['h.0.mlp.c_fc.kernel']);
    expect(sd['transformer.h.0.mlp.c_proj.weight']!.shape).toEqual([12, 8]);
    expect(Object.keys(sd)).not.toContain('lm_head.weight');
    sameParams(params, right(gpt2FromHfStateDict(sd, c)));
  });

  it('reads the unprefixed layout of the original uploads, with their attn.bias buffers and a stored lm_head equal to wte', () => {
    const params = randomParams(c);
    const sd = right(gpt2ToHfStateDict(params, c, 'GPT2Model'));
    expect(Object.keys(sd).every((k) => !k.startsWith('transformer.'))).toBe(true);
    const mask: RawTensor = { dtype: 'float32', shape: [1, 1, 5, 5], data: new Float32Array(25) };
    const withExtras = { ...sd, 'h.0.attn.bias': mask, 'h.1.attn.masked_bias': { dtype: 'float32', shape: [], data: new Float32Array([-1e4]) } as RawTensor, 'lm_head.weight': sd['wte.weight']! };
    sameParams(params, right(gpt2FromHfStateDict(withExtras, c)));
    const untied = { ...withExtras, 'lm_head.weight': { ...sd['wte.weight']!, data: sd['wte.weight']!.data.map((v) => v + 1) } };
    expect(leftMessage(gpt2FromHfStateDict(untied, c))).toMatch(/lm_head\.weight differs from wte\.weight/);
  });

  it('names every missing, unexpected and mis-shaped tensor in one message', () => {
    const sd = right(gpt2ToHfStateDict(randomParams(c), c));
    delete sd['transformer.ln_f.bias'];
    sd['transformer.h.0.attn.c_attn.weight'] = { dtype: 'float32', shape: [24, 8], data: new Float32Array(192) };
    sd['score.weight'] = { dtype: 'float32', shape: [2, 8], data: new Float32Array(16) };
    const m = leftMessage(gpt2FromHfStateDict(sd, c));
    expect(m).toContain('checkpoint does not match GPT2LMHeadModel (V=11, P=5, H=8, layers=2, heads=2, I=12)');
    expect(m).toContain('missing 1: transformer.ln_f.bias');
    expect(m).toContain('unexpected 1: score.weight');
    expect(m).toContain('wrong shape or dtype 1: transformer.h.0.attn.c_attn.weight (expected float32 [8, 24], got float32 [24, 8])');
    expect(E.isLeft(gpt2FromHfStateDict({ ...sd, 'transformer.ln_f.bias': { dtype: 'float32', shape: [8], data: new Float32Array(8) }, 'transformer.h.0.attn.c_attn.weight': { dtype: 'float32', shape: [8, 24], data: new Float32Array(192) } }, c, { allowUnexpected: true }))).toBe(false);
    const params = randomParams(c);
    delete params['h.1.attn.value.bias'];
    params['extra.kernel'] = params['ln_f.gamma']!;
    expect(leftMessage(gpt2ToHfStateDict(params, c))).toMatch(/missing 1: h\.1\.attn\.value\.bias; unexpected 1: extra\.kernel/);
  });
});

describe('directories', () => {
  it('reads every fixture with no missing or unexpected tensors; LayerNorms are non-trivial', async () => {
    for (const name of FIXTURE_NAMES) {
      const m = right(await readGpt2HfDirectory(path.join(FIXTURES, name)));
      expect(m.architecture).toBe('GPT2LMHeadModel');
      expect(Object.keys(m.params).sort()).toEqual(gpt2HfNameMap(m.config).flatMap((e) => e.parts.map((p) => p.lamina)).sort());
      expect(Array.from(m.params['ln_f.gamma']!.data).some((v) => Math.abs(v - 1) > 0.05)).toBe(true);
    }
  });

  it('writes config.json and model.safetensors with the tensor names and metadata of save_pretrained, and reads them back', async () => {
    const src = right(await readGpt2HfDirectory(path.join(FIXTURES, 'inner')));
    const dir = path.join(tmpDir(), 'nested', 'out');
    right(await writeGpt2HfDirectory(dir, src.config, src.params));
    expect(fs.readdirSync(dir).sort()).toEqual(['config.json', 'model.safetensors']);
    const back = right(await readGpt2HfDirectory(dir));
    expect(back.config).toEqual(src.config);
    sameParams(src.params, back.params);
    const ours = right(decodeSafetensors(fs.readFileSync(path.join(dir, 'model.safetensors'))));
    const theirs = right(decodeSafetensors(fs.readFileSync(path.join(FIXTURES, 'inner', 'model.safetensors'))));
    expect(Object.keys(ours.tensors).sort()).toEqual(Object.keys(theirs.tensors).sort());
    expect(ours.metadata).toEqual(theirs.metadata);
    for (const [k, t] of Object.entries(theirs.tensors)) expect(Array.from(ours.tensors[k]!.data), k).toEqual(Array.from(t.data));
  });

  it('writes nothing for mismatched parameters', async () => {
    const c = tinyGpt2Config();
    const params = randomParams(c);
    delete params['wpe.embeddings'];
    const d = path.join(tmpDir(), 'x');
    expect(leftMessage(await writeGpt2HfDirectory(d, c, params))).toMatch(/missing 1: wpe\.embeddings/);
    expect(fs.existsSync(d)).toBe(false);
  });

  it('errors name the directory and the problem', async () => {
    expect(leftMessage(await readGpt2HfDirectory(path.join(tmpRoot, 'nope')))).toMatch(/no such directory: .*nope/);
    expect(leftMessage(await readGpt2HfDirectory(path.join(here, 'fixtures', 'albert', 'groups')))).toMatch(/config\.json: invalid GPT-2 config\.json: model_type: expected "gpt2", got "albert"/);
    const d = tmpDir();
    fs.copyFileSync(path.join(FIXTURES, 'small', 'config.json'), path.join(d, 'config.json'));
    fs.writeFileSync(path.join(d, 'pytorch_model.bin'), 'PK');
    expect(leftMessage(await readGpt2HfDirectory(d))).toMatch(/pickle checkpoints are not supported.*e\.g\. GPT2LMHeadModel/);
    fs.rmSync(path.join(d, 'pytorch_model.bin'));
    const t = right(decodeSafetensors(fs.readFileSync(path.join(FIXTURES, 'small', 'model.safetensors')))).tensors;
    delete t['transformer.h.1.mlp.c_fc.bias'];
    fs.writeFileSync(path.join(d, 'model.safetensors'), encodeSafetensors(t, { format: 'pt' }));
    expect(leftMessage(await readGpt2HfDirectory(d))).toMatch(new RegExp(`${d}: checkpoint does not match GPT2LMHeadModel .*missing 1: transformer\\.h\\.1\\.mlp\\.c_fc\\.bias`));
  });
});

describe('against Hugging Face transformers (needs .venv; run `node scripts/python/setup-venv.mjs`)', () => {
  it.skipIf(!venvAvailable)(
    'directories lamina writes load in GPT2LMHeadModel.from_pretrained with no missing or unexpected keys and reproduce the reference and lamina logits within 1e-4; a missing tensor fails the check',
    async () => {
      const args: string[] = [];
      // 1. every fixture, read and written back by lamina, against the reference logits
      for (const name of FIXTURE_NAMES) {
        const m = right(await readGpt2HfDirectory(path.join(FIXTURES, name)));
        const dir = tmpDir();
        right(await writeGpt2HfDirectory(dir, m.config, m.params));
        args.push(dir, path.join(FIXTURES, name, 'io.json'));
      }
      // 2. a model lamina made (random parameters everywhere) against the logits lamina computes
      const c = tinyGpt2Config({ vocabSize: 37, hiddenSize: 20, numHeads: 5, numLayers: 2, innerSize: 30, maxPositions: 9, bosTokenId: 36, eosTokenId: 36 });
      const params = randomParams(c, 11);
      const ids = [
        [3, 14, 15, 9, 2, 6, 5, 35],
        [8, 9, 7, 9, 3, 0, 0, 0],
      ];
      const mask = ids.map((row, b) => row.map((_, i) => (b === 1 && i >= 5 ? 0 : 1)));
      const forward = unwrap(compile(gpt2LMHeadModel(c), { input: 'input_ids' }));
      const logits = tf.tidy(() => {
        const p = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, tf.tensor(v.data, v.shape as number[])]));
        const out = forward(p, { input_ids: tf.tensor2d(ids, undefined, 'int32'), attention_mask: tf.tensor2d(mask, undefined, 'int32') }) as Record<string, tf.Tensor>;
        return (out.logits as tf.Tensor).arraySync();
      });
      const own = tmpDir();
      right(await writeGpt2HfDirectory(own, c, params));
      const ownIo = path.join(tmpDir(), 'io.json');
      fs.writeFileSync(ownIo, JSON.stringify({ inputs: { input_ids: ids, attention_mask: mask }, outputs: { logits } }));
      args.push(own, ownIo);
      // 3. a negative control in the same Python process: the same export without ln_f.bias
      const broken = tmpDir();
      const sd = right(gpt2ToHfStateDict(params, c));
      delete sd['transformer.ln_f.bias'];
      fs.writeFileSync(path.join(broken, 'model.safetensors'), encodeSafetensors(sd, { format: 'pt' }));
      fs.copyFileSync(path.join(own, 'config.json'), path.join(broken, 'config.json'));
      args.push(broken, ownIo);

      const r = spawnSync(venvPython, ['scripts/python/check_gpt2_export.py', ...args], { encoding: 'utf8', cwd: root });
      const reports = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
      expect(reports.length, r.stderr).toBe(FIXTURE_NAMES.length + 2);
      for (const report of reports.slice(0, -1)) {
        expect(report.loading, report.dir).toEqual({ missing_keys: [], unexpected_keys: [], mismatched_keys: [], error_msgs: [] });
        expect(report.tied).toBe(true);
        expect(report.max_abs_diff.logits, report.dir).toBeLessThanOrEqual(1e-4);
        expect(report.ok).toBe(true);
      }
      const bad = reports[reports.length - 1];
      expect(bad.ok).toBe(false);
      expect(bad.loading.missing_keys).toEqual(['transformer.ln_f.bias']);
      expect(r.status).toBe(1);
    },
    // one Python process loads transformers and every fixture: 13 s in a fresh-clone CI run at load ~4, 124 s at load 20
    300_000,
  );
});
