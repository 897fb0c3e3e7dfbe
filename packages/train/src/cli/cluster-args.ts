/**
 * The distributed-training flags every training command takes (`--workers`, `--cluster`,
 * `--task-index`, `--collective-timeout`, plus the `TF_CONFIG` environment variable), and the one
 * function that turns them into what the command runs as: a single process, a launcher of local
 * workers, or one worker of a group (collectives enabled before any tensor exists).
 *
 * @example
 * ```ts
 * const how = clusterRun(values, 'pretrain', PRETRAIN_OPTIONS);
 * if (how.kind === 'launch') await how.launch();  // this process only launches the workers
 * else {
 *   await useBackend(values);
 *   const group = how.kind === 'member' ? how.join() : undefined;
 * }
 * ```
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveCluster, tfConfigOf } from '../distributed/cluster.js';
import type { DataParallelGroup } from '../distributed/group.js';
import { LAUNCHED_ENV, launchLocalWorkers } from '../distributed/launch.js';
import { joinCluster } from '../distributed/runtime.js';
import { CliError, num, optStr, usageError, type OptionSpec } from './command.js';

/** The distributed flags (in `--help` of every training command). */
export const CLUSTER_OPTIONS = {
  workers: { type: 'string', arg: 'N', help: 'data-parallel over N local worker processes on loopback (each takes a share of every global batch)', default: '1' },
  cluster: { type: 'string', arg: 'host:port,…', help: 'every worker of a multi-machine run, task 0 first (or set TF_CONFIG); trusted network only: gRPC has no authentication' },
  'task-index': { type: 'string', arg: 'i', help: 'which --cluster worker this process is (0 is the chief: it alone writes)' },
  'collective-timeout': { type: 'string', arg: 's', help: 'seconds a worker waits for the others at a step before it reports the one that stopped answering', default: '120' },
} as const satisfies Record<string, OptionSpec>;

/** Seconds a worker waits at start-up for the others to come up and agree. */
export const STARTUP_SECONDS = 600;

/** How a training command runs. */
export type ClusterRun =
  | { readonly kind: 'single' }
  | { readonly kind: 'launch'; readonly count: number; launch(): Promise<number> }
  | { readonly kind: 'member'; join(): DataParallelGroup };

const laminaScript = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/lamina.js');

/** The argv that reproduces `values` for `options` (for the launched workers), without the cluster flags. */
export const argvOf = (values: Record<string, unknown>, options: Readonly<Record<string, OptionSpec>>): string[] =>
  Object.entries(options).flatMap(([k, o]) => {
    if (k in CLUSTER_OPTIONS && k !== 'collective-timeout') return [];
    const v = values[k];
    if (o.type === 'boolean') return v === true ? [`--${k}`] : [];
    return typeof v === 'string' ? [`--${k}`, v] : [];
  });

/**
 * Resolves the cluster flags of `command` (`values` as parsed from `options`). A worker's `join`
 * enables collectives: call it after the backend is selected and before any tensor exists.
 * Bad flags are a usage error (exit 2); a worker that cannot start (`join`) is exit 1.
 */
export const clusterRun = (values: Record<string, unknown>, command: string, options: Readonly<Record<string, OptionSpec>>): ClusterRun => {
  const plan = resolveCluster({ workers: optStr(values, 'workers'), cluster: optStr(values, 'cluster'), taskIndex: optStr(values, 'task-index'), tfConfig: process.env.TF_CONFIG });
  if (E.isLeft(plan)) throw usageError(plan.left.message);
  const timeoutSeconds = num(values, 'collective-timeout', 120, { min: 1 });
  const p = plan.right;
  if (p.kind === 'single') return p;
  if (p.kind === 'launch')
    return { kind: 'launch', count: p.count, launch: () => launchLocalWorkers({ count: p.count, script: laminaScript, args: [command, ...argvOf(values, options)], timeoutSeconds }) };
  const out = optStr(values, 'out') ?? optStr(values, 'checkpoint') ?? '<run-dir>';
  const launched = process.env[LAUNCHED_ENV];
  const resumeHint = launched
    ? `lamina ${command} --out ${out} --resume --workers ${launched}`
    : p.source === 'TF_CONFIG'
      ? `TF_CONFIG='${tfConfigOf({ workers: p.workers, taskIndex: p.taskIndex }).replace(/"index":\d+/, '"index":<i>')}' lamina ${command} --out ${out} --resume (on every worker)`
      : `lamina ${command} --out ${out} --resume --cluster ${p.workers.join(',')} --task-index <i> (on every worker)`;
  return {
    kind: 'member',
    join: () => {
      const g = joinCluster(p, { timeoutSeconds, startupSeconds: Math.max(STARTUP_SECONDS, timeoutSeconds), resumeHint });
      if (E.isLeft(g)) throw new CliError(g.left.message, g.left.code);
      return g.right;
    },
  };
};
