import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { crc32 } from './crc32';
import { unzipFiles, ZipError, zipFiles } from './zip';

const dir = mkdtempSync(join(tmpdir(), 'genpi-zip-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const text = (s: string) => new TextEncoder().encode(s);
// Byte-for-byte equality without vitest's element-by-element diff, which is slow on 70 kB.
const same = (a: Uint8Array | undefined, b: Uint8Array | undefined) => !!a && !!b && Buffer.from(a).equals(Buffer.from(b));
const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

function peftFiles(): Map<string, Uint8Array> {
  const weights = new Uint8Array(70_000).map((_, i) => (i * 31) & 0xff);
  return new Map([
    ['adapter_config.json', text('{"r": 16, "lora_alpha": 32}')],
    ['adapter_model.safetensors', weights],
    ['genpi_adapter.json', text('{"format": "genpi-adapter"}')],
    ['empty.txt', new Uint8Array(0)],
    ['notes/ünïcødé ✓.md', text('# héllo')],
  ]);
}

function write(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

// Python's zipfile checks every CRC (testzip), and reads names, flags, methods and contents.
const PYTHON_READ = `
import json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
print(json.dumps({i.filename: [i.compress_type, i.flag_bits, list(z.read(i))] for i in z.infolist()}))
`;

describe('crc32', () => {
  it('gives the standard check value', () => {
    expect(crc32(text('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });
});

describe('zip', () => {
  it('round-trips files, in order, byte for byte', () => {
    const files = peftFiles();
    const back = unzipFiles(zipFiles(files));
    expect([...back.keys()]).toEqual([...files.keys()]);
    for (const [name, data] of files) expect(same(back.get(name), data), name).toBe(true);
    expect(unzipFiles(zipFiles(new Map())).size).toBe(0);
    expect(same(zipFiles(files), zipFiles(peftFiles()))).toBe(true); // fixed timestamps: same files, same bytes
  });

  it('writes archives that independent readers accept (unzip, Python zipfile)', () => {
    const unzip = has('unzip');
    const python = has('python3');
    expect(unzip || python, 'neither `unzip` nor `python3` is installed: install one (apt-get install unzip) to check the ZIP writer').toBe(true);
    const files = peftFiles();
    const path = write('written.zip', zipFiles(files));
    if (unzip) {
      expect(execFileSync('unzip', ['-t', path]).toString()).toMatch(/No errors detected/);
      const listing = execFileSync('unzip', ['-l', path]).toString();
      for (const name of ['adapter_config.json', 'adapter_model.safetensors', 'genpi_adapter.json', 'empty.txt']) {
        expect(listing).toContain(name);
        expect(same(execFileSync('unzip', ['-p', path, name]), files.get(name)), name).toBe(true);
      }
    }
    if (python) {
      const read = JSON.parse(execFileSync('python3', ['-c', PYTHON_READ, path], { maxBuffer: 1 << 26 }).toString()) as Record<string, [number, number, number[]]>;
      expect(Object.keys(read)).toEqual([...files.keys()]);
      for (const [name, data] of files) {
        const [method, flags, bytes] = read[name];
        expect(method, name).toBe(0); // stored
        expect(flags & 0x800, name).toBe(0x800); // UTF-8 names
        expect(same(Uint8Array.from(bytes), data), name).toBe(true);
      }
    }
  });

  it('reads stored archives written by Python, skipping directories', () => {
    expect(has('python3'), 'python3 is needed to write a reference ZIP file').toBe(true);
    const path = join(dir, 'python.zip');
    execFileSync('python3', ['-c', `
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_STORED) as z:
    z.writestr('sub/', '')
    z.writestr('sub/a.json', '{"a": 1}')
    z.writestr('b.bin', bytes(range(256)) * 3)
    z.comment = b'made by python'
`, path]);
    const files = unzipFiles(new Uint8Array(readFileSync(path)));
    expect([...files.keys()]).toEqual(['sub/a.json', 'b.bin']);
    expect(new TextDecoder().decode(files.get('sub/a.json'))).toBe('{"a": 1}');
    expect(files.get('b.bin')).toEqual(new Uint8Array(768).map((_, i) => i & 0xff));
  });
});

describe('unzipFiles errors', () => {
  const good = () => zipFiles(new Map([['adapter_config.json', text('{"r": 8}')]]));
  const fails = (bytes: Uint8Array, message: RegExp) => {
    expect(() => unzipFiles(bytes)).toThrow(ZipError);
    expect(() => unzipFiles(bytes)).toThrow(message);
  };

  it('names compressed entries and says how to fix them', () => {
    const zip = good();
    const view = new DataView(zip.buffer);
    const central = view.getUint32(zip.length - 22 + 16, true);
    view.setUint16(central + 10, 8, true);
    fails(zip, /"adapter_config\.json" is compressed \(deflate\).*zip -0/);
  });

  it('rejects bad signatures, truncation, damage and things that are not ZIP files', () => {
    const badLocal = good();
    badLocal[0] ^= 0xff;
    fails(badLocal, /bad local header signature for "adapter_config\.json"/);

    const badCentral = good();
    badCentral[new DataView(badCentral.buffer).getUint32(badCentral.length - 22 + 16, true)] ^= 0xff;
    fails(badCentral, /bad central directory signature/);

    fails(good().subarray(0, good().length - 5), /truncated one \(no end of central directory record\)/);
    fails(new Uint8Array(10), /too short/);
    fails(text('{"not": "a zip file at all, just some json"}'), /Not a ZIP file/);

    const damaged = good();
    damaged[30 + 'adapter_config.json'.length] ^= 1;
    fails(damaged, /"adapter_config\.json" is damaged \(CRC-32 mismatch\)/);

    const pointsPast = good();
    const view = new DataView(pointsPast.buffer);
    view.setUint32(pointsPast.length - 22 + 16, pointsPast.length - 30, true);
    fails(pointsPast, /central directory runs past its end/);
  });
});
