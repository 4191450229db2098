// The kernel tests compare GPU tensors with the reference through the same diff the GPU self-test reports (production
// code, src/gpu/compare.ts, re-exported here under the names the tests use) and print it per tensor, so a failing
// kernel shows where it drifts.
export { compare, formatDiff } from '../gpu/compare';
