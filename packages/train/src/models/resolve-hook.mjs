// A Node module resolve hook (registered with module.register by ./file.ts): `@lamina/<pkg>`
// imported from a model file anywhere on disk resolves to this lamina's package, so a model file
// outside the repository needs no node_modules of its own.
import { pathToFileURL } from 'node:url';

let packages = {};

/** Receives { packages: { '@lamina/dsl': '/abs/path/index.ts', … } } from register(). */
export async function initialize(data) {
  packages = data?.packages ?? {};
}

export async function resolve(specifier, context, next) {
  const target = packages[specifier];
  if (target !== undefined) return { url: pathToFileURL(target).href, shortCircuit: true };
  return next(specifier, context);
}
