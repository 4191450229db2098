// The kernel tests compare GPU tensors with the reference through the same diff the GPU self-test reports (production
// code, src/gpu/compare.ts, re-exported here under the name the tests use) and print it per tensor, so a failing
// kernel shows where it drifts.
import type { Diff } from '../gpu/compare';

export { compare } from '../gpu/compare';

export function formatDiff(d: Diff): string {
  return `${d.name.padEnd(40)} n=${String(d.n).padStart(8)}  max abs ${d.maxAbs.toExponential(2)}  max rel ${d.maxRel.toExponential(2)}  of scale ${d.scaled.toExponential(2)}`;
}
