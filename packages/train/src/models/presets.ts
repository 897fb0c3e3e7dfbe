/**
 * Presets `lamina train` (and `params`, `summary`) accept besides model files: the ALBERT/BERT
 * presets of `@lamina/albert`, with the head the objective reads.
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Node } from '@lamina/dsl';
import { albertForPretraining, albertForTask, preset, PRESET_NAMES } from '@lamina/albert';
import type { ObjectiveName } from '../objectives/index.js';

/** The preset names `lamina train --model` accepts. */
export const TRAIN_PRESET_NAMES: readonly string[] = [...PRESET_NAMES];

/**
 * A preset's model value for an objective (`mlm`: MLM logits at every position; `classify`/
 * `regress`: the sequence-classification head; `token-classify`: the token head).
 * @example resolvePresetModel('albert-base', { vocabSize: 30000, seqLength: 128, numLabels: 2 }, 'classify')
 */
export const resolvePresetModel = (name: string, args: { vocabSize: number; seqLength: number; numLabels: number }, objective: ObjectiveName): E.Either<string, Node> => {
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
