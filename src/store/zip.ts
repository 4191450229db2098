// A minimal ZIP writer and reader for exporting and importing an adapter (the PEFT files plus genpi_adapter.json)
// as one file. Entries are stored, not compressed: safetensors of floats barely compress, and it keeps this small.
// Layout per APPNOTE.TXT: local header + data per entry, then the central directory, then the end record.
import { crc32 } from './crc32';

export class ZipError extends Error {
  override name = 'ZipError';
}

const LOCAL = 0x04034b50;
const CENTRAL = 0x02014b50;
const END = 0x06054b50;
const LOCAL_SIZE = 30;
const CENTRAL_SIZE = 46;
const END_SIZE = 22;
const VERSION = 20; // 2.0: what Python's zipfile writes for stored entries
const UTF8_NAMES = 0x0800; // general purpose bit 11
const ENCRYPTED = 0x0001;
// A fixed timestamp (1980-01-01 00:00, the DOS epoch) makes the same files give the same bytes.
const DOS_TIME = 0;
const DOS_DATE = (1 << 5) | 1;
const MAX32 = 0xffffffff;

/** Writes `files` (name → bytes, in the map's order) as a ZIP archive of stored entries. */
export function zipFiles(files: Map<string, Uint8Array>): Uint8Array {
  const encoder = new TextEncoder();
  const entries = [...files].map(([name, data]) => ({ name: encoder.encode(name), data, crc: crc32(data), offset: 0 }));
  if (entries.length > 0xffff) throw new ZipError(`Cannot zip ${entries.length} files: at most 65535 (no ZIP64 support)`);
  let size = END_SIZE;
  for (const e of entries) size += LOCAL_SIZE + CENTRAL_SIZE + 2 * e.name.length + e.data.length;
  if (size > MAX32) throw new ZipError(`Cannot zip ${size} bytes: at most 4 GiB (no ZIP64 support)`);

  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  const u16 = (...values: number[]) => values.forEach((v) => (view.setUint16(at, v, true), (at += 2)));
  const u32 = (...values: number[]) => values.forEach((v) => (view.setUint32(at, v, true), (at += 4)));
  const bytes = (b: Uint8Array) => (out.set(b, at), (at += b.length));
  // The fields local headers and central records share, from "version needed" to "extra field length".
  const common = (e: (typeof entries)[number]) => {
    u16(VERSION, UTF8_NAMES, 0, DOS_TIME, DOS_DATE); // version, flags, method 0 (stored), time, date
    u32(e.crc, e.data.length, e.data.length); // crc, compressed and uncompressed size
    u16(e.name.length, 0); // name and extra field lengths
  };

  for (const e of entries) {
    e.offset = at;
    u32(LOCAL);
    common(e);
    bytes(e.name);
    bytes(e.data);
  }
  const directory = at;
  for (const e of entries) {
    u32(CENTRAL);
    u16(VERSION); // made by
    common(e);
    u16(0, 0, 0); // comment length, disk number, internal attributes
    u32(0, e.offset); // external attributes, where the local header is
    bytes(e.name);
  }
  const directorySize = at - directory;
  u32(END);
  u16(0, 0, entries.length, entries.length); // this disk, directory's disk, entries here, entries in all
  u32(directorySize, directory);
  u16(0); // comment length
  return out;
}

/** Reads a ZIP archive of stored entries (directories are skipped); throws ZipError for anything else. */
export function unzipFiles(zip: Uint8Array): Map<string, Uint8Array> {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const need = (at: number, n: number, what: string) => {
    if (at + n > zip.length) throw new ZipError(`Not a complete ZIP file: the ${what} runs past its end (truncated download?)`);
  };
  const end = findEnd(zip, view);
  const count = view.getUint16(end + 10, true);
  const directory = view.getUint32(end + 16, true);
  if (count === 0xffff || directory === MAX32) throw new ZipError('This ZIP file uses ZIP64, which is not supported; export the adapter again from GenPI');

  const decoder = new TextDecoder();
  const files = new Map<string, Uint8Array>();
  let at = directory;
  for (let i = 0; i < count; i++) {
    need(at, CENTRAL_SIZE, 'central directory');
    if (view.getUint32(at, true) !== CENTRAL) throw new ZipError(`Not a valid ZIP file: bad central directory signature at byte ${at}`);
    const flags = view.getUint16(at + 8, true);
    const method = view.getUint16(at + 10, true);
    const crc = view.getUint32(at + 16, true);
    const size = view.getUint32(at + 20, true);
    const nameLength = view.getUint16(at + 28, true);
    const skip = view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
    const local = view.getUint32(at + 42, true);
    need(at + CENTRAL_SIZE, nameLength, 'central directory');
    const name = decoder.decode(zip.subarray(at + CENTRAL_SIZE, at + CENTRAL_SIZE + nameLength));
    at += CENTRAL_SIZE + nameLength + skip;

    if (flags & ENCRYPTED) throw new ZipError(`"${name}" is encrypted; only unencrypted ZIP files can be imported`);
    if (method !== 0) {
      const kind = method === 8 ? 'deflate' : `method ${method}`;
      throw new ZipError(`"${name}" is compressed (${kind}); only stored entries can be read: export the adapter from GenPI, or zip it without compression (zip -0)`);
    }
    if (size === MAX32) throw new ZipError(`"${name}" uses ZIP64 sizes, which are not supported`);
    if (name.endsWith('/')) continue;

    need(local, LOCAL_SIZE, `local header of "${name}"`);
    if (view.getUint32(local, true) !== LOCAL) throw new ZipError(`Not a valid ZIP file: bad local header signature for "${name}" at byte ${local}`);
    const start = local + LOCAL_SIZE + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    need(start, size, `data of "${name}"`);
    const data = zip.slice(start, start + size);
    if (crc32(data) !== crc) throw new ZipError(`"${name}" is damaged (CRC-32 mismatch); download or copy the file again`);
    if (files.has(name)) throw new ZipError(`"${name}" appears twice in the ZIP file`);
    files.set(name, data);
  }
  return files;
}

/** The end-of-central-directory record: the last one, searched back over a comment of up to 65535 bytes. */
function findEnd(zip: Uint8Array, view: DataView): number {
  if (zip.length < END_SIZE) throw new ZipError(`Not a ZIP file: ${zip.length} bytes is too short (truncated download?)`);
  const lowest = Math.max(0, zip.length - END_SIZE - 0xffff);
  for (let at = zip.length - END_SIZE; at >= lowest; at--) {
    if (view.getUint32(at, true) === END && at + END_SIZE + view.getUint16(at + 20, true) === zip.length) return at;
  }
  throw new ZipError('Not a ZIP file, or a truncated one (no end of central directory record): export or download it again');
}
