// The kernel tests compare GPU tensors with this reference through the same diff the GPU self-test reports; it is
// production code (src/gpu/compare.ts), re-exported here under the name the tests have always used.
export { compare, formatDiff, type Diff } from '../gpu/compare';
