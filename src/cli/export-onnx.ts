// genpi export-onnx: the model with its adapter merged, as a folder transformers.js loads (AutoModelForCausalLM and
// AutoTokenizer from_pretrained). CPU only: no GPU is touched. The folder is replaced whole, so a kill or a full
// disk leaves the old folder or none, never half an export; one that holds something is replaced only with --force.
import { mkdir, open, readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { exportOnnx } from '../export/merged-folder';
import { importPeft } from '../llama/peft';
import { openModel } from '../model/open';
import { DirFileSet } from '../model/source-node';
import { checkAdapterBase } from './adapter-check';
import { parseFlags, required } from './args';
import { replaceFolder, settleFolder } from './atomic-write';
import { UsageError } from './fail';

async function checkOut(out: string, force: boolean): Promise<void> {
  await settleFolder(out);
  const st = await stat(out).catch(() => null);
  if (!st) return;
  if (!st.isDirectory()) throw new UsageError(`export-onnx: --out ${out} is a file; give a folder`);
  if (!force && (await readdir(out)).length > 0) {
    throw new UsageError(`export-onnx: --out ${out} exists and is not empty; give a new or empty folder, or add --force to replace it`);
  }
}

export async function exportOnnxCommand(argv: string[]): Promise<void> {
  const v = parseFlags('export-onnx', argv, {
    model: { type: 'string' }, adapter: { type: 'string' }, out: { type: 'string' }, dtype: { type: 'string', default: 'f32' }, force: { type: 'boolean' },
  });
  const modelDir = required('export-onnx', v, 'model');
  const out = required('export-onnx', v, 'out');
  const dtype = v.dtype;
  if (dtype !== 'f32' && dtype !== 'f16') throw new UsageError(`export-onnx: --dtype must be f32 or f16, got "${dtype}"`);
  await checkOut(out, v.force === true);
  const model = await openModel(new DirFileSet(modelDir));
  const adapterDir = v.adapter as string | undefined;
  if (adapterDir) {
    await settleFolder(adapterDir);
    await checkAdapterBase(adapterDir, modelDir, model);
  }
  const adapter = adapterDir ? await importPeft(new DirFileSet(adapterDir), model.config) : null;
  let shown = -1;
  const files = await exportOnnx(model, adapter, {
    dtype,
    onProgress: (f, what) => {
      const pct = Math.floor(f * 100);
      if (pct !== shown) process.stderr.write(`export-onnx: ${pct}% ${what}\n`);
      shown = pct;
    },
  });
  await replaceFolder(out, 'onnx-export', async (write, stage) => {
    for (const f of files) {
      if (f.parts.length === 1) {
        if (f.name.includes('/')) await mkdir(join(stage, dirname(f.name)), { recursive: true });
        await write(f.name, f.parts[0]);
        continue;
      }
      // External data: many tensors, possibly past 2 GB, written one after another.
      await mkdir(join(stage, dirname(f.name)), { recursive: true });
      const fh = await open(join(stage, f.name), 'w');
      try {
        for (const part of f.parts) for (let at = 0; at < part.length; ) at += (await fh.write(part, at, part.length - at)).bytesWritten;
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
  });
  const bytes = files.reduce((s, f) => s + f.parts.reduce((t, p) => t + p.length, 0), 0);
  process.stdout.write(`${JSON.stringify({ out, dtype, adapter: adapterDir ?? null, files: files.map((f) => f.name), bytes })}\n`);
}
