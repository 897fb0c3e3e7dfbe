/**
 * The registry of `lamina` subcommands.
 * @module
 */
import type { Command } from './command.js';
import { doctor } from './doctor.js';
import { tokenize, tokenizerTrain } from './tokenize.js';
import { pretrain } from './pretrain.js';
import { params, summaryCmd } from './params.js';
import { evalTask, finetune } from './finetune.js';

export const commands: readonly Command[] = [pretrain, finetune, evalTask, params, summaryCmd, doctor, tokenize, tokenizerTrain];
