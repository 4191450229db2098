// Dependencies point one way (ui -> worker -> genpi -> train -> llama -> gpu; model, store and util below; src/ref
// for tests only). This scans the imports of the production files so a cycle or an upside-down import fails here,
// not months later as a tangle. Test files and test helpers (testing.ts, testing/) may reach anywhere.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = dirname(fileURLToPath(import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return /\.(ts|svelte)$/.test(e.name) ? [path] : [];
  });
}

const isTestCode = (file: string) => /\.test\.ts$/.test(file) || /(^|\/)testing(\.ts$|\/)/.test(file);

/** Production files, with what each imports: folders under src, as "llama/engine" (relative imports only). */
const production = sourceFiles(SRC)
  .map((path) => relative(SRC, path).split('\\').join('/'))
  .filter((file) => !isTestCode(file))
  .map((file) => {
    const text = readFileSync(join(SRC, file), 'utf8');
    const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*['"](\.[^'"]+)['"]/g)].map((m) => m[1]);
    const imports = specs.map((s) => relative(SRC, resolve(SRC, dirname(file), s)).split('\\').join('/'));
    return { file, imports };
  });

/** "file -> import" for every production import from folder `to` into a file of folder `from` (any folder: '*'). */
function violations(from: string, to: string): string[] {
  const inFolder = (path: string, folder: string) => path.startsWith(`${folder}/`);
  return production
    .filter(({ file }) => (from === '*' ? !inFolder(file, to) : inFolder(file, from)))
    .flatMap(({ file, imports }) => imports.filter((i) => inFolder(i, to)).map((i) => `${file} -> ${i}`));
}

describe('import rules', () => {
  it('finds the production files and their imports', () => {
    expect(production.find((p) => p.file === 'llama/trainer.ts')?.imports).toContain('llama/batch');
    // The allowed direction shows up, so an empty list below means "none", not "the scan saw nothing".
    expect(violations('ref', 'llama')).toContain('ref/cross_entropy.ts -> llama/batch');
  });

  it('src/llama does not import src/train (the training loop imports the trainer)', () => {
    expect(violations('llama', 'train')).toEqual([]);
  });

  it('production code does not import the float64 reference in src/ref', () => {
    expect(violations('*', 'ref')).toEqual([]);
  });

  it('production code does not import the shared test fixtures in src/testing', () => {
    expect(violations('*', 'testing')).toEqual([]);
  });

  it('src/export (the ONNX export) does not import the CLI, the worker or the UI, which all use it', () => {
    expect([...violations('export', 'cli'), ...violations('export', 'worker'), ...violations('export', 'ui')]).toEqual([]);
  });

  it('src/store does not import src/worker (the worker uses the store)', () => {
    expect(violations('store', 'worker')).toEqual([]);
  });
});
