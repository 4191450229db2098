// The WebGPU layer on Dawn: device limits and features as requested, the registry's errors, and the add kernel
// against its float64 reference on sizes that do not fill the last workgroup or that spill into a 2-D grid.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { add_forward } from '../ref/add';
import { compare, formatDiff } from '../ref/compare';
import type { GpuContext } from './device';
import { ShaderError } from './errors';
import { acquireNodeGpu } from './node';
import { KernelRegistry, entryPoints } from './registry';
import { lcgInputs, runAdd, selfTest } from './selftest';
import { loadShaderSources } from './shaders-node';
import { shaderSources } from './shaders-vite';
import { expectMatches } from './testing';

let ctx: GpuContext;
let registry: KernelRegistry;

beforeAll(async () => {
  ctx = await acquireNodeGpu();
  registry = new KernelRegistry(ctx.device, loadShaderSources());
});
afterAll(() => ctx?.device.destroy());

describe('device', () => {
  it('gets the features the adapter has and its full storage binding limit', async () => {
    console.log(`adapter: ${ctx.info.name}; features: ${[...ctx.features].join(', ')}`);
    expect(ctx.info.name.length).toBeGreaterThan(0);
    // WebGPU's default is 128 MiB; asking for the adapter's own limits must never give less.
    expect(ctx.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 1024 * 1024);
    expect(ctx.limits.maxComputeInvocationsPerWorkgroup).toBeGreaterThanOrEqual(256);
    const off = await acquireNodeGpu({ disable: ['shader-f16'] });
    expect(off.features.has('shader-f16')).toBe(false);
    expect(off.device.features.has('shader-f16')).toBe(false);
    off.device.destroy();
  });
});

describe('kernel registry', () => {
  it('reads the same sources in Node as Vite bundles', () => {
    expect(loadShaderSources()).toEqual(shaderSources);
    expect(registry.keys).toContain('add_forward');
  });

  it('finds entry points whatever the attribute order', () => {
    const src = '@compute @workgroup_size(64) fn a_b(x: u32) {}\n@workgroup_size(1)\n@compute\nfn c() {}\nfn helper() {}';
    expect(entryPoints(src)).toEqual(['a_b', 'c']);
  });

  it('names the kernel and the line when WGSL does not compile', async () => {
    const bad = new KernelRegistry(ctx.device, { broken: '@compute @workgroup_size(1) fn broken_forward() { let x: f32 = 1u; }' });
    const err = await bad.pipeline('broken_forward').catch((e) => e);
    expect(err).toBeInstanceOf(ShaderError);
    expect(err.message).toMatch(/broken_forward/);
    expect(err.message).toMatch(/broken\.wgsl:1:/);
  });

  it('refuses an unknown entry point and lists the known ones', async () => {
    await expect(registry.pipeline('no_such_kernel')).rejects.toThrow(/known: .*add_forward/);
  });

  it('caches pipelines by entry point and constants', async () => {
    expect(await registry.pipeline('add_forward')).toBe(await registry.pipeline('add_forward'));
  });
});

describe('add_forward vs reference', () => {
  for (const n of [1, 255, 257, 100_003]) {
    it(`n=${n}`, async () => {
      const a = lcgInputs(n, 7);
      const b = lcgInputs(n, 8);
      expectMatches(`add_forward.out n=${n}`, await runAdd(ctx, registry, a, b), add_forward(a, b), { abs: 1e-6 });
    });
  }

  it('spills into a 2-D grid past the per-dimension workgroup limit', async () => {
    const n = ctx.limits.maxComputeWorkgroupsPerDimension * 256 + 1000;
    const r = await selfTest(ctx, registry, n, 3);
    console.log(formatDiff(r.diff));
    expect(r.diff.n).toBe(n);
    expect(r.diff.maxAbs).toBeLessThanOrEqual(1e-6);
  });

  it('detects a wrong result (the comparison can fail)', () => {
    const ref = add_forward([1, 2], [3, 4]);
    expect(compare('x', [4, 6.5], ref).maxAbs).toBeCloseTo(0.5);
  });
});

it('uploads an odd number of f16 values (not a whole number of 4-byte words)', async () => {
  const { storageBuffer, readBuffer } = await import('./buffers');
  const halves = new Uint16Array([0x3c00, 0x4000, 0x4200]); // 1, 2, 3 in f16
  const buf = storageBuffer(ctx.device, halves, 'odd f16');
  expect(buf.size).toBe(8);
  expect([...new Uint16Array(await readBuffer(ctx.device, buf, 8))]).toEqual([0x3c00, 0x4000, 0x4200, 0]);
  buf.destroy();
});
