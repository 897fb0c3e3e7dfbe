/**
 * `lamina generate`: continues a prompt with a causal model trained by `lamina train --objective
 * clm` (its run directory).
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import { checkPrompt, generate } from '../run/generate.js';
import { isTrainRun, loadTrainRun } from '../run/train.js';
import { type Command, CliError, EXIT, num, optStr, str, usageError } from './command.js';
import { useBackend } from './pretrain.js';

/** `lamina generate`. */
export const generateCmd: Command = {
  name: 'generate',
  summary: 'continue a prompt with a causal model (a lamina train --objective clm run)',
  usage: 'lamina generate --checkpoint <run-dir> --prompt "…" [--max-new-tokens N] [--temperature T] [--top-k K] [--top-p P] [--seed N] [--json]',
  options: {
    checkpoint: { type: 'string', arg: 'dir', help: 'a lamina train run directory (objective clm)' },
    prompt: { type: 'string', arg: 'text', help: 'the text to continue' },
    'max-new-tokens': { type: 'string', arg: 'N', help: 'tokens to add at most (stops early at the end of a document)', default: '50' },
    temperature: { type: 'string', arg: 'T', help: 'sampling temperature (0: greedy)', default: '1' },
    'top-k': { type: 'string', arg: 'K', help: 'sample among the K most likely tokens (default: all)' },
    'top-p': { type: 'string', arg: 'P', help: 'sample among the most likely tokens whose probability reaches P', default: '1' },
    seed: { type: 'string', arg: 'N', help: 'seed of sampling (the same seed gives the same text)', default: '12345' },
    json: { type: 'boolean', help: 'print one JSON object (text, ids, tokens/s)' },
    backend: { type: 'string', arg: 'name', help: 'tensorflow-gpu|tensorflow|wasm|cpu' },
  },
  examples: ['lamina generate --checkpoint runs/tiny-gpt --prompt "Call me" --max-new-tokens 40 --temperature 0.8 --top-k 40', 'lamina generate --checkpoint runs/tiny-gpt --prompt "The whale" --temperature 0'],
  async run(v) {
    const dir = str(v, 'checkpoint', 'generate');
    const prompt = str(v, 'prompt', 'generate');
    const maxNewTokens = num(v, 'max-new-tokens', 50, { min: 1, max: 100_000, integer: true });
    const temperature = num(v, 'temperature', 1, { min: 0, max: 100 });
    const topKFlag = optStr(v, 'top-k');
    const topK = topKFlag === undefined ? undefined : num(v, 'top-k', 0, { min: 1, max: 10_000_000, integer: true });
    const topP = num(v, 'top-p', 1, { min: 0, max: 1 });
    if (topP === 0) throw usageError('--top-p must be a number > 0 and <= 1, got "0"');
    const seed = num(v, 'seed', 12345, { min: 0, max: 2 ** 32 - 1, integer: true });
    if (!isTrainRun(dir)) throw usageError(`${dir} is not a lamina train run directory (generate needs a model trained with lamina train --objective clm)`);
    const run = await loadTrainRun(dir);
    if (E.isLeft(run)) throw new CliError(run.left.message, run.left.code);
    if (run.right.config.objective !== 'clm') throw usageError(`${dir} was trained with ${run.right.config.objective}; generate needs a causal model trained with clm`);
    const ok = checkPrompt(run.right.model, run.right.tokenizer, prompt);
    if (E.isLeft(ok)) throw usageError(ok.left);
    await useBackend(v);
    const g = await generate({
      model: run.right.model,
      params: run.right.params,
      tokenizer: run.right.tokenizer,
      prompt,
      maxNewTokens,
      sampling: { temperature, ...(topK === undefined ? {} : { topK }), topP },
      seed,
    });
    if (E.isLeft(g)) throw usageError(g.left);
    const r = g.right;
    if (v.json === true)
      console.log(JSON.stringify({ text: r.text, continuation: r.continuation, ids: r.ids, promptTokens: r.promptTokens, newTokens: r.newTokens, stop: r.stop, seconds: r.seconds, tokensPerSecond: r.newTokens / Math.max(1e-9, r.seconds) }));
    else console.log(r.text);
    return EXIT.ok;
  },
};
