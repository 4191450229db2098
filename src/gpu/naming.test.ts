// The naming rule that lets one search find a kernel's WGSL, its float64 reference and its tests: every compute
// entry point in shaders/ is the name of a function src/ref exports, or that name plus a suffix for one pass of it
// (attention_backward_dq is a pass of attention_backward; grad_norm_partial of grad_norm).
import { describe, expect, it } from 'vitest';
import { entryPoints } from './registry';
import { loadShaderSources } from './shaders-node';

const refModules = import.meta.glob(['../ref/*.ts', '!../ref/*.test.ts'], { eager: true }) as Record<string, Record<string, unknown>>;

/** Every function the reference exports, by name. */
function referenceNames(): Set<string> {
  const names = new Set<string>();
  for (const mod of Object.values(refModules)) {
    for (const [name, value] of Object.entries(mod)) if (typeof value === 'function') names.add(name);
  }
  return names;
}

/** The reference function an entry point belongs to: its own name, or the longest name it extends by `_suffix`. */
function referenceOf(entry: string, refs: ReadonlySet<string>): string | undefined {
  if (refs.has(entry)) return entry;
  let best: string | undefined;
  for (const r of refs) if (entry.startsWith(`${r}_`) && (!best || r.length > best.length)) best = r;
  return best;
}

describe('kernel naming', () => {
  const refs = referenceNames();
  const entries = Object.entries(loadShaderSources()).flatMap(([file, src]) => entryPoints(src).map((e) => ({ file, e })));

  it('finds the reference and every entry point', () => {
    expect(refs.has('matmul_forward')).toBe(true);
    expect(entries.length).toBeGreaterThan(30);
  });

  it('names every WGSL entry point after its float64 reference, or a pass of it', () => {
    const orphans = entries.filter(({ e }) => !referenceOf(e, refs)).map(({ file, e }) => `${file}.wgsl: ${e}`);
    expect(orphans, 'entry points with no src/ref function of that name or prefix').toEqual([]);
  });

  it('catches an entry point named after nothing in the reference', () => {
    expect(referenceOf('matmul_backward_rows', refs)).toBe('matmul_backward');
    expect(referenceOf('attention_backward_dq', refs)).toBe('attention_backward');
    expect(referenceOf('matmulforward', refs)).toBeUndefined();
    expect(referenceOf('softmax_forward', refs)).toBeUndefined();
  });
});
