// The ONNX export in Chromium as a web developer would load it: transformers.js' web build on onnxruntime-web (wasm
// backend, served from node_modules; never part of the app's build), from_pretrained on the exported folder, the
// logits compared with onnxruntime-node's for the same folder, and greedy generate run. An untrained tiny model and
// the same model with an adapter our own training made (a few steps of `genpi train`), each exported by
// `genpi export-onnx` as a user would: the path from training to a web app, end to end. Then the snippet the app
// hands out with an export, its text unchanged, as a module of a page that maps its bare import to the web build.
import { createServer, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { genpi } from '../src/cli/testing';
import { maxAbsDiff, ort, runDecoder } from '../src/export/testing';
import type { ModelConfig } from '../src/model/config';
import { openModel } from '../src/model/open';
import { DirFileSet } from '../src/model/source-node';
import { writeTinyModel } from '../src/model/tiny/write-node';
import { loadSnippet } from '../src/ui/state/onnx-export.svelte';
import { launchChromium, watchConsole } from './browser';
import { contentType, IMPORT_MAP, LOAD_TRANSFORMERS, transformersFile, WASM_PATHS } from './transformers-web';

const IDS = [5, 17, 30, 100, 7, 250];
const NEW_TOKENS = 8;
const folders = new Map<string, Map<string, Uint8Array>>();
const expected = new Map<string, { logits: Float32Array; greedy: number[] }>();
let server: Server;
let base = '';
let browser: Browser;

const PAGE = `<!doctype html>${IMPORT_MAP}<script type="module">
${LOAD_TRANSFORMERS}
window.runExport = async (name, ids) => {
  try {
    return await run(name, ids);
  } catch (e) {
    return { error: String(e) }; // the message only: a stack of page URLs confuses vitest's source maps
  }
};
const run = async (name, ids) => {
  const model = await tf.AutoModelForCausalLM.from_pretrained(name, { device: 'wasm' });
  const t = (rows) => new tf.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0].length]);
  const { logits } = await model({ input_ids: t([ids]), attention_mask: t([ids.map(() => 1)]) });
  const out = await model.generate({ input_ids: t([ids]), attention_mask: t([ids.map(() => 1)]), max_new_tokens: ${NEW_TOKENS}, do_sample: false });
  return { logits: Array.from(logits.data), generated: Array.from(out.data, Number).slice(ids.length) };
};
window.ready = true;
</script>`;

/** The app's snippet for the trained export, after a module that keeps what it prints and serves the wasm locally. */
const SNIPPET = loadSnippet('trained', 'f32');
const SNIPPET_PAGE = `<!doctype html>${IMPORT_MAP}<script type="module">
import { env } from '@huggingface/transformers';
env.backends.onnx.wasm.wasmPaths = ${WASM_PATHS};
window.printed = [];
window.failed = [];
console.log = (...a) => window.printed.push(...a);
addEventListener('error', (e) => window.failed.push(String(e.message)));
</script>
<script type="module">
${SNIPPET}
</script>`;

async function respond(path: string): Promise<Uint8Array | string | null> {
  if (path === '/') return PAGE;
  if (path === '/snippet.html') return SNIPPET_PAGE;
  const lib = await transformersFile(path);
  if (lib !== undefined) return lib;
  const [, top, name, ...rest] = path.split('/');
  if (top === 'models') return folders.get(name)?.get(rest.join('/')) ?? null;
  return null;
}

const tmp = mkdtempSync(join(tmpdir(), 'genpi-tfjs-'));
const dir = (name: string) => join(tmp, name);
const PROMPT = 'You are a shell agent.\n<USER>: list files\n<AGENT>: Act: bash ls';

/** `genpi train` on a tiny dataset: 4 steps, enough to move the adapter's B off zero and the loss down. */
function trainAdapter(): void {
  const record = (i: number, split: string) => JSON.stringify({
    id: `r${i}`, input: `input ${i}`, as_is: 'as is', to_be: 'Act: bash ls', reason: 'the prompt says so',
    conversation: [{ role: 'user', content: `input ${i}` }, { role: 'assistant', content: 'Act: bash ls' }], split, settings: { prompt: PROMPT },
  });
  writeFileSync(dir('data.jsonl'), [record(0, 'train'), record(1, 'train'), record(2, 'heldout')].join('\n'));
  const r = genpi('train', '--model', dir('model'), '--data', dir('data.jsonl'), '--out', dir('adapter'), '--rank', '4',
    '--batch-size', '2', '--epochs', '4', '--lr', '0.05');
  expect(r.code, r.stderr).toBe(0);
  const summary = r.lastJson();
  expect(summary.last_loss).toBeLessThan(summary.first_loss);
}

/** Every file of a folder, by its path inside it (onnx/model.onnx, config.json, ...). */
async function readFolder(root: string): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  for (const e of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const path = join(e.parentPath, e.name);
    files.set(path.slice(root.length + 1), new Uint8Array(await readFile(path)));
  }
  return files;
}

/** Greedy decoding by onnxruntime-node, the cache fed back step by step: what generate in the page must produce. */
async function greedy(session: ort.InferenceSession, cfg: ModelConfig, ids: number[], n: number) {
  let run = await runDecoder(session, cfg, [ids]);
  const first = run.logits;
  const tokens: number[] = [];
  for (let i = 0; i < n; i++) {
    const last = run.logits.subarray(run.logits.length - cfg.vocabSize);
    tokens.push(last.indexOf(Math.max(...last)));
    if (i + 1 < n) run = await runDecoder(session, cfg, [[tokens[i]]], { past: run.present });
  }
  return { logits: first, greedy: tokens };
}

beforeAll(async () => {
  await writeTinyModel(dir('model'), { arch: 'llama', seed: 1 });
  trainAdapter();
  const model = await openModel(new DirFileSet(dir('model')));
  for (const [name, adapter] of [['untrained', []], ['trained', ['--adapter', dir('adapter')]]] as const) {
    const r = genpi('export-onnx', '--model', dir('model'), ...adapter, '--out', dir(name));
    expect(r.code, r.stderr).toBe(0);
    const files = await readFolder(dir(name));
    folders.set(name, files);
    const session = await ort.InferenceSession.create(files.get('onnx/model.onnx')!);
    expected.set(name, await greedy(session, model.config, IDS, NEW_TOKENS));
  }
  server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    void respond(path).then((body) => {
      if (body === null) return res.writeHead(404).end();
      res.writeHead(200, { 'content-type': path === '/' ? 'text/html' : contentType(path) }).end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchChromium({ webgpu: false });
});
afterAll(async () => {
  await browser?.close();
  server?.close();
  await rm(tmp, { recursive: true, force: true });
});

it('transformers.js on onnxruntime-web loads the export and agrees with onnxruntime-node', async () => {
  const page = await browser.newPage();
  const log = watchConsole(page);
  await page.goto(base);
  await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
  // The trained adapter moves the logits well past the tolerance, so each folder is checked against its own.
  const moved = maxAbsDiff(expected.get('untrained')!.logits, expected.get('trained')!.logits);
  console.log(`the trained adapter moves onnxruntime-node's logits by up to ${moved.toFixed(3)}`);
  expect(moved).toBeGreaterThan(0.1);
  for (const name of ['untrained', 'trained']) {
    type Run = { logits: number[]; generated: number[]; error?: string };
    const got = await page.evaluate(async ([n, ids]) => (window as unknown as { runExport: (n: string, ids: number[]) => Promise<Run> }).runExport(n as string, ids as number[]), [name, IDS] as const);
    if (got.error) throw new Error(`in the page: ${got.error}\n${log.join('\n')}`);
    const want = expected.get(name)!;
    const d = maxAbsDiff(got.logits, want.logits);
    console.log(`Chromium, ${name}: max |onnxruntime-web - onnxruntime-node| ${d.toExponential(2)}; generated ${got.generated.join(',')}`);
    expect(d).toBeLessThan(1e-4);
    expect(got.generated).toEqual(want.greedy);
  }
}, 120_000);

it('the snippet the app shows with an export runs in Chromium and prints the reply', async () => {
  const page = await browser.newPage();
  const log = watchConsole(page);
  await page.goto(`${base}/snippet.html`);
  type Seen = { printed: unknown[]; failed: string[] };
  // A throw in the snippet's module reaches the window's error event; what it prints lands in window.printed.
  await page.waitForFunction(() => {
    const w = window as unknown as Partial<Seen>;
    return Boolean(w.printed?.length || w.failed?.length);
  }, null, { timeout: 60_000 });
  const { printed, failed } = await page.evaluate(() => {
    const w = window as unknown as Seen;
    return { printed: w.printed, failed: w.failed };
  });
  console.log(`Chromium, the snippet printed ${JSON.stringify(printed)}`);
  expect(failed, log.join('\n')).toEqual([]);
  expect(printed).toHaveLength(1);
  expect(typeof printed[0]).toBe('string');
  expect((printed[0] as string).length).toBeGreaterThan(0);
}, 120_000);
