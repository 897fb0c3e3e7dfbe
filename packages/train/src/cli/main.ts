/**
 * The `lamina` CLI entry point: dispatches to subcommands, turns errors into one readable line
 * and an exit code (0 ok, 1 failure, 2 bad usage or bad input).
 * @module
 */
import { type Command, CliError, EXIT, helpText, oneLine, parseCommandArgs } from './command.js';
import { fsCause, isFsError } from '../run/rundir.js';
import { GroupFailure } from '../distributed/group.js';
import { commands } from './commands.js';

const topHelp = (): string =>
  [
    'lamina — define and train neural networks in TypeScript (ALBERT first)',
    '',
    'Usage: lamina <command> [options]     (lamina <command> --help for details)',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(16)} ${c.summary}`),
    '',
    "Every command takes --verbose (show TensorFlow's own log lines) and --help.",
    'Environment: LAMINA_BACKEND=tensorflow-gpu|tensorflow|wasm|cpu forces a backend; LAMINA_CACHE_DIR holds dataset caches;',
    '             LAMINA_DEBUG=1 prints the stack trace of an internal error.',
  ].join('\n');

/** Runs the CLI on argv (without `node` and the script) and returns the exit code. */
export const main = async (argv: string[]): Promise<number> => {
  const dd = argv.indexOf('--');
  // --verbose is for the bin (TensorFlow's log lines); it may stand anywhere before `--`
  const [name, ...rest] = argv.filter((a, i) => a !== '--verbose' || (dd >= 0 && i > dd));
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(topHelp());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  // `lamina tokenizer train` style two-word commands.
  const two = rest[0] !== undefined ? commands.find((c) => c.name === `${name} ${rest[0]}`) : undefined;
  const cmd: Command | undefined = two ?? commands.find((c) => c.name === name);
  if (!cmd) {
    console.error(`lamina: unknown command "${oneLine(name, 40)}" (commands: ${commands.map((c) => c.name).join(', ')})`);
    return EXIT.usage;
  }
  const args = two ? rest.slice(1) : rest;
  try {
    const { values, positionals } = parseCommandArgs(cmd, args);
    if (values.help === true) {
      console.log(helpText(cmd));
      return EXIT.ok;
    }
    return await cmd.run(values as Record<string, string | boolean | string[] | undefined>, positionals);
  } catch (e) {
    if (e instanceof CliError) {
      console.error(`lamina ${cmd.name}: ${oneLine(e.message)}`);
      return e.code;
    }
    if (e instanceof GroupFailure) {
      // a data-parallel worker was lost outside a step (e.g. during a sharded evaluation)
      console.error(`lamina ${cmd.name}: ${oneLine(e.message)}`);
      return EXIT.failure;
    }
    if (isFsError(e)) {
      // a file-system failure during the run (the user's paths are checked before it starts)
      const where = e.path ? `${e.syscall ?? 'access'} ${e.path}` : (e.syscall ?? 'file system');
      console.error(`lamina ${cmd.name}: ${oneLine(`cannot ${where}: ${fsCause(e)}`)}`);
      return EXIT.failure;
    }
    const msg = e instanceof Error ? e.message : String(e);
    console.error(`lamina ${cmd.name}: internal error: ${oneLine(msg.split('\n')[0] ?? '', 300)}${process.env.LAMINA_DEBUG ? '' : ' (LAMINA_DEBUG=1 prints the stack trace)'}`);
    if (process.env.LAMINA_DEBUG) console.error(e);
    return EXIT.failure;
  }
};
