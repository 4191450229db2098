// The recovery rule of atomic-write.ts on every state a folder swap can be killed in (train-kill.gpu.test.ts does
// the killing through the command; this walks the states themselves, quickly), and the failures it must not turn
// into damage: a fill that throws, a file write into a folder.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { replaceFolder, settleFolder, writeFileAtomic } from './atomic-write';

const root = mkdtempSync(join(tmpdir(), 'genpi-atomic-'));
let n = 0;

/** A fresh folder `x` whose siblings are laid out as given: name suffix → the text of its one file. */
function layout(folders: Record<string, string>): string {
  const base = join(root, `case${n++}`);
  mkdirSync(base);
  for (const [suffix, text] of Object.entries(folders)) {
    mkdirSync(join(base, `x${suffix}`));
    writeFileSync(join(base, `x${suffix}`, 'file'), text);
  }
  return base;
}

const settled = async (base: string) => {
  await settleFolder(join(base, 'x'));
  const x = join(base, 'x', 'file');
  return { x: existsSync(x) ? readFileSync(x, 'utf8') : null, entries: readdirSync(base) };
};

it('settles every state a kill can leave a folder swap in to the old folder or the whole new one', async () => {
  // killed while filling: the old one stays
  expect(await settled(layout({ '': 'old', '.genpi-partial': 'half' }))).toEqual({ x: 'old', entries: ['x'] });
  // the new one complete beside the old one: it goes in
  expect(await settled(layout({ '': 'old', '.genpi-new': 'new' }))).toEqual({ x: 'new', entries: ['x'] });
  // the old one set aside, the new one not yet in
  expect(await settled(layout({ '.genpi-old': 'old', '.genpi-new': 'new' }))).toEqual({ x: 'new', entries: ['x'] });
  // the new one in, the old one not yet removed
  expect(await settled(layout({ '': 'new', '.genpi-old': 'old' }))).toEqual({ x: 'new', entries: ['x'] });
  // a first write killed while filling: nothing, as before it
  expect(await settled(layout({ '.genpi-partial': 'half' }))).toEqual({ x: null, entries: [] });
  // nothing to settle
  expect(await settled(layout({ '': 'old' }))).toEqual({ x: 'old', entries: ['x'] });
});

it('a fill that fails leaves the folder as it was and no staging folder', async () => {
  const base = layout({ '': 'old' });
  const failing = replaceFolder(join(base, 'x'), 'test', async (write) => {
    await write('file', 'new');
    throw new Error('disk trouble');
  });
  await expect(failing).rejects.toThrow('disk trouble');
  expect(await settled(base)).toEqual({ x: 'old', entries: ['x'] });
  await replaceFolder(join(base, 'x'), 'test', (write) => write('file', 'new'));
  expect(await settled(base)).toEqual({ x: 'new', entries: ['x'] });
});

it('a file written over a folder is refused in words, leaving the folder and no temporary file', async () => {
  const base = layout({ '': 'old' });
  await expect(writeFileAtomic(join(base, 'x'), 'data', 'test')).rejects.toThrow(/\/x: is a folder; give a file name to write to$/);
  expect(readdirSync(base)).toEqual(['x']);
  await writeFileAtomic(join(base, 'y'), 'data', 'test');
  expect(readFileSync(join(base, 'y'), 'utf8')).toBe('data');
  expect(readdirSync(base).sort()).toEqual(['x', 'y']);
});
