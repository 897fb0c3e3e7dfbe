/**
 * Which parameters are excluded from weight decay and from LAMB's layer adaptation (trust ratio).
 * @module
 */

/** Last path segments that name LayerNorm scales/offsets or biases. */
const EXCLUDED_LEAVES: ReadonlySet<string> = new Set(['bias', 'beta', 'gamma']);

/**
 * True for parameters that ALBERT/BERT exclude from weight decay and from LAMB's trust ratio:
 * biases and LayerNorm parameters. Decided by path alone: the last `.`-separated segment is
 * `bias`, `beta` or `gamma`, or the path contains `_norm` (which covers `layer_norm`) or
 * `layernorm` in any case. This mirrors the reference's
 * `exclude_from_weight_decay=["LayerNorm", "layer_norm", "bias"]` for lamina's path names.
 *
 * @example
 * ```ts
 * isDecayExcluded('encoder.group0.layer0.attention.query.kernel'); // false
 * isDecayExcluded('pooler.bias');                                  // true
 * isDecayExcluded('embeddings.layer_norm.gamma');                  // true
 * ```
 */
export const isDecayExcluded = (path: string): boolean => {
  const segments = path.split('.');
  const leaf = segments[segments.length - 1] ?? '';
  if (EXCLUDED_LEAVES.has(leaf)) return true;
  const lower = path.toLowerCase();
  return lower.includes('_norm') || lower.includes('layernorm');
};
