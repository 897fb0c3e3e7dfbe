// Parity with the reference: lamina's ALBERT (a DSL value, compiled to tfjs) reproduces Hugging
// Face AlbertForPreTraining's outputs on committed fixtures made by
// scripts/python/make_albert_fixtures.py (three configs: num_hidden_groups > 1 with N not a
// multiple of it; inner_group_num > 1; E = H). Tolerance: max abs difference <= 1e-4.
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs';
import path from 'node:path';
import { compile, unwrap, type RawTensor } from '@lamina/dsl';
import { albertForPretraining, readHfDirectory } from '../src/index.js';

const root = path.resolve(import.meta.dirname, 'fixtures/albert');
const fixtures = ['groups', 'inner', 'e_eq_h'];

type IO = {
  inputs: Record<'input_ids' | 'token_type_ids' | 'attention_mask', number[][]>;
  outputs: Record<'last_hidden_state' | 'pooler_output' | 'prediction_logits' | 'sop_logits', unknown>;
};

const toTensor = (r: RawTensor): tf.Tensor => tf.tensor(r.data, r.shape as number[], r.dtype);

describe.each(fixtures)('parity with Hugging Face AlbertForPreTraining: %s', (name) => {
  it('last_hidden_state, pooler_output, prediction_logits and sop_logits agree within 1e-4', async () => {
    const dir = path.join(root, name);
    const io = JSON.parse(fs.readFileSync(path.join(dir, 'io.json'), 'utf8')) as IO;
    const hf = unwrap(await readHfDirectory(dir));
    const model = albertForPretraining(hf.config);
    const forward = unwrap(compile(model, { input: 'input_ids' }));
    const params = Object.fromEntries(Object.entries(hf.params).map(([k, v]) => [k, toTensor(v)]));
    try {
      const diffs = tf.tidy(() => {
        const inputs = {
          input_ids: tf.tensor2d(io.inputs.input_ids, undefined, 'int32'),
          token_type_ids: tf.tensor2d(io.inputs.token_type_ids, undefined, 'int32'),
          attention_mask: tf.tensor2d(io.inputs.attention_mask, undefined, 'int32'),
        };
        const out = forward(params, inputs) as Record<string, tf.Tensor>;
        return Object.fromEntries(
          Object.entries(io.outputs).map(([k, want]) => {
            const got = out[k] as tf.Tensor;
            const ref = tf.tensor(want as number[]);
            expect(got.shape).toEqual(ref.shape);
            return [k, tf.max(tf.abs(tf.sub(got, ref))).dataSync()[0] as number];
          }),
        );
      });
      for (const [k, d] of Object.entries(diffs)) expect(d, `${name}.${k}`).toBeLessThanOrEqual(1e-4);
      expect(Object.keys(diffs).sort()).toEqual(['last_hidden_state', 'pooler_output', 'prediction_logits', 'sop_logits']);
    } finally {
      Object.values(params).forEach((t) => t.dispose());
    }
  });
});
