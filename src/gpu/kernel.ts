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
  /** Parameter slots of the runs being recorded, by pass; spare slot buffers for the next runs. */
  private readonly slots = new WeakMap<GPUComputePassEncoder, ParamSlots>();
  private readonly spare: { buffer: GPUBuffer; bytes: Uint8Array }[] = [];

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
   * given, binds last (@binding(n)), from the run's shared parameter slots (ParamSlots).
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
      const slots = this.slots.get(pass);
      entries.push({ binding: buffers.length, resource: slots ? slots.put(data) : this.uniform(entry, data) });
    }
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, this.device.createBindGroup({ label: entry, layout: pipeline.getBindGroupLayout(0), entries }));
    const [x, y = 1, z = 1] = groups;
    const max = this.ctx.limits.maxComputeWorkgroupsPerDimension;
    if (x > max || y > max || z > max) throw new Error(`${entry}: grid ${x}x${y}x${z} exceeds ${max} per dimension`);
    pass.dispatchWorkgroups(x, y, z);
  }

  /**
   * Records `record` into one compute pass and submits it. Its dispatches' parameters share uniform buffers, written
   * once just before the submit: one write per run instead of a fresh buffer and a write per dispatch.
   */
  async run(label: string, record: (pass: GPUComputePassEncoder) => Promise<void>): Promise<void> {
    const enc = this.device.createCommandEncoder({ label });
    const pass = enc.beginComputePass({ label });
    const slots = new ParamSlots(this.device, this.spare, this.ctx.limits.minUniformBufferOffsetAlignment);
    this.slots.set(pass, slots);
    try {
      await record(pass);
      pass.end();
      slots.write();
      this.device.queue.submit([enc.finish()]);
    } finally {
      this.slots.delete(pass);
      slots.release();
    }
  }

  /** A uniform of its own, for a dispatch recorded into a pass that run() did not open. */
  private uniform(entry: string, data: ArrayBuffer): GPUBufferBinding {
    const buffer = this.device.createBuffer({ label: `${entry}.params`, size: data.byteLength, usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST });
    this.device.queue.writeBuffer(buffer, 0, data);
    return { buffer };
  }
}

/** Bytes of parameter slots per shared uniform buffer: a 135M-shaped training step's ~1,800 dispatches fit in two. */
const PARAM_CHUNK = 1 << 20;

/**
 * The parameter uniforms of one run: each dispatch's values in its own slot (aligned as uniform offsets must be) of
 * a shared buffer, copied to the GPU by write(). Buffers come from the Kernels' spares and go back after the
 * submit: a later run's write is queued after that submit, so reusing them cannot change what it reads.
 */
class ParamSlots {
  /** `end`: where the last slot's values end; `next`: the next aligned offset. */
  private chunks: { buffer: GPUBuffer; bytes: Uint8Array; end: number; next: number }[] = [];

  constructor(
    private readonly device: GPUDevice,
    private readonly spare: { buffer: GPUBuffer; bytes: Uint8Array }[],
    private readonly align: number,
  ) {}

  put(data: ArrayBuffer): GPUBufferBinding {
    let chunk = this.chunks.at(-1);
    if (!chunk || chunk.next + data.byteLength > PARAM_CHUNK) {
      const got = this.spare.pop() ?? {
        buffer: this.device.createBuffer({ label: 'params', size: PARAM_CHUNK, usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST }),
        bytes: new Uint8Array(PARAM_CHUNK),
      };
      chunk = { ...got, end: 0, next: 0 };
      this.chunks.push(chunk);
    }
    const offset = chunk.next;
    chunk.bytes.set(new Uint8Array(data), offset);
    chunk.end = offset + data.byteLength;
    chunk.next = Math.ceil(chunk.end / this.align) * this.align;
    return { buffer: chunk.buffer, offset, size: data.byteLength };
  }

  write(): void {
    for (const c of this.chunks) this.device.queue.writeBuffer(c.buffer, 0, c.bytes.buffer as ArrayBuffer, 0, c.end);
  }

  release(): void {
    for (const { buffer, bytes } of this.chunks) this.spare.push({ buffer, bytes });
    this.chunks = [];
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
