// genpi export-gguf: the model with its adapter merged as one GGUF file for llama.cpp, Ollama and LM Studio, or
// (--lora-only) the adapter alone as a GGUF LoRA adapter for a base GGUF of the model it was trained on. CPU only.
// The file is streamed, a tensor at a time, to X.partial and then renamed, so a kill leaves the old file or none,
// and no file size is too big to hold; an existing file is replaced only with --force.
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { planGguf, planGgufLora } from '../export/gguf';
import { GGUF_FILE_TYPES, type GgufFileType } from '../export/gguf-quant';
import { METADATA_FILE, parseAdapterMetadata } from '../genpi/adapter-meta';
import { importPeft } from '../llama/peft';
import { openModel } from '../model/open';
import { readJson, readText } from '../model/source';
import { DirFileSet } from '../model/source-node';
import { checkAdapterBase } from './adapter-check';
import { parseFlags, required } from './args';
import { settleFolder, writeFileAtomic } from './atomic-write';
import { checkOutputFile } from './output-folder';
import { UsageError } from './fail';

/** Which base an adapter says it was trained on: genpi_adapter.json's hub id and weight hash, or PEFT's name. */
async function trainedOn(adapterDir: string): Promise<{ id: string | null; weightHash: string | null }> {
  const files = new DirFileSet(adapterDir);
  const meta = await files.open(METADATA_FILE);
  if (meta) {
    const base = parseAdapterMetadata(await readText(meta), adapterDir).base_model;
    return { id: base?.id ?? null, weightHash: base?.weight_hash ?? null };
  }
  const cfg = await files.open('adapter_config.json');
  const name = cfg ? ((await readJson(cfg)) as Record<string, unknown>).base_model_name_or_path : null;
  return { id: typeof name === 'string' && name ? name : null, weightHash: null };
}

const describeBase = (b: { id: string | null; weightHash: string | null }) =>
  `${b.id ?? 'an unnamed model'}${b.weightHash ? ` (weights ${b.weightHash})` : ''}`;

export async function exportGgufCommand(argv: string[]): Promise<void> {
  const v = parseFlags('export-gguf', argv, {
    model: { type: 'string' }, adapter: { type: 'string' }, out: { type: 'string' }, type: { type: 'string', default: 'f16' },
    force: { type: 'boolean' }, 'lora-only': { type: 'boolean' },
  });
  const out = required('export-gguf', v, 'out');
  const loraOnly = v['lora-only'] === true;
  const type = v.type as GgufFileType;
  if (!GGUF_FILE_TYPES.includes(type)) throw new UsageError(`export-gguf: --type must be ${GGUF_FILE_TYPES.join(', ')}, got "${v.type}"`);
  const adapterDir = v.adapter as string | undefined;
  if (loraOnly && !adapterDir) throw new UsageError('export-gguf: --lora-only writes an adapter; give it with --adapter DIR');
  if (adapterDir) await settleFolder(adapterDir);
  const base = adapterDir ? await trainedOn(adapterDir) : null;
  if (loraOnly && typeof v.model !== 'string') {
    throw new UsageError(`export-gguf: --lora-only needs --model DIR, the base model the adapter was trained on: ${adapterDir} says ${describeBase(base!)}. ` +
      'A LoRA file on another base means nothing, so it is checked against the model you name');
  }
  const modelDir = required('export-gguf', v, 'model');
  if ((await stat(out).catch(() => null)) && v.force !== true) {
    throw new UsageError(`export-gguf: --out ${out} exists; give a new file name, or add --force to replace it`);
  }
  await checkOutputFile(out, [{ flag: '--model', path: modelDir }, { flag: '--adapter', path: adapterDir }]);

  const model = await openModel(new DirFileSet(modelDir));
  if (adapterDir) await checkAdapterBase(adapterDir, modelDir, model);
  const adapter = adapterDir ? await importPeft(new DirFileSet(adapterDir), model.config) : null;
  const name = [modelDir, adapterDir].filter(Boolean).map((d) => basename(d!.replace(/[\\/]+$/, ''))).join(' + ');
  let shown = -1;
  const plan = loraOnly
    ? planGgufLora(model.config, adapter!, name)
    : await planGguf(model, adapter, {
      type,
      name,
      onProgress: (f, what) => {
        const pct = Math.floor(f * 100);
        if (pct !== shown) process.stderr.write(`export-gguf: ${pct}% ${what}\n`);
        shown = pct;
      },
    });
  process.stderr.write(`export-gguf: writing ${out} (${(plan.bytes / 1e6).toFixed(1)} MB)\n`);
  // Each tensor is merged, encoded and written in turn: a file of any size, one tensor in memory at a time.
  await writeFileAtomic(out, { parts: plan.parts(), total: plan.bytes }, 'gguf');
  if (base) process.stderr.write(`export-gguf: ${adapterDir} was trained on ${describeBase(base)}\n`);
  process.stdout.write(`${JSON.stringify({
    out, type: loraOnly ? 'lora' : type, model: modelDir, adapter: adapterDir ?? null, bytes: plan.bytes,
    ...(base ? { trained_on: { id: base.id, weight_hash: base.weightHash } } : {}),
  })}\n`);
}
