// The rule for every command that writes a folder (output-folder.ts), as a user meets it: make-tiny, train and
// export-onnx refuse the model folder, an adapter, a parent of the model and the current folder as --out, with and
// without --force, before any work, and leave every input byte-identical; two exports into one new folder at once:
// exactly one succeeds, and its progress says 100% only once written; a folder that cannot be made is one line
// naming --out; no command writes a file over an input. No GPU: every command here stops, or works, before one
// would be touched.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomAdapter } from '../export/testing';
import { exportPeft } from '../llama/peft';
import { openModel } from '../model/open';
import { DirFileSet } from '../model/source-node';
import { writeTinyModel } from '../model/tiny/write-node';
import { genpiAsync, type GenpiRun } from './testing';
import { SHELL_PROMPT, testRecord } from '../testing/records';

const root = mkdtempSync(join(tmpdir(), 'genpi-output-folder-'));
const models = join(root, 'models');
const model = join(models, 'model');
const adapter = join(root, 'adapter');
const data = join(root, 'data.jsonl');
const here = join(root, 'here'); // a current folder with a file of its own
const bare = join(root, 'bare'); // an empty current folder: only where it is tells it apart
const promptFile = join(root, 'prompt.txt');
const batch = join(root, 'batch.json');

const record = (i: number) => JSON.stringify(testRecord(i, { settings: { prompt: SHELL_PROMPT } }));

beforeAll(async () => {
  await writeTinyModel(model, { arch: 'llama', seed: 1 });
  const cfg = (await openModel(new DirFileSet(model))).config;
  mkdirSync(adapter); // a PEFT adapter genpi did not write
  for (const [name, bytes] of exportPeft(randomAdapter(cfg, 1))) writeFileSync(join(adapter, name), bytes);
  writeFileSync(data, Array.from({ length: 8 }, (_, i) => record(i)).join('\n'));
  mkdirSync(here);
  writeFileSync(join(here, 'notes.txt'), 'mine');
  mkdirSync(bare);
  writeFileSync(promptFile, SHELL_PROMPT);
  writeFileSync(batch, JSON.stringify({ groups: [{ weight: 1, sequences: [{ input_ids: [1, 2, 3], labels: [1, 2, 3] }] }] }));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Every file and folder under `dir`, files with the sha256 of their bytes. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const path = join(e.parentPath, e.name);
    out[relative(dir, path)] = e.isFile() ? createHash('sha256').update(readFileSync(path)).digest('hex') : e.isDirectory() ? 'folder' : 'other';
  }
  return out;
}

/** Runs the commands `at` a time. */
async function pool<T>(jobs: (() => Promise<T>)[], at = 4): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: at }, async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]();
    }
  }));
  return results;
}

const esc = (x: string) => x.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

const COMMANDS: Record<string, (out: string) => string[]> = {
  'make-tiny': (out) => ['make-tiny', '--out', out],
  train: (out) => ['train', '--model', model, '--data', data, '--out', out, '--rank', '2'],
  'export-onnx': (out) => ['export-onnx', '--model', model, '--adapter', adapter, '--out', out],
};
const OUTS: { name: string; out: string; cwd?: string }[] = [
  { name: 'the model folder', out: model },
  { name: 'the adapter folder', out: adapter },
  { name: 'a parent of the model', out: models },
  { name: 'the current folder, with a file', out: '.', cwd: here },
  { name: 'the current folder, empty', out: '.', cwd: bare },
];

describe('no command replaces a folder it did not write, an input, a parent of one, or the current folder', () => {
  for (const [command, args] of Object.entries(COMMANDS)) {
    it(command, async () => {
      const before = snapshot(root);
      const cases = OUTS.flatMap((o) => [[], ['--force']].map((force) => ({ ...o, force })));
      const runs = await pool(cases.map((c) => () => genpiAsync({ cwd: c.cwd }, ...args(c.out), ...c.force)));
      cases.forEach((c, i) => {
        const r: GenpiRun = runs[i];
        const what = `${command} --out ${c.name} ${c.force.join('')}: ${r.stderr}`;
        expect(r.code, what).toBe(2);
        // One line: the path as given, why, and what to do instead.
        expect(r.errors, what).toEqual([expect.stringMatching(new RegExp(`^genpi: ${esc(c.out)}: (is|holds) .*; .*give a new (or empty )?folder`))]);
        if (c.cwd) expect(r.errors[0], what).toMatch(/: is the current folder; /);
        expect(r.stderr, what).not.toMatch(/^loading |%/m); // before any work
      });
      expect(snapshot(root)).toEqual(before);
    }, 120_000); // ten short runs of the command, four at a time, on a shared machine
  }
});

it('two exports into one new folder at once: exactly one succeeds, and says 100% only once it has written', async () => {
  const out = join(root, 'exports', 'together');
  const runs = await Promise.all([0, 1].map(() => genpiAsync({}, 'export-onnx', '--model', model, '--out', out)));
  expect(runs.map((r) => r.code).sort(), runs.map((r) => r.stderr).join('\n')).toEqual([0, 2]);
  const [won, lost] = runs[0].code === 0 ? runs : [runs[1], runs[0]];
  // Refused at once while the other writes, or (had it started later) because the folder holds the other's export.
  expect(lost.errors).toEqual([expect.stringMatching(
    new RegExp(`^genpi: ${esc(out)}: (another genpi \\(process \\d+\\) is writing this output|already holds an ONNX export)`))]);
  expect(readdirSync(out).sort()).toEqual(['config.json', 'generation_config.json', 'genpi-output.json', 'onnx', 'special_tokens_map.json',
    'tokenizer.json', 'tokenizer_config.json']);
  expect(readdirSync(join(root, 'exports'))).toEqual(['together']);
  const progress = won.stderr.split('\n').filter((l) => /^export-onnx: \d+%/.test(l));
  const pcts = progress.map((l) => Number(/(\d+)%/.exec(l)![1]));
  expect(pcts).toEqual([...pcts].sort((a, b) => a - b));
  expect(progress.filter((l) => l.includes('100%'))).toEqual([`export-onnx: 100% done: ${out}`]);
  expect(progress.at(-2)).toMatch(/% writing /);
}, 120_000);

it('a folder that cannot be made is refused in one line naming --out, before any work', async () => {
  const file = join(root, 'a-file');
  writeFileSync(file, 'not a folder');
  const runs = await pool(Object.values(COMMANDS).map((args) => () => genpiAsync({}, ...args(join(file, 'out')))));
  for (const r of runs) {
    expect(r.code, r.stderr).toBe(1);
    expect(r.errors).toEqual([`genpi: ${join(file, 'out')}: cannot be written: ${file} is not a folder`]);
    expect(r.stderr).not.toMatch(/%/);
  }
  expect(readFileSync(file, 'utf8')).toBe('not a folder');
}, 60_000);

it('no command writes a file over an input, or over a file of an input folder, --force or not', async () => {
  const weights = join(model, 'model.safetensors');
  const cases: [RegExp, string[]][] = [
    [/model\.safetensors: is a file of --model .*; give a new file/, ['logits', '--model', model, '--tokens', '1,2', '--out', weights]],
    [/adapter_model\.safetensors: is a file of --adapter .*; give a new file/,
      ['grads', '--model', model, '--adapter', adapter, '--batch', batch, '--out', join(adapter, 'adapter_model.safetensors')]],
    [/batch\.json: is the --batch file itself; /, ['grads', '--model', model, '--adapter', adapter, '--batch', batch, '--out', batch]],
    [/prompt\.txt: is the --prompt file itself; /, ['synthesize', '--model', model, '--prompt', promptFile, '--samples', '8', '--out', promptFile]],
    [/model\.safetensors: is a file of --model .*; give a new file/, ['export-gguf', '--model', model, '--out', weights, '--force']],
  ];
  const before = snapshot(root);
  const runs = await pool(cases.map(([, args]) => () => genpiAsync({}, ...args)));
  cases.forEach(([pattern, args], i) => {
    expect(runs[i].code, `${args[0]}: ${runs[i].stderr}`).toBe(2);
    expect(runs[i].errors, args[0]).toEqual([expect.stringMatching(pattern)]);
    expect(runs[i].stderr, args[0]).not.toMatch(/^loading /m);
  });
  expect(snapshot(root)).toEqual(before);
}, 60_000);
