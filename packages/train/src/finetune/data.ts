/**
 * Fine-tuning data: labelled examples from JSONL or TSV files (or the bundled IMDB task), label
 * sets, and the checks that turn bad input into one readable line naming the file and line.
 *
 * JSONL, one object per line (blank lines are skipped):
 * ```
 * {"text": "a gripping film", "label": "positive"}
 * {"text": "The cat sat.", "text_pair": "A cat was sitting.", "label": 4.2}
 * ```
 * TSV, a header row naming `text`, optional `text_pair`, and `label` (other columns ignored; no
 * quoting — tabs and newlines cannot occur inside a field):
 * ```
 * text\tlabel
 * a gripping film\tpositive
 * ```
 *
 * @example
 * ```ts
 * const ex = parseTaskText('{"text":"hi","label":1}\n', 'train.jsonl'); // Right([{ text: 'hi', label: '1', line: 1 }])
 * const labels = labelSetOf(E.getOrElse((): RawExample[] => [])(ex));                  // ['1']
 * ```
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';
import fs from 'node:fs';
import path from 'node:path';
import { fsCause } from '../run/rundir.js';
import { imdbTask, type TextClassificationTask } from '@lamina/albert';

/**
 * What a fine-tuned model predicts: a class (cross-entropy) or a number (mean squared error).
 * @example const kind: TaskKind = 'regress';
 */
export type TaskKind = 'classify' | 'regress';
/**
 * The task kinds, for flag validation.
 * @example TASK_KINDS.includes(flag as TaskKind)
 */
export const TASK_KINDS: readonly TaskKind[] = ['classify', 'regress'];

/**
 * The file name that selects the bundled IMDB task instead of a file (a file of that name wins).
 * @example readExamples(IMDB, 'dev', 500)
 */
export const IMDB = 'imdb';

/**
 * One labelled example as read from a file. `label` is the raw value: a string for class names
 * (numbers in JSONL become their decimal string), or a number for regression targets as written.
 * `line` is 1-based (0 for IMDB examples).
 * @example { text: 'a gripping film', label: 'positive', line: 2 }
 */
export interface RawExample {
  readonly text: string;
  readonly textPair?: string;
  readonly label: string | number;
  readonly line: number;
}

/**
 * Examples with labels resolved for a task: class indices into `labels` (classify) or numbers
 * (regress).
 * @example { kind: 'classify', labels: ['neg', 'pos'], texts: ['meh'], pairs: undefined, targets: Int32Array.of(0), name: 'dev.tsv' }
 */
export interface TaskExamples {
  readonly kind: TaskKind;
  /** Class names in index order (classify); `[]` for regression. */
  readonly labels: readonly string[];
  readonly texts: readonly string[];
  /** Second segments, when the data has `text_pair`. */
  readonly pairs: readonly (string | undefined)[] | undefined;
  /** Int32Array of class indices (classify) or Float32Array of targets (regress). */
  readonly targets: Int32Array | Float32Array;
  /** Where the examples came from (file path or `imdb:train`). */
  readonly name: string;
}

const parseJsonl = (text: string, name: string): E.Either<string, RawExample[]> => {
  const out: RawExample[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] as string).replace(/\r$/, '');
    if (raw.trim() === '') continue;
    const where = `${name}:${i + 1}`;
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch (e) {
      return E.left(`${where}: not valid JSON (${(e instanceof Error ? e.message : String(e)).split('\n')[0]})`);
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return E.left(`${where}: expected a JSON object with "text" and "label"`);
    const o = v as Record<string, unknown>;
    if (typeof o.text !== 'string') return E.left(`${where}: ${o.text === undefined ? 'missing "text"' : '"text" must be a string'}`);
    if (o.text_pair !== undefined && o.text_pair !== null && typeof o.text_pair !== 'string') return E.left(`${where}: "text_pair" must be a string`);
    if (o.label === undefined || o.label === null) return E.left(`${where}: missing "label"`);
    if (typeof o.label !== 'string' && typeof o.label !== 'number' && typeof o.label !== 'boolean')
      return E.left(`${where}: "label" must be a string, a number or a boolean`);
    out.push({
      text: o.text,
      ...(typeof o.text_pair === 'string' ? { textPair: o.text_pair } : {}),
      label: typeof o.label === 'boolean' ? String(o.label) : o.label,
      line: i + 1,
    });
  }
  return E.right(out);
};

const parseTsv = (text: string, name: string): E.Either<string, RawExample[]> => {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  const headerAt = lines.findIndex((l) => l.trim() !== '');
  if (headerAt < 0) return E.right([]);
  const header = (lines[headerAt] as string).split('\t').map((h) => h.trim());
  const col = (n: string) => header.indexOf(n);
  const [ti, pi, li] = [col('text'), col('text_pair'), col('label')];
  const missing = [ti < 0 ? 'text' : '', li < 0 ? 'label' : ''].filter((x) => x !== '');
  if (missing.length > 0)
    return E.left(`${name}:${headerAt + 1}: the header row has no ${missing.map((m) => `"${m}"`).join(' or ')} column (found: ${header.slice(0, 4).map((h) => JSON.stringify(h.slice(0, 20))).join(', ')}${header.length > 4 ? ', …' : ''}); TSV files need a header naming text, optional text_pair, and label`);
  const out: RawExample[] = [];
  for (let i = headerAt + 1; i < lines.length; i++) {
    const l = lines[i] as string;
    if (l.trim() === '') continue;
    const f = l.split('\t');
    if (f.length < header.length) return E.left(`${name}:${i + 1}: expected ${header.length} tab-separated fields, found ${f.length}`);
    const label = (f[li] as string).trim();
    if (label === '') return E.left(`${name}:${i + 1}: empty label`);
    const pair = pi >= 0 ? f[pi] : undefined;
    out.push({ text: f[ti] as string, ...(pair !== undefined ? { textPair: pair } : {}), label, line: i + 1 });
  }
  return E.right(out);
};

/**
 * Parses a task file's text. The format comes from the extension (`.jsonl`/`.json`/`.ndjson` →
 * JSONL, `.tsv` → TSV) or, for any other name, from the first non-blank character (`{` → JSONL).
 * Errors name the file and the 1-based line.
 * @example parseTaskText('text\tlabel\nok\tpos\n', 'x.tsv') // Right([{ text: 'ok', label: 'pos', line: 2 }])
 */
export const parseTaskText = (text: string, name: string): E.Either<string, RawExample[]> => {
  const ext = path.extname(name).toLowerCase();
  const jsonl = ext === '.jsonl' || ext === '.json' || ext === '.ndjson' ? true : ext === '.tsv' ? false : text.trimStart().startsWith('{');
  const r = jsonl ? parseJsonl(text, name) : parseTsv(text, name);
  if (E.isRight(r) && r.right.length === 0) return E.left(`${name} has no examples`);
  return r;
};

/**
 * A task file larger than this is refused before it is read.
 * @example MAX_TASK_FILE_BYTES // 268435456
 */
export const MAX_TASK_FILE_BYTES = 256 * 1024 * 1024;

/**
 * Reads and parses a task file (see {@link parseTaskText}).
 * @example readTaskFile('missing.tsv') // left('data file missing.tsv does not exist')
 */
export const readTaskFile = (file: string): E.Either<string, RawExample[]> => {
  let text: string;
  try {
    const st = fs.statSync(file);
    if (st.isDirectory()) return E.left(`${file} is a directory; expected a JSONL or TSV file`);
    if (st.size > MAX_TASK_FILE_BYTES) return E.left(`data file ${file} has ${st.size} bytes, more than the limit of ${MAX_TASK_FILE_BYTES}`);
    const bytes = fs.readFileSync(file);
    if (bytes.includes(0)) return E.left(`${file} is a binary file, not UTF-8 text (expected JSONL or TSV)`);
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      return E.left(`${file} is not valid UTF-8 text (expected JSONL or TSV)`);
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return E.left(code === 'ENOENT' ? `data file ${file} does not exist` : `cannot read ${file}: ${fsCause(e)}`);
  }
  return parseTaskText(text, file);
};

/**
 * The label set of a training file: distinct labels, sorted numerically when every label is a
 * number, else by code unit. Index `i` of the result is class `i`; for two classes, index 1 is the
 * "positive" class of binary F1.
 * @example labelSetOf([{ label: '10' }, { label: '9' }, { label: '10' }]) // ['9', '10']
 */
export const labelSetOf = (examples: readonly Pick<RawExample, 'label'>[]): string[] => {
  const set = [...new Set(examples.map((e) => String(e.label)))];
  const numeric = set.every((s) => s.trim() !== '' && Number.isFinite(Number(s)));
  return numeric ? set.sort((a, b) => Number(a) - Number(b) || (a < b ? -1 : a > b ? 1 : 0)) : set.sort();
};

/**
 * Resolves raw labels for a task: class indices against `labels` (an unknown label is an error
 * naming the line), or finite numbers for regression.
 * @example resolveExamples(raw, 'classify', ['neg', 'pos'], 'dev.jsonl')
 */
export const resolveExamples = (raw: readonly RawExample[], kind: TaskKind, labels: readonly string[], name: string): E.Either<string, TaskExamples> => {
  const texts = raw.map((r) => r.text);
  const hasPairs = raw.some((r) => r.textPair !== undefined);
  const pairs = hasPairs ? raw.map((r) => r.textPair) : undefined;
  const where = (r: RawExample) => (r.line > 0 ? `${name}:${r.line}` : name);
  if (kind === 'classify') {
    const index = new Map(labels.map((l, i) => [l, i]));
    const targets = new Int32Array(raw.length);
    for (const [i, r] of raw.entries()) {
      const k = index.get(String(r.label));
      if (k === undefined) {
        const shown = labels.length <= 10 ? labels.map((l) => JSON.stringify(l)).join(', ') : `${labels.slice(0, 10).map((l) => JSON.stringify(l)).join(', ')}, … (${labels.length})`;
        return E.left(`${where(r)}: label ${JSON.stringify(String(r.label))} is not one of the training labels (${shown})`);
      }
      targets[i] = k;
    }
    return E.right({ kind, labels, texts, pairs, targets, name });
  }
  const targets = new Float32Array(raw.length);
  for (const [i, r] of raw.entries()) {
    const v = typeof r.label === 'number' ? r.label : r.label.trim() === '' ? NaN : Number(r.label);
    if (!Number.isFinite(v)) return E.left(`${where(r)}: label ${JSON.stringify(r.label)} is not a number (--task regress needs numeric labels)`);
    targets[i] = v;
  }
  return E.right({ kind, labels: [], texts, pairs, targets, name });
};

let imdbCache: E.Either<string, TextClassificationTask> | undefined;
/**
 * The bundled IMDB task (loaded once per process; ≈ 64 MB of JSON).
 * @example E.map((t: TextClassificationTask) => t.dev.length)(imdb())
 */
export const imdb = (): E.Either<string, TextClassificationTask> => (imdbCache ??= E.mapLeft((e: { message: string }) => e.message)(imdbTask()));

/**
 * Raw examples from a file, or from the bundled IMDB task when `source` is `imdb` (`split`
 * chooses train or dev; IMDB's labels are `negative`/`positive`). `max > 0` keeps the first `max`
 * (file order; IMDB's splits are already shuffled with a fixed seed).
 * @example readExamples('imdb', 'dev', 500)
 */
export const readExamples = (source: string, split: 'train' | 'dev', max = 0): E.Either<string, { raw: RawExample[]; name: string }> => {
  if (source === IMDB && !fs.existsSync(source)) {
    const t = imdb();
    if (E.isLeft(t)) return t;
    const xs = t.right[split];
    const picked = max > 0 ? xs.slice(0, max) : xs;
    return E.right({ raw: picked.map((x) => ({ text: x.text, label: t.right.labels[x.label] as string, line: 0 })), name: `imdb:${split}` });
  }
  const r = readTaskFile(source);
  if (E.isLeft(r)) return r;
  return E.right({ raw: max > 0 ? r.right.slice(0, max) : r.right, name: source });
};

/**
 * One token-classification (tagging) example: words and one label per word.
 * @example { tokens: ['John', 'lives', 'in', 'Paris'], labels: ['B-PER', 'O', 'O', 'B-LOC'] }
 */
export interface TaggedExample {
  readonly tokens: readonly string[];
  readonly labels: readonly string[];
}

/**
 * Parses a token-classification file: JSONL, one `{"tokens": [...], "labels": [...]}` per line
 * (strings, one label per token, the same length; numbers become strings), blank lines skipped.
 * Errors name the file and the line.
 * @example parseTaggedText('{"tokens":["a","b"],"labels":["X","O"]}\n', 'tags.jsonl') // right([{ tokens: ['a','b'], labels: ['X','O'] }])
 */
export const parseTaggedText = (text: string, name: string): E.Either<string, TaggedExample[]> => {
  const out: TaggedExample[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === '') continue;
    const at = `${name}:${i + 1}`;
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch (e) {
      return E.left(`${at}: not valid JSON (${(e instanceof Error ? e.message : String(e)).slice(0, 80)}); expected {"tokens": [...], "labels": [...]}`);
    }
    const r = o as { tokens?: unknown; labels?: unknown };
    const strs = (u: unknown): string[] | undefined =>
      Array.isArray(u) && u.every((x) => typeof x === 'string' || typeof x === 'number') ? u.map((x) => String(x)) : undefined;
    if (typeof o !== 'object' || o === null || Array.isArray(o)) return E.left(`${at}: expected a JSON object {"tokens": [...], "labels": [...]}`);
    const tokens = strs(r.tokens);
    const labels = strs(r.labels);
    if (!tokens) return E.left(`${at}: "tokens" must be an array of strings`);
    if (!labels) return E.left(`${at}: "labels" must be an array of strings (one per token)`);
    if (tokens.length === 0) return E.left(`${at}: "tokens" is empty`);
    if (tokens.length !== labels.length) return E.left(`${at}: ${tokens.length} tokens but ${labels.length} labels (one label per token)`);
    out.push({ tokens, labels });
  }
  if (out.length === 0) return E.left(`${name} holds no examples`);
  return E.right(out);
};

/**
 * Reads a token-classification file (see {@link parseTaggedText}); keeps the first `max` (0: all).
 * @example readTaggedFile('missing.jsonl') // left('data file missing.jsonl does not exist')
 */
export const readTaggedFile = (file: string, max = 0): E.Either<string, TaggedExample[]> => {
  let text: string;
  try {
    const st = fs.statSync(file);
    if (st.isDirectory()) return E.left(`${file} is a directory; expected a JSONL file of {"tokens": [...], "labels": [...]}`);
    if (st.size > MAX_TASK_FILE_BYTES) return E.left(`data file ${file} has ${st.size} bytes, more than the limit of ${MAX_TASK_FILE_BYTES}`);
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return E.left(code === 'ENOENT' ? `data file ${file} does not exist` : `cannot read ${file}: ${fsCause(e)}`);
  }
  return E.map((xs: TaggedExample[]) => (max > 0 ? xs.slice(0, max) : xs))(parseTaggedText(text, file));
};
