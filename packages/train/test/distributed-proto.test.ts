// The ServerDef a worker hands to TFE_EnableCollectiveOps (encoded by @lamina/dsl's
// encodeServerDef): exact bytes for a small case, worked out by hand from the wire format, and a
// decode with TensorFlow 2.21's own schema (the descriptors compiled into the libtensorflow the
// binding loads, read by scripts/python/decode_server_def.py with the venv's google.protobuf).
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeServerDef } from '@lamina/dsl';
import { JOB_NAME, workerTask } from '../src/distributed/cluster.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const venvPython = path.join(root, '.venv', 'bin', 'python');
const frameworkLib = (() => {
  try {
    const req = createRequire(path.join(root, 'packages', 'dsl', 'package.json'));
    const dir = path.dirname(req.resolve('@tensorflow/tfjs-node/package.json'));
    const f = path.join(dir, 'deps', 'lib', 'libtensorflow_framework.so.2');
    return fs.existsSync(f) ? f : undefined;
  } catch {
    return undefined;
  }
})();

/** The ServerDef of task `i` as runtime.ts builds it. */
const workerServerDef = (workers: string[], i: number) => encodeServerDef({ cluster: { [JOB_NAME]: workers }, jobName: JOB_NAME, taskIndex: i, config: { collectiveGroupLeader: workerTask(0) } });

describe('the ServerDef of a worker', () => {
  it('has the expected bytes for a one-task cluster', () => {
    const s = (x: string) => Array.from(new TextEncoder().encode(x));
    // JobDef{name:"w" (0a 01 77), tasks{key:0 (08 00), value:"h:1" (12 03 …)} (12 07 …)}; task_index 0 (18 00)
    const job = [0x0a, 0x01, ...s('w'), 0x12, 0x07, 0x08, 0x00, 0x12, 0x03, ...s('h:1')];
    const cluster = [0x0a, job.length, ...job];
    const want = [0x0a, cluster.length, ...cluster, 0x12, 0x01, ...s('w'), 0x18, 0x00, 0x2a, 0x04, ...s('grpc')];
    expect(Array.from(encodeServerDef({ cluster: { w: ['h:1'] }, jobName: 'w', taskIndex: 0 }))).toEqual(want);
  });

  it.skipIf(!fs.existsSync(venvPython) || frameworkLib === undefined)('decodes with TensorFlow 2.21’s own ServerDef schema (needs .venv)', () => {
    const r = spawnSync(venvPython, [path.join(root, 'scripts/python/decode_server_def.py'), frameworkLib as string], { input: Buffer.from(workerServerDef(['127.0.0.1:5000', '10.0.0.2:2222'], 1)), encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(
      'cluster { job { name: "worker" tasks { value: "127.0.0.1:5000" } tasks { key: 1 value: "10.0.0.2:2222" } } } job_name: "worker" task_index: 1 ' +
        'default_session_config { experimental { collective_group_leader: "/job:worker/replica:0/task:0" } } protocol: "grpc"',
    );
  });
});
