// The ServerDef encoder: exact bytes for a small case (worked out by hand from the wire format),
// varint laws, and a decode with TensorFlow's own schema (the descriptors compiled into the
// libtensorflow the binding loads), through the venv's google.protobuf.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeServerDef, varint } from '../src/distributed/proto.js';

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

const decodeVarint = (bytes: readonly number[]): number => bytes.reduce((acc, b, i) => acc + (b & 0x7f) * 2 ** (7 * i), 0);

describe('varint', () => {
  it('round-trips and uses the continuation bit on every byte but the last', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (n) => {
        const v = varint(n);
        expect(decodeVarint(v)).toBe(n);
        v.slice(0, -1).forEach((b) => expect(b & 0x80).toBe(0x80));
        expect((v[v.length - 1] as number) & 0x80).toBe(0);
      }),
    );
    expect(varint(300)).toEqual([0xac, 0x02]);
  });
});

describe('encodeServerDef', () => {
  it('writes the expected bytes for a one-task cluster', () => {
    const s = (x: string) => Array.from(new TextEncoder().encode(x));
    // JobDef{name:"w" (0a 01 77), tasks{key:0 omitted, value:"h:1" (12 03 …)} (12 05 …)}
    const job = [0x0a, 0x01, ...s('w'), 0x12, 0x05, 0x12, 0x03, ...s('h:1')];
    const cluster = [0x0a, job.length, ...job];
    const want = [0x0a, cluster.length, ...cluster, 0x12, 0x01, ...s('w'), 0x2a, 0x04, ...s('grpc')];
    expect(Array.from(encodeServerDef({ jobName: 'w', taskIndex: 0, tasks: ['h:1'] }))).toEqual(want);
  });

  it('puts the task index (field 3) and the group leader (config 4 → experimental 16 → field 1)', () => {
    const b = Array.from(encodeServerDef({ jobName: 'w', taskIndex: 2, tasks: ['a:1', 'b:2', 'c:3'], collectiveGroupLeader: 'L' }));
    const i = b.indexOf(0x18);
    expect(b.slice(i, i + 2)).toEqual([0x18, 0x02]);
    const cfg = b.indexOf(0x22);
    expect(b.slice(cfg, cfg + 7)).toEqual([0x22, 0x06, 0x82, 0x01, 0x03, 0x0a, 0x01]);
  });

  it.skipIf(!fs.existsSync(venvPython) || frameworkLib === undefined)('decodes with TensorFlow 2.21’s own ServerDef schema (needs .venv)', () => {
    const bytes = encodeServerDef({
      jobName: 'worker',
      taskIndex: 1,
      tasks: ['127.0.0.1:5000', '10.0.0.2:2222'],
      collectiveGroupLeader: '/job:worker/replica:0/task:0',
      coordination: { serviceType: 'standalone', serviceLeader: '/job:worker/replica:0/task:0', heartbeatTimeoutMs: 30000 },
    });
    const r = spawnSync(venvPython, [path.join(root, 'scripts/python/decode_server_def.py'), frameworkLib as string], { input: Buffer.from(bytes), encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(
      'cluster { job { name: "worker" tasks { value: "127.0.0.1:5000" } tasks { key: 1 value: "10.0.0.2:2222" } } } job_name: "worker" task_index: 1 ' +
        'default_session_config { experimental { collective_group_leader: "/job:worker/replica:0/task:0" coordination_config { service_type: "standalone" ' +
        'service_leader: "/job:worker/replica:0/task:0" heartbeat_timeout_in_ms: 30000 } } } protocol: "grpc"',
    );
  });
});
