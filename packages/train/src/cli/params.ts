/**
 * `lamina params` and `lamina summary`: parameter counts and the summary table, read off the
 * model value by the DSL's interpreters.
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import { countParams, formatModelError, paramSpecs, summary, tensorSig } from '@lamina/dsl';
import { albertForPretraining, albertModel } from '@lamina/albert';
import { type Command, EXIT, failure, intOption, LIMITS, numOr, usageError } from './command.js';

/** `--seq-len` of summary, at most the model's positions. */
const seqWithin = (v: Record<string, unknown>, max: number | undefined): number => {
  const S = numOr(summaryCmd.options, v, 'seq-len');
  if (max !== undefined && S > max) throw usageError(`--seq-len must be an integer <= ${max} (the model's positions), got ${S}`);
  return S;
};
import { isModelFile, loadModelFile } from '../models/file.js';
import { gpt2PresetModel } from '../models/presets.js';
import { maxPositions } from '../run/generate.js';
import { isTrainRun, loadTrainRun } from '../run/train.js';
import { runTokenizer } from '../run/data.js';

/**
 * `--model` as a DSL model value when it is not an ALBERT preset or config: a model file
 * (.ts/.js/.json encoded value; a factory gets the committed vocabulary's size), a GPT-2 preset,
 * or a `lamina train` run directory.
 */
const otherModel = async (v: Record<string, unknown>): Promise<{ node: import('@lamina/dsl').Node; source: string } | undefined> => {
  const arg = typeof v.model === 'string' ? v.model : undefined;
  if (arg === undefined) return undefined;
  if (isTrainRun(arg)) {
    const r = await loadTrainRun(arg);
    if (E.isLeft(r)) throw usageError(r.left.message);
    return { node: r.right.model, source: arg };
  }
  if (isModelFile(arg)) {
    const tok = runTokenizer(undefined);
    const m = await loadModelFile(arg, { vocabSize: E.isRight(tok) ? tok.right.vocabSize : 10000, seqLength: typeof v['seq-len'] === 'string' ? Number(v['seq-len']) : 128, numLabels: 2 });
    if (E.isLeft(m)) throw usageError(m.left);
    return { node: m.right, source: arg };
  }
  if (/^gpt2/.test(arg)) {
    const m = gpt2PresetModel(arg);
    if (E.isLeft(m)) throw usageError(m.left);
    return { node: m.right, source: arg };
  }
  return undefined;
};
import { MODEL_OPTIONS, resolveModel } from './model-arg.js';

/** `lamina params`. */
export const params: Command = {
  name: 'params',
  summary: 'count the parameters of a model (AlbertModel: embeddings, encoder, pooler)',
  usage: 'lamina params --model <preset|config.json> [--sharing all|attention|ffn|none] [--embedding-size E] [--json]',
  options: {
    ...MODEL_OPTIONS,
    heads: { type: 'boolean', help: 'count the pretraining model (MLM + SOP heads) instead' },
    json: { type: 'boolean', help: 'print JSON (total and per-parameter shapes)' },
  },
  examples: ['lamina params --model albert-base', 'lamina params --model bert-base --json', 'lamina params --model albert-large --sharing ffn'],
  async run(v) {
    const other = await otherModel(v);
    if (other) {
      const specs = paramSpecs(other.node);
      const total = countParams(other.node);
      if (E.isLeft(specs) || E.isLeft(total)) throw usageError(`${other.source}: ${formatModelError(E.isLeft(specs) ? specs.left : (total as E.Left<never>).left)}`);
      if (v.json === true) console.log(JSON.stringify({ model: other.source, total: total.right, parameters: specs.right.map((s) => ({ path: s.path, shape: s.shape, uses: s.uses })) }, null, 2));
      else console.log(`${other.source}: ${total.right.toLocaleString('en-US')} parameters`);
      return EXIT.ok;
    }
    const { config, source } = resolveModel(v);
    const model = v.heads === true ? albertForPretraining(config) : albertModel(config);
    const specs = paramSpecs(model);
    const total = countParams(model);
    if (E.isLeft(specs) || E.isLeft(total)) throw failure(formatModelError(E.isLeft(specs) ? specs.left : (total as E.Left<never>).left));
    if (v.json === true) {
      console.log(
        JSON.stringify(
          {
            model: source,
            sharing: config.sharing,
            embeddingSize: config.embeddingSize,
            hiddenSize: config.hiddenSize,
            layers: config.numHiddenLayers,
            total: total.right,
            parameters: specs.right.map((s) => ({ path: s.path, shape: s.shape, uses: s.uses })),
          },
          null,
          2,
        ),
      );
    } else {
      console.log(`${source} (sharing ${config.sharing}, E=${config.embeddingSize}, H=${config.hiddenSize}, L=${config.numHiddenLayers}): ${total.right.toLocaleString('en-US')} parameters`);
    }
    return EXIT.ok;
  },
};

/** `lamina summary`. */
export const summaryCmd: Command = {
  name: 'summary',
  summary: 'print the layer table of a model, with stored vs applied parameters per shared block',
  usage: 'lamina summary --model <preset|config.json> [--sharing …] [--embedding-size E] [--batch B] [--seq-len S] [--heads]',
  options: {
    ...MODEL_OPTIONS,
    batch: intOption('batch size for the output shapes', { min: 1, max: LIMITS.batchSize, default: 1, arg: 'B' }),
    'seq-len': intOption('sequence length for the output shapes (and of a model file factory)', { min: 1, max: LIMITS.seqLength, default: 128, arg: 'S' }),
    heads: { type: 'boolean', help: 'the pretraining model (MLM + SOP heads) instead of AlbertModel' },
  },
  examples: ['lamina summary --model albert-base', 'lamina summary --model config.json --seq-len 64'],
  async run(v) {
    const other = await otherModel(v);
    if (other) {
      const B = numOr(summaryCmd.options, v, 'batch');
      const S = seqWithin(v, maxPositions(other.node));
      const r = summary(other.node, tensorSig([B, S], 'int32'), { attention_mask: tensorSig([B, S], 'int32') });
      if (E.isLeft(r)) throw usageError(`${other.source}: ${formatModelError(r.left)}`);
      console.log(r.right);
      return EXIT.ok;
    }
    const { config } = resolveModel(v);
    const B = numOr(summaryCmd.options, v, 'batch');
    const S = seqWithin(v, config.maxPositionEmbeddings);
    const model = v.heads === true ? albertForPretraining(config) : albertModel(config);
    const side = { token_type_ids: tensorSig([B, S], 'int32'), attention_mask: tensorSig([B, S], 'int32') };
    const r = summary(model, tensorSig([B, S], 'int32'), side);
    if (E.isLeft(r)) throw failure(formatModelError(r.left));
    console.log(r.right);
    return EXIT.ok;
  },
};
