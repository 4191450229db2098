// Node-only byte sources: files and folders on disk, read with positioned reads (no whole-file loads), and the one
// way the genpi command reads a text file. A path that is there but unusable (a folder, a symlink loop, no
// permission) says so, rather than passing for a missing file.
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelError } from './errors';
import type { ByteSource, FileSet } from './source';
import { decodeTextFile } from './text-file';

/** What is wrong with a path that stat or open refused, in words; null when it simply does not exist. */
function pathProblem(e: unknown): string | null {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return null;
  if (code === 'ELOOP') return 'is a symbolic link loop (a link that leads back to itself), not a file';
  if (code === 'EACCES' || code === 'EPERM') return 'cannot be read: permission denied';
  if (code === 'ENOTDIR') return 'is not inside a folder (a part of its path is a file)';
  return `cannot be read (${code ?? (e as Error).message})`;
}

/** A user's text file (prompt, dataset, seed inputs), decoded as decodeTextFile does, with every failure named. */
export async function readTextFile(path: string): Promise<string> {
  let bytes: Uint8Array;
  try {
    if ((await stat(path)).isDirectory()) throw new ModelError(path, 'is a folder, not a file');
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    if (e instanceof ModelError) throw e;
    throw new ModelError(path, pathProblem(e) ?? 'does not exist');
  }
  return decodeTextFile(bytes, path);
}

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
  /** The file, null when it does not exist; throws when the folder is missing or the path is not a readable file. */
  async open(file: string): Promise<ByteSource | null> {
    const path = join(this.name, file);
    try {
      const s = await stat(path);
      if (s.isFile()) return new FileSource(path);
      throw new ModelError(path, `is a ${s.isDirectory() ? 'folder' : 'special file'}, not a file`);
    } catch (e) {
      if (e instanceof ModelError) throw e;
      const problem = pathProblem(e);
      if (problem) throw new ModelError(path, problem);
    }
    await this.checkFolder();
    return null;
  }

  /** A file can only be missing from a folder that is there. */
  private async checkFolder(): Promise<void> {
    try {
      if (!(await stat(this.name)).isDirectory()) throw new ModelError(this.name, 'is a file, not a folder');
    } catch (e) {
      if (e instanceof ModelError) throw e;
      throw new ModelError(this.name, pathProblem(e) ?? 'does not exist (no such folder)');
    }
  }
}
