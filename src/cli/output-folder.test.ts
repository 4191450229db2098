// Which folders the rule of output-folder.ts takes as a command's own, in-process and quickly (the commands meet
// it in output-folder-cli.test.ts): only what the command's marker lists, or for train an adapter genpi wrote; a
// folder another command wrote, a link, and a marked folder the user added a file to are refused.
import { mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { claimOutputFolder, writeOutputFolder, type FolderKind } from './output-folder';

const root = mkdtempSync(join(tmpdir(), 'genpi-output-folder-unit-'));
const EXPORT: FolderKind = { command: 'export-onnx', what: 'an ONNX export' };
const TINY: FolderKind = { command: 'make-tiny', what: 'a tiny model' };
const ADAPTER: FolderKind = {
  command: 'train',
  what: 'an adapter',
  files: { ours: (e) => ['adapter_config.json', 'adapter_model.safetensors', 'genpi_adapter.json', 'checkpoint'].includes(e), signs: ['genpi_adapter.json', 'checkpoint'] },
};

function folder(name: string, files: string[]): string {
  const dir = join(root, name);
  mkdirSync(dir);
  for (const f of files) writeFileSync(join(dir, f), f);
  return dir;
}

it('takes back a folder its own marker lists, and nothing more', async () => {
  const out = join(root, 'export');
  await writeOutputFolder(out, EXPORT, 'test', (write) => write('config.json', '{}'));
  expect(readdirSync(out).sort()).toEqual(['config.json', 'genpi-output.json']);
  expect(await claimOutputFolder(out, EXPORT, [])).toEqual({ found: 'ours', entries: ['config.json', 'genpi-output.json'] });
  // Another command's folder, and the same one once the user put a file of their own in it.
  await expect(claimOutputFolder(out, TINY, [])).rejects.toThrow(/export: holds the output of genpi export-onnx, not a tiny model; make-tiny replaces/);
  writeFileSync(join(out, 'notes.txt'), 'mine');
  await expect(claimOutputFolder(out, EXPORT, [])).rejects.toThrow(/export: holds notes\.txt, which is not part of an ONNX export; /);
});

it('takes an adapter genpi wrote for train, not a PEFT adapter from elsewhere', async () => {
  const genpi = folder('genpi-adapter', ['adapter_config.json', 'adapter_model.safetensors', 'genpi_adapter.json']);
  expect((await claimOutputFolder(genpi, ADAPTER, [])).found).toBe('ours');
  const peft = folder('peft-adapter', ['adapter_config.json', 'adapter_model.safetensors']);
  await expect(claimOutputFolder(peft, ADAPTER, [])).rejects.toThrow(
    /peft-adapter: holds adapter_config\.json, adapter_model\.safetensors, which genpi train did not write; /);
  await expect(claimOutputFolder(genpi, EXPORT, [])).rejects.toThrow(/genpi-adapter: holds adapter_config\.json, .*which is not part of an ONNX export/);
});

it('refuses a link, a file, an input and a folder holding one; a new folder inside an input is fine', async () => {
  const model = folder('model', ['config.json', 'model.safetensors']);
  const link = join(root, 'link');
  symlinkSync(folder('empty', []), link);
  await expect(claimOutputFolder(link, EXPORT, [])).rejects.toThrow(/link: is a link; give the folder for an ONNX export itself, or a new one/);
  const file = join(model, 'config.json');
  await expect(claimOutputFolder(file, EXPORT, [])).rejects.toThrow(/config\.json: is a file; --out takes the folder to write an ONNX export to/);
  const inputs = [{ flag: '--model', path: model }, { flag: '--data', path: join(root, 'data.jsonl') }];
  await expect(claimOutputFolder(model, EXPORT, inputs)).rejects.toThrow(/model: is the --model folder itself; /);
  await expect(claimOutputFolder(root, EXPORT, inputs)).rejects.toThrow(/-unit-\w+: holds --model .*model; /);
  await expect(claimOutputFolder(join(root, 'data.jsonl'), EXPORT, inputs)).rejects.toThrow(/data\.jsonl: is the --data file itself; /);
  await expect(claimOutputFolder(join(model, 'onnx'), EXPORT, inputs)).resolves.toEqual({ found: 'new', entries: [] });
});
