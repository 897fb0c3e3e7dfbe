// Parity with the reference: lamina's GPT-2 (a DSL value, compiled to tfjs) reproduces Hugging
// Face GPT2LMHeadModel's logits on committed fixtures made by scripts/python/make_gpt2_fixtures.py
// (three configs: default n_inner; explicit n_inner with the sequence as long as the positions;
// exact GELU with another LayerNorm epsilon). Each batch is right-padded (rows with 0, 3 and 5
// padding positions); logits are compared where attention_mask is 1. Tolerance: max abs
// difference <= 1e-4.
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs';
import path from 'node:path';
import { compile, unwrap, type RawTensor } from '@lamina/dsl';
import { GPT2_INPUTS, GPT2_OUTPUTS, gpt2LMHeadModel, readGpt2HfDirectory } from '../src/index.js';

const root = path.resolve(import.meta.dirname, 'fixtures/gpt2');
const fixtures = ['small', 'inner', 'gelu'];

interface IO {
  inputs: { input_ids: number[][]; attention_mask: number[][] };
  outputs: { logits: number[][][] };
}

const toTensor = (r: RawTensor): tf.Tensor => tf.tensor(r.data, r.shape as number[], r.dtype);

/** Max |a - b| over the positions where mask is 1 (a, b: [B, S, V]; mask: [B, S]). */
const maskedMaxAbsDiff = (a: tf.Tensor, b: tf.Tensor, mask: tf.Tensor): number =>
  tf.tidy(() => tf.max(tf.mul(tf.abs(tf.sub(a, b)), tf.expandDims(tf.cast(mask, 'float32'), -1))).dataSync()[0] as number);

describe.each(fixtures)('parity with Hugging Face GPT2LMHeadModel: %s', (name) => {
  it('logits agree within 1e-4 at every unpadded position of a right-padded batch', async () => {
    const dir = path.join(root, name);
    const io = JSON.parse(fs.readFileSync(path.join(dir, 'io.json'), 'utf8')) as IO;
    const hf = unwrap(await readGpt2HfDirectory(dir));
    const forward = unwrap(compile(gpt2LMHeadModel(hf.config), { input: GPT2_INPUTS.ids }));
    const params = Object.fromEntries(Object.entries(hf.params).map(([k, v]) => [k, toTensor(v)]));
    const mask = tf.tensor2d(io.inputs.attention_mask, undefined, 'int32');
    // The fixture really is right-padded: some positions are masked, and only at row ends.
    expect(io.inputs.attention_mask.some((row) => row.includes(0))).toBe(true);
    for (const row of io.inputs.attention_mask) expect(row.join('')).toMatch(/^1+0*$/);
    try {
      const { diff, shape } = tf.tidy(() => {
        const out = forward(params, {
          [GPT2_INPUTS.ids]: tf.tensor2d(io.inputs.input_ids, undefined, 'int32'),
          [GPT2_INPUTS.mask]: mask,
        }) as Record<string, tf.Tensor>;
        const got = out[GPT2_OUTPUTS.logits] as tf.Tensor;
        const ref = tf.tensor(io.outputs.logits);
        return { diff: maskedMaxAbsDiff(got, ref, mask), shape: [got.shape, ref.shape] };
      });
      expect(shape[0]).toEqual(shape[1]);
      expect(diff, name).toBeLessThanOrEqual(1e-4);
    } finally {
      Object.values(params).forEach((t) => t.dispose());
      mask.dispose();
    }
  });
});

describe('the parity check can fail', () => {
  it('swapping the query and key slices of one c_attn makes the logits differ by far more than 1e-4', async () => {
    const dir = path.join(root, 'small');
    const io = JSON.parse(fs.readFileSync(path.join(dir, 'io.json'), 'utf8')) as IO;
    const hf = unwrap(await readGpt2HfDirectory(dir));
    const swapped = { ...hf.params, 'h.1.attn.query.kernel': hf.params['h.1.attn.key.kernel']!, 'h.1.attn.key.kernel': hf.params['h.1.attn.query.kernel']! };
    const forward = unwrap(compile(gpt2LMHeadModel(hf.config), { input: GPT2_INPUTS.ids }));
    const params = Object.fromEntries(Object.entries(swapped).map(([k, v]) => [k, toTensor(v)]));
    const mask = tf.tensor2d(io.inputs.attention_mask, undefined, 'int32');
    try {
      const diff = tf.tidy(() => {
        const out = forward(params, { input_ids: tf.tensor2d(io.inputs.input_ids, undefined, 'int32'), attention_mask: mask }) as Record<string, tf.Tensor>;
        return maskedMaxAbsDiff(out.logits as tf.Tensor, tf.tensor(io.outputs.logits), mask);
      });
      expect(diff).toBeGreaterThan(1e-2);
    } finally {
      Object.values(params).forEach((t) => t.dispose());
      mask.dispose();
    }
  });
});
