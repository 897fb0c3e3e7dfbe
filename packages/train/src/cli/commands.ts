/**
 * The registry of `lamina` subcommands.
 * @module
 */
import type { Command } from './command.js';
import { doctor } from './doctor.js';

export const commands: readonly Command[] = [doctor];
