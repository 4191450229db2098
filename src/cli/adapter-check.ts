// An adapter given to logits, generate, grads or eval must run on the model it was trained on. genpi_adapter.json
// records its base model's weight hash; the CLI compares it with the app's own check (genpi/adapter-meta.ts) and
// refuses a mismatch, as the app refuses to import such an adapter, before the GPU is touched.
import { baseModelMismatch, METADATA_FILE, parseAdapterMetadata, weightHash } from '../genpi/adapter-meta';
import type { ModelFiles } from '../model/open';
import { readText } from '../model/source';
import { DirFileSet } from '../model/source-node';

export class WrongBaseModelError extends Error {
  override name = 'WrongBaseModelError';
}

export async function checkAdapterBase(adapterDir: string, modelDir: string, model: ModelFiles): Promise<void> {
  const src = await new DirFileSet(adapterDir).open(METADATA_FILE);
  // An adapter from another tool (Python's PEFT) records no base model; its tensor shapes are still checked.
  if (!src) return;
  const meta = parseAdapterMetadata(await readText(src), adapterDir);
  const why = await baseModelMismatch(meta, adapterDir, { id: modelDir, weightHash: () => weightHash(model.weights) });
  if (why) throw new WrongBaseModelError(`${why}. Give --model the model it was trained on`);
}
