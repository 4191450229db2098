// Test helper: overwrites chosen values of one tensor inside a safetensors file (bytes in memory or a file on disk),
// in the tensor's own dtype, so tests can plant a NaN, an infinity or an out-of-range value in a valid model or adapter.
import { readFileSync, writeFileSync } from 'node:fs';
import { fromFloat32, DTYPE_BYTES } from '../dtype';
import { readSafetensorsHeader } from '../safetensors';
import { BytesSource } from '../source';

/** Sets element `index` (flat, row-major) of `tensor` to `value` for each [index, value], in place; 'all' fills it. */
export async function editTensor(bytes: Uint8Array, tensor: string, values: [number, number][] | { all: number }): Promise<void> {
  const header = await readSafetensorsHeader(new BytesSource('safetensors', bytes));
  const t = header.tensors.get(tensor);
  if (!t) throw new Error(`no tensor ${tensor} in this file`);
  const size = DTYPE_BYTES[t.dtype];
  const n = t.shape.reduce((a, b) => a * b, 1);
  const list = Array.isArray(values) ? values : Array.from({ length: n }, (_, i): [number, number] => [i, values.all]);
  for (const [index, value] of list) bytes.set(fromFloat32([value], t.dtype), t.begin + index * size);
}

/** editTensor on a file. */
export async function setTensorValues(file: string, tensor: string, values: [number, number][]): Promise<void> {
  const bytes = new Uint8Array(readFileSync(file));
  await editTensor(bytes, tensor, values);
  writeFileSync(file, bytes);
}

/** Sets every element of `tensor` in `file` to `value`. */
export async function fillTensor(file: string, tensor: string, value: number): Promise<void> {
  const bytes = new Uint8Array(readFileSync(file));
  await editTensor(bytes, tensor, { all: value });
  writeFileSync(file, bytes);
}
