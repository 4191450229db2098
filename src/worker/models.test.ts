// Which testbed a model is comes from its folder's marker, wherever the folder came from: the compound model's
// marker names its kind, the demo model's names none (the single-rule testbed), and a model without a marker is
// no testbed, so evaluation does not score it with a checker.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TESTBED_MARKER } from '../genpi/testbed';
import { loadModelFiles } from './models';

function folder(dir: string, skip: string[] = []) {
  const files = readdirSync(dir).filter((f) => !skip.includes(f))
    .map((f) => ({ path: `m/${f}`, file: new File([readFileSync(`${dir}/${f}`)], f) }));
  return { kind: 'folder' as const, name: 'm', files };
}

describe('loadModelFiles', () => {
  it('reads the testbed kind from the marker: compound, single, or none', async () => {
    expect((await loadModelFiles(folder('public/compound-model'), undefined)).summary.testbed).toBe('compound');
    expect((await loadModelFiles(folder('public/demo-model'), undefined)).summary.testbed).toBe('single');
    expect((await loadModelFiles(folder('public/demo-model', [TESTBED_MARKER]), undefined)).summary.testbed).toBeUndefined();
  });

  it('says which file is wrong when the marker is not JSON', async () => {
    const f = folder('public/demo-model', [TESTBED_MARKER]);
    f.files.push({ path: `m/${TESTBED_MARKER}`, file: new File(['rules: first'], TESTBED_MARKER) });
    await expect(loadModelFiles(f, undefined)).rejects.toThrow(/genpi_testbed\.json: not JSON .*"kind": "compound"/);
  });
});
