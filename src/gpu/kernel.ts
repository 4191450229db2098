// One way to record a kernel: pipeline by entry-point name, buffers bound in order, a uniform of parameters, a
// grid. Every op in src/llama/ops records through this, so binding order and parameter packing live in one place.
import { BufferUsage } from './buffers';
import type { GpuContext } from './device';
import { KernelRegistry, type ShaderSources } from './registry';

/** A whole buffer, or a byte range of it (offset must be a multiple of minStorageBufferOffsetAlignment). */
export type Bind = GPUBuffer | { buffer: GPUBuffer; offset: number; size: number };

/**
 * Uniform parameters in declaration order, each a u32 unless given as f32(x) (no kernel takes an i32). WGSL
 * structs of 4-byte scalars pack without padding, so the order of the values is the order of the struct's fields.
 */
export type Param = number | { f32: number };
export const f32 = (x: number): Param => ({ f32: x });

export function packParams(values: Param[]): ArrayBuffer {
  const buf = new ArrayBuffer(Math.max(16, Math.ceil((values.length * 4) / 16) * 16));
  const view = new DataView(buf);
  values.forEach((v, i) => {
    if (typeof v === 'number') {
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`param ${i}: ${v} is not a u32`);
      view.setUint32(i * 4, v, true);
    } else view.setFloat32(i * 4, v.f32, true);
  });
  return buf;
}

export class Kernels {
  /** `f16`: frozen weights are stored as f16; it must match the registry's weightPreamble. */
  constructor(
    readonly ctx: GpuContext,
    readonly registry: KernelRegistry,
    readonly f16 = false,
  ) {}

  get device(): GPUDevice {
    return this.ctx.device;
  }

  /**
   * Records `entry` into `pass`. Buffers bind to @binding(0..n-1) of @group(0) in order; the params uniform, when
   * given, binds last (@binding(n)). The uniform is a fresh small buffer, written before the pass is submitted.
   */
  async dispatch(
    pass: GPUComputePassEncoder,
    entry: string,
    buffers: Bind[],
    params: Param[] | null,
    groups: [number, number?, number?],
    constants?: Record<string, number>,
  ): Promise<void> {
    const pipeline = await this.registry.pipeline(entry, constants);
    const entries: GPUBindGroupEntry[] = buffers.map((b, binding) => ({
      binding,
      resource: 'buffer' in b ? { buffer: b.buffer, offset: b.offset, size: b.size } : { buffer: b },
    }));
    if (params) {
      const data = packParams(params);
      const uniform = this.device.createBuffer({ label: `${entry}.params`, size: data.byteLength, usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST });
      this.device.queue.writeBuffer(uniform, 0, data);
      entries.push({ binding: buffers.length, resource: { buffer: uniform } });
    }
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, this.device.createBindGroup({ label: entry, layout: pipeline.getBindGroupLayout(0), entries }));
    const [x, y = 1, z = 1] = groups;
    const max = this.ctx.limits.maxComputeWorkgroupsPerDimension;
    if (x > max || y > max || z > max) throw new Error(`${entry}: grid ${x}x${y}x${z} exceeds ${max} per dimension`);
    pass.dispatchWorkgroups(x, y, z);
  }

  /** Records `record` into one compute pass and submits it. */
  async run(label: string, record: (pass: GPUComputePassEncoder) => Promise<void>): Promise<void> {
    const enc = this.device.createCommandEncoder({ label });
    const pass = enc.beginComputePass({ label });
    await record(pass);
    pass.end();
    this.device.queue.submit([enc.finish()]);
  }
}

/** WGSL text put before every module: `wt` is the frozen weights' storage type (f16 where the device can). */
export function weightPreamble(f16: boolean): string {
  return f16 ? 'enable f16;\nalias wt = f16;\n' : 'alias wt = f32;\n';
}

/** Kernels for a device: f16 weights when it has shader-f16 (unless turned off), from the given WGSL sources. */
export function createKernels(ctx: GpuContext, sources: ShaderSources, opts: { f16?: boolean } = {}): Kernels {
  const f16 = (opts.f16 ?? true) && ctx.features.has('shader-f16');
  return new Kernels(ctx, new KernelRegistry(ctx.device, sources, { preamble: weightPreamble(f16) }), f16);
}
