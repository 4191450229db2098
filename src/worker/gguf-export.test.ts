// The app's "Download for llama.cpp / Ollama" through the worker's own job body (writeGguf, as EngineSession runs
// it, without a GPU), against `genpi export-gguf` run as a user runs it: for the same model, adapter and name, each
// of the app's three files is the CLI's file byte for byte, so the CLI's llama.cpp oracle (gguf-oracle.gpu.test.ts)
// covers them. Also: the size announced before any weight is read is the size written, cancel stops the writes, an
// adapter of another model and a tokenizer llama.cpp cannot express are refused before anything is written.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { genpi } from '../cli/testing';
import { randomAdapter } from '../export/testing';
import { exportPeft, type LoraAdapter } from '../llama/peft';
import { memoryFiles } from '../llama/testing';
import { openModel, type ModelFiles } from '../model/open';
import { DirFileSet } from '../model/source-node';
import { writeTinyModel } from '../model/tiny/write-node';
import { adapterFor } from './adapters';
import type { ExportProgress, GgufKind } from './api';
import { writeGguf } from './gguf-export';

const tmp = mkdtempSync(join(tmpdir(), 'genpi-app-gguf-'));
const modelDir = join(tmp, 'llama');
const adapterDir = join(tmp, 'adapter');
/** The name the CLI gives general.name for these folders; the app is given the same, so the bytes can agree. */
const NAME = 'llama + adapter';
let model: ModelFiles;
let adapter: LoraAdapter;

beforeAll(async () => {
  await writeTinyModel(modelDir, { arch: 'llama', seed: 1 });
  model = await openModel(new DirFileSet(modelDir));
  const random = randomAdapter(model.config, 7);
  mkdirSync(adapterDir);
  for (const [name, bytes] of exportPeft(random)) writeFileSync(join(adapterDir, name), bytes);
  // What the page sends: the adapter's spec and params, laid out by the worker for the loaded model.
  adapter = adapterFor(model.config, { spec: random.layout.spec, params: random.params }, 'tiny');
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The app's path: the sink records the announced size, then every part, as the page would write them. */
async function appFile(kind: GgufKind, o: { files?: ModelFiles; signal?: AbortSignal; onWrite?: (n: number) => void } = {}) {
  const sizes: number[] = [];
  const parts: Uint8Array[] = [];
  const progress: ExportProgress[] = [];
  /** How far the export had gone at each write. */
  const madeAtWrite: number[] = [];
  const written = await writeGguf(o.files ?? model, adapter, {
    kind, name: NAME, signal: o.signal ?? new AbortController().signal, onProgress: (p) => progress.push(p),
    sink: {
      start: (n) => sizes.push(n),
      write: (p) => (parts.push(p), madeAtWrite.push(progress.at(-1)?.fraction ?? 0), o.onWrite?.(parts.length)),
    },
  });
  return { sizes, bytes: Buffer.concat(parts), parts, written, progress, madeAtWrite };
}

describe('the app\'s GGUF files', { timeout: 60_000 }, () => {
  it.each([
    ['q8_0', ['--type', 'q8_0']],
    ['f16', ['--type', 'f16']],
    ['lora', ['--lora-only']],
  ] as const)('%s: the bytes `genpi export-gguf` writes, announced before they are made', async (kind, flags) => {
    const out = join(tmp, `${kind}.gguf`);
    const r = genpi('export-gguf', '--model', modelDir, '--adapter', adapterDir, '--out', out, ...flags);
    expect(r.errors).toEqual([]);
    const cli = readFileSync(out);
    const app = await appFile(kind);
    console.log(`${kind}: app ${app.bytes.length} bytes in ${app.parts.length} parts, CLI ${cli.length} bytes`);
    expect(app.sizes).toEqual([cli.length]);
    expect(app.written).toBe(cli.length);
    expect(app.bytes.equals(cli)).toBe(true);
    expect(app.progress.at(-1)).toEqual({ fraction: 1, stage: 'done' });
    // A merged file leaves as it is made, a tensor at a time: half of its parts are written before half of it is made.
    if (kind !== 'lora') expect(app.madeAtWrite[Math.floor(app.parts.length / 2)]).toBeLessThan(0.75);
  });

  it('cancel stops the writes at the next tensor', async () => {
    const ctl = new AbortController();
    let writes = 0;
    const run = appFile('f16', { signal: ctl.signal, onWrite: (n) => ((writes = n), n === 3 && ctl.abort(Object.assign(new Error('job 1 was cancelled'), { name: 'CancelledError' }))) });
    await expect(run).rejects.toMatchObject({ name: 'CancelledError' });
    expect(writes).toBe(3);
  });

  it('refuses, before the sink hears of it, an adapter of another model and a tokenizer llama.cpp cannot express', async () => {
    const spec = { rank: 2, alpha: 4, dropout: 0, targets: ['q' as const] };
    expect(() => adapterFor(model.config, { spec, params: new Float32Array(3) }, 'tiny-random-llama')).toThrow(/was made for another model: its 3 values do not fit tiny-random-llama/);

    const files = new Map<string, Uint8Array>();
    for (const name of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) files.set(name, readFileSync(join(modelDir, name)));
    const tok = JSON.parse(new TextDecoder().decode(files.get('tokenizer.json')));
    tok.pre_tokenizer = { type: 'Whitespace' };
    files.set('tokenizer.json', new TextEncoder().encode(JSON.stringify(tok)));
    let heard = 0;
    await expect(writeGguf(await openModel(memoryFiles(files)), adapter, {
      kind: 'q8_0', name: NAME, signal: new AbortController().signal, sink: { start: () => heard++, write: () => heard++ },
    })).rejects.toThrow(/pre-tokenizer \{"type":"Whitespace"\} is not one llama\.cpp knows by name/);
    expect(heard).toBe(0);
  });
});
