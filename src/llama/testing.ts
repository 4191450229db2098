// Test fixtures shared by the engine's GPU tests: a model held in memory, and packed batches of two loss groups.
import { BytesSource, type FileSet } from '../model/source';
import { Rng } from '../util/rng';
import type { Group } from '../train/batch';
import { IGNORE } from './batch';

/** Files held in memory as a FileSet (tiny models made on the fly). */
export function memoryFiles(files: Map<string, Uint8Array>, name = 'tiny'): FileSet {
  return { name, open: async (f) => (files.has(f) ? new BytesSource(`${name}/${f}`, files.get(f)!) : null) };
}

/** Two groups (weights 0.7 and 0.3, as SFT and PG) of packed sequences with some masked labels. */
export function testGroups(V: number, seed: number, lengths = [[9, 4], [13]]): Group[] {
  const rng = new Rng(seed);
  const tok = () => Math.floor(rng.next() * V);
  return lengths.map((ls, g) => ({
    weight: g === 0 ? 0.7 : 0.3,
    sequences: ls.map((L) => {
      const input_ids = Array.from({ length: L }, tok);
      // Mask the first third of each sequence, as a prompt would be.
      const labels = input_ids.map((id, i) => (i < Math.floor(L / 3) ? IGNORE : id));
      return { input_ids, labels };
    }),
  }));
}
