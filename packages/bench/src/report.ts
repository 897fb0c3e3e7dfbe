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
import { renderSvgPanels, type Panel, type Series } from '@lamina/train';
import type { Measurement, SystemKind } from './measure.js';
import { SYSTEM_LABELS } from './measure.js';
import type { Results } from './results.js';
import { renderGenerateSection, type GenerateResults } from './generate-report.js';
import { ratioOfMedians, rates, type Summary } from './stats.js';

/** Where the report says its inputs are. */
export interface ReportOptions {
  /** Path of the results JSON, relative to the repository root. */
  readonly resultsFile: string;
  /** Directory of the SVG plots, relative to the repository root. */
  readonly plotDir: string;
  /** The newest `pnpm bench generate` results and their path relative to the report (its section; absent: none). */
  readonly generate?: { readonly results: GenerateResults; readonly file: string };
}

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

const measurementTable = (r: Results, ms: readonly Measurement[], compare: boolean): string[] => {
  const out = [
    `| model | system | batch × seq | optimizer | tokens/s (min / **median** / max) | s/step (median) | vs PyTorch | vs hand-written |`,
    `| --- | --- | --- | --- | --- | --- | --- | --- |`,
  ];
  for (const m of ms) {
    const label = SYSTEM_LABELS[m.system];
    if (m.error) {
      out.push(`| ${m.model} | ${label} | ${m.batch} × ${m.seq} | ${m.mode === 'train' ? m.optimizer : '—'} | skipped: ${m.error.replace(/\|/g, '\\|')} | — | — | — |`);
      continue;
    }
    // ratios only between like-for-like rows (the masked-positions step does less work by design)
    const vsPt = compare && (m.system === 'lamina' || m.system === 'handwritten') ? ratioCell(m, find(ms, m.model, 'pytorch')) : '—';
    const vsHw = compare && m.system === 'lamina' ? ratioCell(m, find(ms, m.model, 'handwritten')) : '—';
    out.push(
      `| ${m.model} | ${label} | ${m.batch} × ${m.seq} | ${m.mode === 'train' ? m.optimizer : '—'} | ${fmtSummary(m.tokensPerSecond)} | ${fmtNum(m.stepSeconds.median, 3)} | ${vsPt} | ${vsHw} |`,
    );
  }
  void r;
  return out;
};

/** The markdown of `BENCHMARKS.md`. */
export const renderReport = (r: Results, o: ReportOptions): string => {
  const L: string[] = [];
  const e = r.environment;
  const pt = 'skipped' in e.pytorch ? `skipped — ${e.pytorch.skipped}` : `torch ${e.pytorch.torch}, transformers ${e.pytorch.transformers}, ${e.pytorch.threads} threads`;
  L.push('# lamina benchmarks', '');
  L.push(
    `Generated by \`${r.command}\` on ${r.date} from [\`${o.resultsFile}\`](${o.resultsFile}) — do not edit by hand; run \`pnpm bench\` (or \`pnpm bench --quick\`, under 5 minutes) to regenerate. ` +
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
  L.push(`| run | \`${r.command}\`, ${fmtNum(r.durationSeconds, 3)} s |`, '');

  const useq = r.utilisation?.seq ?? 128;
  L.push(`## Summary (albert-base, batch 8 × ${useq})`, '');
  L.push('| ratio | value | target | meaning |', '| --- | --- | --- | --- |');
  const rr = r.ratios;
  L.push(`| \`train_vs_pytorch\` | ${fmtNum(rr.train_vs_pytorch, 3)} | ≥ 1.0 | lamina training tokens/s ÷ Hugging Face PyTorch (MLM logits at all positions in both) |`);
  L.push(`| \`infer_vs_pytorch\` | ${fmtNum(rr.infer_vs_pytorch, 3)} | ≥ 1.0 | lamina inference tokens/s ÷ PyTorch (eval mode, forward only) |`);
  L.push(`| \`dsl_vs_handwritten\` | ${fmtNum(rr.dsl_vs_handwritten, 3)} | ≥ 0.97 | lamina training tokens/s ÷ the hand-written tfjs step |`);
  L.push(`| \`utilisation\` | ${fmtNum(rr.utilisation, 3)} | ≥ 0.5 | achieved FLOP/s of lamina's step ÷ the native matmul rate |`, '');
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

  L.push('## 3. Inference throughput', '');
  L.push('Forward only, eval mode (no dropout), MLM logits at every position plus the order logits; PyTorch under `torch.inference_mode()`.', '');
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
  L.push('Only changes that were measured by this bench are listed; each effect is a same-run ratio.', '');
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
