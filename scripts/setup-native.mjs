#!/usr/bin/env node
// Makes @tensorflow/tfjs-node's native binding work without internet access.
//
// tfjs-node's own install script downloads libtensorflow from a storage bucket, which locked-down
// machines cannot reach; pnpm-workspace.yaml keeps that script off. This script, run from the root
// `postinstall`, tries in order:
//   1. an already working binding                       (nothing to do)
//   2. a libtensorflow directory named by LAMINA_LIBTENSORFLOW (with lib/ and include/)
//   3. libtensorflow from the `tensorflow-cpu==2.21.0` Python wheel, via the machine's pip index
//   4. tfjs-node's own official download
// and then builds `tfjs_binding.node` from source with node-pre-gyp. It is idempotent, logs one
// line per step, and ends with one line saying which backend is available and why.
// Exit code: 0 when the native backend works; 1 otherwise (unless LAMINA_ALLOW_NO_NATIVE=1).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cacheDir = path.join(root, '.cache', 'libtensorflow');
const TF_WHEEL = 'tensorflow-cpu==2.21.0';
const log = (msg) => console.log(`[lamina setup-native] ${msg}`);

function tfjsNodeDir() {
  const require = createRequire(path.join(root, 'packages', 'dsl', 'package.json'));
  try {
    return path.dirname(require.resolve('@tensorflow/tfjs-node/package.json'));
  } catch {
    return undefined;
  }
}

/** Version of the entry points lamina's patch adds to the binding (patches/@tensorflow__tfjs-node@*.patch). */
const GRAPH_API = 2;

/**
 * Loads tfjs-node in a child process (a broken binding may crash) and reports the TF version. It
 * also probes the entry points lamina's patch adds (graph functions, traced attributes, TF errors
 * as JS errors): a binding built from unpatched sources counts as not working, so it is rebuilt.
 */
function probeBinding(pkgDir) {
  const code = `
    const tf = require(${JSON.stringify(pkgDir)});
    const a = tf.tensor2d([[1, 2], [3, 4]]);
    const m = tf.matMul(a, a).arraySync();
    if (JSON.stringify(m) !== '[[7,10],[15,22]]') throw new Error('wrong matmul ' + JSON.stringify(m));
    const b = tf.backend().binding;
    if (b.LAMINA_GRAPH_API !== ${GRAPH_API} || typeof b.addFunctionDef !== 'function')
      throw new Error('binding lacks lamina graph entry points (LAMINA_GRAPH_API ' + b.LAMINA_GRAPH_API + ', want ${GRAPH_API})');
    if (b.hasFunction('lamina_setup_probe')) throw new Error('hasFunction reports an unregistered function');
    const traced = b.executeOpWithAttrs('Neg', [], [tf.backend().getInputTensorIds([a])[0]], 1);
    if (!(traced.attrs instanceof Uint8Array) || traced.attrs.length === 0) throw new Error('executeOpWithAttrs returned no attributes');
    b.deleteTensor(traced.outputs[0].id);
    let tfError;
    try { b.addFunctionDef(new Uint8Array([0x0a, 0x05, 0x0a])); } catch (e) { tfError = e; }
    if (!tfError || !String(tfError.code).startsWith('TF_')) throw new Error('a bad FunctionDef did not raise a TF error: ' + tfError);
    console.log(JSON.stringify({ backend: tf.getBackend(), tf: tf.version['tfjs-core'], native: b.TF_Version, graph: b.LAMINA_GRAPH_API }));
  `;
  const r = spawnSync(process.execPath, ['-e', code], {
    encoding: 'utf8',
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' },
    timeout: 120_000,
  });
  if (r.status === 0) {
    const line = r.stdout.trim().split('\n').pop();
    try {
      return { ok: true, info: JSON.parse(line) };
    } catch {
      return { ok: true, info: { raw: line } };
    }
  }
  const err = (r.stderr || r.stdout || String(r.error ?? 'unknown failure')).trim().split('\n');
  const line = err.find((l) => /^\w*Error: /.test(l.trim())) ?? err.find((l) => /cannot|not found/i.test(l)) ?? err[0];
  return { ok: false, reason: line?.trim() };
}

function nodeDir() {
  const fromEnv = process.env.npm_config_nodedir;
  const candidates = [fromEnv, path.dirname(path.dirname(process.execPath)), '/usr', '/usr/local'].filter(Boolean);
  return candidates.find((d) => fs.existsSync(path.join(d, 'include', 'node', 'node_api.h')));
}

function hasLibtensorflow(dir) {
  return (
    fs.existsSync(path.join(dir, 'lib', 'libtensorflow_cc.so.2')) &&
    fs.existsSync(path.join(dir, 'lib', 'libtensorflow_framework.so.2')) &&
    fs.existsSync(path.join(dir, 'include', 'tensorflow', 'c', 'c_api.h'))
  );
}

/** Downloads the tensorflow-cpu wheel with pip and extracts just the library and headers. */
function libtensorflowFromWheel() {
  if (hasLibtensorflow(cacheDir)) {
    log(`step 3: using libtensorflow already extracted in ${path.relative(root, cacheDir)}`);
    return cacheDir;
  }
  const wheelDir = path.join(root, '.cache', 'wheels');
  fs.mkdirSync(wheelDir, { recursive: true });
  log(`step 3: downloading ${TF_WHEEL} with pip (machine's configured index)`);
  const py = ['python3', 'python'].find((p) => spawnSync(p, ['--version']).status === 0);
  if (!py) {
    log('step 3: no python3 on this machine; skipping the wheel');
    return undefined;
  }
  const dl = spawnSync(
    py,
    ['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '--retries', '0', '--timeout', '3', '-d', wheelDir, TF_WHEEL],
    { encoding: 'utf8', timeout: 600_000 },
  );
  const wheel = fs.readdirSync(wheelDir).find((f) => f.startsWith('tensorflow_cpu-2.21.0') && f.endsWith('.whl'));
  if (dl.status !== 0 || !wheel) {
    log(`step 3: pip could not download the wheel: ${(dl.stderr || '').trim().split('\n').pop()}`);
    return undefined;
  }
  log(`step 3: extracting libtensorflow and headers from ${wheel}`);
  const tmp = `${cacheDir}.tmp`;
  fs.rmSync(tmp, { recursive: true, force: true });
  const extract = `
import sys, zipfile, os, shutil
whl, out = sys.argv[1], sys.argv[2]
keep_prefixes = ('tensorflow/include/tensorflow/c/', 'tensorflow/include/tensorflow/core/platform/',
                 'tensorflow/include/tsl/', 'tensorflow/include/xla/')
libs = {'tensorflow/libtensorflow_cc.so.2', 'tensorflow/libtensorflow_framework.so.2'}
with zipfile.ZipFile(whl) as z:
    for info in z.infolist():
        n = info.filename
        if n in libs:
            dst = os.path.join(out, 'lib', os.path.basename(n))
        elif n.startswith(keep_prefixes) and not n.endswith('/'):
            dst = os.path.join(out, 'include', n[len('tensorflow/include/'):])
        else:
            continue
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        with z.open(info) as src, open(dst, 'wb') as f:
            shutil.copyfileobj(src, f, 1 << 20)
`;
  const ex = spawnSync(py, ['-c', extract, path.join(wheelDir, wheel), tmp], { encoding: 'utf8', timeout: 600_000 });
  if (ex.status !== 0 || !hasLibtensorflow(tmp)) {
    log(`step 3: extraction failed: ${(ex.stderr || '').trim().split('\n').pop()}`);
    return undefined;
  }
  fs.rmSync(cacheDir, { recursive: true, force: true });
  fs.renameSync(tmp, cacheDir);
  fs.rmSync(path.join(wheelDir, wheel), { force: true });
  return cacheDir;
}

function link(target, at) {
  fs.rmSync(at, { force: true, recursive: true });
  fs.symlinkSync(target, at);
}

/** Whether pnpm applied lamina's patch to the installed tfjs-node sources. */
function sourcesPatched(pkgDir) {
  try {
    return fs.readFileSync(path.join(pkgDir, 'binding', 'tfjs_binding.cc'), 'utf8').includes('LAMINA_GRAPH_API');
  } catch {
    return false;
  }
}

/**
 * Points tfjs-node's deps/ at a libtensorflow directory and builds the binding from source.
 *
 * The build runs in a staging copy under .cache/: pnpm names a patched package's directory
 * `…_patch_hash=…`, and make cannot build in a path that contains `=`. The built
 * `tfjs_binding.node` is then copied into the package; its rpath (`$ORIGIN/../../deps/lib`) finds
 * the package's own deps/lib.
 */
function buildBinding(pkgDir, tfDir) {
  if (!sourcesPatched(pkgDir))
    log("build: warning: tfjs-node's sources lack lamina's patch (patchedDependencies in pnpm-workspace.yaml); graph functions will be missing");
  const linkDeps = (dir) => {
    const deps = path.join(dir, 'deps');
    fs.mkdirSync(path.join(deps, 'lib'), { recursive: true });
    link(path.join(tfDir, 'include'), path.join(deps, 'include'));
    const lib = (n) => path.join(tfDir, 'lib', n);
    link(lib('libtensorflow_cc.so.2'), path.join(deps, 'lib', 'libtensorflow.so'));
    link(lib('libtensorflow_cc.so.2'), path.join(deps, 'lib', 'libtensorflow_cc.so.2'));
    link(lib('libtensorflow_framework.so.2'), path.join(deps, 'lib', 'libtensorflow_framework.so'));
    link(lib('libtensorflow_framework.so.2'), path.join(deps, 'lib', 'libtensorflow_framework.so.2'));
  };
  linkDeps(pkgDir);
  const nd = nodeDir();
  if (!nd) {
    log('build: Node headers not found (looked for include/node/node_api.h); set npm_config_nodedir');
    return false;
  }
  const stage = path.join(root, '.cache', 'tfjs-node-build');
  fs.rmSync(stage, { recursive: true, force: true });
  fs.mkdirSync(stage, { recursive: true });
  for (const f of ['binding', 'binding.gyp', 'package.json']) fs.cpSync(path.join(pkgDir, f), path.join(stage, f), { recursive: true });
  linkDeps(stage);
  const preGyp = path.join(pkgDir, '..', '..', '@mapbox', 'node-pre-gyp', 'bin', 'node-pre-gyp');
  log(`build: node-pre-gyp install --build-from-source in ${path.relative(root, stage)} (headers from ${nd})`);
  const r = spawnSync(process.execPath, [preGyp, 'install', '--build-from-source', `--nodedir=${nd}`], {
    cwd: stage,
    encoding: 'utf8',
    timeout: 900_000,
  });
  if (r.status !== 0) {
    const out = `${r.stdout}\n${r.stderr}`.trim().split('\n');
    const cause = out.filter((l) => /error|\*\*\*/i.test(l) && !/^(gyp|node-pre-gyp) ERR!/.test(l)).slice(0, 3);
    log(`build: failed: ${(cause.length ? cause : out.slice(-5)).join(' | ')}`);
    return false;
  }
  const built = fs.readdirSync(path.join(stage, 'lib')).map((d) => path.join('lib', d, 'tfjs_binding.node'));
  for (const rel of built) {
    if (!fs.existsSync(path.join(stage, rel))) continue;
    fs.mkdirSync(path.dirname(path.join(pkgDir, rel)), { recursive: true });
    fs.copyFileSync(path.join(stage, rel), path.join(pkgDir, rel));
  }
  fs.rmSync(stage, { recursive: true, force: true });
  return true;
}

function finish(ok, line) {
  console.log(`[lamina setup-native] RESULT: ${line}`);
  if (!ok && process.env.LAMINA_ALLOW_NO_NATIVE !== '1') process.exit(1);
}

function main() {
  const pkgDir = tfjsNodeDir();
  if (!pkgDir) return finish(false, 'backend cpu (pure JS): @tensorflow/tfjs-node is not installed');

  log('step 1: probing the existing tfjs-node binding');
  let probe = probeBinding(pkgDir);
  if (probe.ok) {
    return finish(true, `backend tensorflow (native TF ${probe.info.native ?? '?'}): existing binding works`);
  }
  log(`step 1: no working binding (${probe.reason})`);

  const envDir = process.env.LAMINA_LIBTENSORFLOW;
  if (envDir) {
    log(`step 2: LAMINA_LIBTENSORFLOW=${envDir}`);
    if (hasLibtensorflow(envDir)) {
      if (buildBinding(pkgDir, envDir) && (probe = probeBinding(pkgDir)).ok)
        return finish(true, `backend tensorflow (native TF ${probe.info.native}): built against LAMINA_LIBTENSORFLOW`);
      log('step 2: build against LAMINA_LIBTENSORFLOW did not give a working binding');
    } else {
      log('step 2: that directory lacks lib/libtensorflow_cc.so.2, lib/libtensorflow_framework.so.2 or include/tensorflow/c/c_api.h');
    }
  } else {
    log('step 2: LAMINA_LIBTENSORFLOW not set; skipping');
  }

  const wheelDir = libtensorflowFromWheel();
  if (wheelDir) {
    if (buildBinding(pkgDir, wheelDir) && (probe = probeBinding(pkgDir)).ok)
      return finish(true, `backend tensorflow (native TF ${probe.info.native}): built from source against the ${TF_WHEEL} wheel`);
    log(`step 3: the wheel build did not give a working binding${probe.reason ? ` (${probe.reason})` : ''}`);
  }

  log("step 4: trying tfjs-node's own download (needs internet)");
  const own = spawnSync(process.execPath, ['scripts/install.js'], { cwd: pkgDir, encoding: 'utf8', timeout: 300_000 });
  if (own.status === 0 && (probe = probeBinding(pkgDir)).ok)
    return finish(true, `backend tensorflow (native TF ${probe.info.native}): tfjs-node's official download`);
  log('step 4: the official download failed');

  return finish(
    false,
    'backend cpu (pure JS, ~100x slower): no native TensorFlow could be set up; set LAMINA_LIBTENSORFLOW or make pip reach tensorflow-cpu==2.21.0',
  );
}

main();
