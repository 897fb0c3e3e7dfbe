/**
 * `lamina generate`: continues a prompt with a causal model: a `lamina train --objective clm` run
 * directory (its tokenizer), or a Hugging Face GPT-2 directory (`config.json` with `model_type:
 * gpt2`, `model.safetensors`, and GPT-2's byte-level BPE in `vocab.json` + `merges.txt` or
 * `tokenizer.json`; it stops at `<|endoftext|>`). Decodes with a cache of keys and values by default (`--no-cache`: the
 * whole window per token); says which path runs in one line on stderr before the first token.
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import fs from 'node:fs';
import path from 'node:path';
import type { Node, RawTensor } from '@lamina/dsl';
import { gpt2LMHeadModel, isGpt2HfConfig, readGpt2HfDirectory, readGpt2HfTokenizer } from '@lamina/albert';
import { checkPrompt, generate, type GenerateTokenizer } from '../run/generate.js';
import { isTrainRun, loadTrainRun } from '../run/train.js';
import { type Command, CliError, EXIT, intOption, LIMITS, numberOption, numOr, optNum, str, usageError } from './command.js';
import { useBackend } from './pretrain.js';

/** What generate runs: a model value, its weights and its tokenizer. */
interface GenerateSource {
  readonly model: Node;
  readonly params: Readonly<Record<string, RawTensor>>;
  readonly tokenizer: GenerateTokenizer;
}

const configJsonOf = (dir: string): { readonly exists: boolean; readonly json: unknown } => {
  const file = path.join(dir, 'config.json');
  if (!fs.existsSync(file)) return { exists: false, json: undefined };
  try {
    return { exists: true, json: JSON.parse(fs.readFileSync(file, 'utf8')) };
  } catch {
    return { exists: true, json: undefined };
  }
};

/**
 * The model of `--checkpoint`: a lamina train run trained with clm, or a Hugging Face GPT-2
 * directory with its tokenizer. Anything else is one line (exit 2) saying what generate needs.
 */
const generateSource = async (dir: string): Promise<GenerateSource> => {
  if (isTrainRun(dir)) {
    const run = await loadTrainRun(dir);
    if (E.isLeft(run)) throw new CliError(run.left.message, run.left.code);
    if (run.right.config.objective !== 'clm') throw usageError(`${dir} was trained with ${run.right.config.objective}; generate needs a causal model trained with clm`);
    return run.right;
  }
  const cfg = configJsonOf(dir);
  if (cfg.exists && isGpt2HfConfig(cfg.json)) {
    const m = await readGpt2HfDirectory(dir);
    if (E.isLeft(m)) throw usageError(m.left.message);
    const tok = readGpt2HfTokenizer(dir, m.right.config.vocabSize);
    if (E.isLeft(tok)) throw usageError(tok.left.message);
    return { model: gpt2LMHeadModel(m.right.config), params: m.right.params, tokenizer: tok.right };
  }
  const type = (cfg.json as { model_type?: unknown } | undefined)?.model_type;
  if (cfg.exists && typeof type === 'string') throw usageError(`${dir} holds a Hugging Face ${type} model; generate needs a causal model: a Hugging Face GPT-2 directory (model_type gpt2) or a lamina train --objective clm run`);
  throw usageError(`${dir} is not a lamina train run directory, nor a Hugging Face GPT-2 directory (generate needs a model trained with lamina train --objective clm, or config.json with model_type gpt2)`);
};

/** `lamina generate`. */
export const generateCmd: Command = {
  name: 'generate',
  summary: 'continue a prompt with a causal model (a lamina train --objective clm run, or a Hugging Face GPT-2 directory)',
  usage: 'lamina generate --checkpoint <run-dir|hf-gpt2-dir> --prompt "…" [--max-new-tokens N] [--temperature T] [--top-k K] [--top-p P] [--seed N] [--no-cache] [--json]',
  options: {
    checkpoint: { type: 'string', arg: 'dir', help: 'a lamina train run directory (objective clm), or a Hugging Face GPT-2 directory (config.json, model.safetensors, vocab.json + merges.txt)' },
    prompt: { type: 'string', arg: 'text', help: 'the text to continue' },
    'max-new-tokens': intOption('tokens to add at most (stops early at the end of a document)', { min: 1, max: 100_000, default: 50 }),
    temperature: numberOption('sampling temperature (0: greedy)', { min: 0, max: 100, default: 1, arg: 'T' }),
    'top-k': intOption('sample among the K most likely tokens (default: all)', { min: 1, max: LIMITS.vocabSize, arg: 'K' }),
    'top-p': numberOption('sample among the most likely tokens whose probability reaches P (> 0)', { min: 0, max: 1, default: 1, arg: 'P' }),
    seed: intOption('seed of sampling (the same seed gives the same text)', { min: 0, max: LIMITS.seed, default: 12345 }),
    'no-cache': { type: 'boolean', help: 'run the whole window through the model for each new token instead of decoding with a key/value cache (to compare)' },
    json: { type: 'boolean', help: 'print one JSON object (text, ids, tokens/s, decoding path and engine)' },
    backend: { type: 'string', arg: 'name', help: 'tensorflow-gpu|tensorflow|wasm|cpu' },
  },
  examples: [
    'lamina generate --checkpoint runs/tiny-gpt --prompt "Call me" --max-new-tokens 40 --temperature 0.8 --top-k 40',
    'lamina generate --checkpoint runs/tiny-gpt --prompt "The whale" --temperature 0',
    'lamina generate --checkpoint packages/albert/test/fixtures/bpe/gpt2-tiny --prompt "Call me Ishmael." --max-new-tokens 12 --temperature 0',
  ],
  async run(v) {
    const dir = str(v, 'checkpoint', 'generate');
    const prompt = str(v, 'prompt', 'generate');
    const O = generateCmd.options;
    const maxNewTokens = numOr(O, v, 'max-new-tokens');
    const temperature = numOr(O, v, 'temperature');
    const topK = optNum(O, v, 'top-k');
    const topP = numOr(O, v, 'top-p');
    if (topP === 0) throw usageError('--top-p must be a number > 0 and <= 1, got "0"');
    const seed = numOr(O, v, 'seed');
    const src = await generateSource(dir);
    const ok = checkPrompt(src.model, src.tokenizer, prompt);
    if (E.isLeft(ok)) throw usageError(ok.left);
    await useBackend(v);
    const g = await generate({
      model: src.model,
      params: src.params,
      tokenizer: src.tokenizer,
      prompt,
      maxNewTokens,
      sampling: { temperature, ...(topK === undefined ? {} : { topK }), topP },
      seed,
      cache: v['no-cache'] !== true,
      onPlan: (line) => process.stderr.write(`${line}\n`),
    });
    if (E.isLeft(g)) throw usageError(g.left);
    const r = g.right;
    if (v.json === true)
      console.log(JSON.stringify({ text: r.text, continuation: r.continuation, ids: r.ids, promptTokens: r.promptTokens, newTokens: r.newTokens, stop: r.stop, decoding: r.decoding, engine: r.engine ?? null, seconds: r.seconds, tokensPerSecond: r.newTokens / Math.max(1e-9, r.seconds) }));
    else console.log(r.text);
    return EXIT.ok;
  },
};
