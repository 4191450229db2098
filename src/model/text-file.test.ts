// Text files as users save them: UTF-8 with and without a byte-order mark, UTF-16 (either byte order) with one, and
// what is not text refused by name rather than decoded into NULs or replacement characters.
import { describe, expect, it } from 'vitest';
import { decodeTextFile, TextFileError, withoutBom } from './text-file';

const text = 'system: Réponds en une ligne.\nuser: 😀 hi';
const utf16 = (s: string, bigEndian: boolean) => {
  const out = new Uint8Array(2 + 2 * s.length);
  const view = new DataView(out.buffer);
  view.setUint16(0, 0xfeff, !bigEndian);
  for (let i = 0; i < s.length; i++) view.setUint16(2 + 2 * i, s.charCodeAt(i), !bigEndian);
  return out;
};

describe('decodeTextFile', () => {
  it('reads UTF-8 with or without a byte-order mark, and UTF-16 LE and BE with one, to the same text', () => {
    const utf8 = new TextEncoder().encode(text);
    expect(decodeTextFile(utf8, 'p.txt')).toBe(text);
    expect(decodeTextFile(Uint8Array.of(0xef, 0xbb, 0xbf, ...utf8), 'p.txt')).toBe(text);
    expect(decodeTextFile(utf16(text, false), 'p.txt')).toBe(text);
    expect(decodeTextFile(utf16(text, true), 'p.txt')).toBe(text);
    expect(decodeTextFile(new Uint8Array(0), 'empty.txt')).toBe('');
  });

  it('refuses a binary file, UTF-16 without a mark, and bytes that are not UTF-8, naming the file and the offset', () => {
    const png = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13);
    expect(() => decodeTextFile(png, 'image.png')).toThrow(TextFileError);
    expect(() => decodeTextFile(png, 'image.png')).toThrow(/^image\.png: is not a text file \(a NUL byte at offset 8\)/);
    expect(() => decodeTextFile(utf16(text, false).subarray(2), 'nomark.txt')).toThrow(/^nomark\.txt: is not a text file \(a NUL byte at offset 1\)/);
    const latin1 = Uint8Array.of(0x63, 0x61, 0x66, 0xe9, 0x21); // "café!" in Latin-1
    expect(() => decodeTextFile(latin1, 'latin1.txt')).toThrow(/^latin1\.txt: is not UTF-8 text \(invalid byte 0xe9 at offset 3\); save it as UTF-8$/);
    expect(() => decodeTextFile(Uint8Array.of(0xff, 0xfe, 0x41), 'odd.txt')).toThrow(/^odd\.txt: starts with a UTF-16LE byte-order mark but is not valid UTF-16LE text/);
  });

  it('withoutBom drops only a leading mark', () => {
    expect(withoutBom('\uFEFF[{"role": "system"}]')).toBe('[{"role": "system"}]');
    expect(withoutBom('a\uFEFFb')).toBe('a\uFEFFb');
  });
});
