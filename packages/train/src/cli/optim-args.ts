/**
 * Optimizer flags shared by the training commands (`pretrain`, `finetune`, and `train` to come),
 * so each states the same help text and only its own default.
 * @module
 */
import { usageError, type OptionSpec } from './command.js';

/**
 * The `--bias-correction on|off` option, with the command's default (see
 * `BIAS_CORRECTION_DEFAULTS` in the optimizer module: off for pretraining, on otherwise).
 * @example const OPTIONS = { 'bias-correction': biasCorrectionOption(BIAS_CORRECTION_DEFAULTS.finetune) };
 */
export const biasCorrectionOption = (defaultOn: boolean): OptionSpec => ({
  type: 'string',
  arg: 'on|off',
  help: "divide Adam's moments by 1−βᵗ, as torch.optim.AdamW and Hugging Face (off: ALBERT's reference update)",
  default: defaultOn ? 'on' : 'off',
});

/**
 * Reads `--bias-correction`; anything but `on`/`off` is a usage error naming the flag.
 * @example biasCorrectionFlag({ 'bias-correction': 'off' }, true) // false
 */
export const biasCorrectionFlag = (v: Record<string, unknown>, fallback: boolean): boolean => {
  const x = v['bias-correction'];
  if (x === undefined) return fallback;
  if (x === 'on') return true;
  if (x === 'off') return false;
  throw usageError(`--bias-correction must be on or off, got "${String(x)}"`);
};
