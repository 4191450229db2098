// genpi export-onnx: the model with its adapter merged, as a folder transformers.js loads (AutoModelForCausalLM and
// AutoTokenizer from_pretrained). CPU only: no GPU is touched. The folder is replaced whole, so a kill or a full
// disk leaves the old folder or none, never half an export; only an earlier export is replaced, and only with
// --force (output-folder.ts).
import { mkdir, open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { exportOnnx } from '../export/merged-folder';
import { importPeft } from '../llama/peft';
import { openModel } from '../model/open';
import { DirFileSet } from '../model/source-node';
import { checkAdapterBase } from './adapter-check';
import { parseFlags, required } from './args';
import { settleFolder } from './atomic-write';
import { UsageError } from './fail';
import { claimOutputFolder, refuseUnforced, writeOutputFolder, type FolderKind } from './output-folder';

const ONNX_EXPORT: FolderKind = { command: 'export-onnx', what: 'an ONNX export' };

export async function exportOnnxCommand(argv: string[]): Promise<void> {
  const v = parseFlags('export-onnx', argv, {
    model: { type: 'string' }, adapter: { type: 'string' }, out: { type: 'string' }, dtype: { type: 'string', default: 'f32' }, force: { type: 'boolean' },
  });
  const modelDir = required('export-onnx', v, 'model');
  const out = required('export-onnx', v, 'out');
  const dtype = v.dtype;
  if (dtype !== 'f32' && dtype !== 'f16') throw new UsageError(`export-onnx: --dtype must be f32 or f16, got "${dtype}"`);
  const adapterDir = v.adapter as string | undefined;
  const found = await claimOutputFolder(out, ONNX_EXPORT, [{ flag: '--model', path: modelDir }, { flag: '--adapter', path: adapterDir }]);
  refuseUnforced(out, ONNX_EXPORT, found, v.force === true);
  const model = await openModel(new DirFileSet(modelDir));
  if (adapterDir) {
    await settleFolder(adapterDir);
    await checkAdapterBase(adapterDir, modelDir, model);
  }
  const adapter = adapterDir ? await importPeft(new DirFileSet(adapterDir), model.config) : null;
  // Building is the first 80%, writing the rest; 100% only once the folder is in place.
  let shown = -1;
  const say = (pct: number, what: string) => {
    if (pct !== shown) process.stderr.write(`export-onnx: ${pct}% ${what}\n`);
    shown = pct;
  };
  const files = await exportOnnx(model, adapter, {
    dtype,
    onProgress: (f, what) => f < 1 && say(Math.floor(f * 80), what),
  });
  const bytes = files.reduce((s, f) => s + f.parts.reduce((t, p) => t + p.length, 0), 0);
  let written = 0;
  const wrote = (name: string, n: number) => {
    written += n;
    say(80 + Math.floor((19 * written) / bytes), `writing ${name}`);
  };
  await writeOutputFolder(out, ONNX_EXPORT, 'onnx-export', async (write, stage) => {
    for (const f of files) {
      if (f.parts.length === 1) {
        if (f.name.includes('/')) await mkdir(join(stage, dirname(f.name)), { recursive: true });
        await write(f.name, f.parts[0]);
        wrote(f.name, f.parts[0].length);
        continue;
      }
      // External data: many tensors, possibly past 2 GB, written one after another.
      await mkdir(join(stage, dirname(f.name)), { recursive: true });
      const fh = await open(join(stage, f.name), 'w');
      try {
        for (const part of f.parts) {
          for (let at = 0; at < part.length; ) at += (await fh.write(part, at, part.length - at)).bytesWritten;
          wrote(f.name, part.length);
        }
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
  });
  say(100, `done: ${out}`);
  process.stdout.write(`${JSON.stringify({ out, dtype, adapter: adapterDir ?? null, files: files.map((f) => f.name), bytes })}\n`);
}
