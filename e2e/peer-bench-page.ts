// The browser half of the Chromium peer bench (e2e/peer-bench.ts serves it through Vite, outside the app's build):
// our engine on the page's WebGPU adapter, then transformers.js on onnxruntime-web, the same weights for both.
// transformers.js tries its WebGPU backend first and falls back to wasm when that fails on this adapter, saying why.
// Both sides are timed as src/bench/peer.ts times them in Node, so the two tables read alike.
import { benchGeneration } from '../src/bench/generate';
import { acquireGpu } from '../src/gpu/device';
import { createKernels } from '../src/gpu/kernel';
import { shaderSources } from '../src/gpu/shaders-vite';
import { openModel } from '../src/model/open';
import { BytesSource } from '../src/model/source';

export interface Rates { prefill: number; decode1: number; decode16: number }
export interface OursResult { adapter: string; weights: 'f16' | 'f32'; rates: Rates }
export interface TheirsResult { backend: 'webgpu' | 'wasm'; webgpuError: string | null; rates: Rates }

/** What the page's inline script (LOAD_TRANSFORMERS) leaves on window.tf: the parts of transformers.js used here. */
interface TensorLike { data: ArrayLike<unknown> }
interface CausalLM {
  (feeds: Record<string, unknown>): Promise<{ logits: TensorLike }>;
  generate(opts: Record<string, unknown>): Promise<TensorLike>;
  dispose(): Promise<unknown>;
}
interface Transformers {
  AutoModelForCausalLM: { from_pretrained(name: string, opts: Record<string, unknown>): Promise<CausalLM> };
  Tensor: new (type: string, data: BigInt64Array, dims: number[]) => unknown;
}

const ids = (n: number, seed: number, V: number) => Array.from({ length: n }, (_, i) => (seed * 7919 + i * 104729) % V);

async function ours(name: string, files: string[], promptTokens: number, steps: number): Promise<OursResult> {
  const bytes = new Map<string, Uint8Array>();
  for (const f of files) bytes.set(f, new Uint8Array(await (await fetch(`/weights/${f}`)).arrayBuffer()));
  const ctx = await acquireGpu(navigator.gpu, { where: 'browser' });
  try {
    const kernels = createKernels(ctx, shaderSources);
    const model = await openModel({ name, open: async (f) => (bytes.has(f) ? new BytesSource(f, bytes.get(f)!) : null) });
    const g = await benchGeneration(kernels, name, model, [1, 16], steps, promptTokens);
    const at = (b: number) => g.decode.find((d) => d.batch === b)!.tokensPerSecond;
    return { adapter: ctx.info.name, weights: kernels.f16 ? 'f16' : 'f32', rates: { prefill: g.prefill.tokensPerSecond, decode1: at(1), decode16: at(16) } };
  } finally {
    ctx.device.destroy();
  }
}

async function theirRates(tf: Transformers, lm: CausalLM, V: number, promptTokens: number, steps: number): Promise<Rates> {
  const i64 = (rows: number[][]) => new tf.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0].length]);
  const forward = (rows: number[][]) => lm({ input_ids: i64(rows), attention_mask: i64(rows.map((r) => r.map(() => 1))) });
  const prompt = [ids(promptTokens, 1, V)];
  await forward(prompt);
  let t0 = performance.now();
  await forward(prompt);
  const prefill = promptTokens / ((performance.now() - t0) / 1000);
  // Decode through transformers.js' own generate: N+1 new tokens minus 1, so its prefill is not counted.
  const decode = async (B: number) => {
    const rows = Array.from({ length: B }, (_, b) => ids(4, b + 2, V));
    const gen = (n: number) => lm.generate({ input_ids: i64(rows), attention_mask: i64(rows.map((r) => r.map(() => 1))), max_new_tokens: n, min_new_tokens: n, do_sample: false });
    await gen(2);
    t0 = performance.now();
    await gen(1);
    const one = performance.now() - t0;
    t0 = performance.now();
    await gen(steps + 1);
    return (B * steps) / ((performance.now() - t0 - one) / 1000);
  };
  return { prefill, decode1: await decode(1), decode16: await decode(16) };
}

async function theirs(name: string, V: number, promptTokens: number, steps: number): Promise<TheirsResult> {
  const tf = (window as unknown as { tf: Transformers }).tf;
  let webgpuError: string | null = null;
  try {
    const lm = await tf.AutoModelForCausalLM.from_pretrained(name, { device: 'webgpu', dtype: 'fp32' });
    try {
      await lm({ input_ids: new tf.Tensor('int64', BigInt64Array.from([1n, 2n]), [1, 2]), attention_mask: new tf.Tensor('int64', BigInt64Array.from([1n, 1n]), [1, 2]) });
      return { backend: 'webgpu', webgpuError, rates: await theirRates(tf, lm, V, promptTokens, steps) };
    } finally {
      await lm.dispose();
    }
  } catch (e) {
    webgpuError = String(e);
  }
  const lm = await tf.AutoModelForCausalLM.from_pretrained(name, { device: 'wasm', dtype: 'fp32' });
  try {
    return { backend: 'wasm', webgpuError, rates: await theirRates(tf, lm, V, promptTokens, steps) };
  } finally {
    await lm.dispose();
  }
}

// The Node side calls these through page.evaluate; errors come back as their message, not a stack of page URLs.
const wrap = <A extends unknown[], R>(f: (...a: A) => Promise<R>) => async (...a: A): Promise<R | { error: string }> => {
  try {
    return await f(...a);
  } catch (e) {
    return { error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  }
};
Object.assign(window, { peerBench: { ours: wrap(ours), theirs: wrap(theirs) } });
