// Resolving --workers / --cluster --task-index / TF_CONFIG into one validated cluster plan.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { parseTfConfig, resolveCluster, tfConfigOf, type ClusterPlan } from '../src/distributed/cluster.js';

const ok = (r: E.Either<{ message: string }, ClusterPlan>): ClusterPlan => {
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};
const err = (r: E.Either<{ message: string }, unknown>): string => (E.isLeft(r) ? r.left.message : 'no error');

describe('resolveCluster', () => {
  it('nothing, or --workers 1, is a single process; --workers N launches N', () => {
    expect(ok(resolveCluster({}))).toEqual({ kind: 'single' });
    expect(ok(resolveCluster({ workers: '1' }))).toEqual({ kind: 'single' });
    expect(ok(resolveCluster({ workers: '3' }))).toEqual({ kind: 'launch', count: 3 });
    expect(err(resolveCluster({ workers: '0' }))).toMatch(/--workers must be an integer in 1\.\.64, got "0"/);
    expect(err(resolveCluster({ workers: '2.5' }))).toMatch(/--workers/);
  });

  it('--cluster with --task-index names this worker', () => {
    expect(ok(resolveCluster({ cluster: '10.0.0.1:2222,host-b:2222', taskIndex: '1' }))).toEqual({ kind: 'member', workers: ['10.0.0.1:2222', 'host-b:2222'], taskIndex: 1, source: '--cluster' });
  });

  it('refuses incomplete or contradictory flags with one readable message', () => {
    expect(err(resolveCluster({ cluster: 'a:1,b:2' }))).toMatch(/--cluster needs --task-index \(0\.\.1\)/);
    expect(err(resolveCluster({ taskIndex: '0' }))).toMatch(/--task-index needs --cluster/);
    expect(err(resolveCluster({ workers: '2', cluster: 'a:1' }))).toMatch(/exclude each other/);
    expect(err(resolveCluster({ cluster: 'a:1,b:2', taskIndex: '2' }))).toMatch(/--task-index must be an integer in 0\.\.1 for a cluster of 2, got "2"/);
    expect(err(resolveCluster({ cluster: 'a:1,a:1', taskIndex: '0' }))).toMatch(/a:1 is listed twice/);
    expect(err(resolveCluster({ cluster: 'a:1,b', taskIndex: '0' }))).toMatch(/--cluster entry 1: "b" is not host:port/);
    expect(err(resolveCluster({ cluster: 'a:70000', taskIndex: '0' }))).toMatch(/port 70000/);
  });

  it('reads TF_CONFIG when no flag is given; flags win over it', () => {
    const tf = JSON.stringify({ cluster: { worker: ['a:1', 'b:2'] }, task: { type: 'worker', index: 0 } });
    expect(ok(resolveCluster({ tfConfig: tf }))).toEqual({ kind: 'member', workers: ['a:1', 'b:2'], taskIndex: 0, source: 'TF_CONFIG' });
    expect(ok(resolveCluster({ tfConfig: tf, workers: '2' }))).toEqual({ kind: 'launch', count: 2 });
  });

  it('refuses TF_CONFIG it cannot honour', () => {
    expect(err(parseTfConfig('{'))).toMatch(/TF_CONFIG is not JSON/);
    expect(err(parseTfConfig(JSON.stringify({ cluster: { chief: ['a:1'], worker: ['b:2'] }, task: { type: 'worker', index: 0 } })))).toMatch(/only a "worker" job is supported.*"chief"/);
    expect(err(parseTfConfig(JSON.stringify({ cluster: { worker: ['a:1'] }, task: { type: 'ps', index: 0 } })))).toMatch(/task.type must be "worker"/);
    expect(err(parseTfConfig(JSON.stringify({ cluster: { worker: ['a:1'] }, task: { type: 'worker', index: 1 } })))).toMatch(/task.index must be an integer in 0\.\.0/);
  });

  it('tfConfigOf is the TF_CONFIG that resolves back to the same member (round trip)', () => {
    const addr = fc.tuple(fc.constantFrom('127.0.0.1', 'host-a', '10.1.2.3', 'x.example.org'), fc.integer({ min: 1, max: 65535 })).map(([h, p]) => `${h}:${p}`);
    fc.assert(
      fc.property(fc.uniqueArray(addr, { minLength: 1, maxLength: 8 }), fc.nat(), (workers, k) => {
        const m = { workers, taskIndex: k % workers.length };
        expect(ok(resolveCluster({ tfConfig: tfConfigOf(m) }))).toEqual({ kind: 'member', ...m, source: 'TF_CONFIG' });
        expect(ok(resolveCluster({ cluster: workers.join(','), taskIndex: String(m.taskIndex) }))).toEqual({ kind: 'member', ...m, source: '--cluster' });
      }),
    );
  });
});
