// Buffer creation and readback. Readback is the only way data leaves the GPU, so it is one function, easy to find
// and to keep off hot paths (which read back only scalars and sampled ids).
import { gpuCounters } from './counters';

/**
 * The GPUBufferUsage and GPUMapMode bits the engine uses, by name. The values are fixed by the WebGPU spec; they are
 * spelled out because in Node Dawn's GPUBufferUsage global exists only once a device is acquired (src/gpu/node.ts).
 */
export const BufferUsage = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80 } as const;
const MapMode = { READ: 0x1 } as const;

/** Storage buffers are written from the CPU and read back or copied from, so they carry both copy bits. */
const STORAGE = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;

/** A storage buffer holding `data`, or `bytes` zeroed bytes. Sizes round up to 4 as WebGPU requires. */
export function storageBuffer(device: GPUDevice, data: ArrayBufferView | number, label: string): GPUBuffer {
  const bytes = typeof data === 'number' ? data : data.byteLength;
  const buffer = device.createBuffer({ label, size: Math.max(4, Math.ceil(bytes / 4) * 4), usage: STORAGE });
  if (typeof data !== 'number') {
    // writeBuffer takes whole 4-byte words: an odd count of f16 values is padded with a zero half.
    let bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (bytes.byteLength % 4) {
      const padded = new Uint8Array(buffer.size);
      padded.set(bytes);
      bytes = padded;
    }
    device.queue.writeBuffer(buffer, 0, bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength);
  }
  return buffer;
}

export function uniformBuffer(device: GPUDevice, words: ArrayLike<number>, label: string): GPUBuffer {
  const data = new Uint32Array(Math.max(4, Math.ceil(words.length / 4) * 4));
  data.set(words);
  const buffer = device.createBuffer({ label, size: data.byteLength, usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST });
  device.queue.writeBuffer(buffer, 0, data);
  return buffer;
}

/** Copies `byteLength` bytes from `src` at `offset` into a fresh ArrayBuffer. */
export async function readBuffer(device: GPUDevice, src: GPUBuffer, byteLength: number, offset = 0): Promise<ArrayBuffer> {
  const size = Math.ceil(byteLength / 4) * 4;
  const staging = device.createBuffer({ label: 'readback', size, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
  const enc = device.createCommandEncoder({ label: 'readback' });
  enc.copyBufferToBuffer(src, offset, staging, 0, size);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(MapMode.READ);
  gpuCounters(device).readback(size);
  const out = staging.getMappedRange().slice(0, byteLength);
  staging.unmap();
  staging.destroy();
  return out;
}

export async function readF32(device: GPUDevice, src: GPUBuffer, count: number, offset = 0): Promise<Float32Array> {
  return new Float32Array(await readBuffer(device, src, count * 4, offset));
}

/** Writes a typed array into `dst` at byte `offset` (queued; visible to the next submit). */
export function writeArray(device: GPUDevice, dst: GPUBuffer, view: ArrayBufferView, offset = 0): void {
  device.queue.writeBuffer(dst, offset, view.buffer as ArrayBuffer, view.byteOffset, view.byteLength);
}
