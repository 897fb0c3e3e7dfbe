/**
 * Rule-based English sentence splitting, enough for the prose of the bundled corpus: a sentence
 * ends at `.`, `!` or `?` (plus closing quotes/brackets) followed by whitespace and a capital,
 * digit or opening quote — unless the word before the period is a known abbreviation or an
 * initial ("Mr.", "U.S.", "J.").
 * @module
 */

const ABBREVIATIONS = new Set(
  [
    'mr', 'mrs', 'ms', 'dr', 'st', 'jr', 'sr', 'prof', 'gen', 'gov', 'sen', 'rep', 'col', 'capt', 'lt',
    'sgt', 'rev', 'hon', 'messrs', 'mt', 'ft', 'no', 'nos', 'vol', 'vs', 'etc', 'inc', 'co', 'corp',
    'ltd', 'jan', 'feb', 'mar', 'apr', 'jun', 'jul', 'aug', 'sep', 'sept', 'oct', 'nov', 'dec', 'u.s',
    'e.g', 'i.e', 'a.m', 'p.m', 'viz', 'cf', 'esq', 'pres', 'supt', 'dept', 'approx', 'fig',
  ],
);

// terminator, optional closing quotes/brackets, whitespace, then something that can open a sentence
const BOUNDARY = /([.!?]+)(["'”’)\]]*)(\s+)(?=["“‘'(\[]?[\p{Lu}\p{N}])/gu;

/**
 * Splits a paragraph of prose into sentences (trimmed, none empty). Newlines inside the text
 * are treated as spaces; split paragraphs yourself first if blank lines matter.
 * @example
 * splitSentences('Mr. Smith went to Washington. He arrived at 3 p.m. on Monday!');
 * // ['Mr. Smith went to Washington.', 'He arrived at 3 p.m. on Monday!']
 */
export const splitSentences = (text: string): string[] => {
  const t = text.replace(/\s+/g, ' ').trim();
  if (t === '') return [];
  const out: string[] = [];
  let start = 0;
  for (const m of t.matchAll(BOUNDARY)) {
    const end = (m.index ?? 0) + (m[1]?.length ?? 0) + (m[2]?.length ?? 0);
    if (m[1] === '.' && (m[2] ?? '') === '') {
      const before = t.slice(start, m.index);
      const word = /([\p{L}.]+)$/u.exec(before)?.[1]?.toLowerCase() ?? '';
      // an abbreviation, a single initial ("J."), or a dotted acronym ("U.S.") does not end a sentence
      if (ABBREVIATIONS.has(word) || /^\p{L}$/u.test(word) || /^(\p{L}\.)+\p{L}$/u.test(word)) continue;
    }
    const s = t.slice(start, end).trim();
    if (s !== '') out.push(s);
    start = end;
  }
  const last = t.slice(start).trim();
  if (last !== '') out.push(last);
  return out;
};

/**
 * Joins a Brown-corpus style token list (`word/tag` already stripped) back into readable text:
 * no space before closing punctuation and clitics, none after opening ones, and Brown's
 * `` `` `` / `''` quote tokens become `"`.
 * @example
 * detokenize(['``', 'Only', 'a', 'handful', "''", ',', 'the', 'jury', 'said', '.']);
 * // '"Only a handful", the jury said.'
 */
export const detokenize = (tokens: readonly string[]): string => {
  let out = '';
  let glueNext = true;
  for (const raw of tokens) {
    let tok = raw;
    let glueThis = false;
    let glueAfter = false;
    if (tok === '``') {
      tok = '"';
      glueAfter = true;
    } else if (tok === "''") {
      tok = '"';
      glueThis = true;
    } else if (/^[.,;:!?)\]}%]+$/.test(tok) || /^'(s|re|ve|d|ll|m|t)?$/i.test(tok) || /^n't$/i.test(tok)) {
      glueThis = true;
    } else if (/^[(\[{$]$/.test(tok)) {
      glueAfter = true;
    }
    out += glueNext || glueThis || out === '' ? tok : ` ${tok}`;
    glueNext = glueAfter;
  }
  return out;
};
