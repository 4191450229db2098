// The GPU check: one JSON for a machine we may hold for minutes only. The adapter, kernel rates against the device's
// published peak, training and decode tokens/s at SmolLM2-135M's and -360M's shapes (random weights), and the ratio
// to transformers.js on onnxruntime-node in the same run. Sections run most important first under a time budget; a
// section that fails or would overrun is recorded as such and the rest still runs, so the file is always written.
import type { GpuContext } from '../gpu/device';
import { summarize } from '../gpu/device';
import type { Kernels } from '../gpu/kernel';
import { makeTinyModel } from '../model/tiny/make';
import { openModel, type ModelFiles } from '../model/open';
import { BytesSource } from '../model/source';
import { benchGeneration } from './generate';
import { benchKernels } from './kernels';
import { devicePeak } from './peaks';
import { benchPeer } from './peer';
import { randomModel, SMOLLM2_135M, SMOLLM2_360M } from './random-model';
import { benchTraining } from './train';

export interface GpuReportOptions {
  /** A software adapter's dry run: two layers of each shape, short batches, the tiny model for the peer. */
  quick: boolean;
  /** Sections start only while this many seconds have not passed (the whole check must stay under 8 minutes). */
  budgetSeconds: number;
  log: (line: string) => void;
}

/** What a run measures, in full and in the quick dry run. */
function plan(quick: boolean) {
  return quick
    ? { layers: 2, trainT: 32, trainSteps: 1, prefillT: 32, decodeSteps: 2, kernelReps: 1, peerPrompt: 32, peerSteps: 8 }
    : { layers: null, trainT: 256, trainSteps: 5, prefillT: 256, decodeSteps: 16, kernelReps: 5, peerPrompt: 256, peerSteps: 8 };
}

export async function gpuReport(ctx: GpuContext, kernels: Kernels, o: GpuReportOptions) {
  const t0 = performance.now();
  const elapsed = () => (performance.now() - t0) / 1000;
  const p = plan(o.quick);
  const { peak, reason } = devicePeak(ctx.info);
  const sections: Record<string, { seconds: number; error?: string; skipped?: string }> = {};
  const section = async <R>(name: string, run: () => Promise<R>): Promise<R | null> => {
    if (elapsed() > o.budgetSeconds) {
      sections[name] = { seconds: 0, skipped: `not started: ${elapsed().toFixed(0)} s had passed of a ${o.budgetSeconds} s budget` };
      o.log(`gpu report: ${name} skipped (budget)`);
      return null;
    }
    o.log(`gpu report: ${name}…`);
    const s0 = performance.now();
    try {
      const r = await run();
      sections[name] = { seconds: (performance.now() - s0) / 1000 };
      return r;
    } catch (e) {
      sections[name] = { seconds: (performance.now() - s0) / 1000, error: e instanceof Error ? e.message : String(e) };
      o.log(`gpu report: ${name} failed: ${sections[name].error}`);
      return null;
    }
  };
  const shaped = (config: typeof SMOLLM2_135M) => randomModel(p.layers ? { ...config, num_hidden_layers: p.layers } : config);

  const kernelRates = await section('kernels', async () => (await benchKernels(kernels, p.kernelReps)).map((r) => ({
    ...r,
    shareOfPeak: !peak ? null : r.gflops !== undefined ? r.gflops / (peak.fp32Tflops * 1000) : r.gbps! / peak.memoryGBps,
  })));
  const shapes: { name: string; model: () => Promise<ModelFiles> }[] = [
    { name: 'SmolLM2-135M-shaped', model: () => shaped(SMOLLM2_135M) },
    { name: 'SmolLM2-360M-shaped', model: () => shaped(SMOLLM2_360M) },
  ];
  const training = [];
  const decode = [];
  let m135: ModelFiles | null = null;
  for (const s of shapes) {
    const model = await section(`${s.name} model`, s.model);
    if (!model) continue;
    if (s === shapes[0]) m135 = model;
    const t = await section(`${s.name} training`, () => benchTraining(kernels, s.name, model, p.trainT, p.trainSteps));
    if (t) training.push(t);
    const g = await section(`${s.name} generation`, () => benchGeneration(kernels, s.name, model, [1, 16], p.decodeSteps, p.prefillT));
    if (g) decode.push({ model: s.name, prefillT: g.prefill.T, prefillTokensPerSecond: g.prefill.tokensPerSecond, decode: g.decode });
  }
  // The peer at the 135M shape (the tiny model in a quick run, where onnxruntime at 135M would dominate the time).
  const tinyFiles = makeTinyModel({ arch: 'llama' });
  const peerModel = o.quick || !m135
    ? { name: 'tiny', model: await openModel({ name: 'tiny', open: async (f) => (tinyFiles.has(f) ? new BytesSource(f, tinyFiles.get(f)!) : null) }) }
    : { name: 'SmolLM2-135M-shaped', model: m135 };
  const peerRow = await section('peer (transformers.js on onnxruntime-node)', () => benchPeer(kernels, peerModel.name, peerModel.model, p.peerPrompt, p.peerSteps, o.log));
  const peer = peerRow && {
    ...peerRow,
    ratio: {
      prefill: peerRow.ours.prefill / peerRow.theirs.prefill,
      decode1: peerRow.ours.decode1 / peerRow.theirs.decode1,
      decode16: peerRow.ours.decode16 / peerRow.theirs.decode16,
    },
  };

  return {
    date: new Date().toISOString(),
    quick: o.quick,
    plan: { ...p, layers: p.layers ?? 'as the real models', note: o.quick ? 'dry run: 2 layers of each shape, short batches, tiny peer' : 'full shapes' },
    adapter: { ...summarize(ctx), description: ctx.info.description, device: ctx.info.device, isFallback: ctx.info.isFallback, limits: limitsOf(ctx), weights: kernels.f16 ? 'f16' : 'f32' },
    peak,
    peakReason: reason,
    kernels: kernelRates,
    training,
    decode,
    peer,
    sections,
    seconds: elapsed(),
  };
}

function limitsOf(ctx: GpuContext): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key in ctx.limits) {
    const v = (ctx.limits as unknown as Record<string, unknown>)[key];
    if (typeof v === 'number') out[key] = v;
  }
  return out;
}
