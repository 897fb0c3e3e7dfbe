/**
 * `--workers N`: N local worker processes over loopback, each on a free port, started as
 * `lamina <command> … --cluster 127.0.0.1:p0,… --task-index i` and supervised: their output
 * passes through (task 0 reports; the others print only errors), a Ctrl-C or SIGTERM is passed on
 * once, and when one worker fails the others get the collective timeout (plus a grace period) to
 * notice and report it before they are stopped. Nothing is left running.
 *
 * @example
 * ```ts
 * const code = await launchLocalWorkers({ count: 2, script: 'packages/train/bin/lamina.js', args: ['pretrain', '--out', 'runs/x'], timeoutSeconds: 60 });
 * ```
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';

/** The environment variable a launched worker sees: the `--workers` count it was launched with. */
export const LAUNCHED_ENV = 'LAMINA_LAUNCHED_WORKERS';

/** Options of {@link launchLocalWorkers}. */
export interface LaunchOptions {
  readonly count: number;
  /** The CLI script the workers run (`packages/train/bin/lamina.js`). */
  readonly script: string;
  /** The command and its arguments, without `--workers`. */
  readonly args: readonly string[];
  /** The collective timeout the workers use (seconds). */
  readonly timeoutSeconds: number;
  /** Extra seconds after the timeout before the remaining workers are stopped (default 30). */
  readonly graceSeconds?: number;
  /** Called with every worker's pid and address once they are started (tests, bench). */
  readonly onStart?: (workers: readonly { pid: number; address: string }[]) => void;
}

/** `count` distinct free TCP ports on 127.0.0.1 (held open together, then released). */
export const freePorts = async (count: number): Promise<number[]> => {
  const servers: net.Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const s = net.createServer();
      servers.push(s);
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(0, '127.0.0.1', () => resolve());
      });
      ports.push((s.address() as net.AddressInfo).port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(() => r(undefined)))));
  }
};

/**
 * Starts `count` workers and waits for all of them. The exit code is 0 when every worker
 * succeeded, else task 0's code when it failed, else the first failure's (1 for a signal).
 */
export const launchLocalWorkers = async (o: LaunchOptions): Promise<number> => {
  const ports = await freePorts(o.count);
  const cluster = ports.map((p) => `127.0.0.1:${p}`).join(',');
  const children: ChildProcess[] = [];
  const codes: (number | undefined)[] = new Array(o.count).fill(undefined);
  let killTimer: NodeJS.Timeout | undefined;
  const alive = () => children.filter((c, i) => codes[i] === undefined && c.pid !== undefined);
  const forward = (sig: NodeJS.Signals) => () => alive().forEach((c) => c.kill(sig));
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  const onExit = () => alive().forEach((c) => c.kill('SIGKILL'));
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  process.on('exit', onExit);
  try {
    const done = Array.from({ length: o.count }, (_, i) => {
      const c = spawn(process.execPath, [o.script, ...o.args, '--cluster', cluster, '--task-index', String(i)], {
        // own process group: a terminal's Ctrl-C reaches the launcher only, which passes it on once
        detached: true,
        stdio: 'inherit',
        env: { ...process.env, [LAUNCHED_ENV]: String(o.count), TF_CPP_MIN_LOG_LEVEL: process.env.TF_CPP_MIN_LOG_LEVEL ?? '2' },
      });
      children.push(c);
      return new Promise<void>((resolve) => {
        const finish = (code: number) => {
          if (codes[i] !== undefined) return;
          codes[i] = code;
          if (code !== 0 && killTimer === undefined)
            killTimer = setTimeout(() => alive().forEach((x) => x.kill('SIGKILL')), (o.timeoutSeconds + (o.graceSeconds ?? 30)) * 1000);
          resolve();
        };
        c.once('error', () => finish(1));
        c.once('exit', (code, signal) => finish(code ?? (signal ? 1 : 0)));
      });
    });
    o.onStart?.(children.map((c, i) => ({ pid: c.pid ?? -1, address: `127.0.0.1:${ports[i]}` })));
    await Promise.all(done);
  } finally {
    if (killTimer) clearTimeout(killTimer);
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    process.off('exit', onExit);
  }
  if (codes.every((c) => c === 0)) return 0;
  if (codes[0] !== 0) return codes[0] ?? 1;
  return codes.find((c) => c !== 0) ?? 1;
};
