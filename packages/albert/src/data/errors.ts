/**
 * The error value of the data pipeline: a kind to branch on and one readable line for a user.
 * @module
 */

/**
 * What went wrong while loading a corpus, a vocabulary or a cached dataset.
 * @example
 * if (e.kind === 'binary-file') console.error(e.message);
 */
export type DataErrorKind =
  | 'not-found'
  | 'empty-corpus'
  | 'binary-file'
  | 'io'
  | 'bad-vocab'
  | 'bad-options'
  | 'bad-cache';

/**
 * A data-pipeline failure as a value (never thrown inside the library).
 * @example
 * corpusFromPath('empty.txt'); // E.left({ kind: 'empty-corpus', message: 'corpus file empty.txt contains no text' })
 */
export interface DataError {
  readonly kind: DataErrorKind;
  readonly message: string;
}

/**
 * Builds a {@link DataError}.
 * @example
 * dataError('empty-corpus', 'corpus /tmp/x has no text'); // { kind: 'empty-corpus', message: '…' }
 */
export const dataError = (kind: DataErrorKind, message: string): DataError => ({ kind, message });
