/**
 * `pnpm bench ablations [--quick | --smoke] [--runs <dir>] [--out <dir>]` and
 * `pnpm bench ablations --report <results.json>`: trains every arm of the plan
 * ({@link ablationPlan}) as an ordinary `lamina pretrain` run (a child process of the `lamina` CLI,
 * so each arm is a run directory a user can inspect or resume), evaluates it
 * ({@link evaluateRun}), fine-tunes the Table 3/4 arms with `lamina finetune` on IMDB, and writes
 * the results JSON, `ABLATIONS.md` and one SVG per table.
 *
 * `--runs <dir>` reuses a runs directory: finished arms are only re-evaluated, unfinished ones are
 * resumed. Nothing in it is deleted or overwritten.
 *
 * @example
 * ```ts
 * import { ablationsMain } from '@lamina/bench';
 * process.exitCode = await ablationsMain(['--quick']);
 * ```
 * @module
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import { albertModel, DEFAULT_VOCAB_DIR, loadTokenizer, type Tokenizer } from '@lamina/albert';
import { countParams, selectBackend } from '@lamina/dsl';
import { formatDuration, latestCheckpoint, writeSvgAtomic } from '@lamina/train';
import { buildEvalData, evaluateRun, PROBE_FEATURES, type EvalData } from './evaluate.js';
import { PAPER_TABLE3, PAPER_TABLE4, PAPER_TABLE5 } from './paper.js';
import { ablationPlan, type AblationMode, type AblationPlan, type ArmSpec, type Budget } from './plan.js';
import { PROBE_DEFAULTS } from './probe.js';
import { renderAblationPlots, renderAblations } from './report.js';
import { RECIPE_SEARCH } from './tried.js';
import { parseAblationResults, type AblationResults, type ArmResult, type DownstreamEntry, type SeedStat, type Table5Entry } from './results.js';

/** Parsed command line of `pnpm bench ablations`. */
export interface AblationArgs {
  readonly mode: AblationMode;
  /** Where the results JSON, SVGs and ABLATIONS.md go (default: packages/bench/results and the repository root). */
  readonly out?: string;
  /** The runs directory (default: runs/ablations/<mode>-<date-time>). */
  readonly runs?: string;
  /** Only re-render the report from this results file. */
  readonly report?: string;
  /** Pretraining steps per arm instead of the mode's (450 quick, 250 full). */
  readonly steps?: number;
}

const USAGE =
  'usage: pnpm bench ablations [--quick | --smoke] [--steps N (default: 450 with --quick, 250 otherwise)] [--runs <dir> (default: runs/ablations/<mode>-<date-time>)] [--out <dir> (default: the repository root and packages/bench/results)] | pnpm bench ablations --report <results.json>';

/**
 * Parses the arguments after `ablations`.
 * @example parseAblationArgs(['--quick']) // right({ mode: 'quick' })
 */
export const parseAblationArgs = (argv: readonly string[]): E.Either<string, AblationArgs> => {
  let mode: AblationMode = 'full';
  let out: string | undefined;
  let runs: string | undefined;
  let report: string | undefined;
  let steps: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--steps') {
      const v = argv[++i];
      steps = Number(v);
      if (!v || !Number.isInteger(steps) || steps < 1) return E.left(`--steps needs a positive integer, got "${v ?? ''}"`);
    } else if (a === '--quick' || a === '--smoke') {
      if (mode !== 'full') return E.left(`--quick and --smoke exclude each other (${USAGE})`);
      mode = a === '--quick' ? 'quick' : 'smoke';
    } else if (a === '--out' || a === '--runs' || a === '--report') {
      const v = argv[++i];
      if (!v || v.startsWith('--')) return E.left(`${a} needs a ${a === '--report' ? 'results file' : 'directory'}`);
      if (a === '--out') out = v;
      else if (a === '--runs') runs = v;
      else report = v;
    } else if (a === '--help' || a === '-h') return E.left(USAGE);
    else return E.left(`unknown argument "${a}" (${USAGE})`);
  }
  return E.right({ mode, ...(out ? { out } : {}), ...(runs ? { runs } : {}), ...(report ? { report } : {}), ...(steps ? { steps } : {}) });
};

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(here, '..', '..', '..', '..');
const LAMINA = path.join(REPO, 'packages', 'train', 'bin', 'lamina.js');
const RESULTS = path.join(REPO, 'packages', 'bench', 'results');

const log = (m: string): void => {
  process.stdout.write(`[ablations] ${m}\n`);
};

/** Runs the `lamina` CLI; JSON events on stdout go to `onEvent`, stderr lines are relayed. */
const lamina = (args: readonly string[], onEvent: (e: Record<string, unknown>) => void): Promise<{ code: number; stderr: string[] }> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [LAMINA, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: process.env.TF_CPP_MIN_LOG_LEVEL ?? '3' } });
    const stderr: string[] = [];
    readline.createInterface({ input: child.stdout }).on('line', (l) => {
      try {
        onEvent(JSON.parse(l) as Record<string, unknown>);
      } catch {
        if (l.trim()) log(`  ${l}`);
      }
    });
    readline.createInterface({ input: child.stderr }).on('line', (l) => {
      if (!l.trim()) return;
      stderr.push(l);
      log(`  ! ${l}`);
    });
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stderr }));
  });

/** The pretraining flags of an arm: the shared budget plus the arm's objective and seed. */
export const pretrainArgs = (arm: ArmSpec, b: Budget, modelFile: string, dir: string): string[] => [
  'pretrain',
  '--model', modelFile,
  '--out', dir,
  '--objective', arm.objective,
  '--seed', String(arm.seed),
  '--steps', String(b.steps),
  '--batch-size', String(b.batchSize),
  '--seq-len', String(b.seqLength),
  '--max-predictions', String(b.maxPredictions),
  '--optimizer', b.optimizer,
  '--lr', String(b.lr),
  '--warmup', String(b.warmup),
  '--max-documents', String(b.maxDocuments),
  '--eval-fraction', String(b.evalFraction),
  '--eval-every', '0',
  '--eval-batches', '2',
  '--checkpoint-every', String(Math.max(1, Math.round(b.steps / 3))),
  '--keep-last', '1',
  '--json-logs',
];

/** The fine-tuning flags (`lamina demo`'s recipe). */
export const finetuneArgs = (b: Budget, checkpoint: string, out: string, seed: number): string[] => [
  'finetune',
  '--checkpoint', checkpoint,
  '--train', 'imdb',
  '--eval', 'imdb',
  '--out', out,
  '--max-train', String(b.finetune.maxTrain),
  '--max-eval', String(b.finetune.maxEval),
  '--epochs', String(b.finetune.epochs),
  '--lr', String(b.finetune.lr),
  '--dropout', String(b.finetune.dropout),
  '--seq-len', String(b.finetune.seqLength),
  '--batch-size', String(b.finetune.batchSize),
  '--truncation', b.finetune.truncation,
  '--eval-every', '0',
  '--seed', String(seed),
  '--json-logs',
];

/**
 * CPU seconds used by this process's finished (waited-for) children: `cutime + cstime` of
 * `/proc/self/stat` (Linux; null elsewhere). The difference around a child is that child's CPU time.
 */
export const childrenCpuSeconds = (): number | null => {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields 16 and 17 of proc(5), counted from after the command name (which is field 2)
    return (Number(f[13]) + Number(f[14])) / 100;
  } catch {
    return null;
  }
};

const cpuSince = (c0: number | null): number | null => {
  const c1 = childrenCpuSeconds();
  return c0 === null || c1 === null ? null : c1 - c0;
};

const stepOf = (dir: string): number => latestCheckpoint(dir)?.step ?? 0;

/** Progress printer for a child's JSON step events: a line every ~1/6 of the run or 30 s. */
const progressLines = (prefix: string, total: number) => {
  let lastStep = 0;
  let lastTime = performance.now();
  return (e: Record<string, unknown>): void => {
    if (e.event === 'step') {
      const step = Number(e.step);
      const now = performance.now();
      if (step - lastStep >= Math.max(1, Math.round(total / 6)) || now - lastTime > 30_000 || step === total) {
        const tps = Number(e.tokens_per_second);
        const eta = Number(e.eta_seconds);
        log(`${prefix}: step ${step}/${total}, loss ${Number(e.loss).toFixed(3)}${Number.isFinite(tps) ? `, ${Math.round(tps)} tok/s` : ''}${Number.isFinite(eta) ? `, ETA ${formatDuration(eta)}` : ''}`);
        lastStep = step;
        lastTime = now;
      }
    } else if (e.event === 'log' && typeof e.message === 'string' && /built|reusing|resuming|eval @/.test(e.message)) log(`${prefix}: ${e.message}`);
    else if (e.event === 'error') log(`${prefix}: error: ${String(e.message)}`);
  };
};

const seedStat = (xs: readonly number[]): SeedStat => ({ mean: xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length), min: Math.min(...xs), max: Math.max(...xs), n: xs.length });

/** Copies a finished arm's dataset cache into a new arm's run directory (same task and seed → same instances). */
const seedDataCache = (from: string | undefined, dir: string): void => {
  if (!from) return;
  const src = path.join(from, 'data');
  if (!fs.existsSync(src)) return;
  const dst = path.join(dir, 'data');
  fs.mkdirSync(dst, { recursive: true });
  for (const f of fs.readdirSync(src)) if (f.endsWith('.lpt') && !fs.existsSync(path.join(dst, f))) fs.copyFileSync(src + path.sep + f, path.join(dst, f));
};

const paramsOf = (arm: ArmSpec, vocab: number): number => E.getOrElse(() => NaN)(countParams(albertModel({ ...arm.config, vocabSize: vocab })));

const readImdb = (dir: string): { accuracy: number; examples: number } | null => {
  try {
    const j = JSON.parse(fs.readFileSync(path.join(dir, 'eval.json'), 'utf8')) as { final?: { accuracy?: number; count?: number } };
    return typeof j.final?.accuracy === 'number' ? { accuracy: 100 * j.final.accuracy, examples: j.final.count ?? 0 } : null;
  } catch {
    return null;
  }
};

/** Trains, evaluates and fine-tunes one arm. */
const runArm = async (arm: ArmSpec, i: number, plan: AblationPlan, runsDir: string, data: EvalData, tok: Tokenizer, caches: Map<string, string>): Promise<ArmResult> => {
  const b = plan.budget;
  const dir = path.join(runsDir, arm.id);
  const rel = path.relative(REPO, dir) || dir;
  const prefix = `(${i + 1}/${plan.arms.length}) ${arm.id}`;
  const base = {
    id: arm.id,
    objective: arm.objective,
    seed: arm.seed,
    embeddingSize: arm.config.embeddingSize,
    paperE: arm.paperE,
    sharing: arm.config.sharing,
    params: paramsOf(arm, tok.vocabSize),
    tokens: b.steps * b.batchSize * b.seqLength,
    runDir: path.relative(REPO, dir) || dir,
  };
  let cpuSeconds: number | null = 0;
  const addCpu = (c: number | null) => {
    cpuSeconds = cpuSeconds === null || c === null ? null : cpuSeconds + c;
  };
  const fail = (error: string, pretrainSeconds = 0): ArmResult => {
    log(`${prefix}: FAILED: ${error}`);
    return { ...base, pretrainSeconds, cpuSeconds, evaluation: null, imdb: null, imdbExamples: null, finetuneDir: null, finetuneSeconds: null, error };
  };
  const t0 = performance.now();
  const cacheKey = `${arm.objective === 'nsp' ? 'nsp' : 'sop'}:${arm.seed}`;
  const done = fs.existsSync(path.join(dir, 'config.json')) && stepOf(dir) >= b.steps;
  if (done) log(`${prefix}: already trained in ${rel}; evaluating it again`);
  else {
    const resume = fs.existsSync(path.join(dir, 'config.json'));
    const modelFile = path.join(runsDir, 'models', `${arm.id}.json`);
    fs.mkdirSync(path.dirname(modelFile), { recursive: true });
    if (!fs.existsSync(modelFile)) fs.writeFileSync(modelFile, `${JSON.stringify(arm.config, null, 2)}\n`);
    if (!resume) seedDataCache(caches.get(cacheKey), dir);
    log(`${prefix}: ${resume ? 'resuming' : 'pretraining'} (${arm.objective}, E=${arm.config.embeddingSize}, sharing ${arm.config.sharing}, seed ${arm.seed}, ${base.params.toLocaleString('en-US')} params) → ${rel}`);
    const args = resume ? ['pretrain', '--out', dir, '--resume', '--steps', String(b.steps), '--json-logs'] : pretrainArgs(arm, b, modelFile, dir);
    const c0 = childrenCpuSeconds();
    const r = await lamina(args, progressLines(prefix, b.steps));
    addCpu(cpuSince(c0));
    if (r.code !== 0) return fail(`lamina pretrain exited with ${r.code}${r.stderr.length ? `: ${r.stderr.at(-1)}` : ''}`, (performance.now() - t0) / 1000);
  }
  caches.set(cacheKey, caches.get(cacheKey) ?? dir);
  const pretrainSeconds = (performance.now() - t0) / 1000;
  const ev = await evaluateRun(dir, arm.objective, data, { probe: arm.probe, probeSteps: b.probeSteps, seed: arm.seed });
  if (E.isLeft(ev)) return fail(`evaluation: ${ev.left}`, pretrainSeconds);
  const x = ev.right;
  const pc = (v: number | undefined) => (v === undefined ? '—' : `${(100 * v).toFixed(1)}%`);
  log(
    `${prefix}: MLM ${pc(x.mlm)}` +
      (x.head ? `, head NSP ${pc(x.head.nsp)} SOP ${pc(x.head.sop)}` : '') +
      (x.probe ? `, probe NSP ${pc(x.probe.nsp)} SOP ${pc(x.probe.sop)}` : '') +
      ` (pretraining ${formatDuration(pretrainSeconds)}, evaluation ${formatDuration(x.seconds)})`,
  );
  let imdb: { accuracy: number; examples: number } | null = null;
  let finetuneDir: string | null = null;
  let finetuneSeconds: number | null = null;
  if (arm.finetune) {
    const ft = `${dir}.imdb`;
    finetuneDir = path.relative(REPO, ft) || ft;
    const t1 = performance.now();
    imdb = readImdb(ft);
    if (imdb) log(`${prefix}: already fine-tuned in ${finetuneDir}`);
    else {
      if (fs.existsSync(ft)) return fail(`${finetuneDir} exists but holds no finished fine-tuning (eval.json); move it away to fine-tune again`, pretrainSeconds);
      log(`${prefix}: fine-tuning on IMDB → ${finetuneDir}`);
      const c0 = childrenCpuSeconds();
      const r = await lamina(finetuneArgs(b, dir, ft, arm.seed), progressLines(`${prefix} IMDB`, Math.ceil(b.finetune.maxTrain / b.finetune.batchSize) * b.finetune.epochs));
      addCpu(cpuSince(c0));
      if (r.code !== 0) return fail(`lamina finetune exited with ${r.code}${r.stderr.length ? `: ${r.stderr.at(-1)}` : ''}`, pretrainSeconds);
      imdb = readImdb(ft);
      if (!imdb) return fail(`${finetuneDir}/eval.json has no final accuracy`, pretrainSeconds);
    }
    finetuneSeconds = (performance.now() - t1) / 1000;
    log(`${prefix}: IMDB accuracy ${imdb.accuracy.toFixed(1)}% (${formatDuration(finetuneSeconds)})`);
  }
  return { ...base, pretrainSeconds, cpuSeconds, evaluation: x, imdb: imdb?.accuracy ?? null, imdbExamples: imdb?.examples ?? null, finetuneDir, finetuneSeconds, error: null };
};

/** The tables from the arms' figures (percent). */
export const assembleTables = (plan: AblationPlan, arms: readonly ArmResult[]): Pick<AblationResults, 'table5' | 'table4' | 'table3'> => {
  const byId = new Map(arms.map((a) => [a.id, a]));
  const table5: Partial<Record<'none' | 'nsp' | 'sop', Table5Entry>> = {};
  for (const row of plan.table5) {
    const ev = row.arms.map((id) => byId.get(id)?.evaluation).filter((x): x is NonNullable<typeof x> => !!x);
    if (!ev.length) continue;
    const via = row.objective === 'none' ? 'probe' : 'head';
    const pick = (k: 'nsp' | 'sop') => ev.map((x) => 100 * ((via === 'head' ? x.head?.[k] : x.probe?.[k]) ?? NaN));
    const stats = { mlm: seedStat(ev.map((x) => 100 * x.mlm)), nsp: seedStat(pick('nsp')), sop: seedStat(pick('sop')) };
    const probes = ev.map((x) => x.probe).filter((x): x is NonNullable<typeof x> => !!x);
    table5[row.objective] = {
      mlm: stats.mlm.mean,
      nsp: stats.nsp.mean,
      sop: stats.sop.mean,
      via,
      stats,
      probe: probes.length ? { nsp: seedStat(probes.map((p) => 100 * p.nsp)), sop: seedStat(probes.map((p) => 100 * p.sop)) } : null,
      arms: row.arms,
      paper: { mlm: PAPER_TABLE5[row.objective].mlm, nsp: PAPER_TABLE5[row.objective].nsp, sop: PAPER_TABLE5[row.objective].sop },
    };
  }
  const entry = (arm: string, paperE: number, paper: DownstreamEntry['paper']): DownstreamEntry | undefined => {
    const a = byId.get(arm);
    if (!a) return undefined;
    return { paperE, embeddingSize: a.embeddingSize, sharing: a.sharing, params: a.params, imdb: a.imdb, mlm: a.evaluation ? 100 * a.evaluation.mlm : null, sop: a.evaluation?.head ? 100 * a.evaluation.head.sop : null, arm, paper };
  };
  const table4: Record<string, DownstreamEntry> = {};
  for (const r of plan.table4) {
    const key = `${r.paperE}:${r.sharing}`;
    const e = entry(r.arm, r.paperE, PAPER_TABLE4[key] as DownstreamEntry['paper']);
    if (e) table4[key] = e;
  }
  const table3: Record<string, DownstreamEntry> = {};
  for (const r of plan.table3) {
    const key = `${r.paperE}:${r.shared ? 'shared' : 'not-shared'}`;
    const e = entry(r.arm, r.paperE, PAPER_TABLE3[key] as DownstreamEntry['paper']);
    if (e) table3[key] = e;
  }
  return { table5, table4, table3 };
};

const stamp = (d: Date): string => d.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);

/** Writes the report and plots for a results value. */
const writeReport = (r: AblationResults, resultsFile: string, out: string | undefined): string => {
  const reportDir = out ?? REPO;
  const plotDir = out ?? RESULTS;
  for (const [name, svg] of Object.entries(renderAblationPlots(r))) {
    const w = writeSvgAtomic(path.join(plotDir, name), svg);
    if (E.isLeft(w)) log(`could not write ${name}: ${w.left.message}`);
  }
  const file = path.join(reportDir, 'ABLATIONS.md');
  fs.writeFileSync(file, renderAblations(r, { resultsFile: path.relative(reportDir, resultsFile), plotDir: path.relative(reportDir, plotDir) || '.' }));
  return file;
};

/** The commit the code ran from (`+dirty` when the work tree had changes), or null outside git. */
const gitCommit = (): string | null => {
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO, encoding: 'utf8' });
  if (head.status !== 0) return null;
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: REPO, encoding: 'utf8' });
  return `${head.stdout.trim()}${dirty.stdout.trim() ? '+dirty' : ''}`;
};

/** Runs the study of `args.mode`; the results value, or why it could not run. */
export const runAblations = async (args: AblationArgs): Promise<E.Either<string, AblationResults>> => {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const children0 = childrenCpuSeconds();
  const loadStart = os.loadavg();
  const plan = ablationPlan(args.mode, args.steps ? { steps: args.steps } : {});
  const b = plan.budget;
  const backend = await selectBackend();
  if (E.isLeft(backend)) return E.left(backend.left.message);
  if (!backend.right.native) log(`WARNING: not on native TensorFlow (${backend.right.name}); this will be slow`);
  const tok = loadTokenizer(DEFAULT_VOCAB_DIR);
  if (E.isLeft(tok)) return E.left(tok.left.message);
  const date = new Date();
  const commit = gitCommit();
  const runsDir = path.resolve(args.runs ?? path.join(REPO, 'runs', 'ablations', `${args.mode}-${stamp(date)}`));
  fs.mkdirSync(runsDir, { recursive: true });
  log(`${plan.arms.length} arms (${args.mode}): ${b.steps} steps × ${b.batchSize} × ${b.seqLength} tokens each; runs in ${path.relative(REPO, runsDir) || runsDir}`);
  log(`load average ${loadStart.map((x) => x.toFixed(2)).join(' ')} on ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'})`);
  const evalData = new Map<number, EvalData>();
  const caches = new Map<string, string>();
  const arms: ArmResult[] = [];
  for (const [i, arm] of plan.arms.entries()) {
    if (!evalData.has(arm.seed)) {
      const t1 = performance.now();
      const d = buildEvalData({ tokenizer: tok.right, budget: b, seed: arm.seed });
      if (E.isLeft(d)) return E.left(`evaluation data (seed ${arm.seed}): ${d.left}`);
      evalData.set(arm.seed, d.right);
      log(`evaluation pairs for seed ${arm.seed}: ${d.right.heldOut.pairs} held-out pairs of each kind from ${d.right.heldOut.documents} documents, ${d.right.probeTrain.pairs} probe-training pairs (${formatDuration((performance.now() - t1) / 1000)})`);
    }
    arms.push(await runArm(arm, i, plan, runsDir, evalData.get(arm.seed) as EvalData, tok.right, caches));
  }
  const notes: string[] = [];
  const failed = arms.filter((a) => a.error);
  if (failed.length) notes.push(`${failed.length} arm(s) failed: ${failed.map((a) => `${a.id} (${a.error})`).join('; ')}.`);
  notes.push('NSP arms train on NSP instances (B from another document of the same 256-document shard half the time) and the others on SOP instances, both built by `lamina pretrain` from the same documents with the same seed; masks differ between the two instance sets.');
  notes.push(
    `Each segment of a held-out pair gets half of the ${b.seqLength - 3} tokens (${Math.floor((b.seqLength - 3) / 2)}): the whole sentences next to a sentence boundary that fit, or that many tokens cut at a random offset from a longer sentence, by the same rule for both segments and for NSP negatives (of exactly the true continuation's length), so both labels look alike at [CLS] and [SEP] and in length (measured in the tests of \`evaluationPairs\`). An earlier version trimmed only the first segment's start and the second's end, and a linear probe read sentence order off the punctuation before the middle [SEP] from every arm, even the MLM-only one. The "none" arm's probe shows what a linear read-out of frozen features finds without any sentence objective.`,
  );
  notes.push('Different seeds also hold out different documents (the held-out split is seeded, as in `lamina pretrain`), so each seed is evaluated on its own held-out pairs.');
  if (args.mode === 'smoke') notes.push('Smoke run: tiny dimensions and a few steps to check the pipeline; the figures mean nothing.');
  const firstData = [...evalData.values()][0];
  const model = plan.arms[0]?.config;
  const results: AblationResults = {
    kind: 'lamina-ablations',
    schema: 1,
    unit: 'percent',
    date: date.toISOString(),
    command: `pnpm bench ablations${args.mode === 'full' ? '' : ` --${args.mode}`}${args.steps ? ` --steps ${args.steps}` : ''}`,
    mode: args.mode,
    durationSeconds: (performance.now() - t0) / 1000,
    cpuSeconds: (() => {
      const own = process.cpuUsage(cpu0);
      const kids = cpuSince(children0);
      return kids === null ? null : (own.user + own.system) / 1e6 + kids;
    })(),
    environment: {
      backend: backend.right.name,
      native: backend.right.native,
      tensorflowVersion: backend.right.tensorflowVersion ?? null,
      node: process.version,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      cpus: os.cpus().length,
      commit,
      loadStart,
      loadEnd: os.loadavg(),
    },
    budget: b,
    model: { hiddenSize: model?.hiddenSize ?? 0, layers: model?.numHiddenLayers ?? 0, heads: model?.numAttentionHeads ?? 0, intermediateSize: model?.intermediateSize ?? 0, vocabSize: tok.right.vocabSize },
    runsDir: path.relative(REPO, runsDir) || runsDir,
    evaluation: {
      mlmBaseline: Object.fromEntries([...evalData].map(([s, d]) => [String(s), 100 * d.heldOut.mlmMajority])),
      heldOutPairs: Object.fromEntries([...evalData].map(([s, d]) => [String(s), d.heldOut.pairs])),
      heldOutDocuments: Object.fromEntries([...evalData].map(([s, d]) => [String(s), d.heldOut.documents])),
      probeTrainPairs: Object.fromEntries([...evalData].map(([s, d]) => [String(s), d.probeTrain.pairs])),
      probe: `logistic regression on ${PROBE_FEATURES}; standardised with the training split's mean and deviation; trained on ${firstData?.probeTrain.pairs ?? '?'} pairs of each kind from ${firstData?.probeTrain.documents ?? '?'} training documents (never the held-out ones), scored on the held-out pairs; full-batch Adam, learning rate ${PROBE_DEFAULTS.lr}, L2 ${PROBE_DEFAULTS.l2}, ${b.probeSteps} steps, zero initialisation`,
    },
    arms,
    ...assembleTables(plan, arms),
    notes,
    recipeSearch: RECIPE_SEARCH,
  };
  const outDir = args.out ?? RESULTS;
  fs.mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `ablations-${date.toISOString().slice(0, 10)}${args.mode === 'full' ? '' : `-${args.mode}`}.json`);
  fs.writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  const report = writeReport(results, file, args.out);
  log(`wrote ${path.relative(REPO, file) || file}, ${path.relative(REPO, report) || report} and the SVGs (${formatDuration(results.durationSeconds)} in all)`);
  return failed.length === arms.length ? E.left('every arm failed') : E.right(results);
};

/**
 * `pnpm bench ablations …`: resolves with the exit code (2 for bad arguments).
 * @example await ablationsMain(['--smoke', '--out', '/tmp/abl'])
 */
export const ablationsMain = async (argv: readonly string[]): Promise<number> => {
  const a = parseAblationArgs(argv);
  if (E.isLeft(a)) {
    process.stderr.write(`${a.left}\n`);
    return 2;
  }
  if (a.right.report) {
    const file = path.resolve(a.right.report);
    let json: unknown;
    try {
      json = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      process.stderr.write(`cannot read ${file}: ${e instanceof Error ? e.message : String(e)}\n`);
      return 2;
    }
    const r = parseAblationResults(json);
    if (E.isLeft(r)) {
      process.stderr.write(`${file}: ${r.left}\n`);
      return 2;
    }
    log(`wrote ${writeReport(r.right, file, a.right.out)}`);
    return 0;
  }
  const r = await runAblations(a.right);
  if (E.isLeft(r)) {
    process.stderr.write(`bench ablations: ${r.left}\n`);
    return 1;
  }
  return 0;
};
