// The dropout mask of the LoRA input as a stateless hash of (seed, element index), so the forward and backward
// kernels (and this reference) recompute the same mask bit for bit without storing it.

/** PCG-RXS-M-XS 32-bit hash (Jarzynski & Olano 2020); u32 in, u32 out, mirrored by `lora_pcg` in shaders/lora.wgsl. */
export function dropout_pcg(v: number): number {
  const state = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const word = Math.imul((state >>> ((state >>> 28) + 4)) ^ state, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

/** The u32 hash of element `index` under `seed`: a bijection of index for each seed; seeds mix through a multiply. */
export function dropout_hash(seed: number, index: number): number {
  return dropout_pcg((dropout_pcg(index) + Math.imul(seed >>> 0, 0x9e3779b9)) >>> 0);
}

/** Keep element `index` (= t*K + k of x [T,K]) iff hash/2^32 >= p; p = 0 keeps everything. */
export function dropout_keep(seed: number, index: number, p: number): boolean {
  return dropout_hash(seed, index) / 2 ** 32 >= p;
}
