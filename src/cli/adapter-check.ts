// An adapter given to logits, generate, grads, eval or export-onnx must run on the model it was trained on.
// genpi_adapter.json records its base model's weight hash; the CLI compares it with the app's own check
// (genpi/adapter-meta.ts) and refuses a mismatch, as the app refuses to import such an adapter, before the GPU is
// touched. A plain PEFT adapter (Python's) records only a name, base_model_name_or_path: a name that is not the
// model's is a warning, since a local folder may hold the named model under any name.
import { basename } from 'node:path';
import { baseModelMismatch, METADATA_FILE, parseAdapterMetadata, sha256Hex, weightHash } from '../genpi/adapter-meta';
import type { ModelFiles } from '../model/open';
import { readJson, readText } from '../model/source';
import { DirFileSet } from '../model/source-node';

export class WrongBaseModelError extends Error {
  override name = 'WrongBaseModelError';
}

export async function checkAdapterBase(adapterDir: string, modelDir: string, model: ModelFiles,
  log: (line: string) => void = (line) => process.stderr.write(line)): Promise<void> {
  const files = new DirFileSet(adapterDir);
  const src = await files.open(METADATA_FILE);
  if (!src) {
    // An adapter from another tool (Python's PEFT): its tensor shapes are checked on import, its base by name here.
    const why = await peftBaseMismatch(files, adapterDir, modelDir, model);
    if (why) log(`warning: ${why}\n`);
    return;
  }
  const meta = parseAdapterMetadata(await readText(src), adapterDir);
  const why = await baseModelMismatch(meta, adapterDir, { id: modelDir, weightHash: () => weightHash(model.weights) });
  if (why) throw new WrongBaseModelError(`${why}. Give --model the model it was trained on`);
}

/** A model name's last part, lowercased: "Qwen/Qwen3-0.6B", ".../models--Qwen--Qwen3-0.6B", "qwen3-0.6b/" all give "qwen3-0.6b". */
function shortName(name: string): string {
  const last = basename(name.replace(/[\\/]+$/, '')).toLowerCase();
  return last.replace(/^models--.*?--/, '');
}

/**
 * Why a plain PEFT adapter's base_model_name_or_path does not name the model, or null: the name's last part is not
 * the model folder's name, nor a folder it lies in (the hub cache's models--org--name/snapshots/hash), nor the
 * _name_or_path its config.json records.
 */
async function peftBaseMismatch(files: DirFileSet, adapterDir: string, modelDir: string, model: ModelFiles): Promise<string | null> {
  const cfgSrc = await files.open('adapter_config.json');
  const cfg = cfgSrc ? ((await readJson(cfgSrc).catch(() => null)) as Record<string, unknown> | null) : null;
  const base = cfg?.base_model_name_or_path;
  if (typeof base !== 'string' || base.trim() === '') return null;
  const wanted = shortName(base);
  const modelConfig = (await readJson((await model.files.open('config.json'))!).catch(() => null)) as Record<string, unknown> | null;
  const own = modelConfig?._name_or_path;
  const names = [...modelDir.split(/[\\/]+/).filter(Boolean).map(shortName), ...(typeof own === 'string' && own ? [shortName(own)] : [])];
  if (names.includes(wanted)) return null;
  return `${adapterDir} was made for ${base} (adapter_config.json's base_model_name_or_path), but --model is ${modelDir}; ` +
    'its shapes fit, but on another model its weights mean nothing: give --model the model it was trained on';
}

/** Why eval's prompt is not the one the adapter was trained on (genpi_adapter.json's prompt.sha256), or null. */
export async function adapterPromptMismatch(adapterDir: string, promptFile: string, promptText: string): Promise<string | null> {
  const src = await new DirFileSet(adapterDir).open(METADATA_FILE);
  if (!src) return null;
  const recorded = parseAdapterMetadata(await readText(src), adapterDir).prompt?.sha256;
  if (typeof recorded !== 'string' || !recorded) return null;
  const sha = await sha256Hex(promptText);
  if (sha === recorded) return null;
  return `${promptFile} is not the prompt ${adapterDir} was trained on (sha256 ${sha.slice(0, 12)}…, the adapter records ` +
    `${recorded.slice(0, 12)}…): the teacher is not the one the student learned from`;
}
