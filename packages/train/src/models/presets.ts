/**
 * Presets `lamina train` (and `params`, `summary`) accept besides model files: the ALBERT/BERT
 * presets of `@lamina/albert`, with the head the objective reads.
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Node } from '@lamina/dsl';
import { albertForPretraining, albertForTask, gpt2LMHeadModel, gpt2Preset, GPT2_PRESET_NAMES, isGpt2Preset, preset, PRESET_NAMES } from '@lamina/albert';
import type { ObjectiveName } from '../objectives/index.js';

/** The preset names `lamina train --model` accepts. */
export const TRAIN_PRESET_NAMES: readonly string[] = [...GPT2_PRESET_NAMES, ...PRESET_NAMES];

/**
 * A GPT-2 preset's model value; with `args`, at the run's vocabulary and at least its sequence
 * length (a fresh model for your tokenizer), else exactly as Hugging Face's `GPT2LMHeadModel`.
 * @example E.map(countParams)(gpt2PresetModel('gpt2')) // 124,439,808 parameters
 */
export const gpt2PresetModel = (name: string, args?: { vocabSize: number; seqLength: number }): E.Either<string, Node> => {
  const c = gpt2Preset(name);
  if (E.isLeft(c)) return E.left(c.left.message);
  return E.right(gpt2LMHeadModel(args ? { ...c.right, vocabSize: args.vocabSize, maxPositions: Math.max(c.right.maxPositions, args.seqLength) } : c.right));
};

/**
 * A preset's model value for an objective (`mlm`: MLM logits at every position; `classify`/
 * `regress`: the sequence-classification head; `token-classify`: the token head).
 * @example resolvePresetModel('albert-base', { vocabSize: 30000, seqLength: 128, numLabels: 2 }, 'classify')
 */
export const resolvePresetModel = (name: string, args: { vocabSize: number; seqLength: number; numLabels: number }, objective: ObjectiveName): E.Either<string, Node> => {
  if (isGpt2Preset(name)) {
    if (objective !== 'clm') return E.left(`--model ${name}: GPT-2 is a causal language model; train it with --objective clm`);
    return gpt2PresetModel(name, args);
  }
  if (!PRESET_NAMES.includes(name as never)) return E.left(`--model: "${name}" is neither a model file (.ts, .js, .json) nor a preset (${TRAIN_PRESET_NAMES.join(', ')})`);
  const c0 = preset(name);
  if (E.isLeft(c0)) return E.left(c0.left.message);
  const c = { ...c0.right, vocabSize: args.vocabSize };
  switch (objective) {
    case 'mlm':
      return E.right(albertForPretraining(c, { objective: 'none', mlmPositions: 'all' }));
    case 'classify':
    case 'regress':
      return E.right(albertForTask(c, 'sequence-classification', Math.max(1, args.numLabels)));
    case 'token-classify':
      return E.right(albertForTask(c, 'token-classification', Math.max(1, args.numLabels)));
    case 'clm':
      return E.left(`--model ${name}: an ALBERT/BERT encoder attends in both directions and cannot be trained with clm; use mlm, or a causal model file`);
  }
};
