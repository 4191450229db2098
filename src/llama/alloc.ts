// Allocates named f32 buffers from the planner's tables, and counts their bytes, so a run's real GPU memory can
// be compared with the figure the planner promised.
import { storageBuffer } from '../gpu/buffers';

export class Allocator {
  bytes = 0;
  private readonly buffers: GPUBuffer[] = [];
  constructor(private readonly device: GPUDevice) {}

  floats(count: number, label: string): GPUBuffer {
    const b = storageBuffer(this.device, Math.max(1, count) * 4, label);
    this.buffers.push(b);
    this.bytes += b.size;
    return b;
  }

  /** One buffer per entry of a planner table, under the same names. */
  table<K extends string>(sizes: Record<K, number>, prefix: string): Record<K, GPUBuffer> {
    const out = {} as Record<K, GPUBuffer>;
    for (const [name, n] of Object.entries(sizes) as [K, number][]) out[name] = this.floats(n, `${prefix}.${name}`);
    return out;
  }

  destroy(): void {
    for (const b of this.buffers) b.destroy();
    this.buffers.length = 0;
    this.bytes = 0;
  }
}
