#!/usr/bin/env node
// Creates the Python reference environment used by lamina's Hugging Face interop tests and fixture
// scripts: /work/main/.venv (i.e. <repo>/.venv, gitignored) with the pinned packages of
// scripts/python/requirements.txt (CPU torch, transformers, safetensors, sentencepiece, tokenizers,
// protobuf), installed offline through the machine's configured pip index.
//
// Idempotent: when the venv exists, imports work and the installed requirements match
// requirements.txt (a stamp file inside the venv), it does nothing. Ends with one line starting
// `[lamina venv] ok:` or `[lamina venv] FAILED:`; exits non-zero on failure.
//
//   node scripts/python/setup-venv.mjs            # create or verify
//   node scripts/python/setup-venv.mjs --force    # reinstall the requirements
//   node scripts/python/setup-venv.mjs --with-tensorflow   # also tensorflow-cpu==2.21.0 (only the
//                                                          # bench's TensorFlow-Python peer needs it)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const venv = path.join(root, '.venv');
const python = path.join(venv, 'bin', 'python');
const requirements = path.join(here, 'requirements.txt');
const stamp = path.join(venv, '.lamina-requirements.txt');
const PIP_NET = ['--retries', '0', '--timeout', '3'];
const CHECK = 'import torch, transformers, safetensors, sentencepiece, tokenizers, google.protobuf; print(torch.__version__, transformers.__version__, safetensors.__version__)';

const log = (m) => console.log(`[lamina venv] ${m}`);
const fail = (m) => {
  console.error(`[lamina venv] FAILED: ${m}`);
  process.exit(1);
};
const run = (cmd, args, { quiet = false } = {}) => {
  if (!quiet) log(`${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: quiet ? 'pipe' : 'inherit', encoding: 'utf8' });
  if (r.error) return { status: 1, stdout: '', stderr: String(r.error.message) };
  return { status: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
};

const force = process.argv.includes('--force');
const withTensorflow = process.argv.includes('--with-tensorflow');
const TF_PACKAGE = 'tensorflow-cpu==2.21.0';
// Opt-in, for `pnpm bench` only: the wheel setup-native downloaded is reused when it is still in .cache/wheels.
const ensureTensorflow = () => {
  if (!withTensorflow) return;
  const probe = () => run(python, ['-c', 'import tensorflow as tf; print(tf.__version__)'], { quiet: true });
  if (probe().status === 0) return;
  const wheels = path.join(root, '.cache', 'wheels');
  const links = fs.existsSync(wheels) ? ['--find-links', wheels] : [];
  const r = run(python, ['-m', 'pip', 'install', ...PIP_NET, '--disable-pip-version-check', ...links, TF_PACKAGE]);
  if (r.status !== 0 || probe().status !== 0) fail(`pip could not install ${TF_PACKAGE} (exit ${r.status}) through the configured pip index`);
  log(`ok: ${TF_PACKAGE} installed`);
};
const wanted = fs.readFileSync(requirements, 'utf8');
const started = Date.now();

if (!force && fs.existsSync(python) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === wanted) {
  const r = run(python, ['-c', CHECK], { quiet: true });
  if (r.status === 0) {
    ensureTensorflow();
    log(`ok: ${venv} already set up (torch/transformers/safetensors ${r.stdout.trim()})`);
    process.exit(0);
  }
  log('existing venv fails its import check; reinstalling');
}

if (!fs.existsSync(python)) {
  const py = process.env.PYTHON ?? 'python3';
  const r = run(py, ['-m', 'venv', venv]);
  if (r.status !== 0) fail(`could not create ${venv} with "${py} -m venv" (is python3-venv installed? try: apt-get install python3-venv)`);
}

fs.rmSync(stamp, { force: true });
const install = run(python, ['-m', 'pip', 'install', ...PIP_NET, '--disable-pip-version-check', '-r', requirements]);
if (install.status !== 0)
  fail(`pip could not install ${path.relative(root, requirements)} (exit ${install.status}); the packages must be reachable through the configured pip index (see "pip config list")`);

const check = run(python, ['-c', CHECK], { quiet: true });
if (check.status !== 0) fail(`packages installed but do not import:\n${check.stderr.trim()}`);
fs.writeFileSync(stamp, wanted);
ensureTensorflow();
log(`ok: ${venv} ready in ${((Date.now() - started) / 1000).toFixed(0)} s (torch/transformers/safetensors ${check.stdout.trim()})`);
