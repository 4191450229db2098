// Opens a WebGPU device with every limit and the optional features the engine can use, the same way in a browser
// worker and in Node (Dawn). Limits are asked for explicitly: WebGPU's defaults (128 MiB bindings, 16 KiB shared
// memory) are lower than what most adapters have, and a device only gets what it requests.
import { gpuCounters } from './counters';
import { DeviceLostError, NoAdapterError, NoWebGpuError } from './errors';

export type Feature = 'shader-f16' | 'subgroups' | 'timestamp-query';
const WANTED: Feature[] = ['shader-f16', 'subgroups', 'timestamp-query'];

export interface GpuAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A readable adapter name for reports: description, else vendor + architecture. */
  name: string;
  isFallback: boolean;
}

export interface GpuContext {
  device: GPUDevice;
  info: GpuAdapterInfo;
  features: Set<Feature>;
  /** The device's limits (equal to the adapter's, since we request them all). */
  limits: GPUSupportedLimits;
  /** Rejects never; resolves with a typed error when the device is lost (never for destroy()). */
  lost: Promise<DeviceLostError | null>;
}

export interface AcquireOptions {
  where: 'browser' | 'node';
  powerPreference?: GPUPowerPreference;
  /** Drop features even when present, to test the fallback paths (e.g. f32 weights on an f16 adapter). */
  disable?: Feature[];
}

function adapterLimits(gpuAdapter: GPUAdapter): Record<string, number> {
  const out: Record<string, number> = {};
  // WebIDL attributes are enumerable getters on the prototype, in browsers and in Dawn's Node bindings alike.
  for (const key in gpuAdapter.limits) {
    const v = (gpuAdapter.limits as unknown as Record<string, unknown>)[key];
    if (typeof v === 'number') out[key] = v;
  }
  return out;
}

function describe(gpuAdapter: GPUAdapter): GpuAdapterInfo {
  const i = gpuAdapter.info;
  const vendor = i?.vendor ?? '';
  const architecture = i?.architecture ?? '';
  const description = i?.description ?? '';
  return {
    vendor,
    architecture,
    device: i?.device ?? '',
    description,
    name: description || [vendor, architecture].filter(Boolean).join(' ') || 'unknown adapter',
    isFallback: Boolean((i as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter),
  };
}

export async function acquireGpu(gpu: GPU | undefined, opts: AcquireOptions): Promise<GpuContext> {
  if (!gpu) throw new NoWebGpuError(opts.where);
  const gpuAdapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
  if (!gpuAdapter) throw new NoAdapterError(opts.where);
  const features = new Set(WANTED.filter((f) => gpuAdapter.features.has(f) && !opts.disable?.includes(f)));
  const device = await gpuAdapter.requestDevice({
    requiredFeatures: [...features] as GPUFeatureName[],
    requiredLimits: adapterLimits(gpuAdapter),
  });
  gpuCounters(device); // counted from its first call on
  const lost = device.lost.then((l) =>
    l.reason === 'destroyed' ? null : new DeviceLostError(String(l.reason), l.message),
  );
  return { device, info: describe(gpuAdapter), features, limits: device.limits, lost };
}

/** A plain-object summary (for `genpi info`, the worker's info() and bench reports). */
export function summarize(ctx: GpuContext) {
  return {
    name: ctx.info.name,
    vendor: ctx.info.vendor,
    architecture: ctx.info.architecture,
    features: [...ctx.features].sort(),
    maxStorageBufferBindingSize: ctx.limits.maxStorageBufferBindingSize,
    maxBufferSize: ctx.limits.maxBufferSize,
    maxComputeWorkgroupStorageSize: ctx.limits.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: ctx.limits.maxComputeInvocationsPerWorkgroup,
  };
}
export type GpuSummary = ReturnType<typeof summarize>;
