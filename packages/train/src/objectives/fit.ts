/**
 * Does a model value fit an objective? Checked on the value by the DSL's shape interpreter, before
 * any tensor exists: the inputs the objective feeds must be enough for the model (a missing side
 * input is named with the node that reads it), and each output the objective reads must have the
 * shape it expects (named with the node that produces it).
 *
 * @example
 * ```ts
 * const r = fitObjective(model, clmObjective(), { batch: 2, seqLength: 16, inputs: { attention_mask: { dtype: 'int32' } } }, { vocabSize: 100 });
 * // left('seq[3].dense: the clm objective reads an output of shape [batch, seq, vocab] with vocab = 100, got [2, 16, 32]')
 * ```
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import { childWhere, inferShape, locateError, primitiveWhere, tensorSig, type Node, type TensorSig } from '@lamina/dsl';
import { OUTPUTS } from '@lamina/albert';
import type { OutputDims, OutputRef, TrainingObjective } from './index.js';

/**
 * The shapes the check feeds the model: batch, sequence length and the side inputs by dtype.
 * @example { batch: 2, seqLength: 16, inputs: { attention_mask: { dtype: 'int32' } } }
 */
export interface FeedShape {
  readonly batch: number;
  readonly seqLength: number;
  /** Side inputs `[batch, k]`; `k` is `seqLength` unless given. */
  readonly inputs: Readonly<Record<string, { readonly dtype: 'int32' | 'float32'; readonly length?: number }>>;
}

/** The readable path of the node that produces a model's output (`ref`: a fanout output). */
export const outputWhere = (n: Node, ref: OutputRef, where = ''): string => {
  switch (n.kind) {
    case 'seq':
      return n.layers.length ? outputWhere(n.layers[n.layers.length - 1] as Node, ref, childWhere(where, n, n.layers.length - 1)) : where;
    case 'named':
    case 'shared':
    case 'repeat':
      return outputWhere(n.layer, ref, childWhere(where, n, 0));
    case 'fanout': {
      const o = ref === null ? undefined : n.outputs[ref];
      return o ? outputWhere(o, null, childWhere(where, n, ref as string)) : where;
    }
    default:
      return primitiveWhere(where, n);
  }
};

/**
 * The objective with its output references resolved against a model: a role the objective reads
 * as the model's one output (`null`) becomes the fanout output `logits` when the model ends in a
 * fanout that has one.
 */
export interface FittedObjective {
  readonly objective: TrainingObjective;
  /** Fanout outputs to compute (undefined: the model's one output). */
  readonly outputs: readonly string[] | undefined;
}

/**
 * Checks a model against an objective (see the module comment). Errors are one line starting
 * with the node path.
 * @example fitObjective(model, classifyObjective(2), { batch: 2, seqLength: 16, inputs: {} }, { numLabels: 2 })
 */
export const fitObjective = (model: Node, objective: TrainingObjective, feed: FeedShape, dims: OutputDims): E.Either<string, FittedObjective> => {
  const side: Record<string, TensorSig> = Object.fromEntries(Object.entries(feed.inputs).map(([k, v]) => [k, tensorSig([feed.batch, v.length ?? feed.seqLength], v.dtype)]));
  const sig = inferShape(model, tensorSig([feed.batch, feed.seqLength], 'int32'), side);
  if (E.isLeft(sig)) return E.left(`${sig.left.path || '(model)'}: ${sig.left.message}`);
  const named = 'outputs' in sig.right ? sig.right.outputs : undefined;
  // the node in the DSL's one path language (its parameter path, as `lamina params` lists it)
  const at = (where: string): string => (where === '' ? '(output)' : locateError(model, { _tag: 'ModelError', path: where, message: '' }).path || '(output)');
  const refs: Record<string, OutputRef> = {};
  for (const [role, ref0] of Object.entries(objective.outputs)) {
    let ref = ref0;
    if (ref === null && named) {
      // a model ending in a fanout: its `logits` (or, for the ALBERT family, its MLM logits)
      const found = [OUTPUTS.taskLogits, OUTPUTS.mlmLogits].find((k) => k in named);
      if (found === undefined)
        return E.left(`${at(outputWhere(model, null))}: the model has named outputs {${Object.keys(named).join(', ')}}; the ${objective.name} objective reads one output, or the one named "${OUTPUTS.taskLogits}"`);
      ref = found;
    }
    const s = ref === null ? (sig.right as TensorSig) : named?.[ref];
    if (s === undefined) return E.left(`${at(outputWhere(model, null))}: the model has no output "${ref}" (the ${objective.name} objective's ${role})`);
    const bad = objective.checkOutput(role, s, dims);
    if (bad) return E.left(`${at(outputWhere(model, ref))}: the ${objective.name} objective's ${role} ${bad}`);
    refs[role] = ref;
  }
  const outs = Object.values(refs).filter((r): r is string => r !== null);
  return E.right({ objective: { ...objective, outputs: refs }, outputs: outs.length ? outs : undefined });
};
