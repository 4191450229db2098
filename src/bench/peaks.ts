// The published peaks of the GPUs a GPU report may run on, so a kernel's rate can be read as a share of what the
// device could do. WGSL has no tensor-core matrix ops: our matmuls multiply in f32 (f16 weights are widened), so the
// yardstick for a FLOP rate is the non-tensor FP32 peak, and for a bandwidth-bound kernel the memory bandwidth.
// Figures are the vendors' datasheet numbers (boost clock, dense).

export interface DevicePeak {
  /** The datasheet model the adapter was matched to. */
  model: string;
  fp32Tflops: number;
  memoryGBps: number;
}

/** Matched in order against the adapter's description, device and architecture (lower-cased): first hit wins. */
const PEAKS: { match: RegExp; peak: DevicePeak }[] = [
  { match: /h200/, peak: { model: 'NVIDIA H200 SXM', fp32Tflops: 66.9, memoryGBps: 4800 } },
  { match: /h100.*(pcie|nvl)/, peak: { model: 'NVIDIA H100 PCIe', fp32Tflops: 51.2, memoryGBps: 2000 } },
  { match: /h100/, peak: { model: 'NVIDIA H100 SXM (HBM3)', fp32Tflops: 66.9, memoryGBps: 3350 } },
  { match: /a100.*80/, peak: { model: 'NVIDIA A100 80GB SXM', fp32Tflops: 19.5, memoryGBps: 2039 } },
  { match: /a100/, peak: { model: 'NVIDIA A100 40GB', fp32Tflops: 19.5, memoryGBps: 1555 } },
  { match: /l40s/, peak: { model: 'NVIDIA L40S', fp32Tflops: 91.6, memoryGBps: 864 } },
  { match: /\bl4\b/, peak: { model: 'NVIDIA L4', fp32Tflops: 30.3, memoryGBps: 300 } },
  { match: /a10g/, peak: { model: 'NVIDIA A10G', fp32Tflops: 31.2, memoryGBps: 600 } },
  { match: /\bt4\b/, peak: { model: 'NVIDIA T4', fp32Tflops: 8.1, memoryGBps: 320 } },
  { match: /rtx 4090/, peak: { model: 'NVIDIA GeForce RTX 4090', fp32Tflops: 82.6, memoryGBps: 1008 } },
  { match: /rtx 3090/, peak: { model: 'NVIDIA GeForce RTX 3090', fp32Tflops: 35.6, memoryGBps: 936 } },
];

/** The adapter's peak, or null and why not (a software adapter has none; an unlisted GPU is named). */
export function devicePeak(info: { description: string; device: string; architecture: string; vendor: string; isFallback: boolean }):
  { peak: DevicePeak | null; reason: string | null } {
  const text = [info.description, info.device, info.architecture].join(' ').toLowerCase();
  if (info.isFallback || /llvmpipe|lavapipe|swiftshader|software/.test(text)) {
    return { peak: null, reason: `software adapter (${info.description || info.vendor}): its rate is the CPU's, with no fixed peak` };
  }
  const hit = PEAKS.find((p) => p.match.test(text));
  if (hit) return { peak: hit.peak, reason: null };
  return { peak: null, reason: `adapter "${text.trim() || info.vendor}" is not in the peak table (src/bench/peaks.ts)` };
}
