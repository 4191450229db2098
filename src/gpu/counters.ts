// What GPU work costs on the CPU side, counted where it happens: each dispatch, compute pass, queue submit, buffer
// write and readback has a fixed cost on top of its arithmetic (large on a software adapter, still real on a GPU),
// so the bench reads these per decode token and per training step to find what to fuse. Always on: the device is
// wrapped once when acquired, and each call pays an integer add; results are untouched.

export interface GpuCounts {
  dispatches: number;
  passes: number;
  submits: number;
  /** queue.writeBuffer calls, and the bytes they carried. */
  writes: number;
  writeBytes: number;
  /** Readbacks (mapAsync for reading), and the bytes mapped. */
  readbacks: number;
  readBytes: number;
}

const zero = (): GpuCounts => ({ dispatches: 0, passes: 0, submits: 0, writes: 0, writeBytes: 0, readbacks: 0, readBytes: 0 });

export class GpuCounters {
  private c = zero();

  /** The totals so far (a copy). */
  snapshot(): GpuCounts {
    return { ...this.c };
  }

  /** What was counted after `before` (a snapshot). */
  since(before: GpuCounts): GpuCounts {
    const out = zero();
    for (const key of Object.keys(out) as (keyof GpuCounts)[]) out[key] = this.c[key] - before[key];
    return out;
  }

  /** Called by the one readback (src/gpu/buffers.ts): mapAsync is on buffers, which are not wrapped. */
  readback(bytes: number): void {
    this.c.readbacks++;
    this.c.readBytes += bytes;
  }

  /** Wraps the device's entry points in place; later calls on it count. */
  attach(device: GPUDevice): void {
    const c = this.c;
    const queue = device.queue;
    const submit = queue.submit;
    queue.submit = function (buffers: Iterable<GPUCommandBuffer>) {
      c.submits++;
      return submit.call(queue, buffers);
    };
    const writeBuffer = queue.writeBuffer;
    queue.writeBuffer = function (buffer: GPUBuffer, offset: number, data: BufferSource | SharedArrayBuffer, dataOffset?: number, size?: number) {
      c.writes++;
      const elem = ArrayBuffer.isView(data) ? (data as unknown as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1 : 1;
      c.writeBytes += size !== undefined ? size * elem : data.byteLength - (dataOffset ?? 0) * elem;
      return writeBuffer.call(queue, buffer, offset, data as BufferSource, dataOffset, size);
    } as GPUQueue['writeBuffer'];
    const createCommandEncoder = device.createCommandEncoder;
    device.createCommandEncoder = function (descriptor?: GPUCommandEncoderDescriptor) {
      const enc = createCommandEncoder.call(device, descriptor);
      const beginComputePass = enc.beginComputePass;
      enc.beginComputePass = function (passDescriptor?: GPUComputePassDescriptor) {
        c.passes++;
        const pass = beginComputePass.call(enc, passDescriptor);
        const dispatchWorkgroups = pass.dispatchWorkgroups;
        pass.dispatchWorkgroups = function (x: number, y?: number, z?: number) {
          c.dispatches++;
          return dispatchWorkgroups.call(pass, x, y, z);
        };
        return pass;
      };
      return enc;
    };
  }
}

const byDevice = new WeakMap<GPUDevice, GpuCounters>();

/** The device's counters, attaching them on first use. */
export function gpuCounters(device: GPUDevice): GpuCounters {
  let counters = byDevice.get(device);
  if (!counters) {
    counters = new GpuCounters();
    counters.attach(device);
    byDevice.set(device, counters);
  }
  return counters;
}
