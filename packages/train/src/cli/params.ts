/**
 * `lamina params` and `lamina summary`: parameter counts and the summary table, read off the
 * model value by the DSL's interpreters.
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import { countParams, formatModelError, paramSpecs, summary, tensorSig } from '@lamina/dsl';
import { albertForPretraining, albertModel } from '@lamina/albert';
import { type Command, EXIT, failure, num } from './command.js';
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
    batch: { type: 'string', arg: 'B', help: 'batch size for the output shapes', default: '1' },
    'seq-len': { type: 'string', arg: 'S', help: 'sequence length for the output shapes', default: '128' },
    heads: { type: 'boolean', help: 'the pretraining model (MLM + SOP heads) instead of AlbertModel' },
  },
  examples: ['lamina summary --model albert-base', 'lamina summary --model config.json --seq-len 64'],
  async run(v) {
    const { config } = resolveModel(v);
    const B = num(v, 'batch', 1, { min: 1, integer: true });
    const S = num(v, 'seq-len', 128, { min: 1, integer: true, max: config.maxPositionEmbeddings });
    const model = v.heads === true ? albertForPretraining(config) : albertModel(config);
    const side = { token_type_ids: tensorSig([B, S], 'int32'), attention_mask: tensorSig([B, S], 'int32') };
    const r = summary(model, tensorSig([B, S], 'int32'), side);
    if (E.isLeft(r)) throw failure(formatModelError(r.left));
    console.log(r.right);
    return EXIT.ok;
  },
};
