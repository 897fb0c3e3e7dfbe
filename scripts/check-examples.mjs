#!/usr/bin/env node
// Type-checks every fenced ```ts block of a TSDoc `@example` in packages/*/src, and the DSL
// README's runnable blocks, as Haiku runs its doctests: examples that cannot go stale.
//
// Each block becomes a module under .cache/examples/. A block without imports of its own gets a
// prelude importing `tf`, `E` (fp-ts Either) and every export of @lamina/dsl, @lamina/albert and
// @lamina/train by name. Names a block uses as given context (`model`, `params`, …: values it
// reads but does not define) are declared `any`; a missing name that is CALLED is a stale API
// reference and an error. Prints one line per failing example and exits 1 if any fails.
//
//   node scripts/check-examples.mjs              # every package's examples (the test command runs this)
//   node scripts/check-examples.mjs albert train # only these packages'
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// inside packages/dsl so that '@tensorflow/tfjs' and fp-ts resolve through its node_modules
const out = path.join(root, 'packages', 'dsl', '.cache-examples');
const ts = (await import(path.join(root, 'node_modules', 'typescript', 'lib', 'typescript.js'))).default;

const walk = (d) => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : e.name.endsWith('.ts') ? [path.join(d, e.name)] : []));
const pkgs = ['dsl', 'albert', 'train'].filter((p) => fs.existsSync(path.join(root, 'packages', p, 'src', 'index.ts')));

const sources = Object.fromEntries(pkgs.map((p) => [p, walk(path.join(root, 'packages', p, 'src'))]));
/** Exported names of a module, by the type checker: `{ name, value }` (value: not only a type). */
let exportsOfFile;
/** Exported names of a package's index, by the type checker. */
const exportsOf = (() => {
  const files = pkgs.map((p) => path.join(root, 'packages', p, 'src', 'index.ts'));
  const program = ts.createProgram([...files, ...Object.values(sources).flat()], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, noEmit: true, skipLibCheck: true, baseUrl: root, paths: { '@lamina/dsl': ['packages/dsl/src/index.ts'] } });
  const checker = program.getTypeChecker();
  exportsOfFile = (file) => {
    const sf = program.getSourceFile(file);
    const sym = sf && checker.getSymbolAtLocation(sf);
    return sym
      ? checker.getExportsOfModule(sym).map((s) => {
          const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
          return { name: s.getName(), value: !!(target.flags & ts.SymbolFlags.Value) };
        })
      : [];
  };
  return Object.fromEntries(pkgs.map((p, i) => [p, exportsOfFile(files[i])]));
})();

/** Names a block declares at its top level (a prelude must not import them). */
const ownNames = (code) => {
  const sf = ts.createSourceFile('x.ts', code, ts.ScriptTarget.ES2022, false);
  const names = new Set();
  const bind = (n) => {
    if (ts.isIdentifier(n)) names.add(n.text);
    else if (ts.isObjectBindingPattern(n) || ts.isArrayBindingPattern(n)) n.elements.forEach((e) => !ts.isOmittedExpression(e) && bind(e.name));
  };
  for (const st of sf.statements) {
    if (ts.isVariableStatement(st)) st.declarationList.declarations.forEach((d) => bind(d.name));
    else if ((ts.isFunctionDeclaration(st) || ts.isClassDeclaration(st) || ts.isInterfaceDeclaration(st) || ts.isTypeAliasDeclaration(st)) && st.name) names.add(st.name.text);
  }
  return names;
};

/**
 * The prelude of an example: tf, E, the exports of the module it documents (module examples use
 * the module's own functions, exported from the index or not), then the exports of the packages
 * it may use (arrows point one way: train → albert → dsl); never a name the block declares itself.
 */
const preludeOf = (pkg, file, code) => {
  const seen = ownNames(code);
  seen.add('E');
  seen.add('tf');
  const lines = [`import * as tf from '@tensorflow/tfjs';`, `import * as E from 'fp-ts/lib/Either.js';`];
  if (file) {
    const names = exportsOfFile(file).filter((e) => !seen.has(e.name));
    names.forEach((e) => seen.add(e.name));
    const spec = path.relative(out, file).replace(/\.ts$/, '.js');
    if (names.length) lines.push(`import { ${names.map((e) => (e.value ? e.name : `type ${e.name}`)).join(', ')} } from '${spec}';`);
  }
  for (const p of pkgs.slice(0, pkgs.indexOf(pkg) + 1)) {
    const names = exportsOf[p].filter((e) => !seen.has(e.name));
    names.forEach((e) => seen.add(e.name));
    if (names.length) lines.push(`import { ${names.map((e) => (e.value ? e.name : `type ${e.name}`)).join(', ')} } from '@lamina/${p}';`);
  }
  return lines;
};

const wanted = process.argv.slice(2).length ? process.argv.slice(2) : pkgs;
const blocks = [];
for (const p of pkgs.filter((q) => wanted.includes(q)))
  for (const file of sources[p]) {
    const src = fs.readFileSync(file, 'utf8');
    for (const c of src.matchAll(/\/\*\*([\s\S]*?)\*\//g)) {
      const body = c[1].split('\n').map((l) => l.replace(/^\s*\* ?/, '')).join('\n');
      for (const m of body.matchAll(/@example[^\n]*\n```ts\n([\s\S]*?)```/g)) {
        const line = src.slice(0, c.index).split('\n').length;
        blocks.push({ where: `${path.relative(root, file)}:${line}`, code: m[1], pkg: p, file });
      }
    }
  }
const readme = fs.readFileSync(path.join(root, 'packages', 'dsl', 'README.md'), 'utf8');
if (wanted.includes('dsl')) for (const m of readme.matchAll(/<!-- runnable: (\w+) -->\n```ts\n([\s\S]*?)```/g)) blocks.push({ where: `packages/dsl/README.md (${m[1]})`, code: m[2], pkg: 'dsl' });

fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });
const fileOf = (i) => path.join(out, `ex${i}.ts`);
const write = (i, declared) => {
  const b = blocks[i];
  const own = /^\s*import\s/m.test(b.code);
  const head = own ? [] : preludeOf(b.pkg, b.file, b.code);
  const decl = [...declared].map((n) => `declare const ${n}: any;`);
  for (const [name, f] of extraImports[i]) decl.push(`import { ${name} } from '${path.relative(out, f).replace(/\.ts$/, '.js')}';`);
  fs.writeFileSync(fileOf(i), ['// @ts-nocheck-free: generated by scripts/check-examples.mjs', ...head, ...decl, 'export {};', b.code].join('\n'));
  return head.length + decl.length + 2;
};
// A name the block calls that its package exports from a module other than the index (a
// module-level example in core/step.ts may call a helper of core/feed.ts): imported from there.
const internal = Object.fromEntries(pkgs.map((p) => [p, new Map(sources[p].flatMap((f) => exportsOfFile(f).filter((e) => e.value).map((e) => [e.name, f])).reverse())]));
const extraImports = blocks.map(() => new Map());
const declared = blocks.map(() => new Set());
const offsets = blocks.map((_, i) => write(i, declared[i]));
const tsconfig = path.join(out, 'tsconfig.json');
fs.writeFileSync(
  tsconfig,
  JSON.stringify({
    extends: '../../../tsconfig.json',
    compilerOptions: { noUnusedLocals: false, noUnusedParameters: false, baseUrl: '../../..', paths: Object.fromEntries(pkgs.map((p) => [`@lamina/${p}`, [`packages/${p}/src/index.ts`]])) },
    include: ['./*.ts'],
  }),
);
const tsc = () => spawnSync(path.join(root, 'node_modules', '.bin', 'tsc'), ['-p', tsconfig, '--noEmit', '--pretty', 'false'], { cwd: root, encoding: 'utf8' }).stdout;
const parse = (text) =>
  [...text.matchAll(/^packages\/dsl\/\.cache-examples\/ex(\d+)\.ts\((\d+),(\d+)\): error (TS\d+): (.*)$/gm)].map((m) => ({ i: Number(m[1]), line: Number(m[2]), col: Number(m[3]), code: m[4], msg: m[5] }));
let errors = parse(tsc());
// Declare given context values (missing names that are not called), then check again.
let changed = false;
for (const e of errors) {
  // TS2304: a missing name; TS2552: the same when the prelude has a similar name ("Did you mean …?");
  // TS18004: a missing name in shorthand `{ name }`
  const name = /(?:Cannot find name|for the shorthand property) '(\w+)'/.exec(e.msg)?.[1];
  if (!name || (e.code !== 'TS2304' && e.code !== 'TS2552' && e.code !== 'TS18004')) continue;
  const text = fs.readFileSync(fileOf(e.i), 'utf8').split('\n')[e.line - 1] ?? '';
  const after = text.slice(e.col - 1 + name.length);
  if (/^\s*(<[^>]*>)?\(/.test(after)) {
    // called: an export of another module of its package, or a stale example (stays an error)
    const f = internal[blocks[e.i].pkg].get(name);
    if (f && !/^\s*import\s/m.test(blocks[e.i].code)) {
      extraImports[e.i].set(name, f);
      changed = true;
    }
    continue;
  }
  declared[e.i].add(name);
  changed = true;
}
if (changed) {
  blocks.forEach((_, i) => (offsets[i] = write(i, declared[i])));
  errors = parse(tsc());
}
for (const e of errors) console.log(`${blocks[e.i].where} (example line ${e.line - offsets[e.i]}): ${e.code} ${e.msg}`);
console.log(`${blocks.length} examples type-checked, ${new Set(errors.map((e) => e.i)).size} failing`);
process.exit(errors.length ? 1 : 0);
