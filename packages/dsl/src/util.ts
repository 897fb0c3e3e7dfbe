/**
 * Small helpers for working with the library's `Either` results.
 * @module
 */
import * as E from 'fp-ts/lib/Either.js';

/**
 * The right value, or a thrown Error with the left's message. For tests, scripts and examples
 * where a failure is a bug; library code returns the Either instead.
 * @example const params = unwrap(init(model, 0));
 */
export const unwrap = <A>(r: E.Either<{ readonly message: string; readonly path?: string } | string, A>): A => {
  if (E.isRight(r)) return r.right;
  const l = r.left;
  throw new Error(typeof l === 'string' ? l : l.path ? `${l.path}: ${l.message}` : l.message);
};
