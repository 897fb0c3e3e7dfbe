/**
 * The registry of `lamina` subcommands.
 * @module
 */
import type { Command } from './command.js';
import { doctor } from './doctor.js';
import { tokenize, tokenizerTrain } from './tokenize.js';

export const commands: readonly Command[] = [doctor, tokenize, tokenizerTrain];
