// Test fixture shared by the engine's GPU tests and those above: a model held in memory.
import { BytesSource, type FileSet } from '../model/source';

/** Files held in memory as a FileSet (tiny models made on the fly). */
export function memoryFiles(files: Map<string, Uint8Array>, name = 'tiny'): FileSet {
  return { name, open: async (f) => (files.has(f) ? new BytesSource(`${name}/${f}`, files.get(f)!) : null) };
}
