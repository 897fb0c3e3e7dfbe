// What a user reads when a composition does not fit: the TypeScript diagnostic itself says
// `output dim 64 does not fit input dim 32`. Runs the type checker on a small virtual module.
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const here = path.dirname(fileURLToPath(import.meta.url));
const virtual = path.join(here, '__mis_composition__.ts');
const source = [
  `import { dense, seq, embedding } from '../src/index.js';`,
  `export const a = seq(dense(4, 64), dense(32, 2));`,
  `export const b = seq(embedding(100, 16), ...Array.from({ length: 3 }, () => dense(8, 8)));`,
].join('\n');

const diagnostics = (): string[] => {
  const options: ts.CompilerOptions = { strict: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, noEmit: true, skipLibCheck: true, types: [] };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (f, lang, ...rest) => (path.resolve(f) === virtual ? ts.createSourceFile(f, source, lang) : getSourceFile(f, lang, ...rest));
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (f) => path.resolve(f) === virtual || fileExists(f);
  const program = ts.createProgram([virtual], options, host);
  const sf = program.getSourceFile(virtual);
  return ts.getPreEmitDiagnostics(program, sf).map((d) => `${sf && d.start !== undefined ? sf.getLineAndCharacterOfPosition(d.start).line + 1 : 0}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
};

describe('a mis-composition reads as what happened', () => {
  it('the diagnostic names the output dim and the input dim that do not fit', () => {
    const ds = diagnostics();
    expect(ds.find((d) => d.startsWith('2: '))).toMatch(/lamina: output dim 64 does not fit input dim 32/);
    expect(ds.find((d) => d.startsWith('3: '))).toMatch(/lamina: output dim 16 does not fit input dim 8/);
    expect(ds).toHaveLength(2);
  }, 120_000);
});
