// Reads safetensors files piece by piece from a ByteSource: the header first (validated, so a corrupt or foreign
// file fails here with the file and tensor named), then one tensor's byte range at a time.
import { DTYPE_BYTES, isDType, toFloat32, type DType } from './dtype';
import { ModelError } from './errors';
import type { ByteSource } from './source';

/** One tensor in a file; begin/end are absolute byte offsets into the file (header included). */
export interface TensorInfo {
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

export interface SafetensorsFile {
  /** The source's name, for messages. */
  name: string;
  /** Absolute offset of the first data byte (8 + header length). */
  dataStart: number;
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
}

export interface TensorBytes {
  dtype: DType;
  shape: number[];
  /** Little-endian raw bytes, exactly product(shape) x dtype size. */
  bytes: Uint8Array;
}

export interface TensorF32 {
  shape: number[];
  data: Float32Array;
}

/** A header longer than this is a corrupt length field, not a real header (real ones are well under 10 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

/** safetensors dtypes we recognise but cannot load, so the message can say "unsupported" rather than "unknown". */
const KNOWN_UNSUPPORTED = new Set([
  'BOOL', 'U8', 'I8', 'U16', 'I16', 'U32', 'I32', 'U64', 'I64', 'F64', 'C64',
  'F8_E4M3', 'F8_E5M2', 'F8_E8M0', 'F6_E2M3', 'F6_E3M2', 'F4',
]);
const SUPPORTED = 'F32, F16, BF16';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function parseMetadata(file: string, v: unknown): Record<string, string> {
  if (!isObject(v)) throw new ModelError(file, 'must be an object of strings', '__metadata__');
  for (const [k, s] of Object.entries(v)) {
    if (typeof s !== 'string') throw new ModelError(file, `value of ${JSON.stringify(k)} must be a string`, '__metadata__');
  }
  return v as Record<string, string>;
}

/** Validates one header entry; offsets come back relative to the data section. */
function parseEntry(file: string, name: string, v: unknown, dataSize: number): TensorInfo {
  const fail = (problem: string): never => {
    throw new ModelError(file, problem, name);
  };
  if (!isObject(v)) fail('header entry must be an object with dtype, shape and data_offsets');
  const { dtype, shape, data_offsets: offsets } = v as Record<string, unknown>;
  if (dtype === undefined || shape === undefined || offsets === undefined) {
    fail('header entry needs dtype, shape and data_offsets');
  }
  if (typeof dtype !== 'string') fail(`dtype must be a string, got ${JSON.stringify(dtype)}`);
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    fail(`shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => typeof o === 'number' && Number.isSafeInteger(o))) {
    fail(`data_offsets must be two integers [begin, end], got ${JSON.stringify(offsets)}`);
  }
  const dt = dtype as string;
  if (!isDType(dt)) {
    fail(
      KNOWN_UNSUPPORTED.has(dt)
        ? `dtype ${dt} is not supported (supported: ${SUPPORTED}); convert the weights to one of those`
        : `unknown dtype ${JSON.stringify(dt)} (supported: ${SUPPORTED})`,
    );
  }
  const [begin, end] = offsets as number[];
  if (begin < 0 || end < 0 || begin > end || end > dataSize) {
    fail(`data_offsets [${begin}, ${end}] are out of range (the data section has ${dataSize} bytes)`);
  }
  const dims = shape as number[];
  const need = dims.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dt as DType];
  if (end - begin !== need) {
    fail(`holds ${end - begin} bytes but ${dt} shape [${dims.join(', ')}] needs ${need}`);
  }
  return { dtype: dt as DType, shape: [...dims], begin, end };
}

function checkOverlaps(file: string, tensors: Map<string, TensorInfo>): void {
  const ranges = [...tensors].filter(([, t]) => t.end > t.begin).sort((a, b) => a[1].begin - b[1].begin);
  for (let i = 1; i < ranges.length; i++) {
    const [prevName, prev] = ranges[i - 1];
    const [name, t] = ranges[i];
    if (t.begin < prev.end) {
      throw new ModelError(file, `bytes [${t.begin}, ${t.end}) overlap ${prevName} [${prev.begin}, ${prev.end})`, name);
    }
  }
}

/**
 * The first key the top-level object of valid JSON `text` has twice, or null. JSON.parse keeps the last of duplicate
 * keys without a word, so two entries for one tensor name would pass as one.
 */
function duplicateKey(text: string): string | null {
  const seen = new Set<string>();
  let depth = 0;
  let keyNext = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (depth === 1 && keyNext) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (seen.has(key)) return key;
        seen.add(key);
        keyNext = false;
      }
      i = j;
    } else if (c === '{' || c === '[') {
      depth++;
      keyNext = depth === 1;
    } else if (c === '}' || c === ']') {
      depth--;
    } else if (c === ',' && depth === 1) {
      keyNext = true;
    }
  }
  return null;
}

/** Reads and validates the header of a safetensors file; reads no tensor data. */
export async function readSafetensorsHeader(src: ByteSource): Promise<SafetensorsFile> {
  const file = src.name;
  const size = await src.size();
  if (size < 8) throw new ModelError(file, `is ${size} bytes, too short for a safetensors file (8-byte header length)`);
  const lenBytes = await src.read(0, 8);
  const headerLen = new DataView(lenBytes.buffer, lenBytes.byteOffset, 8).getBigUint64(0, true);
  if (headerLen > BigInt(MAX_HEADER_BYTES)) {
    throw new ModelError(file, `header length ${headerLen} is absurd (over ${MAX_HEADER_BYTES} bytes); not a safetensors file?`);
  }
  const n = Number(headerLen);
  if (8 + n > size) {
    throw new ModelError(file, `header length ${n} runs past the end of the file (${size} bytes); truncated download?`);
  }
  let header: unknown;
  let headerText = '';
  try {
    headerText = new TextDecoder('utf-8', { fatal: true }).decode(await src.read(8, n));
    header = JSON.parse(headerText);
  } catch (e) {
    throw new ModelError(file, `header is not valid JSON (${(e as Error).message}); not a safetensors file?`);
  }
  if (!isObject(header)) throw new ModelError(file, 'header must be a JSON object of tensor name -> entry');
  const twice = duplicateKey(headerText);
  if (twice !== null) {
    throw new ModelError(file, 'is listed twice in the header; JSON would keep only the last entry and hide the other bytes, so the file is ambiguous', twice);
  }

  const dataStart = 8 + n;
  const dataSize = size - dataStart;
  let metadata: Record<string, string> = {};
  const relative = new Map<string, TensorInfo>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') metadata = parseMetadata(file, entry);
    else relative.set(name, parseEntry(file, name, entry, dataSize));
  }
  checkOverlaps(file, relative);
  const tensors = new Map<string, TensorInfo>();
  for (const [name, t] of relative) tensors.set(name, { ...t, begin: dataStart + t.begin, end: dataStart + t.end });
  return { name: file, dataStart, tensors, metadata };
}

function infoOf(file: SafetensorsFile, name: string): TensorInfo {
  const t = file.tensors.get(name);
  if (!t) throw new ModelError(file.name, 'no such tensor in this file', name);
  return t;
}

/** Reads one tensor's raw bytes (only its range). */
export async function readTensor(src: ByteSource, file: SafetensorsFile, name: string): Promise<TensorBytes> {
  const t = infoOf(file, name);
  return { dtype: t.dtype, shape: [...t.shape], bytes: await src.read(t.begin, t.end - t.begin) };
}

/** Reads one tensor as f32 (F16 and BF16 widened exactly). */
export async function readTensorF32(src: ByteSource, file: SafetensorsFile, name: string): Promise<TensorF32> {
  const t = await readTensor(src, file, name);
  return { shape: t.shape, data: toFloat32(t.bytes, t.dtype) };
}
