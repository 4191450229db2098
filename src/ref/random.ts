// The reference tests draw their inputs from the same LCG as the GPU self-test (src/util/lcg.ts), re-exported here
// under the name the tests have always used.
export { lcg } from '../util/lcg';
