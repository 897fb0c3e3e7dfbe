/**
 * `lamina doctor`: which backend runs, TensorFlow's version, threads, GPU, whether graph functions
 * (one TensorFlow function per training step) are available, package versions.
 * @module
 */
import { selectBackend, BACKEND_NAMES, packageVersions, probeGraphFunctions } from '@lamina/dsl';
import * as E from 'fp-ts/lib/Either.js';
import os from 'node:os';
import { type Command, EXIT, usageError } from './command.js';

/** `lamina doctor`: exit 0 when native TensorFlow runs, 1 otherwise. */
export const doctor: Command = {
  name: 'doctor',
  summary: 'report the backend in use and whether native TensorFlow works',
  usage: 'lamina doctor [--json] [--backend <name>]',
  options: {
    json: { type: 'boolean', help: 'print one JSON object' },
    backend: { type: 'string', arg: BACKEND_NAMES.join('|'), help: 'force a backend (default: LAMINA_BACKEND, else best available)' },
  },
  examples: ['lamina doctor', 'lamina doctor --json', 'LAMINA_BACKEND=cpu lamina doctor'],
  async run(v) {
    const warnings: string[] = [];
    const r = await selectBackend({ requested: typeof v.backend === 'string' ? v.backend : undefined, warn: (m) => warnings.push(m) });
    if (E.isLeft(r)) throw usageError(r.left.message);
    const info = r.right;
    const graph = info.native ? probeGraphFunctions() : { available: false, reason: 'needs the native TensorFlow backend' };
    const report = {
      backend: info.name,
      native: info.native,
      tensorflow: info.tensorflowVersion ?? null,
      tfjs: info.tfjsVersion,
      threads: info.threads,
      cores: os.availableParallelism(),
      gpu: info.gpu,
      graphFunctions: graph.available,
      graphFunctionsReason: graph.reason,
      fellBack: info.fellBack,
      reasons: info.reasons,
      warnings,
      node: process.versions.node,
      platform: `${process.platform}-${process.arch}`,
      packages: packageVersions(),
    };
    if (v.json === true) {
      console.log(JSON.stringify(report, null, 2));
    } else {
      for (const w of warnings) console.error(w);
      const rows: [string, string][] = [
        ['backend', `${info.name}${info.native ? ' (native TensorFlow)' : ' (NOT native)'}`],
        ['tensorflow', info.tensorflowVersion ?? '-'],
        ['tfjs', info.tfjsVersion],
        ['threads', `${info.threads} (of ${report.cores} cores)`],
        ['gpu', info.gpu ? 'NVIDIA GPU visible' : 'none'],
        ['graph functions', graph.available ? `available (${graph.reason})` : `NOT available: ${graph.reason}`],
        ['node', `${report.node} ${report.platform}`],
        ...Object.entries(report.packages).map(([k, x]): [string, string] => [k, x ?? 'not installed']),
        ['why', info.reasons.join('; ')],
      ];
      for (const [k, x] of rows) console.log(`${k.padEnd(30)} ${x}`);
    }
    return info.native ? EXIT.ok : EXIT.failure;
  },
};
