// Workgroup counts for 1-D work over n items: WebGPU caps each dimension (65535 by default), so large n spills
// into y. Kernels index with `gid.y * (x_groups * size) + gid.x` and bounds-check against n.

export function grid1d(n: number, workgroupSize: number, maxPerDim: number): { x: number; y: number; row: number } {
  const groups = Math.max(1, Math.ceil(n / workgroupSize));
  const x = Math.min(groups, maxPerDim);
  const y = Math.ceil(groups / x);
  if (y > maxPerDim) throw new Error(`grid1d: ${n} items do not fit a ${maxPerDim}x${maxPerDim} grid`);
  return { x, y, row: x * workgroupSize };
}
