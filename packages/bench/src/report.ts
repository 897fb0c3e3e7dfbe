/**
 * `BENCHMARKS.md` and its SVG plots, rendered from a results value. Pure and deterministic: the
 * same results give byte-identical output (no clock, no locale), so the report can be regenerated
 * from a committed results file and tested against a fixture.
 *
 * @example
 * ```ts
 * const md = renderReport(results, { resultsFile: 'packages/bench/results/2026-12-01.json', plotDir: 'packages/bench/results' });
 * const svgs = renderPlots(results);   // { 'train-throughput.svg': '<svg…', … }
 * ```
 * @module
 */
import { PER_PARAMETER_UPDATE_FROM, renderSvgPanels, type Panel, type Series } from '@lamina/train';
import type { Measurement, SystemKind } from './measure.js';
import { SYSTEM_LABELS } from './measure.js';
import type { Results } from './results.js';
import { reachability } from './ceiling.js';
import { renderGenerateSection, type GenerateResults } from './generate-report.js';
import type { MemoryResults } from './memory-main.js';
import { MALLOC_TUNED } from './memory.js';
import { ratioOfMedians, rates, type Summary } from './stats.js';

/** Where the report says its inputs are. */
export interface ReportOptions {
  /** Path of the results JSON, relative to the repository root. */
  readonly resultsFile: string;
  /** Directory of the SVG plots, relative to the repository root. */
  readonly plotDir: string;
  /**
   * The hand-maintained "what we tried" table (`packages/bench/TRIED.md`, markdown), included
   * verbatim before this run's own measured rows; the caller reads the file, so rendering stays pure.
   */
  readonly tried?: string;
  /** The newest `pnpm bench generate` results and their path relative to the report (its section; absent: none). */
  readonly generate?: { readonly results: GenerateResults; readonly file: string };
  /**
   * The newest `pnpm bench memory` results and their path relative to the report, shown in the memory
   * section when the run rendered has no bert-large memory rows of its own (absent: none).
   */
  readonly memory?: { readonly results: MemoryResults; readonly file: string };
}

/**
 * The issue's targets for `pnpm bench --quick` on a 2-core machine (issue 12), by ratio key.
 * @example BENCH_TARGETS.find((t) => t.key === 'graph_vs_eager_demo')?.target // 2.5
 */
export const BENCH_TARGETS: readonly { readonly key: keyof Results['ratios']; readonly target: number; readonly meaning: string }[] = [
  { key: 'graph_vs_eager_demo', target: 2.5, meaning: "demo model 32 × 64: lamina's real step, graph engine ÷ eager engine" },
  { key: 'train_vs_pytorch_demo', target: 1.5, meaning: "demo model 32 × 64: lamina's real step (graph, masked positions, LAMB) ÷ Hugging Face's step (all positions, AdamW)" },
  { key: 'train_vs_pytorch', target: 1.5, meaning: 'albert-base 8 × 128, like-for-like (graph, all positions, AdamW) ÷ Hugging Face PyTorch' },
  { key: 'train_vs_pytorch_bert_base', target: 1.3, meaning: 'bert-base 8 × 128, like-for-like ÷ Hugging Face PyTorch' },
  { key: 'infer_vs_pytorch', target: 1.2, meaning: "albert-base 8 × 128 inference: lamina's graph forward ÷ PyTorch (eval mode)" },
  { key: 'utilisation', target: 0.6, meaning: "achieved FLOP/s of lamina's albert-base step ÷ the native matmul rate" },
  { key: 'train_vs_tf_graph_demo', target: 0.9, meaning: "demo model: lamina's real step ÷ the same step in TensorFlow-Python `tf.function`" },
];

/**
 * Whether a measured ratio meets its target: `met`, `missed`, or `not measured`.
 * @example targetStatus(2.6, 2.5) // 'met'; targetStatus(null, 2.5) // 'not measured'
 */
export const targetStatus = (value: number | null | undefined, target: number): 'met' | 'missed' | 'not measured' =>
  value === null || value === undefined || !Number.isFinite(value) ? 'not measured' : value >= target ? 'met' : 'missed';

/** The sentence every report carries: figures belong to the CPU they were measured on. */
export const CPU_FAMILY_NOTE =
  'Ratios differ between CPU families (Intel Xeon with AVX-512/AMX versus AMD EPYC): `train_vs_pytorch` read 2.01 on an AMD EPYC and 1.12 on an Intel Xeon (issue 12), because oneDNN, PyTorch and XLA pick different kernels on each. Compare a figure only with figures from the same CPU model, named in each run\'s Environment table.';

/**
 * An integer with thin thousands separators (locale-independent).
 * @example fmtInt(11683584) // "11,683,584"
 */
export const fmtInt = (n: number): string => (Number.isFinite(n) ? Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',') : '—');

/**
 * A number to `digits` significant figures (no exponent below 1e6).
 * @example fmtNum(1234.5678) // "1235"; fmtNum(0.012345) // "0.01235"
 */
export const fmtNum = (n: number | null | undefined, digits = 4): string => {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  if (Math.abs(n) >= 10 ** digits) return fmtInt(n);
  return String(Number(n.toPrecision(digits)));
};

/**
 * `min / median / max` of a summary.
 * @example fmtSummary({ n: 3, min: 1, median: 2, max: 3 }) // "1 / **2** / 3"
 */
export const fmtSummary = (s: Summary, digits = 4): string => (s.n === 0 ? '—' : `${fmtNum(s.min, digits)} / **${fmtNum(s.median, digits)}** / ${fmtNum(s.max, digits)}`);

/**
 * Bytes in MiB/GiB.
 * @example fmtBytes(3 * 2 ** 30) // "3.00 GiB"
 */
export const fmtBytes = (b: number | null | undefined): string =>
  b === null || b === undefined || !Number.isFinite(b) ? '—' : b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(2)} GiB` : `${(b / 2 ** 20).toFixed(1)} MiB`;

const M = (n: number): string => `${(n / 1e6).toFixed(1)}M`;

const find = (ms: readonly Measurement[], model: string, system: SystemKind): Measurement | undefined => ms.find((m) => m.model === model && m.system === system);

const ratioCell = (a: Measurement | undefined, b: Measurement | undefined): string => {
  if (!a || !b || a.seconds.length === 0 || b.seconds.length === 0) return '—';
  return `${ratioOfMedians(rates(a.seconds, a.tokensPerStep), rates(b.seconds, b.tokensPerStep)).toFixed(2)}×`;
};

const envLine = (r: Results, batch?: number, seq?: number, n?: string, cells = 'cells are min / **median** / max over the timed steps'): string => {
  const e = r.environment;
  const parts = [`backend \`${e.backend}\`${e.tensorflowVersion ? ` (TF ${e.tensorflowVersion})` : ''}`, `${e.threads} threads`];
  if (batch !== undefined && seq !== undefined) parts.push(`batch ${batch} × sequence ${seq}`);
  if (n) parts.push(n);
  if (cells) parts.push(cells);
  return `_${parts.join(', ')}._`;
};

const scheduleText = (r: Results, key: string): string => {
  const s = r.schedules[key];
  return s ? `${s.warmup} warm-up + ${s.repeats} interleaved repeats × ${s.steps} timed steps` : '';
};

const EAGER_OF: Partial<Record<SystemKind, SystemKind>> = { lamina: 'lamina-eager', 'lamina-masked': 'lamina-masked-eager' };
const isLamina = (k: SystemKind): boolean => k === 'lamina' || k === 'lamina-eager' || k === 'lamina-masked' || k === 'lamina-masked-eager';

/** A ratio cell against a reference row that may be missing, or present but not measured. */
const vsCell = (m: Measurement, ref: Measurement | undefined): string => (ref?.error ? 'not measured' : ratioCell(m, ref));

const measurementTable = (r: Results, ms: readonly Measurement[], compare: boolean): string[] => {
  const out = [
    `| model | system | batch × seq | optimizer | tokens/s (min / **median** / max) | s/step (median) | vs PyTorch | vs hand-written | vs TF \`tf.function\` | graph ÷ eager |`,
    `| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`,
  ];
  for (const m of ms) {
    // inference is lamina's compiled forward, op by op (the graph engine is the training step's)
    const label = m.mode === 'infer' && m.system === 'lamina' ? 'lamina graph forward (`compileToGraph`)' : m.mode === 'infer' && m.system === 'lamina-eager' ? 'lamina eager forward (`compile`)' : SYSTEM_LABELS[m.system];
    if (m.error) {
      const what = m.system === 'tf-graph' || m.system === 'tf-xla' ? 'not measured' : 'skipped';
      out.push(`| ${m.model} | ${label} | ${m.batch} × ${m.seq} | ${m.mode === 'train' ? m.optimizer : '—'} | ${what}: ${m.error.replace(/\|/g, '\\|')} | — | — | — | — | — |`);
      continue;
    }
    // ratios between like-for-like rows; on the demo row lamina's real step is also set against
    // Hugging Face's own step (the issue's `train_vs_pytorch_demo`), and against the TF step that mirrors it
    const likeForLike = m.system === 'lamina' || m.system === 'lamina-eager' || m.system === 'handwritten';
    const vsPt = compare && (likeForLike || (m.model === 'demo' && isLamina(m.system))) ? vsCell(m, find(ms, m.model, 'pytorch')) : '—';
    const vsHw = compare && (m.system === 'lamina' || m.system === 'lamina-eager') ? vsCell(m, find(ms, m.model, 'handwritten')) : '—';
    const tfRef = find(ms, m.model, 'tf-graph');
    const vsTf = compare && isLamina(m.system) && tfRef && (tfRef.optimizer === m.optimizer) ? vsCell(m, tfRef) : compare && m.system === 'tf-xla' && tfRef ? vsCell(m, tfRef) : '—';
    const eagerKind = EAGER_OF[m.system];
    const vsEager = compare && eagerKind ? vsCell(m, find(ms, m.model, eagerKind)) : '—';
    out.push(
      `| ${m.model} | ${label} | ${m.batch} × ${m.seq} | ${m.mode === 'train' ? m.optimizer : '—'} | ${fmtSummary(m.tokensPerSecond)} | ${fmtNum(m.stepSeconds.median, 3)} | ${vsPt} | ${vsHw} | ${vsTf} | ${vsEager} |`,
    );
  }
  void r;
  return out;
};

const rateCell = (x: { readonly min: number; readonly median: number; readonly max: number }): string => `${fmtInt(x.min)} / **${fmtInt(x.median)}** / ${fmtInt(x.max)}`;

/**
 * The Summary's "reachable on this CPU?" cell of a target: from the ceiling row whose target is
 * set on `key` (see `ceiling.ts`); `—` for a ratio without a like-for-like ceiling.
 * @example reachableCell(results, 'train_vs_pytorch', 1.5) // '**no**: ceiling 1.18 < 1.5'
 */
export const reachableCell = (r: Results, key: keyof Results['ratios'], target: number): string => {
  const row = (r.ceiling ?? []).find((c) => c.ratioKey === key);
  if (!row) return '—';
  const v = reachability(row.ceiling, target);
  return v === 'unknown' ? 'unknown (no PyTorch rate)' : v === 'unreachable' ? `**no**: ceiling ${fmtNum(row.ceiling, 3)} < ${target}` : `yes: ceiling ${fmtNum(row.ceiling, 3)} ≥ ${target}`;
};

const CEILING_LABEL: Readonly<Record<string, string>> = { lamina: 'lamina (graph)', 'lamina-eager': 'lamina (eager)', handwritten: 'hand-written tfjs', pytorch: 'Hugging Face PyTorch', 'tf-graph': 'TensorFlow-Python tf.function', 'tf-xla': 'TensorFlow-Python XLA' };

/** Section 4's ceiling table and verdicts (empty for an older results file). */
const ceilingSection = (r: Results): string[] => {
  const rows = r.ceiling ?? [];
  if (!rows.length) return [];
  const L: string[] = ['### The ceiling of each like-for-like row', ''];
  L.push(
    "Every system of a row does the same work (MLM logits at every position plus the order logits; training adds the backward, 3 × the forward's FLOPs, and AdamW), so one FLOP count from the DSL's `flops` interpreter serves the whole row, and a ratio of two systems' GFLOP/s is the ratio of their tokens/s. Utilisation is each system's median over this run's matmul rate. The ceiling is matmul rate ÷ PyTorch's median: what lamina ÷ PyTorch would be if lamina's whole step ran at the matmul rate. It is an estimate, not a proof: a step's products have other shapes than 2048³ and may run a little faster or slower than it, and its other ops cost time too; a target well above the ceiling is out of reach for a like-for-like step on this CPU.",
    '',
  );
  L.push('| row | GFLOP / step | system | achieved GFLOP/s (min / **median** / max) | utilisation |', '| --- | --- | --- | --- | --- |');
  for (const c of rows) {
    c.systems.forEach((s, i) => {
      const head = i === 0 ? `${c.mode === 'train' ? 'training' : 'inference'}, ${c.model} ${c.batch} × ${c.seq} | ${fmtNum(c.stepFlops / 1e9, 4)}` : ' | ';
      L.push(`| ${head} | ${CEILING_LABEL[s.system] ?? s.system} | ${fmtSummary(s.achievedGflops)} | ${fmtNum(s.utilisation, 3)} |`);
    });
  }
  L.push('');
  for (const c of rows) {
    const what = `${c.mode === 'train' ? 'training' : 'inference'}, ${c.model} ${c.batch} × ${c.seq}`;
    const pt = c.systems.find((s) => s.system === 'pytorch');
    const ceil = c.ceiling === null || !pt ? 'no PyTorch rate, no ceiling' : `ceiling = ${fmtNum(c.matmulGflops, 4)} ÷ ${fmtNum(pt.achievedGflops.median, 4)} = **${fmtNum(c.ceiling, 3)}**`;
    const verdict =
      c.target === undefined || c.ratioKey === undefined
        ? ''
        : reachability(c.ceiling, c.target) === 'unreachable'
          ? `: the target \`${c.ratioKey}\` ≥ ${c.target} is **not reachable** on this CPU by a like-for-like step (at 100% of the matmul rate lamina would reach ${fmtNum(c.ceiling, 3)}× PyTorch)`
          : reachability(c.ceiling, c.target) === 'reachable'
            ? `: the target \`${c.ratioKey}\` ≥ ${c.target} is below the ceiling (reachable in principle)`
            : '';
    L.push(`- ${what}: ${ceil}${verdict}.`);
  }
  L.push('');
  return L;
};

/** The markdown of `BENCHMARKS.md`. */
export const renderReport = (r: Results, o: ReportOptions): string => {
  const L: string[] = [];
  const e = r.environment;
  const pt = 'skipped' in e.pytorch ? `skipped — ${e.pytorch.skipped}` : `torch ${e.pytorch.torch}, transformers ${e.pytorch.transformers}, ${e.pytorch.threads} threads`;
  L.push('# lamina benchmarks', '');
  L.push(
    `Generated by \`${r.command}\` on ${r.date} from [\`${o.resultsFile}\`](${o.resultsFile}) — do not edit by hand; run \`pnpm bench\` (or \`pnpm bench --quick\`, about 10 minutes on an idle 2-core machine (9m36s measured on AMD EPYC, 2026-12-01)) to regenerate. ` +
      'Every comparison is a ratio of medians measured side by side in the same run, with the systems\' repeats interleaved: absolute figures from different runs (or machines) are not comparable.',
    '',
  );
  L.push('## Environment', '');
  L.push('| | |', '| --- | --- |');
  L.push(`| backend | \`${e.backend}\`${e.native ? ' (native)' : ''}, TF ${e.tensorflowVersion ?? '—'}, tfjs ${e.tfjsVersion} |`);
  L.push(`| threads | ${e.threads} (TensorFlow intra-op) |`);
  L.push(`| CPU | ${e.cpuModel}, ${e.cpus} cores |`);
  L.push(`| load average (1 min) at start / end | ${fmtNum(e.loadAverage[0], 3)} / ${fmtNum(e.loadAverage[1], 3)} (other processes share the cores: absolute figures are pessimistic) |`);
  L.push(`| Node | ${e.node} |`);
  L.push(`| PyTorch | ${pt} |`);
  const tfp = e.tensorflowPython;
  L.push(`| TensorFlow-Python | ${tfp === undefined ? 'not measured (older results file)' : 'skipped' in tfp ? `not measured — ${tfp.skipped}` : `TensorFlow ${tfp.tensorflow}, ${tfp.threads} threads`} |`);
  L.push(`| run | \`${r.command}\`, ${fmtNum(r.durationSeconds, 3)} s |`, '');
  L.push(`**CPU of this run: ${e.cpuModel}.** ${CPU_FAMILY_NOTE}`, '');

  const useq = r.utilisation?.seq ?? 128;
  L.push('## Summary: the targets', '');
  L.push(
    `The issue's targets (issue 12) for \`pnpm bench --quick\` on a 2-core machine, from this run (${e.cpuModel}). Each value is a ratio of medians measured side by side, repeats interleaved. Where a target is missed, [section 8](#8-where-the-time-goes-per-op-profile) shows where the time goes per op kind, graph versus eager.`,
    '',
  );
  L.push(
    'The "reachable on this CPU?" column applies to the like-for-like rows against PyTorch: their ceiling is this run\'s matmul rate ÷ PyTorch\'s achieved FLOP/s on the same row ([section 4](#4-utilisation)), the ratio lamina would reach if every FLOP of its step ran at the rate of the runtime\'s own 2048³ matmul. Where the ceiling is below the target, no like-for-like implementation on this runtime meets it on this CPU.',
    '',
  );
  L.push('| ratio | value | target | status | reachable on this CPU? | meaning |', '| --- | --- | --- | --- | --- | --- |');
  const rr = r.ratios;
  for (const t of BENCH_TARGETS) {
    const v = rr[t.key] as number | null | undefined;
    const st = targetStatus(v, t.target);
    L.push(`| \`${t.key}\` | ${fmtNum(v, 3)} | ≥ ${t.target} | ${st === 'met' ? '**met**' : st === 'missed' ? 'missed ([profile](#8-where-the-time-goes-per-op-profile))' : st} | ${reachableCell(r, t.key, t.target)} | ${t.meaning} |`);
  }
  L.push(`| \`dsl_vs_handwritten\` | ${fmtNum(rr.dsl_vs_handwritten, 3)} | — | context | — | lamina's albert-base graph step ÷ the hand-written tfjs step (eager, op by op) |`);
  L.push(`| \`train_vs_tf_xla_demo\` | ${fmtNum(rr.train_vs_tf_xla_demo, 3)} | — | context | — | demo model: lamina's real step ÷ TensorFlow-Python \`tf.function(jit_compile=True)\` |`);
  L.push(`| \`graph_vs_eager_finetune\` / \`graph_vs_eager_clm\` | ${fmtNum(rr.graph_vs_eager_finetune, 3)} / ${fmtNum(rr.graph_vs_eager_clm, 3)} | — | context | — | the fine-tuning and GPT-2-tiny steps, graph ÷ eager (section 2b) |`, '');
  L.push(envLine(r, 8, useq), '');

  L.push('## 1. Parameters (paper Table 1, and Table 4 for the other sharing strategies)', '');
  L.push(
    'Bare encoder (embeddings, layers, pooler — what `AlbertModel`/`BertModel` hold). lamina counts with `countParams(albertModel(config))`; Hugging Face with `packages/bench/python/param_counts.py` (models built on the `meta` device). "—": Hugging Face has no such architecture, or the paper gives no figure.',
    '',
  );
  L.push('| preset | sharing | layers | H | E | lamina | Hugging Face | paper |', '| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const row of r.table1.rows) {
    const hf = row.hf === null ? '—' : `${fmtInt(row.hf)}${row.hfSource === 'recorded' ? ' (recorded)' : ''}${row.hf === row.lamina ? ' ✓' : ' ✗'}`;
    const paper = row.paper ? `${M(row.paper.value).replace('.0M', 'M')} (${row.paper.source})` : '—';
    L.push(`| ${row.preset} | ${row.sharing} | ${row.layers} | ${row.hidden} | ${row.embedding} | ${fmtInt(row.lamina)} (${M(row.lamina)}) | ${hf} | ${paper} |`);
  }
  L.push('', r.table1.hfNote, '', `**Note.** ${r.table1.xxlargeNote}`, '');

  L.push('## 2. Training-step throughput', '');
  L.push(
    'One step = forward + backward + global-norm clip (1.0) + optimizer update, ending with a read of the loss. Like-for-like rows compute the MLM logits at every position and use AdamW in all three systems (PyTorch: `torch.optim.AdamW`; lamina and hand-written: ALBERT\'s AdamW without bias correction — the same per-element work). "lamina real pretraining step" is what `lamina pretrain` runs: logits only at the 20 masked positions per row, LAMB. Synthetic full-length batches (no padding), 20 masked positions per row.',
    '',
  );
  L.push(envLine(r, undefined, undefined, scheduleText(r, 'train')), '');
  L.push(...measurementTable(r, r.train, true), '');
  L.push(`![training throughput per timed step](${o.plotDir}/train-throughput.svg)`, '');

  L.push('## 2b. Graph versus eager', '');
  L.push(
    "lamina's graph engine runs each training step after the first as one TensorFlow function (forward, backward, clip, update; Grappler on, no XLA); the eager engine runs tfjs ops one at a time. The demo model's pretraining step (LAMB, MLM at the masked positions + SOP) is the demo row of the table above; the fine-tuning step (the demo model with a 2-class head, AdamW, dropout 0.1) and a GPT-2-tiny causal-LM step (V=10000, H=128, 4 layers) are measured here by `stepGraphVsEager` in `packages/bench/src/graph.ts`, repeats interleaved after 3 warm-up steps per engine (the trace included).",
    '',
  );
  L.push('| step | batch × seq | eager tokens/s (min / **median** / max) | graph tokens/s (min / **median** / max) | graph ÷ eager (medians) |', '| --- | --- | --- | --- | --- |');
  const dg = find(r.train, 'demo', 'lamina-masked');
  const de = find(r.train, 'demo', 'lamina-masked-eager');
  if (dg && de && !dg.error && !de.error)
    L.push(`| demo pretraining (the demo row) | ${dg.batch} × ${dg.seq} | ${fmtSummary(de.tokensPerSecond)} | ${fmtSummary(dg.tokensPerSecond)} | **${fmtNum(r.ratios.graph_vs_eager_demo, 3)}** |`);
  else L.push(`| demo pretraining | — | ${de?.error ? `not measured: ${de.error}` : 'not measured'} | ${dg?.error ? `not measured: ${dg.error}` : 'not measured'} | — |`);
  for (const g of r.graphSteps ?? []) L.push(`| ${g.step} (${g.repeats} repeats × ${g.steps} steps) | ${g.batch[0]} × ${g.batch[1]} | ${rateCell(g.eager)} | ${rateCell(g.graph)} | **${fmtNum(g.ratio, 3)}** |`);
  if (!r.graphSteps?.length) L.push('| finetune, clm | — | not measured in this run | — | — |');
  L.push('');

  L.push('## 3. Inference throughput', '');
  L.push("Forward only, eval mode (no dropout), MLM logits at every position plus the order logits; PyTorch under `torch.inference_mode()`. lamina's forward runs on the graph engine (`compileToGraph`: one TensorFlow function per input signature, traced in the warm-up; what `lamina forward` runs), with the eager forward (`compile`) beside it.", '');
  L.push(envLine(r, undefined, undefined, scheduleText(r, 'infer')), '');
  L.push(...measurementTable(r, r.infer, true), '');

  L.push('## 4. Utilisation', '');
  if (r.utilisation) {
    const u = r.utilisation;
    L.push(
      `Achieved FLOP/s of lamina's like-for-like training step on ${u.model} (forward FLOPs from the DSL's \`flops\` interpreter: ${fmtNum(u.forwardFlops / 1e9, 4)} GFLOP; step = 3 × forward = ${fmtNum(u.stepFlops / 1e9, 4)} GFLOP) over the native backend's rate on a ${r.matmul.n}×${r.matmul.n} matmul measured in the same run.`,
      '',
    );
    L.push(envLine(r, u.batch, u.seq), '');
    L.push('| | GFLOP/s |', '| --- | --- |');
    L.push(`| matmul ${r.matmul.n}³ (tfjs-node) | ${fmtSummary(r.matmul.gflops)} |`);
    if (r.matmul.pytorchGflops) L.push(`| matmul ${r.matmul.n}³ (PyTorch, context) | ${fmtSummary(r.matmul.pytorchGflops)} |`);
    L.push(`| lamina step, achieved | ${fmtSummary(u.achievedGflops)} |`);
    L.push(`| **utilisation** (median / median) | **${fmtNum(u.utilisation, 3)}** |`, '');
  } else L.push('Not measured in this run (lamina\'s step was not available).', '');
  L.push(...ceilingSection(r));

  L.push("## 5. The paper's speed claim (ALBERT vs BERT training throughput)", '');
  L.push('The paper (Table 2) reports ALBERT-large training about 1.7× faster than BERT-large (TPU, its own implementation). Here: the same system for both, side by side.', '');
  L.push('| size | models | system | ALBERT ÷ BERT tokens/s (median) | paper |', '| --- | --- | --- | --- | --- |');
  for (const s of r.speedClaim) L.push(`| ${s.size} | ${s.albert} vs ${s.bert} | ${s.system} | **${fmtNum(s.ratio, 3)}×** | ${s.size === 'large' ? `${s.paper}×` : '—'} |`);
  if (!r.speedClaim.some((s) => s.size === 'large')) L.push('| large | — | — | not measured in this run (`--quick` measures base only) | 1.7× |');
  L.push('');
  if (r.large.length) {
    L.push(envLine(r, undefined, undefined, scheduleText(r, 'large')), '');
    L.push(...measurementTable(r, r.large, true), '');
  }

  L.push('## 6. Memory', '');
  L.push(
    'Parameters and optimizer state are exact (float32; two moment slots per parameter for LAMB/AdamW). Peak RSS: the highest resident set size seen while that system ran — the tfjs systems share the bench process (so a later system\'s figure includes what earlier ones left to the allocator), PyTorch is its own process (`ru_maxrss`). tfjs bytes owned: what `tf.memory()` grew by while the system was built and warmed up (parameters, optimizer state, caches).',
    '',
  );
  L.push('| model | parameters | parameter bytes | optimizer state | system | peak RSS | tfjs bytes owned |', '| --- | --- | --- | --- | --- | --- | --- |');
  for (const m of r.memory) {
    const ids = Object.keys(m.peakRss);
    if (ids.length === 0) L.push(`| ${m.model} | ${fmtInt(m.params)} | ${fmtBytes(m.paramBytes)} | ${fmtBytes(m.optimizerBytes)} | — | — | — |`);
    ids.forEach((id, i) =>
      L.push(
        `| ${i === 0 ? m.model : ''} | ${i === 0 ? fmtInt(m.params) : ''} | ${i === 0 ? fmtBytes(m.paramBytes) : ''} | ${i === 0 ? fmtBytes(m.optimizerBytes) : ''} | ${id} | ${fmtBytes(m.peakRss[id])} | ${fmtBytes(m.tfBytes[id])} |`,
      ),
    );
  }
  L.push('');
  const separate = r.largeMemory ? undefined : o.memory;
  const lm = r.largeMemory ?? separate?.results.largeMemory;
  L.push(`### Peak RSS of one ${lm?.model ?? 'bert-large'} step, each system in its own process`, '');
  if (separate) {
    const e = separate.results.environment;
    L.push(
      `Not measured by this run: these rows come from a separate \`${separate.results.command}\` run on ${separate.results.date} ([\`${separate.file}\`](${separate.file})), ${e.cpuModel}, ${e.cpus} cores, ${fmtBytes(e.totalMemoryBytes)} of memory, load ${e.loadAverage[0].toFixed(2)} → ${e.loadAverage[1].toFixed(2)}.`,
      '',
    );
  }
  if (lm) {
    L.push(
      `Batch ${lm.batch} × ${lm.seq}, the steps before the steady state first (one; two for lamina's graph engine: a model of ${(PER_PARAMETER_UPDATE_FROM / 1e6).toFixed(0)}M parameter elements or more, as bert-large, updates per parameter after the step's function and traces on its first step, a smaller one runs its first step eagerly and traces on the second), then the peak RSS is reset (\`/proc/self/clear_refs\`) and ${lm.steps} measured step(s) run: "step peak" is the peak of those alone, "first-step peak" the peak before the reset (for lamina graph, the trace included), "step seconds" their mean wall time (one process after another on an idle machine, not interleaved: read it as the rough price of a setting, not as a speed comparison). lamina: LAMB, MLM logits at the masked positions; PyTorch: \`torch.optim.AdamW\` (torch has no LAMB; the state is the same two moments per parameter), logits at all positions. The lamina rows run with glibc's default malloc, as a user's process does, except "malloc tuned": the same graph step started with \`GLIBC_TUNABLES=${MALLOC_TUNED}\` (every buffer of 4 MiB or more its own mapping, in transparent huge pages where allowed, returned to the system when freed; with the defaults freed activation and gradient buffers stay resident and fragment the heap, and the graph step gives the trace's freed pages back once, with \`malloc_trim\`). Target (issue 12): lamina graph ≤ 1.2 × PyTorch.`,
      '',
    );
    L.push('| system | optimizer | first-step peak | step peak | step peak ÷ PyTorch\'s | step seconds |', '| --- | --- | --- | --- | --- | --- |');
    const ptRow = lm.rows.find((x) => x.system === 'Hugging Face PyTorch' && !x.error);
    for (const x of lm.rows) {
      const rel = x.stepPeakBytes && ptRow?.stepPeakBytes && x !== ptRow ? `${(x.stepPeakBytes / ptRow.stepPeakBytes).toFixed(2)}×` : '—';
      const secs = typeof x.stepSeconds === 'number' ? x.stepSeconds.toFixed(1) : '—';
      L.push(x.error && x.stepPeakBytes === null ? `| ${x.system} | ${x.optimizer} | not measured: ${x.error.replace(/\|/g, '\\|')} | — | — | — |` : `| ${x.system} | ${x.optimizer} | ${fmtBytes(x.firstStepPeakBytes)} | ${fmtBytes(x.stepPeakBytes)} | ${rel}${x.error ? ` (${x.error})` : ''} | ${secs} |`);
    }
    L.push('');
  } else L.push('Not measured in this run (the full `pnpm bench` measures it; `--quick` does not).', '');

  L.push('## 7. Scaling', '');
  const sc = r.scaling;
  if (sc.length) {
    const m0 = (sc[0] as (typeof sc)[number]).measurement;
    L.push(`lamina's real pretraining step (masked positions, LAMB) on a small config (see the results file for its fields), ${scheduleText(r, 'scaling')}.`, '');
    L.push(envLine(r, m0.batch, undefined, 'sequence length as listed'), '');
    L.push('| vary | value | sharing | parameters | s/step (min / **median** / max) | tokens/s (median) |', '| --- | --- | --- | --- | --- | --- |');
    for (const p of sc)
      L.push(
        `| ${p.variable} | ${p.value} | ${p.sharing} | ${fmtInt(p.params)} | ${p.measurement.error ? `skipped: ${p.measurement.error}` : fmtSummary(p.measurement.stepSeconds, 3)} | ${fmtNum(p.measurement.tokensPerSecond.median)} |`,
      );
    L.push('', `![step time and parameters vs layers](${o.plotDir}/scaling-layers.svg)`, '', `![step time vs sequence length](${o.plotDir}/scaling-seq.svg)`, '');
  } else L.push('Not measured in this run.', '');

  L.push('## 8. Where the time goes (per-op profile)', '');
  const pr = r.profile;
  if (pr && (pr.lamina || pr.handwritten)) {
    L.push(`${pr.note}`, '');
    L.push(envLine(r, pr.batch, pr.seq, `one profiled step of ${pr.model} per system`, ''), '');
    const kinds = new Set<string>();
    for (const p of [pr.lamina, pr.handwritten]) p?.byKernel.slice(0, 18).forEach((k) => kinds.add(k.kernel));
    const get = (p: typeof pr.lamina, k: string) => p?.byKernel.find((x) => x.kernel === k);
    const share = (p: typeof pr.lamina, k: string) => {
      const x = get(p, k);
      return p && x ? `${fmtNum(x.ms, 4)} ms (${((100 * x.ms) / p.kernelMs).toFixed(1)}%), ${x.calls} calls` : '—';
    };
    L.push('| kernel | lamina | hand-written |', '| --- | --- | --- |');
    for (const k of [...kinds].sort((a, b) => (get(pr.lamina, b)?.ms ?? 0) - (get(pr.lamina, a)?.ms ?? 0) || a.localeCompare(b))) L.push(`| ${k} | ${share(pr.lamina, k)} | ${share(pr.handwritten, k)} |`);
    const tot = (p: typeof pr.lamina) => (p ? `${fmtNum(p.kernelMs, 5)} ms in ${fmtInt(p.kernelCalls)} kernel calls (wall ${fmtNum(p.wallMs, 5)} ms)` : '—');
    L.push(`| **total** | ${tot(pr.lamina)} | ${tot(pr.handwritten)} |`, '');
  } else L.push('Not profiled in this run.', '');
  const dp = pr?.demo;
  if (dp && (dp.graph || dp.eager)) {
    L.push(`### The demo row's real step, graph versus eager (${dp.batch} × ${dp.seq})`, '');
    L.push(
      "One step of each engine under `tf.profile`. The eager step shows where the time goes op kind by op kind; the graph step is a single call of the traced TensorFlow function, so tfjs sees one kernel (the function) and its total: the difference between the two totals is what dispatch and the missing fusions cost. TensorFlow's per-node timings inside a function are not reachable through tfjs-node's binding.",
      '',
    );
    const kinds = new Set<string>();
    for (const p of [dp.eager, dp.graph]) p?.byKernel.slice(0, 15).forEach((k) => kinds.add(k.kernel));
    const cell = (p: typeof dp.eager, k: string) => {
      const x = p?.byKernel.find((y) => y.kernel === k);
      return p && x ? `${fmtNum(x.ms, 4)} ms (${((100 * x.ms) / p.kernelMs).toFixed(1)}%), ${x.calls} calls` : '—';
    };
    L.push('| kernel | eager | graph |', '| --- | --- | --- |');
    for (const k of [...kinds].sort((a, b) => (dp.eager?.byKernel.find((x) => x.kernel === b)?.ms ?? 0) - (dp.eager?.byKernel.find((x) => x.kernel === a)?.ms ?? 0) || a.localeCompare(b)))
      L.push(`| ${k} | ${cell(dp.eager, k)} | ${cell(dp.graph, k)} |`);
    const tot = (p: typeof dp.eager) => (p ? `${fmtNum(p.kernelMs, 5)} ms in ${fmtInt(p.kernelCalls)} kernel calls (wall ${fmtNum(p.wallMs, 5)} ms)` : '—');
    L.push(`| **total** | ${tot(dp.eager)} | ${tot(dp.graph)} |`, '');
  }

  L.push('## 9. Compiler changes, priced in isolation', '');
  if (r.micro.length) {
    L.push(
      'Forward + backward of one op at albert-base\'s shapes, the variants interleaved; the first variant is what `packages/dsl/src/compile.ts` emitted before commit 748a9e7, the last what it emits since. Each variant is checked against the first (max |Δ| of output and input gradient).',
      '',
    );
    L.push(envLine(r, undefined, undefined, undefined, 'cells are min / **median** / max ms over the repeats'), '');
    L.push('| op | shape | variant | ms (min / **median** / max) | speed-up (median) | max abs Δ |', '| --- | --- | --- | --- | --- | --- |');
    for (const m of r.micro) {
      const ref = m.variants[0]?.ms.median ?? NaN;
      m.variants.forEach((v, i) =>
        L.push(`| ${i === 0 ? m.name : ''} | ${i === 0 ? m.shape.join('×') : ''} | ${v.name} | ${fmtSummary(v.ms, 3)} | ${(ref / v.ms.median).toFixed(2)}× | ${v.maxAbsDiff.toExponential(1)} |`),
      );
    }
    L.push('');
  } else L.push('Not measured in this run.', '');

  L.push('## Data pipeline', '');
  const d = r.dataPipeline;
  L.push(
    'skipped' in d
      ? `Not measured: ${d.skipped}`
      : `Pretraining-instance building (\`measureInstanceThroughput\` from \`@lamina/albert\`, one core): **${fmtNum(d.tokensPerSecond)} tokens/s** (${fmtInt(d.instances)} instances in ${fmtNum(d.seconds, 3)} s), ${dataVsTraining(r, d.tokensPerSecond)}.`,
    '',
  );

  if (o.generate) L.push(...renderGenerateSection(o.generate.results, o.generate.file));
  L.push('## What we tried and what it bought', '');
  if (o.tried) L.push(o.tried.trim(), '', '### Measured in this run', '');
  L.push('Each effect below is a same-run ratio.', '');
  L.push('| change | measured as | effect |', '| --- | --- | --- |');
  for (const t of r.tried) L.push(`| ${t.change} | ${t.measurement} | ${t.effect} |`);
  L.push('');
  if (r.notes.length) {
    L.push('## Notes', '');
    for (const n of r.notes) L.push(`- ${n}`);
    L.push('');
  }
  return L.join('\n');
};

const dataVsTraining = (r: Results, data: number): string => {
  const base = r.train.filter((m) => !m.error && m.model !== 'tiny' && m.system !== 'pytorch');
  if (base.length === 0) return 'no training step to compare with';
  const fastest = Math.max(...base.map((m) => m.tokensPerSecond.median));
  return `${fmtNum(data / fastest, 3)}× the fastest base-size training step above (${fmtNum(fastest)} tokens/s)${data > 10 * fastest ? ': data is not the bottleneck' : ''}`;
};

const series = (name: string, points: [number, number][]): Series => ({ name, points });

/** The SVG plots of a results value, by file name. */
export const renderPlots = (r: Results): Record<string, string> => {
  const out: Record<string, string> = {};
  const models = [...new Set(r.train.map((m) => m.model))];
  const panels: Panel[] = models.map((model) => ({
    title: `${model}: training tokens/s per timed step`,
    xLabel: 'timed step (repeats interleaved across systems)',
    yLabel: 'tokens/s',
    width: 560,
    height: 340,
    series: r.train
      .filter((m) => m.model === model && !m.error)
      .map((m) => series(m.system, rates(m.seconds, m.tokensPerStep).map((v, i) => [i + 1, v] as [number, number]))),
  }));
  if (panels.length) out['train-throughput.svg'] = renderSvgPanels(panels, { columns: Math.min(2, panels.length) });
  const layers = r.scaling.filter((p) => p.variable === 'layers');
  if (layers.length) {
    const sharings = [...new Set(layers.map((p) => p.sharing))];
    out['scaling-layers.svg'] = renderSvgPanels(
      [
        {
          title: 'step time vs layers',
          xLabel: 'layers',
          yLabel: 'seconds / step (median)',
          width: 520,
          height: 340,
          series: sharings.map((s) => series(`sharing ${s}`, layers.filter((p) => p.sharing === s).map((p) => [p.value, p.measurement.stepSeconds.median]))),
        },
        {
          title: 'parameters vs layers',
          xLabel: 'layers',
          yLabel: 'parameters (millions)',
          width: 520,
          height: 340,
          series: sharings.map((s) => series(`sharing ${s}`, layers.filter((p) => p.sharing === s).map((p) => [p.value, p.params / 1e6]))),
        },
      ],
      { columns: 2 },
    );
  }
  const seqs = r.scaling.filter((p) => p.variable === 'seq');
  if (seqs.length)
    out['scaling-seq.svg'] = renderSvgPanels(
      [
        {
          title: 'step time vs sequence length',
          xLabel: 'sequence length',
          yLabel: 'seconds / step (median)',
          width: 520,
          height: 340,
          series: [series('step time', seqs.map((p) => [p.value, p.measurement.stepSeconds.median]))],
        },
        {
          title: 'throughput vs sequence length',
          xLabel: 'sequence length',
          yLabel: 'tokens/s (median)',
          width: 520,
          height: 340,
          series: [series('tokens/s', seqs.map((p) => [p.value, p.measurement.tokensPerSecond.median]))],
        },
      ],
      { columns: 2 },
    );
  return out;
};
