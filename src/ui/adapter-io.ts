// An adapter between the library and the outside: the metadata written beside it (the app's run mapped onto the
// builder `genpi train` uses too), export as a PEFT .zip, and import from one, refusing an adapter made for another model. The LoRA
// layout follows from the base model's shape, so export needs that shape (kept per model) and import the loaded one.
import { adapterFiles, adapterWarning, baseModelMismatch, buildAdapterMetadata, METADATA_FILE, parseAdapterMetadata, sha256Hex, type AdapterMetadata } from '../genpi/adapter-meta';
import type { DatasetFigures, GenpiRecord } from '../genpi/dataset';
import { DEFAULT_TRAINING } from '../genpi/train-adapter';
import { loraLayout, type LoraSpec } from '../llama/lora';
import { importPeft } from '../llama/peft';
import type { MemoryPlan } from '../llama/planner';
import type { ModelConfig } from '../model/config';
import { BlobFileSet } from '../model/source';
import type { ModelRef, StoredAdapter } from '../store/schema';
import type { CurvePoint } from '../train/loop';
import type { ModelSummary, TrainSettings } from '../worker/api';
import { modelIdOf } from '../worker/model-labels';
import { formatDate } from './format';

/** What of a model's summary fixes the LoRA layout and identifies the model; saved per model for later exports. */
export type ModelShape = Pick<ModelSummary, 'source' | 'weightHash' | 'architecture' | 'hidden_size' | 'intermediate_size' |
  'num_hidden_layers' | 'num_attention_heads' | 'num_key_value_heads' | 'head_dim' | 'vocab_size' |
  'max_position_embeddings' | 'tie_word_embeddings' | 'parameters'>;

export function shapeOf(s: ModelSummary): ModelShape {
  const { source, weightHash, architecture, hidden_size, intermediate_size, num_hidden_layers, num_attention_heads,
    num_key_value_heads, head_dim, vocab_size, max_position_embeddings, tie_word_embeddings, parameters } = s;
  return { source, weightHash, architecture, hidden_size, intermediate_size, num_hidden_layers, num_attention_heads,
    num_key_value_heads, head_dim, vocab_size, max_position_embeddings, tie_word_embeddings, parameters };
}

export function refOf(s: Pick<ModelSummary, 'source' | 'weightHash'>): ModelRef {
  return { id: s.source, weightHash: s.weightHash };
}

/** A ModelConfig with the shape fields the LoRA layout reads; the rest are placeholders no layout code reads. */
export function configOf(s: ModelShape): ModelConfig {
  return {
    architecture: s.architecture, hiddenSize: s.hidden_size, intermediateSize: s.intermediate_size, numLayers: s.num_hidden_layers,
    numHeads: s.num_attention_heads, numKvHeads: s.num_key_value_heads, headDim: s.head_dim, vocabSize: s.vocab_size,
    maxPositionEmbeddings: s.max_position_embeddings, tieWordEmbeddings: s.tie_word_embeddings,
    rmsNormEps: 1e-6, ropeTheta: 10000, ropeScaling: null, bosTokenId: null, eosTokenIds: [], attentionBias: false, oProjBias: false, qkNorm: false,
  };
}

/** "<preset or 'adapter'> 2025-03-04 09:05". */
export function defaultAdapterName(label: string | null, when: number): string {
  return `${label?.trim() || 'adapter'} ${formatDate(when)}`;
}

export interface MetaInput {
  model: ModelShape;
  prompt: { text: string; tokens: number };
  /** The thinking mode the run trained with (the model's summary: null, no such mode, is off). */
  thinking: boolean;
  settings: TrainSettings;
  memory: MemoryPlan | null;
  dataset: { name: string; records: readonly GenpiRecord[]; figures: DatasetFigures | null };
  curve: CurvePoint[];
  created: number;
}

/** The app's run in the shared builder's terms; the worker trains with the default optimizer (worker/requests.ts). */
export function buildAdapterMeta(m: MetaInput): Promise<AdapterMetadata> {
  const { lora, loss, maxTokensPerMicroBatch, ...loop } = m.settings;
  return buildAdapterMetadata({
    model: { id: m.model.source, architecture: m.model.architecture, weightHash: m.model.weightHash, parameters: m.model.parameters },
    prompt: m.prompt, thinking: m.thinking, lora, loss, loop: { ...loop, optimizer: DEFAULT_TRAINING.loop.optimizer }, maxTokensPerMicroBatch,
    recompute: m.memory?.recompute ?? null,
    dataset: { ...m.dataset, skippedLines: 0 },
    curve: m.curve, created: m.created,
  });
}

/** The PEFT files plus genpi_adapter.json (with the adapter's current name and evaluation). */
export function exportFiles(a: StoredAdapter, shape: ModelShape): Map<string, Uint8Array> {
  const layout = loraLayout(configOf(shape), a.spec);
  if (layout.size !== a.params.length) {
    throw new WrongModelError(`adapter "${a.name}" has ${a.params.length} parameters but its layout on ${shape.source} needs ${layout.size}`);
  }
  const meta = { ...a.meta, evaluation: (a.evaluation as unknown as Record<string, unknown>) ?? a.meta.evaluation };
  // PEFT loads base_model_name_or_path: the hub id or folder name, never the page's label for the demo or tiny model.
  return adapterFiles({ layout, params: a.params, baseModel: modelIdOf(a.model.id) }, meta);
}

export class WrongModelError extends Error {
  override name = 'WrongModelError';
}

/**
 * The loaded model an export of adapter `a` needs (the one it was trained on, by weight hash), or a WrongModelError
 * saying which to load and `why` (the ONNX and GGUF exports both merge into, or read the shape of, that model).
 */
export function requireTrainedModel(summary: ModelSummary | null, a: Pick<StoredAdapter, 'name' | 'model'>, why: string): ModelSummary {
  if (!summary || summary.weightHash !== a.model.weightHash) throw new WrongModelError(`Load ${a.model.id} first (step 1): ${why}.`);
  return summary;
}

export interface ImportedAdapter {
  spec: LoraSpec;
  params: Float32Array;
  meta: AdapterMetadata | null;
}

/** Reads the files of an adapter .zip for the loaded model; refuses one whose metadata names other weights. */
export async function importFiles(files: Map<string, Uint8Array>, loaded: ModelShape, fileName: string): Promise<ImportedAdapter> {
  // Files may sit in a folder inside the zip ("my-adapter/adapter_config.json").
  const flat = new Map([...files].map(([path, bytes]) => [path.split('/').at(-1) ?? path, bytes]));
  const metaBytes = flat.get(METADATA_FILE);
  let meta: AdapterMetadata | null = null;
  if (metaBytes) {
    try {
      meta = parseAdapterMetadata(new TextDecoder().decode(metaBytes), fileName);
    } catch (e) {
      throw new WrongModelError((e as Error).message);
    }
    const why = await baseModelMismatch(meta, fileName, { id: loaded.source, weightHash: () => loaded.weightHash });
    if (why) throw new WrongModelError(`${why}. Load ${meta.base_model.id} in step 1, then import it again.`);
  }
  const blobs = new Map([...flat].map(([name, bytes]) => [name, new Blob([bytes as BlobPart])]));
  const adapter = await importPeft(new BlobFileSet(fileName, blobs), configOf(loaded));
  return { spec: adapter.layout.spec, params: adapter.params, meta };
}

/** Metadata for an adapter imported without genpi_adapter.json (e.g. trained with Python's PEFT). */
export function importedMeta(loaded: ModelShape, spec: LoraSpec, created: number): AdapterMetadata {
  return {
    format: 'genpi-adapter', version: 1, created: new Date(created).toISOString(),
    base_model: { id: loaded.source, architecture: loaded.architecture, weight_hash: loaded.weightHash, parameters: loaded.parameters },
    prompt: { sha256: '', chars: 0, tokens: 0 },
    lora: { rank: spec.rank, alpha: spec.alpha, dropout: spec.dropout, targets: spec.targets.map((t) => `${t}_proj`) },
    training: { imported: true }, dataset: null, loss_curve: [], evaluation: null, warning: adapterWarning({ training: {} }),
  };
}

/**
 * The prompt an adapter was trained on, among texts at hand (the dataset's, the prompt box's): the adapter keeps
 * only P's hash. An imported adapter without one takes the first text given. Null when none matches.
 */
export async function promptForAdapter(meta: AdapterMetadata, candidates: readonly (string | null | undefined)[]): Promise<string | null> {
  const texts = candidates.filter((t): t is string => typeof t === 'string' && t.trim() !== '');
  if (!meta.prompt.sha256) return texts[0] ?? null;
  for (const t of texts) if ((await sha256Hex(t)) === meta.prompt.sha256) return t;
  return null;
}
