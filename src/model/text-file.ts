// The bytes of a text file the user gives (a prompt, a dataset, seed inputs) as a string, read one way everywhere:
// UTF-8 with or without a byte-order mark, UTF-16 with one (as Windows editors save "Unicode"), and anything else
// refused by name, not decoded into NULs and replacement characters that would then be trained on.
import { ModelError } from './errors';

/** A file that is not text we can read. */
export class TextFileError extends ModelError {
  override name = 'TextFileError';
}

const UTF8_BOM = [0xef, 0xbb, 0xbf];

function startsWith(bytes: Uint8Array, prefix: number[]): boolean {
  return prefix.every((b, i) => bytes[i] === b);
}

function decode(bytes: Uint8Array, encoding: 'utf-8' | 'utf-16le' | 'utf-16be', name: string): string {
  try {
    return new TextDecoder(encoding, { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    if (encoding !== 'utf-8') throw new TextFileError(name, `starts with a ${encoding.toUpperCase()} byte-order mark but is not valid ${encoding.toUpperCase()} text`);
    const at = firstInvalidUtf8(bytes);
    throw new TextFileError(name, `is not UTF-8 text (invalid byte 0x${bytes[at].toString(16).padStart(2, '0')} at offset ${at}); save it as UTF-8`);
  }
}

/** Offset of the first byte that does not start a well-formed UTF-8 sequence (for the message only; 0 if none found). */
function firstInvalidUtf8(b: Uint8Array): number {
  for (let i = 0; i < b.length; ) {
    const c = b[i];
    const n = c < 0x80 ? 1 : (c & 0xe0) === 0xc0 ? 2 : (c & 0xf0) === 0xe0 ? 3 : (c & 0xf8) === 0xf0 ? 4 : 0;
    if (!n || i + n > b.length) return i;
    for (let k = 1; k < n; k++) if ((b[i + k] & 0xc0) !== 0x80) return i;
    i += n;
  }
  return 0;
}

/**
 * The file's text, without a byte-order mark. UTF-16 needs its mark (there is no telling it from binary without
 * one); a NUL byte elsewhere means the file is not text.
 */
export function decodeTextFile(bytes: Uint8Array, name: string): string {
  if (startsWith(bytes, UTF8_BOM)) return decode(bytes.subarray(3), 'utf-8', name);
  if (startsWith(bytes, [0xff, 0xfe])) return decode(bytes.subarray(2), 'utf-16le', name);
  if (startsWith(bytes, [0xfe, 0xff])) return decode(bytes.subarray(2), 'utf-16be', name);
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    throw new TextFileError(name, `is not a text file (a NUL byte at offset ${nul}); give a UTF-8 (or UTF-16 with a byte-order mark) text file`);
  }
  return decode(bytes, 'utf-8', name);
}

/** Drops a leading byte-order mark from text that was decoded elsewhere (pasted, or read by the browser). */
export function withoutBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
