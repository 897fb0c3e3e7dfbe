// A Node module resolve hook (registered with module.register by ./file.ts):
// - `@lamina/<pkg>` imported from a model file anywhere on disk resolves to this lamina's package,
//   so a model file outside the repository needs no node_modules of its own;
// - a model file, and the files it imports from outside node_modules, load as ES modules whatever
//   the nearest package.json says (a `.ts` file in /tmp would otherwise be CommonJS, which cannot
//   import lamina's ES modules).
import { pathToFileURL } from 'node:url';

let packages = {};
let loader = '';
const forced = new Set();

/** Receives { packages: { '@lamina/dsl': '/abs/path/index.ts', … }, loader: 'file:///…/file.ts' } from register(). */
export async function initialize(data) {
  packages = data?.packages ?? {};
  loader = data?.loader ?? '';
}

export async function resolve(specifier, context, next) {
  const target = packages[specifier];
  if (target !== undefined) return { url: pathToFileURL(target).href, shortCircuit: true };
  const r = await next(specifier, context);
  const parent = context.parentURL ?? '';
  if ((parent === loader || forced.has(parent)) && r.url.startsWith('file:') && !r.url.includes('/node_modules/') && /\.(m?ts|m?js)$/.test(r.url)) {
    forced.add(r.url);
    return { ...r, format: 'module' };
  }
  return r;
}
