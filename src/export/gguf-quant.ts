// Weights as ggml stores them: f32, f16, or q8_0 (blocks of 32 values along a row: an f16 scale d = max|x| / 127,
// then 32 int8 values round(x / d), as ggml's reference quantize_row_q8_0 makes them). Vectors (norms, biases) stay
// f32 whatever the file's type, as llama.cpp's own converter keeps them, and a matrix whose rows are not whole
// blocks falls back to f16.
import { f32ToF16, fromFloat32 } from '../model/dtype';
import { GGML_TYPE, type GgmlType, type GgufTensor } from './gguf-container';

/** What the export's --type names: the type of the matrices. */
export const GGUF_FILE_TYPES = ['f32', 'f16', 'q8_0'] as const;
export type GgufFileType = (typeof GGUF_FILE_TYPES)[number];

/** general.file_type's values (llama.cpp's llama_ftype): all f32, mostly f16, mostly q8_0. */
export const FILE_TYPE_ID: Record<GgufFileType, number> = { f32: 0, f16: 1, q8_0: 7 };

/** Half-away-from-zero, as C's roundf (Math.round takes -2.5 to -2). */
const roundf = (x: number) => Math.sign(x) * Math.round(Math.abs(x));

export function quantizeQ8_0(x: Float32Array): Uint8Array {
  const { block, bytes } = GGML_TYPE.q8_0;
  const n = x.length / block;
  const out = new Uint8Array(n * bytes);
  const view = new DataView(out.buffer);
  for (let b = 0; b < n; b++) {
    let amax = 0;
    for (let j = 0; j < block; j++) amax = Math.max(amax, Math.abs(x[b * block + j]));
    const d = amax / 127;
    const id = d ? 1 / d : 0;
    view.setUint16(b * bytes, f32ToF16(d), true);
    for (let j = 0; j < block; j++) view.setInt8(b * bytes + 2 + j, roundf(x[b * block + j] * id));
  }
  return out;
}

/** The type one tensor gets in a file of `fileType`. */
export function tensorType(shape: number[], fileType: GgufFileType): GgmlType {
  if (shape.length < 2 || fileType === 'f32') return 'f32';
  if (fileType === 'q8_0' && shape[shape.length - 1] % GGML_TYPE.q8_0.block === 0) return 'q8_0';
  return 'f16';
}

/** A tensor of f32 values encoded in the type a file of `fileType` gives it. */
export function encodeTensor(name: string, shape: number[], values: Float32Array, fileType: GgufFileType): GgufTensor {
  const type = tensorType(shape, fileType);
  const bytes = type === 'q8_0' ? quantizeQ8_0(values) : fromFloat32(values, type === 'f16' ? 'F16' : 'F32');
  return { name, shape, type, bytes };
}
