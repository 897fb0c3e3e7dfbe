import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors, type RawTensor } from '@lamina/dsl';
import { tinyConfig, type AlbertConfig } from '../src/config.js';
import { albertToHfConfig, HF_ARCHITECTURES, headLabels, hfNameMap, readHfDirectory, toHfStateDict, writeHfDirectory, type HfArchitecture } from '../src/hf/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..', '..');
const FIXTURES = path.join(here, 'fixtures', 'albert');
const FIXTURE_NAMES = ['groups', 'inner', 'e_eq_h'];
const venvPython = path.join(root, '.venv', 'bin', 'python');
const venvAvailable = fs.existsSync(venvPython);
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'lamina-hf-'));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
let counter = 0;
const tmpDir = (): string => {
  const d = path.join(tmpRoot, `d${counter++}`);
  fs.mkdirSync(d);
  return d;
};
/** A copy of a fixture directory (config.json + model.safetensors) that a test may damage. */
const copyFixture = (name: string): string => {
  const d = tmpDir();
  for (const f of ['config.json', 'model.safetensors']) fs.copyFileSync(path.join(FIXTURES, name, f), path.join(d, f));
  return d;
};
const right = <L extends { message: string }, A>(r: E.Either<L, A>): A => {
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};
const leftMessage = <L extends { message: string }, A>(r: E.Either<L, A>): string => {
  if (E.isRight(r)) throw new Error('expected a Left');
  return r.left.message;
};
const randomParams = (c: AlbertConfig, arch: HfArchitecture, labels?: number, seed = 5): Record<string, RawTensor> => {
  let s = seed;
  const next = (): number => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648 - 0.5;
  };
  return Object.fromEntries(
    hfNameMap(c, arch, labels).map((e) => [e.lamina, { dtype: 'float32', shape: e.shape, data: Float32Array.from({ length: e.shape.reduce((a, b) => a * b, 1) }, next) } satisfies RawTensor]),
  );
};

describe('reading the reference fixtures', () => {
  for (const name of FIXTURE_NAMES)
    it(`loads fixture "${name}" with no missing or unexpected tensors and the config io.json records`, async () => {
      const m = right(await readHfDirectory(path.join(FIXTURES, name)));
      const io = JSON.parse(fs.readFileSync(path.join(FIXTURES, name, 'io.json'), 'utf8'));
      expect(m.architecture).toBe('AlbertForPreTraining');
      expect(m.config).toMatchObject({
        vocabSize: io.config.vocab_size,
        embeddingSize: io.config.embedding_size,
        hiddenSize: io.config.hidden_size,
        numHiddenLayers: io.config.num_hidden_layers,
        numHiddenGroups: io.config.num_hidden_groups,
        innerGroupNum: io.config.inner_group_num,
        intermediateSize: io.config.intermediate_size,
        hiddenAct: 'gelu_new',
        layerNormEps: 1e-12,
        sharing: 'all',
        factorized: true,
      });
      const map = hfNameMap(m.config, 'AlbertForPreTraining');
      expect(Object.keys(m.params).sort()).toEqual(map.map((e) => e.lamina).sort());
      // LayerNorms are non-trivial (not the 1/0 init), so a parity test would notice a mix-up.
      const gamma = m.params['encoder.group0.layer0.ffn_norm.gamma']!.data;
      expect(Array.from(gamma).some((v) => Math.abs(v - 1) > 0.05)).toBe(true);
    });

  it('can read a pretraining checkpoint as AlbertModel when told to ignore the heads', async () => {
    const dir = path.join(FIXTURES, 'groups');
    expect(leftMessage(await readHfDirectory(dir, { architecture: 'AlbertModel' }))).toMatch(/unexpected 7: predictions\.LayerNorm\.bias/);
    const m = right(await readHfDirectory(dir, { architecture: 'AlbertModel', allowUnexpected: true }));
    expect(Object.keys(m.params).sort()).toEqual(hfNameMap(m.config, 'AlbertModel').map((e) => e.lamina).sort());
  });
});

describe('writeHfDirectory', () => {
  it('writes config.json and model.safetensors that read back to the same parameters', async () => {
    const src = right(await readHfDirectory(path.join(FIXTURES, 'inner')));
    const dir = path.join(tmpDir(), 'nested', 'out');
    right(await writeHfDirectory(dir, src.config, src.architecture, src.params));
    expect(fs.readdirSync(dir).sort()).toEqual(['config.json', 'model.safetensors']);
    const back = right(await readHfDirectory(dir));
    expect(back.config).toEqual(src.config);
    for (const [k, t] of Object.entries(src.params)) expect(Array.from(back.params[k]!.data), k).toEqual(Array.from(t.data));
    // Same tensor names and metadata as HF's own save_pretrained output.
    const ours = right(decodeSafetensors(fs.readFileSync(path.join(dir, 'model.safetensors'))));
    const theirs = right(decodeSafetensors(fs.readFileSync(path.join(FIXTURES, 'inner', 'model.safetensors'))));
    expect(Object.keys(ours.tensors).sort()).toEqual(Object.keys(theirs.tensors).sort());
    expect(ours.metadata).toEqual(theirs.metadata);
  });

  it('infers the classifier width from the parameters', async () => {
    const c = tinyConfig();
    const dir = tmpDir();
    right(await writeHfDirectory(dir, c, 'AlbertForSequenceClassification', randomParams(c, 'AlbertForSequenceClassification', 4)));
    const back = right(await readHfDirectory(dir));
    expect(back.numLabels).toBe(4);
    expect(back.params['classifier.kernel']!.shape).toEqual([32, 4]);
  });

  it('writes nothing for a config HF cannot express or for mismatched parameters', async () => {
    const c = tinyConfig();
    const d1 = path.join(tmpDir(), 'x');
    expect(leftMessage(await writeHfDirectory(d1, { ...c, sharing: 'attention' }, 'AlbertModel', randomParams(c, 'AlbertModel')))).toMatch(/sharing "attention"/);
    const params = randomParams(c, 'AlbertModel');
    delete params['pooler.kernel'];
    expect(leftMessage(await writeHfDirectory(d1, c, 'AlbertModel', params))).toMatch(/missing 1: pooler\.kernel/);
    expect(fs.existsSync(d1)).toBe(false);
  });
});

describe('readHfDirectory errors', () => {
  it('missing directory / a file instead of a directory', async () => {
    expect(leftMessage(await readHfDirectory(path.join(tmpRoot, 'nope')))).toMatch(/no such directory: .*nope/);
    const f = path.join(tmpDir(), 'file');
    fs.writeFileSync(f, 'x');
    expect(leftMessage(await readHfDirectory(f))).toMatch(/is not a directory/);
  });

  it('no config.json / bad JSON / a config that is not ALBERT', async () => {
    const d = copyFixture('groups');
    fs.rmSync(path.join(d, 'config.json'));
    expect(leftMessage(await readHfDirectory(d))).toMatch(/has no config\.json \(found: model\.safetensors\)/);
    fs.writeFileSync(path.join(d, 'config.json'), '{"vocab_size": 64,');
    expect(leftMessage(await readHfDirectory(d))).toMatch(/config\.json is not valid JSON/);
    fs.writeFileSync(path.join(d, 'config.json'), '{"model_type": "bert"}');
    expect(leftMessage(await readHfDirectory(d))).toMatch(/config\.json: invalid ALBERT config\.json: model_type: expected "albert", got "bert"/);
  });

  it('a pickle-only checkpoint says pickle is unsupported and how to convert', async () => {
    const d = copyFixture('groups');
    fs.rmSync(path.join(d, 'model.safetensors'));
    fs.writeFileSync(path.join(d, 'pytorch_model.bin'), 'PK\u0003\u0004');
    const m = leftMessage(await readHfDirectory(d));
    expect(m).toMatch(/only a PyTorch pickle checkpoint \(pytorch_model\.bin\); pickle checkpoints are not supported/);
    expect(m).toMatch(/save_pretrained\('.*', safe_serialization=True\)/);
  });

  it('a TF-only checkpoint and a directory without weights', async () => {
    const d = copyFixture('groups');
    fs.rmSync(path.join(d, 'model.safetensors'));
    expect(leftMessage(await readHfDirectory(d))).toMatch(/has no model\.safetensors \(found: config\.json\)/);
    fs.writeFileSync(path.join(d, 'tf_model.h5'), '');
    expect(leftMessage(await readHfDirectory(d))).toMatch(/only a tf_model\.h5 checkpoint; only safetensors is supported/);
  });

  it('a truncated model.safetensors', async () => {
    const d = copyFixture('groups');
    const f = path.join(d, 'model.safetensors');
    const bytes = fs.readFileSync(f);
    fs.writeFileSync(f, bytes.subarray(0, bytes.length - 100));
    expect(leftMessage(await readHfDirectory(d))).toMatch(/model\.safetensors: .*(truncated|run past the end)/);
    fs.writeFileSync(f, bytes.subarray(0, 20));
    expect(leftMessage(await readHfDirectory(d))).toMatch(/model\.safetensors: header length \d+ runs past the end/);
  });

  it('a missing tensor and a wrong shape, by name', async () => {
    const d = copyFixture('groups');
    const f = path.join(d, 'model.safetensors');
    const t = right(decodeSafetensors(fs.readFileSync(f))).tensors;
    delete t['albert.encoder.albert_layer_groups.1.albert_layers.0.attention.key.bias'];
    t['albert.pooler.weight'] = { dtype: 'float32', shape: [16, 8], data: new Float32Array(128) };
    fs.writeFileSync(f, encodeSafetensors(t, { format: 'pt' }));
    const m = leftMessage(await readHfDirectory(d));
    expect(m).toContain(`${d}: checkpoint does not match AlbertForPreTraining`);
    expect(m).toContain('missing 1: albert.encoder.albert_layer_groups.1.albert_layers.0.attention.key.bias');
    expect(m).toContain('wrong shape or dtype 1: albert.pooler.weight (expected float32 [16, 16], got float32 [16, 8])');
  });

  it('a config that disagrees with the weights names the mis-shaped tensors', async () => {
    const d = copyFixture('groups');
    const cfg = JSON.parse(fs.readFileSync(path.join(d, 'config.json'), 'utf8'));
    fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify({ ...cfg, intermediate_size: 25 }));
    const m = leftMessage(await readHfDirectory(d));
    expect(m).toContain('albert.encoder.albert_layer_groups.0.albert_layers.0.ffn.weight (expected float32 [25, 16], got float32 [24, 16])');
  });
});

describe('sharded checkpoints', () => {
  const shard = (): { dir: string; tensors: Record<string, RawTensor> } => {
    const dir = copyFixture('groups');
    const tensors = right(decodeSafetensors(fs.readFileSync(path.join(dir, 'model.safetensors')))).tensors;
    fs.rmSync(path.join(dir, 'model.safetensors'));
    const names = Object.keys(tensors).sort();
    const half = Math.floor(names.length / 2);
    const parts = [names.slice(0, half), names.slice(half)];
    const weightMap: Record<string, string> = {};
    parts.forEach((ns, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      fs.writeFileSync(path.join(dir, file), encodeSafetensors(Object.fromEntries(ns.map((n) => [n, tensors[n]!])), { format: 'pt' }));
      for (const n of ns) weightMap[n] = file;
    });
    fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    return { dir, tensors };
  };

  it('reads a model.safetensors.index.json and its shards', async () => {
    const { dir } = shard();
    const a = right(await readHfDirectory(dir));
    const b = right(await readHfDirectory(path.join(FIXTURES, 'groups')));
    for (const [k, t] of Object.entries(b.params)) expect(Array.from(a.params[k]!.data), k).toEqual(Array.from(t.data));
  });

  it('rejects shard names outside the directory and index/shard disagreements', async () => {
    const { dir } = shard();
    const idx = path.join(dir, 'model.safetensors.index.json');
    const index = JSON.parse(fs.readFileSync(idx, 'utf8'));
    const first = Object.keys(index.weight_map)[0]!;
    fs.writeFileSync(idx, JSON.stringify({ weight_map: { ...index.weight_map, [first]: '../evil.safetensors' } }));
    expect(leftMessage(await readHfDirectory(dir))).toMatch(/invalid shard "\.\.\/evil\.safetensors"/);
    const rest = { ...index.weight_map };
    delete rest[first];
    fs.writeFileSync(idx, JSON.stringify({ weight_map: rest }));
    expect(leftMessage(await readHfDirectory(dir))).toMatch(/present but not listed: /);
  });
});

describe('against Hugging Face transformers (needs .venv; run `node scripts/python/setup-venv.mjs`)', () => {
  const py = (args: string[]): { status: number; stdout: string; stderr: string } => {
    const r = spawnSync(venvPython, args, { encoding: 'utf8', cwd: root });
    return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
  };

  it.skipIf(!venvAvailable)('hfNameMap names exactly the tensors save_pretrained writes, with the transposed shapes, for every architecture', () => {
    const configs: Record<string, AlbertConfig> = {
      a: tinyConfig({ numHiddenLayers: 3, numHiddenGroups: 2, innerGroupNum: 2, hiddenSize: 16, embeddingSize: 8, intermediateSize: 20, numAttentionHeads: 2, vocabSize: 30, maxPositionEmbeddings: 8 }),
      b: tinyConfig({ hiddenSize: 12, embeddingSize: 12, intermediateSize: 10, numAttentionHeads: 3, vocabSize: 20, maxPositionEmbeddings: 6, typeVocabSize: 3 }),
    };
    const jobs = Object.entries(configs).flatMap(([name, c]) =>
      HF_ARCHITECTURES.map((arch) => ({ key: `${name}/${arch}`, arch, c, labels: headLabels(arch, 3), config: right(albertToHfConfig(c, arch, 3)) })),
    );
    const script = `
import json, sys, tempfile, os, warnings
warnings.filterwarnings('ignore')
import transformers
from safetensors import safe_open
out = {}
for job in json.load(sys.stdin):
    cfg = transformers.AlbertConfig(**{k: v for k, v in job['config'].items() if k not in ('architectures', 'model_type')})
    model = getattr(transformers, job['arch'])(cfg)
    with tempfile.TemporaryDirectory() as d:
        model.save_pretrained(d, safe_serialization=True)
        with safe_open(os.path.join(d, 'model.safetensors'), 'np') as f:
            out[job['key']] = {k: list(f.get_slice(k).get_shape()) for k in f.keys()}
print(json.dumps(out))`;
    const r = spawnSync(venvPython, ['-c', script], { input: JSON.stringify(jobs.map(({ key, arch, config }) => ({ key, arch, config }))), encoding: 'utf8', cwd: root });
    expect(r.status, r.stderr).toBe(0);
    const hf = JSON.parse(r.stdout) as Record<string, Record<string, number[]>>;
    for (const job of jobs) {
      const ours = Object.fromEntries(hfNameMap(job.c, job.arch, job.labels).map((e) => [e.hf, e.transpose ? [...e.shape].reverse() : [...e.shape]]));
      expect(ours, job.key).toEqual(hf[job.key]);
    }
  });

  it.skipIf(!venvAvailable)(
    'directories lamina writes from every fixture load in AlbertForPreTraining with no missing keys and reproduce the reference outputs; a missing tensor fails the check',
    async () => {
      const args: string[] = [];
      for (const name of FIXTURE_NAMES) {
        const m = right(await readHfDirectory(path.join(FIXTURES, name)));
        const dir = tmpDir();
        right(await writeHfDirectory(dir, m.config, m.architecture, m.params));
        args.push(dir, path.join(FIXTURES, name, 'io.json'));
      }
      // A negative control in the same Python process: the same export without albert.pooler.bias.
      const m = right(await readHfDirectory(path.join(FIXTURES, 'groups')));
      const broken = tmpDir();
      const sd = right(toHfStateDict(m.params, m.config, 'AlbertForPreTraining'));
      delete sd['albert.pooler.bias'];
      fs.writeFileSync(path.join(broken, 'model.safetensors'), encodeSafetensors(sd, { format: 'pt' }));
      fs.copyFileSync(path.join(FIXTURES, 'groups', 'config.json'), path.join(broken, 'config.json'));
      args.push(broken, path.join(FIXTURES, 'groups', 'io.json'));

      const r = py(['scripts/python/check_hf_export.py', ...args]);
      const reports = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
      expect(reports.length, r.stderr).toBe(FIXTURE_NAMES.length + 1);
      for (const report of reports.slice(0, FIXTURE_NAMES.length)) {
        expect(report.loading, report.dir).toEqual({ missing_keys: [], unexpected_keys: [], mismatched_keys: [], error_msgs: [] });
        expect(Object.keys(report.max_abs_diff).sort()).toEqual(['last_hidden_state', 'pooler_output', 'prediction_logits', 'sop_logits']);
        // The fixture outputs were computed by PyTorch on whichever machine made the fixtures; this
        // machine's PyTorch may round differently (5.96e-7 seen on an Intel Xeon, up to 7.4e-6 on AMD EPYC). A wrong
        // or missing weight moves the outputs by orders of magnitude more than this tolerance.
        for (const d of Object.values(report.max_abs_diff)) expect(d, report.dir).toBeLessThanOrEqual(1e-4);
        expect(report.ok).toBe(true);
      }
      const bad = reports[FIXTURE_NAMES.length];
      expect(bad.ok).toBe(false);
      expect(bad.loading.missing_keys).toEqual(['albert.pooler.bias']);
      expect(r.status).toBe(1);
    },
  );
});
