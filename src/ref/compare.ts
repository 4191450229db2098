// The kernel tests compare GPU tensors with the reference through the same diff the GPU self-test reports (production
// code, src/gpu/compare.ts) and print it per tensor with the GPU tests' formatter (src/gpu/testing.ts), re-exported
// here under the names the tests use, so a failing kernel shows where it drifts.
export { compare } from '../gpu/compare';
export { formatDiff } from '../gpu/testing';
