// Model loading inside the worker: hub downloads go to the model cache (OPFS in the browser: resumable, offline
// afterwards), picked folders are read straight from the user's files, and the tiny random model is made in memory
// so the whole flow runs without a download. All three end as a checked ModelFiles plus its tokenizer.
import { weightHash } from '../genpi/adapter-meta';
import type { TestbedKind } from '../genpi/demo-models';
import type { ModelCache } from '../model/cache';
import { ModelError } from '../model/errors';
import { downloadModel, type DownloadProgress } from '../model/hub';
import { describeModel, openModel, type ModelFiles } from '../model/open';
import { BlobFileSet, BytesSource, type FileSet, readText } from '../model/source';
import { makeTinyModel } from '../model/tiny/make';
import { TESTBED_MARKER } from '../genpi/testbed';
import { loadTokenizer, type Tokenizer } from '../model/tokenizer';
import type { ModelSource, ModelSummary } from './api';
import { demoModelLabel, tinyModelLabel } from './model-labels';

export interface LoadedModel {
  model: ModelFiles;
  tokenizer: Tokenizer;
  summary: ModelSummary;
}

interface Found {
  files: FileSet;
  label: string;
  untrained: boolean;
}

/** A demo model's files (public/demo-model, public/compound-model), all read before loading: about 1 MB from the app's own origin. */
export const DEMO_MODEL_FILES = ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', TESTBED_MARKER];

async function demoFiles(baseUrl: string): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  for (const name of DEMO_MODEL_FILES) {
    const url = new URL(name, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`).href;
    const res = await fetch(url);
    if (!res.ok) throw new ModelError(url, `could not be read (HTTP ${res.status}): the app's demo model is missing from this build`);
    files.set(name, new Uint8Array(await res.arrayBuffer()));
  }
  return files;
}

function memoryFileSet(name: string, files: Map<string, Uint8Array>): FileSet {
  return { name, open: async (f) => (files.has(f) ? new BytesSource(`${name}/${f}`, files.get(f)!) : null) };
}

async function filesOf(source: ModelSource, cache: ModelCache | undefined, onProgress?: (p: DownloadProgress) => void): Promise<Found> {
  switch (source.kind) {
    case 'hub': {
      if (!cache) throw new ModelError(source.id, 'hub models need a model cache, and this engine was started without one');
      const files = await downloadModel(source.id, { cache, baseUrl: source.baseUrl, revision: source.revision, onProgress });
      return { files, label: source.id, untrained: false };
    }
    case 'folder': {
      // A picked folder's paths start with the folder's own name ("SmolLM2/config.json"); the loaders want "config.json".
      const blobs = new Map(source.files.map(({ path, file }) => [path.replace(/^[^/]*\//, ''), file as Blob]));
      return { files: new BlobFileSet(source.name, blobs), label: source.name, untrained: false };
    }
    case 'tiny': {
      const label = tinyModelLabel(source.arch);
      return { files: memoryFileSet(label, makeTinyModel({ arch: source.arch, seed: source.seed })), label, untrained: true };
    }
    case 'demo': {
      const label = demoModelLabel(source.model ?? 'single');
      return { files: memoryFileSet(label, await demoFiles(source.baseUrl)), label, untrained: false };
    }
  }
}

/** Which testbed a folder's marker names ({} without a marker): its `kind`, 'single' where it names none. */
async function testbedKind(files: FileSet): Promise<{ testbed?: TestbedKind }> {
  const marker = await files.open(TESTBED_MARKER);
  if (!marker) return {};
  let kind: unknown;
  try {
    kind = (JSON.parse(await readText(marker)) as { kind?: unknown }).kind;
  } catch (e) {
    throw new ModelError(`${files.name}/${TESTBED_MARKER}`, `not JSON (${(e as Error).message}): a testbed's marker names its kind, e.g. {"kind": "compound"}`);
  }
  return { testbed: kind === 'compound' ? 'compound' : 'single' };
}

/** Finds, reads and checks a model's files and tokenizer (no GPU work), with the summary the page shows. */
export async function loadModelFiles(source: ModelSource, cache: ModelCache | undefined, onProgress?: (p: DownloadProgress) => void,
  thinking = false): Promise<LoadedModel> {
  const found = await filesOf(source, cache, onProgress);
  const model = await openModel(found.files);
  const tokenizer = await loadTokenizer(found.files, { thinking });
  const summary: ModelSummary = {
    source: found.label,
    untrained: found.untrained,
    // The testbed's marker file, wherever the folder came from (the app's demo, a picked folder, the CLI).
    ...(await testbedKind(found.files)),
    weightHash: await weightHash(model.weights),
    ...describeModel(model),
    tokenizer: tokenizerSummary(tokenizer),
  };
  return { model, tokenizer, summary };
}

/** What the page shows of the tokenizer, the chat sample in its current thinking mode included. */
export function tokenizerSummary(tokenizer: Tokenizer): ModelSummary['tokenizer'] {
  const chat = tokenizer.applyChatTemplate([{ role: 'user', content: 'Hello!' }], { addGenerationPrompt: true });
  return {
    vocabSize: tokenizer.vocabSize,
    eosTokenIds: tokenizer.eosTokenIds,
    endOfTurnIds: tokenizer.endOfTurnIds,
    chatSample: chat.text,
    chatSampleTokens: chat.ids.length,
    thinking: tokenizer.hasThinkingMode ? tokenizer.thinking : null,
  };
}

/**
 * Whether a cached revision has every file a load needs: the config and tokenizer files and the weights, one file
 * or every shard its names count ("model-00001-of-00003.safetensors"). A partial download is not listed.
 */
function complete(files: string[]): boolean {
  const have = new Set(files);
  if (!['config.json', 'tokenizer.json', 'tokenizer_config.json'].every((f) => have.has(f))) return false;
  if (have.has('model.safetensors')) return true;
  const shards = files.map((f) => /^model-\d+-of-(\d+)\.safetensors$/.exec(f)).filter((m) => m !== null);
  return have.has('model.safetensors.index.json') && shards.length > 0 && shards.length === Number(shards[0][1]);
}

/** Complete hub models in the cache, one row per model id (revisions summed: deleting the id frees them all). */
export async function cachedModels(cache: ModelCache): Promise<{ id: string; bytes: number }[]> {
  const list = await cache.list();
  const ids = new Set(list.filter((m) => complete(m.files)).map((m) => m.id));
  const bytes = new Map<string, number>();
  for (const m of list) if (ids.has(m.id)) bytes.set(m.id, (bytes.get(m.id) ?? 0) + m.bytes);
  return [...bytes].map(([id, n]) => ({ id, bytes: n })).sort((a, b) => a.id.localeCompare(b.id));
}
