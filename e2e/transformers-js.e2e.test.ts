// The ONNX export in Chromium as a web developer would load it: transformers.js' web build on onnxruntime-web (wasm
// backend, served from node_modules; never part of the app's build), from_pretrained on the exported folder, the
// logits compared with onnxruntime-node's for the same folder, and greedy generate run. An untrained tiny model and
// the same model with an adapter merged.
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { exportOnnx, type ExportedFile } from '../src/export/merged-folder';
import { maxAbsDiff, ort, randomAdapter, runDecoder } from '../src/export/testing';
import { openModel } from '../src/model/open';
import { makeTinyModel } from '../src/model/tiny/make';
import { memoryFiles } from '../src/llama/testing';
import { launchChromium, watchConsole } from './browser';

const IDS = [5, 17, 30, 100, 7, 250];
const folders = new Map<string, Map<string, Uint8Array>>();
const expected = new Map<string, Float32Array>();
let server: Server;
let base = '';
let browser: Browser;

const PAGE = `<!doctype html><script type="importmap">
{ "imports": { "onnxruntime-web/webgpu": "/ort/ort.webgpu.min.mjs", "onnxruntime-common": "/common.mjs" } }
</script><script type="module">
import { AutoModelForCausalLM, env, Tensor } from '/tf/transformers.web.js';
env.allowLocalModels = true;
env.allowRemoteModels = false;
env.localModelPath = '/models/';
env.backends.onnx.wasm.wasmPaths = { mjs: '/ort/ort-wasm-simd-threaded.asyncify.mjs', wasm: '/ort/ort-wasm-simd-threaded.asyncify.wasm' };
window.runExport = async (name, ids) => {
  try {
    return await run(name, ids);
  } catch (e) {
    return { error: String(e) }; // the message only: a stack of page URLs confuses vitest's source maps
  }
};
const run = async (name, ids) => {
  const model = await AutoModelForCausalLM.from_pretrained(name, { device: 'wasm' });
  const t = (rows) => new Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0].length]);
  const { logits } = await model({ input_ids: t([ids]), attention_mask: t([ids.map(() => 1)]) });
  const out = await model.generate({ input_ids: t([ids]), attention_mask: t([ids.map(() => 1)]), max_new_tokens: 8, do_sample: false });
  return { logits: Array.from(logits.data), generated: Array.from(out.data, Number).slice(ids.length) };
};
window.ready = true;
</script>`;

const TYPES: Record<string, string> = { mjs: 'text/javascript', js: 'text/javascript', wasm: 'application/wasm', json: 'application/json', onnx: 'application/octet-stream' };

async function respond(path: string): Promise<Uint8Array | string | null> {
  if (path === '/') return PAGE;
  // One onnxruntime for both: transformers.js makes its tensors with onnxruntime-common's Tensor, which must be the
  // class onnxruntime-web checks feeds against.
  if (path === '/common.mjs') return "export { Tensor } from '/ort/ort.webgpu.min.mjs';";
  const [, top, ...rest] = path.split('/');
  const file = normalize(rest.join('/'));
  if (file.startsWith('..')) return null;
  if (top === 'tf') return readFile(join('node_modules/@huggingface/transformers/dist', file)).catch(() => null);
  if (top === 'ort') return readFile(join('node_modules/onnxruntime-web/dist', file)).catch(() => null);
  if (top === 'models') return folders.get(rest[0])?.get(rest.slice(1).join('/')) ?? null;
  return null;
}

beforeAll(async () => {
  const tiny = makeTinyModel({ arch: 'llama', seed: 1 });
  const model = await openModel(memoryFiles(tiny));
  for (const [name, adapter] of [['untrained', null], ['adapted', randomAdapter(model.config, 11)]] as const) {
    const files: ExportedFile[] = await exportOnnx(model, adapter, { dtype: 'f32' });
    folders.set(name, new Map(files.map((f) => [f.name, f.parts[0]])));
    const session = await ort.InferenceSession.create(files[0].parts[0]);
    expected.set(name, (await runDecoder(session, model.config, [IDS])).logits);
  }
  server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    void respond(path).then((body) => {
      if (body === null) return res.writeHead(404).end();
      res.writeHead(200, { 'content-type': path === '/' ? 'text/html' : (TYPES[path.split('.').at(-1)!] ?? 'application/octet-stream') }).end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchChromium({ webgpu: false });
});
afterAll(async () => {
  await browser?.close();
  server?.close();
});

it('transformers.js on onnxruntime-web loads the export and agrees with onnxruntime-node', async () => {
  const page = await browser.newPage();
  const log = watchConsole(page);
  await page.goto(base);
  await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
  // The adapter moves the logits well past the tolerance, so each folder is checked against its own.
  expect(maxAbsDiff(expected.get('untrained')!, expected.get('adapted')!)).toBeGreaterThan(0.1);
  for (const name of ['untrained', 'adapted']) {
    type Run = { logits: number[]; generated: number[]; error?: string };
    const got = await page.evaluate(async ([n, ids]) => (window as unknown as { runExport: (n: string, ids: number[]) => Promise<Run> }).runExport(n as string, ids as number[]), [name, IDS] as const);
    if (got.error) throw new Error(`in the page: ${got.error}\n${log.join('\n')}`);
    const d = maxAbsDiff(got.logits, expected.get(name)!);
    console.log(`Chromium, ${name}: max |onnxruntime-web - onnxruntime-node| ${d.toExponential(2)}; generated ${got.generated.join(',')}`);
    expect(d).toBeLessThan(1e-4);
    expect(got.generated.length).toBeGreaterThan(0);
  }
}, 120_000);
