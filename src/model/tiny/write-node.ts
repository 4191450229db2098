// Writes a tiny random model to a folder (Node only), for `genpi make-tiny` and for tests that load from disk.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTinyModel, type TinyModelOptions } from './make';

/** Creates `dir` (and its parents) and writes every file of the tiny model into it; returns the file names. */
export async function writeTinyModel(dir: string, opts: TinyModelOptions = {}): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files = makeTinyModel(opts);
  await Promise.all([...files].map(([name, bytes]) => writeFile(join(dir, name), bytes)));
  return [...files.keys()];
}
