// Test fixture for the trainer's and the training loop's GPU tests: packed batches of two loss groups of random
// tokens, as SFT and PG would make them.
import { IGNORE } from '../llama/batch';
import type { Group } from '../train/batch';
import { Rng } from '../util/rng';

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
