import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import {
  formatMetricLine,
  openMetricsLog,
  openMetricsLogger,
  parseMetricsText,
  readMetrics,
  type MetricsContent,
} from '../src/metrics.js';

const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'lamina-metrics-'));
const right = <A>(r: E.Either<{ message: string }, A>): A => {
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};

describe('metrics.jsonl', () => {
  it('writes one JSON object per line and reads it back, NaN as null', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'metrics.jsonl');
    const log = right(openMetricsLog(file));
    right(log.append(1, { loss: 3.5, lr: 1e-4 }, 100));
    right(log.append(2, { loss: NaN }, 101.5));
    log.close();
    expect(fs.readFileSync(file, 'utf8')).toBe('{"step":1,"time":100,"loss":3.5,"lr":0.0001}\n{"step":2,"time":101.5,"loss":null}\n');
    const back = right(readMetrics(file));
    expect(back.tornTail).toBe(false);
    expect(back.records.map((r) => r.step)).toEqual([1, 2]);
    expect(back.records[0]!.values).toEqual({ loss: 3.5, lr: 1e-4 });
    expect(Number.isNaN(back.records[1]!.values.loss)).toBe(true);
  });

  it('reads a missing file as empty and refuses reserved names', () => {
    const dir = tmpDir();
    expect(right(readMetrics(path.join(dir, 'none.jsonl'))).records).toEqual([]);
    const log = right(openMetricsLog(path.join(dir, 'm.jsonl')));
    const r = log.append(1, { step: 3 });
    expect(E.isLeft(r) && r.left.message).toBe('metric name "step" is reserved (step and time are written automatically)');
    log.close();
    expect(E.isLeft(log.append(2, { loss: 1 }))).toBe(true);
  });

  it('tolerates a torn last line (kill -9) and repairs it before appending', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'metrics.jsonl');
    const good = formatMetricLine({ step: 1, time: 5, values: { loss: 2 } }) + formatMetricLine({ step: 2, time: 6, values: { loss: 1.5 } });
    fs.writeFileSync(file, `${good}{"step":3,"time":7,"lo`);
    const r = right(readMetrics(file));
    expect(r.records.map((x) => x.step)).toEqual([1, 2]);
    expect(r.tornTail).toBe(true);
    const log = right(openMetricsLog(file));
    right(log.append(3, { loss: 1.25 }, 8));
    log.close();
    expect(fs.readFileSync(file, 'utf8')).toBe(`${good}{"step":3,"time":8,"loss":1.25}\n`);
  });

  it('keeps a complete last record that only lost its newline, and adds the newline back', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'metrics.jsonl');
    fs.writeFileSync(file, '{"step":1,"time":5,"loss":2}');
    expect(right(readMetrics(file))).toEqual<MetricsContent>({ records: [{ step: 1, time: 5, values: { loss: 2 } }], tornTail: false, goodBytes: 28 });
    const log = right(openMetricsLog(file));
    right(log.append(2, { loss: 1 }, 6));
    log.close();
    expect(right(readMetrics(file)).records.map((x) => x.step)).toEqual([1, 2]);
  });

  it('reports a malformed line in the middle with its line number', () => {
    const r = parseMetricsText('{"step":1,"time":0}\nnot json\n{"step":2,"time":0}\n', 'm.jsonl');
    expect(r).toEqual(E.left({ _tag: 'MetricsError', message: 'm.jsonl: line 2 is not a metrics record: not json' }));
  });

  it('drops records after the resumed step so no step appears twice', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'metrics.jsonl');
    const log = right(openMetricsLog(file));
    for (let s = 1; s <= 5; s++) right(log.append(s, { loss: 10 - s }, s));
    log.close();
    const resumed = right(openMetricsLog(file, { truncateAfterStep: 3 }));
    right(resumed.append(4, { loss: 0.5 }, 99));
    resumed.close();
    const recs = right(readMetrics(file)).records;
    expect(recs.map((r) => [r.step, r.values.loss])).toEqual([[1, 9], [2, 8], [3, 7], [4, 0.5]]);
  });
});

describe('metrics logger with TensorBoard', () => {
  it('writes metrics.jsonl and TensorBoard event files on the native backend', () => {
    const runDir = tmpDir();
    const notes: string[] = [];
    const m = right(openMetricsLogger({ runDir, note: (s) => notes.push(s) }));
    expect(m.tensorboard).toBe(true);
    right(m.log(1, { 'train/loss': 2.5 }));
    right(m.log(2, { 'train/loss': 2.25 }));
    m.close();
    expect(notes).toEqual([]);
    expect(right(readMetrics(path.join(runDir, 'metrics.jsonl'))).records.map((r) => r.values['train/loss'])).toEqual([2.5, 2.25]);
    const events = fs.readdirSync(path.join(runDir, 'tensorboard')).filter((f) => f.startsWith('events.out.tfevents'));
    expect(events.length).toBe(1);
    const bytes = fs.readFileSync(path.join(runDir, 'tensorboard', events[0]!));
    expect(bytes.includes(Buffer.from('train/loss'))).toBe(true);
  });

  it('can be told not to write TensorBoard files', () => {
    const runDir = tmpDir();
    const m = right(openMetricsLogger({ runDir, tensorboard: false }));
    expect(m.tensorboard).toBe(false);
    m.close();
    expect(fs.existsSync(path.join(runDir, 'tensorboard'))).toBe(false);
  });
});
