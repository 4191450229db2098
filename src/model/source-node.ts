// Node-only byte sources: files and folders on disk, read with positioned reads (no whole-file loads).
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelError } from './errors';
import type { ByteSource, FileSet } from './source';

export class FileSource implements ByteSource {
  constructor(readonly name: string) {}
  async size(): Promise<number> {
    return (await stat(this.name)).size;
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    const fh = await open(this.name, 'r');
    try {
      const buf = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await fh.read(buf, done, length - done, offset + done);
        if (bytesRead === 0) {
          throw new ModelError(this.name, `read of ${length} bytes at ${offset} is past the end of the file`);
        }
        done += bytesRead;
      }
      return buf;
    } finally {
      await fh.close();
    }
  }
}

export class DirFileSet implements FileSet {
  constructor(readonly name: string) {}
  async open(file: string): Promise<ByteSource | null> {
    const path = join(this.name, file);
    try {
      const s = await stat(path);
      return s.isFile() ? new FileSource(path) : null;
    } catch {
      return null;
    }
  }
}
