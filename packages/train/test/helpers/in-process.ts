// Runs the `lamina` CLI in this process (no child process, no second TensorFlow start-up) and
// captures what it prints: fast enough to test many bad inputs. The bin's own behaviour (hiding
// TensorFlow's log lines, signals) is tested through `cli` in tiny-run.ts.
import { main } from '../../src/cli/main.js';

export interface InProcessResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Non-empty stderr lines. */
  readonly errLines: string[];
}

/** Runs `lamina <args>` in-process; stdout/stderr (console and direct writes) are captured. */
export const runCli = async (args: readonly string[]): Promise<InProcessResult> => {
  let stdout = '';
  let stderr = '';
  const saved = { log: console.log, error: console.error, warn: console.warn, out: process.stdout.write, err: process.stderr.write };
  console.log = (...a: unknown[]) => void (stdout += `${a.join(' ')}\n`);
  console.error = (...a: unknown[]) => void (stderr += `${a.join(' ')}\n`);
  console.warn = console.error;
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
  let status: number;
  try {
    status = await main([...args]);
  } finally {
    console.log = saved.log;
    console.error = saved.error;
    console.warn = saved.warn;
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
  }
  return { status, stdout, stderr, errLines: stderr.split('\n').filter((l) => l.trim() !== '') };
};
