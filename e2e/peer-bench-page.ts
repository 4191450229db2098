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
import { theirRates, type Rates } from '../src/bench/peer-rates';

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

async function theirs(name: string, V: number, promptTokens: number, steps: number): Promise<TheirsResult> {
  const tf = (window as unknown as { tf: Transformers }).tf;
  let webgpuError: string | null = null;
  try {
    const lm = await tf.AutoModelForCausalLM.from_pretrained(name, { device: 'webgpu', dtype: 'fp32' });
    try {
      await lm({ input_ids: new tf.Tensor('int64', BigInt64Array.from([1n, 2n]), [1, 2]), attention_mask: new tf.Tensor('int64', BigInt64Array.from([1n, 1n]), [1, 2]) });
      return { backend: 'webgpu', webgpuError, rates: await theirRates(tf.Tensor, lm, V, promptTokens, steps) };
    } finally {
      await lm.dispose();
    }
  } catch (e) {
    webgpuError = String(e);
  }
  const lm = await tf.AutoModelForCausalLM.from_pretrained(name, { device: 'wasm', dtype: 'fp32' });
  try {
    return { backend: 'wasm', webgpuError, rates: await theirRates(tf.Tensor, lm, V, promptTokens, steps) };
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
