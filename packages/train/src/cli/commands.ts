/**
 * The registry of `lamina` subcommands.
 * @module
 */
import type { Command } from './command.js';
import { doctor } from './doctor.js';
import { tokenize, tokenizerTrain } from './tokenize.js';
import { pretrain } from './pretrain.js';
import { params, summaryCmd } from './params.js';
import { exportHf, forward } from './forward.js';
import { evalCmd } from './eval.js';
import { demo } from './demo.js';
import { evalTask, finetune } from './finetune.js';
import { train } from './train.js';
import { generateCmd } from './generate.js';

/** Every `lamina` subcommand, in the order `lamina --help` lists them. */
export const commands: readonly Command[] = [demo, pretrain, finetune, train, generateCmd, evalCmd, evalTask, forward, params, summaryCmd, exportHf, doctor, tokenize, tokenizerTrain];
