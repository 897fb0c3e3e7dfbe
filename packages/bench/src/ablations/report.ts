/**
 * `ABLATIONS.md` and its SVGs, rendered from an ablations results value. Pure and deterministic
 * (no clock, no locale): the same results give byte-identical output, so the report can be
 * re-rendered from a committed results file and tested against a fixture.
 *
 * @example
 * ```ts
 * const md = renderAblations(results, { resultsFile: 'packages/bench/results/ablations-2026-12-01-quick.json', plotDir: 'packages/bench/results' });
 * const svgs = renderAblationPlots(results); // { 'ablations-table5.svg': '<?xml…', … }
 * ```
 * @module
 */
import { fmtInt } from '../report.js';
import { summarySentence, table3Claims, table4Claims, table5Claims, type Claim } from './claims.js';
import type { AblationResults, ArmResult, DownstreamEntry, SeedStat, Table5Entry } from './results.js';
import { PAPER_EMBEDDING_SIZES } from './paper.js';
import { embeddingFor } from './plan.js';
import { barChart } from './svg.js';

/** Where the report says its inputs are. */
export interface AblationReportOptions {
  /** Path of the results JSON relative to the report. */
  readonly resultsFile: string;
  /** Directory of the SVGs relative to the report. */
  readonly plotDir: string;
}

const f1 = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(1));
const M = (n: number): string => `${(n / 1e6).toFixed(2)}M`;
const stat = (s: SeedStat | undefined): string => (!s ? '—' : s.n > 1 ? `${f1(s.mean)} (${f1(s.min)}–${f1(s.max)})` : f1(s.mean));
const secs = (s: number | null | undefined): string => {
  if (s === null || s === undefined || !Number.isFinite(s)) return '—';
  const t = Math.round(s); // round once, so 1079.7 s is 18m00s, never 17m60s
  return t >= 60 ? `${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s` : `${t}s`;
};
const plural = (n: number, w: string): string => `${n} ${w}${n === 1 ? '' : 's'}`;
const label = (o: string): string => (o === 'none' ? 'none' : o.toUpperCase());
const SHARING_LABEL: Record<string, string> = { all: 'all-shared', attention: 'shared-attention', ffn: 'shared-FFN', none: 'not-shared' };

const claimLines = (cs: readonly Claim[]): string[] => cs.map((c) => `- **${c.verdict}** — ${c.claim}. ${c.detail}.`);

/** The "what we tried" subsection: the recipe search the results carry (none in older files). */
const triedLines = (r: AblationResults): string[] => {
  const ts = r.recipeSearch ?? [];
  if (!ts.length) return [];
  return [
    '### What we tried (choosing the shared recipe)',
    '',
    'Each line is one `lamina pretrain` run of the Table 5 model (E = 32, all-shared, seed 12345), scored by the run\'s own held-out evaluation (MLM accuracy, and the accuracy of its sentence head on 256 held-out instances of its own kind, with the share of the majority label: a head at that share, or at 100 minus it, predicts a single label). The recipe above is the one kept; no arm was tuned on its own.',
    '',
    '| objective | recipe | MLM | sentence head | majority label | wall | load | finding |',
    '|---|---|---:|---:|---:|---:|---|---|',
    ...ts.map((t) => `| ${label(t.objective)} | ${t.recipe} | ${f1(t.mlm)} | ${f1(t.head)} | ${f1(t.majority)} | ${secs(t.wallSeconds)} | ${t.load} | ${t.finding} |`),
    '',
  ];
};

const armsOf = (r: AblationResults, ids: readonly string[]): ArmResult[] => r.arms.filter((a) => ids.includes(a.id));
const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

/** The SVG file names, by table. */
/** The one IMDB accuracy every fine-tuned arm scored, when they all scored the same (to 0.1 point). */
const sameImdb = (r: AblationResults): number | undefined => {
  const xs = r.arms.flatMap((a) => (typeof a.imdb === 'number' ? [a.imdb] : []));
  return xs.length > 1 && Math.max(...xs) - Math.min(...xs) < 0.05 ? (xs[0] as number) : undefined;
};

const sameImdbSentence = (acc: number): string =>
  `Every fine-tuned classifier scores the same IMDB accuracy, ${f1(acc)}%: each gives one label to every held-out review (that label's share of them), so at this budget the IMDB column cannot rank the arms, and every verdict on it below is "within noise".`;

export const ABLATION_PLOTS = { table5: 'ablations-table5.svg', table4: 'ablations-table4.svg', table3: 'ablations-table3.svg' } as const;

/**
 * The SVG per table (only tables with rows).
 * @example Object.keys(renderAblationPlots(quickResults)) // ['ablations-table5.svg']
 */
export const renderAblationPlots = (r: AblationResults): Record<string, string> => {
  const out: Record<string, string> = {};
  const t5 = (['none', 'nsp', 'sop'] as const).filter((o) => r.table5[o]);
  if (t5.length)
    out[ABLATION_PLOTS.table5] = barChart({
      title: 'Table 5: sentence-level objective (held-out accuracy)',
      yLabel: 'accuracy %',
      yMax: 100,
      reference: { value: 50, label: 'chance (NSP, SOP)' },
      series: ['lamina', 'paper'],
      groups: t5.flatMap((o) => {
        const e = r.table5[o] as Table5Entry;
        return (['mlm', 'nsp', 'sop'] as const).map((k) => ({
          label: `${label(o)} · ${k.toUpperCase()}`,
          values: [{ value: e.stats[k].mean, lo: e.stats[k].min, hi: e.stats[k].max }, { value: e.paper[k] }],
        }));
      }),
    });
  const down = (title: string, rows: readonly [string, DownstreamEntry][]) =>
    barChart({
      title,
      yLabel: 'accuracy %',
      yMin: 40,
      yMax: 100,
      reference: { value: 50, label: 'chance' },
      series: ['lamina IMDB', 'paper SST-2'],
      groups: rows.map(([, e]) => ({ label: `E=${e.paperE} ${SHARING_LABEL[e.sharing] ?? e.sharing}`, values: [{ value: e.imdb }, { value: e.paper.sst2 }] })),
    });
  const t4 = Object.entries(r.table4);
  if (t4.length) out[ABLATION_PLOTS.table4] = down('Table 4: cross-layer sharing (fine-tuned accuracy)', t4);
  const t3 = Object.entries(r.table3);
  if (t3.length) out[ABLATION_PLOTS.table3] = down('Table 3: embedding size E (fine-tuned accuracy)', t3);
  return out;
};

const downstreamTable = (r: AblationResults, rows: readonly [string, DownstreamEntry][], lead: 'sharing' | 'shared'): string[] => {
  const head =
    lead === 'sharing'
      ? ['| paper E | lamina E | sharing | params (lamina) | params (paper) | IMDB acc. (lamina) | SST-2 (paper) | avg (paper) | MLM acc. | SOP acc. | tokens seen | wall time |', '|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|']
      : ['| sharing | paper E | lamina E | params (lamina) | params (paper) | IMDB acc. (lamina) | SST-2 (paper) | avg (paper) | MLM acc. | SOP acc. | tokens seen | wall time |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|'];
  return [
    ...head,
    ...rows.map(([, e]) => {
      const a = r.arms.find((x) => x.id === e.arm);
      const time = a ? secs(a.pretrainSeconds + (a.finetuneSeconds ?? 0)) : '—';
      const cells =
        lead === 'sharing'
          ? [String(e.paperE), String(e.embeddingSize), SHARING_LABEL[e.sharing] ?? e.sharing]
          : [e.sharing === 'all' ? 'all-shared' : 'not-shared', String(e.paperE), String(e.embeddingSize)];
      return `| ${[...cells, M(e.params), `${Math.round(e.paper.params / 1e6)}M`, f1(e.imdb), f1(e.paper.sst2), f1(e.paper.avg), f1(e.mlm), f1(e.sop), a ? fmtInt(a.tokens) : '—', time].join(' | ')} |`;
    }),
  ];
};

/**
 * `ABLATIONS.md` from a results value (see the module comment).
 * @example renderAblations(results, { resultsFile: 'packages/bench/results/x.json', plotDir: 'packages/bench/results' }).startsWith('# ') // true
 */
export const renderAblations = (r: AblationResults, o: AblationReportOptions): string => {
  const e = r.environment;
  const b = r.budget;
  const tokensPerArm = b.steps * b.batchSize * b.seqLength;
  const baselines = Object.values(r.evaluation.mlmBaseline ?? {});
  const baseline = baselines.length ? Math.max(...baselines) : undefined;
  const H = r.model.hiddenSize;
  const es = PAPER_EMBEDDING_SIZES.map((x) => embeddingFor(x, H));
  // the run itself keeps about `cpus` threads busy; well beyond that, others shared the machine
  const busy = Math.max(...e.loadStart.slice(0, 1), ...e.loadEnd.slice(0, 1)) > 1.5 * e.cpus;
  const lines: string[] = [
    '# ALBERT\'s ablations, reproduced at laptop scale',
    '',
    `_Generated by \`${r.command}\` on ${r.date.slice(0, 10)} (${r.mode} run, ${secs(r.durationSeconds)} in all); results in [\`${o.resultsFile}\`](${o.resultsFile}). Do not edit: re-render with \`pnpm bench ablations --report ${o.resultsFile}\`._`,
    '',
    `Machine: ${e.cpuModel}, ${e.cpus} cores, backend \`${e.backend}\`${e.tensorflowVersion ? ` (TF ${e.tensorflowVersion})` : ''}${e.native ? '' : ' (NOT native TensorFlow)'}, Node ${e.node}${e.commit ? `, code at commit \`${e.commit}\`` : ''}. Load average (1/5/15 min) ${e.loadStart.map((x) => x.toFixed(2)).join(' / ')} at the start, ${e.loadEnd.map((x) => x.toFixed(2)).join(' / ')} at the end.` +
      (busy ? ' The load exceeded the core count: other processes shared the CPU, so wall times are longer than on a quiet machine (the accuracies do not depend on it).' : '') +
      (typeof r.cpuSeconds === 'number' ? ` The run used ${secs(r.cpuSeconds)} of CPU time (all its processes); on a quiet ${e.cpus}-core machine its wall time would be roughly between ${secs(r.cpuSeconds / e.cpus)} and ${secs(r.cpuSeconds)}.` : ''),
    '',
    `The paper (Lan et al., ICLR 2020) pretrains ALBERT-base (H = 768, 12 layers) for 125k steps of 4,096 × 512 tokens; each arm here sees about ${fmtInt(Number(((125000 * 4096 * 512) / Math.max(1, tokensPerArm)).toPrecision(2)))} times fewer tokens, with a model ~${Math.round(12e6 / Math.max(1, r.arms[0]?.params ?? 12e6))} times smaller. Read the figures for the direction of each effect, not its size.`,
    '',
    '## Set-up (the same for every arm)',
    '',
    `- Model: ALBERT with H = ${r.model.hiddenSize}, ${r.model.layers} layers, ${r.model.heads} heads, I = ${r.model.intermediateSize}, V = ${fmtInt(r.model.vocabSize)} (the committed SentencePiece vocabulary). The paper's E ∈ {${PAPER_EMBEDDING_SIZES.join(', ')}} at H = 768 becomes E ∈ {${es.join(', ')}} at H = ${r.model.hiddenSize} (same order, about the same ratio to H; E = H is the unfactorised end). Table 5 uses the paper's base arm: E = 128 → ${embeddingFor(128, H)}, all layers shared.`,
    `- Data: the bundled corpus (State of the Union, Moby-Dick, Brown)${b.maxDocuments ? `, first ${b.maxDocuments} documents` : ''}; ${(100 * b.evalFraction).toFixed(0)}% of the documents held out whole (split by the seed, as \`lamina pretrain\` does).`,
    `- Budget: ${b.steps} steps × batch ${b.batchSize} × ${b.seqLength} tokens (${fmtInt(tokensPerArm)} tokens seen per arm), at most ${b.maxPredictions} masked tokens per sequence (n-gram masking), ${b.optimizer === 'adamw' ? 'AdamW' : 'LAMB'} at peak ${b.lr} with ${plural(b.warmup, 'warm-up step')} then linear decay, weight decay 0.01, clip 1.0, no dropout; seed${b.seeds.length > 1 ? `s ${b.seeds.join(', ')} (Table 5; the others use ${b.seeds[0]})` : ` ${b.seeds[0]}`}. Only the ablated factor changes between arms.`,
    `- Every arm is an ordinary \`lamina pretrain\` run directory under \`${r.runsDir}\` (config.json, checkpoints/, metrics.jsonl, curves.svg): inspect it with \`lamina eval --checkpoint <dir>\`, continue it with \`lamina pretrain --out <dir> --resume\`.`,
    '',
    ...triedLines(r),
    '## How it is evaluated',
    '',
    `- Held-out pairs, built from the held-out documents by \`evaluationPairs\` (@lamina/albert): ${Object.entries(r.evaluation.heldOutPairs).map(([s, n]) => `${fmtInt(n)} pairs of each kind from ${r.evaluation.heldOutDocuments[s] ?? '?'} documents (seed ${s})`).join('; ')}. Labels exactly balanced (chance = 50%). Each segment is the whole sentences on one side of a sentence boundary that fit in half the sequence, or that many tokens of a longer sentence cut at a random offset; NSP negatives are built the same way with the true continuation's length, so no junction or length cue tells the labels apart.`,
    `- **MLM**: accuracy of the masked-token predictions on the SOP pairs (ALBERT n-gram masking, the same masks for every arm of a seed)${baseline === undefined ? '' : `; always predicting the most frequent piece scores ${f1(baseline)}%`}.`,
    '- **NSP**: A followed by its real continuation vs by a segment of the same length from another held-out document. **SOP**: two consecutive segments in their original order vs swapped (the same tokens either way).',
    "- Every model is scored on both kinds of pair through its own sentence head; an NSP head's \"not next\" counts as \"swapped\" (both mean: not the original continuation).",
    `- The "none" arm has no sentence head, so it is scored by a **linear probe**: ${r.evaluation.probe}. Columns "probe NSP/SOP" give the same probe for every arm.`,
    `- Tables 3 and 4: IMDB accuracy after fine-tuning with \`lamina demo\`'s recipe (\`lamina finetune\`: ${fmtInt(b.finetune.maxTrain)} training reviews, ${fmtInt(b.finetune.maxEval)} held-out, ${plural(b.finetune.epochs, 'epoch')}, ${b.finetune.batchSize ? `batch ${b.finetune.batchSize}, ` : ''}AdamW ${b.finetune.lr}, dropout ${b.finetune.dropout}, ${b.finetune.seqLength} tokens${b.finetune.truncation ? `, truncation ${b.finetune.truncation}` : ''}). The paper's nearest column is SST-2 (sentiment); its five-task average is shown too.`,
    '- Verdicts are computed from the numbers: a difference counts when it exceeds 2·√2·50/√n points (n = examples; ≈ 95%) plus the seed spread; "near chance" is within max(5, that margin) of 50. Otherwise the verdict is "within noise".',
    '',
  ];

  const t5 = (['none', 'nsp', 'sop'] as const).filter((k) => r.table5[k]);
  if (t5.length) {
    const multi = b.seeds.length > 1;
    lines.push('## Table 5: the sentence-level objective', '');
    lines.push(
      `| objective | MLM (lamina) | MLM (paper) | NSP (lamina) | NSP (paper) | SOP (lamina) | SOP (paper) | probe NSP | probe SOP | params | tokens seen | wall time per arm |`,
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    );
    for (const k of t5) {
      const x = r.table5[k] as Table5Entry;
      const arms = armsOf(r, x.arms);
      const via = x.via === 'probe' ? ' ᵖ' : '';
      lines.push(
        `| ${label(k)} | ${stat(x.stats.mlm)} | ${f1(x.paper.mlm)} | ${stat(x.stats.nsp)}${via} | ${f1(x.paper.nsp)} | ${stat(x.stats.sop)}${via} | ${f1(x.paper.sop)} | ${stat(x.probe?.nsp)} | ${stat(x.probe?.sop)} | ${arms[0] ? M(arms[0].params) : '—'} | ${arms[0] ? fmtInt(arms[0].tokens) : '—'} | ${secs(mean(arms.map((a) => a.pretrainSeconds)))} |`,
      );
    }
    lines.push('');
    const heads = t5.flatMap((k) => armsOf(r, (r.table5[k] as Table5Entry).arms)).flatMap((a) => (a.evaluation?.head ? Object.values(a.evaluation.head) : []));
    if (heads.length > 0 && heads.every((h) => h === 0.5))
      lines.push("Every sentence head scores exactly 50.0% on both kinds of pair, whose labels are exactly balanced: each head gives one answer for every pair, so at this budget no head has learned to tell the pairs apart.", '');
    const mlms = t5.map((k) => (r.table5[k] as Table5Entry).stats.mlm.max);
    if (baseline !== undefined && Math.max(...mlms) < baseline + 2)
      lines.push(`Every arm's MLM accuracy is within 2 points of always predicting the most frequent piece (${f1(baseline)}%): at this budget the models have learned little beyond word frequencies, which leaves the sentence-level objectives little to build on.`, '');
    lines.push(`Accuracies in %${multi ? `, mean over ${b.seeds.length} seeds with the min–max range in brackets` : ', one seed'}. ᵖ: no sentence head, measured by the linear probe. Paper: ALBERT-base, Table 5.`, '');
    const cs = table5Claims(r);
    const pattern = cs[0]?.verdict === 'reproduced' && cs[1]?.verdict === 'reproduced';
    lines.push(
      `**The issue's expected pattern — the NSP-trained model's SOP accuracy near 50% and the SOP-trained model's clearly above it — ${pattern ? 'appeared' : 'did not appear'} in this run** (SOP accuracy: NSP arm ${f1(r.table5.nsp?.sop)}, SOP arm ${f1(r.table5.sop?.sop)}).`,
      '',
    );
    lines.push(summarySentence('Table 5', cs), '', ...claimLines(cs), '', `![Table 5](${o.plotDir}/${ABLATION_PLOTS.table5})`, '');
  }
  const t4 = Object.entries(r.table4);
  const same = sameImdb(r);
  if (t4.length) {
    lines.push('## Table 4: cross-layer parameter sharing', '', ...downstreamTable(r, t4, 'sharing'), '');
    if (same !== undefined) lines.push(sameImdbSentence(same), '');
    lines.push('Accuracies in %; parameters of the encoder (embeddings, layers, pooler), as the paper counts them. Paper: ALBERT-base, Table 4.', '');
    const cs = table4Claims(r);
    lines.push(summarySentence('Table 4', cs), '', ...claimLines(cs), '', `![Table 4](${o.plotDir}/${ABLATION_PLOTS.table4})`, '');
  }
  const t3 = Object.entries(r.table3);
  if (t3.length) {
    lines.push('## Table 3: the embedding size E', '', ...downstreamTable(r, t3, 'shared'), '');
    if (same !== undefined) lines.push(sameImdbSentence(same), '');
    lines.push('Accuracies in %. Paper: ALBERT-base, Table 3.', '');
    const cs = table3Claims(r);
    lines.push(summarySentence('Table 3', cs), '', ...claimLines(cs), '', `![Table 3](${o.plotDir}/${ABLATION_PLOTS.table3})`, '');
  }
  if (!t4.length && !t3.length) lines.push('Tables 3 and 4 are not in this run (`--quick` runs Table 5 only; `pnpm bench ablations` runs all three).', '');
  lines.push('## Arms', '', '| arm | run directory | params | pretraining | evaluation | fine-tuning | CPU time | status |', '|---|---|---:|---:|---:|---:|---:|---|');
  for (const a of r.arms)
    lines.push(`| ${a.id} | \`${a.runDir}\` | ${M(a.params)} | ${secs(a.pretrainSeconds)} | ${secs(a.evaluation?.seconds)} | ${secs(a.finetuneSeconds)} | ${secs(a.cpuSeconds)} | ${a.error ? `failed: ${a.error.replace(/\|/g, '\\|')}` : 'ok'} |`);
  lines.push('');
  if (r.notes.length) lines.push('## Notes', '', ...r.notes.map((n) => `- ${n}`), '');
  return lines.join('\n');
};
