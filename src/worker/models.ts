// Model loading inside the worker: hub downloads go to OPFS (resumable, offline afterwards), picked folders are
// read straight from the user's files; both end as a checked ModelFiles plus its tokenizer.
import { OpfsModelCache } from '../model/cache-opfs';
import { downloadModel, type DownloadProgress } from '../model/hub';
import { describeModel, openModel, type ModelFiles } from '../model/open';
import { BlobFileSet, type FileSet } from '../model/source';
import { loadTokenizer, type Tokenizer } from '../model/tokenizer';
import type { ModelSource, ModelSummary } from './api';

export interface LoadedModel {
  model: ModelFiles;
  tokenizer: Tokenizer;
  summary: ModelSummary;
}

const cache = new OpfsModelCache();

async function filesOf(source: ModelSource, onProgress?: (p: DownloadProgress) => void): Promise<FileSet> {
  if (source.kind === 'hub') {
    return downloadModel(source.id, { cache, baseUrl: source.baseUrl, revision: source.revision, onProgress });
  }
  // A picked folder's paths start with the folder's own name ("SmolLM2/config.json"); the loaders want "config.json".
  const blobs = new Map(source.files.map(({ path, file }) => [path.replace(/^[^/]*\//, ''), file as Blob]));
  return new BlobFileSet(source.name, blobs);
}

export async function loadModel(source: ModelSource, onProgress?: (p: DownloadProgress) => void): Promise<LoadedModel> {
  const files = await filesOf(source, onProgress);
  const model = await openModel(files);
  const tokenizer = await loadTokenizer(files);
  const chat = tokenizer.applyChatTemplate([{ role: 'user', content: 'Hello!' }], { addGenerationPrompt: true });
  const summary: ModelSummary = {
    source: source.kind === 'hub' ? source.id : source.name,
    ...describeModel(model),
    tokenizer: {
      vocabSize: tokenizer.vocabSize,
      eosTokenIds: tokenizer.eosTokenIds,
      endOfTurnIds: tokenizer.endOfTurnIds,
      chatSample: chat.text,
      chatSampleTokens: chat.ids.length,
    },
  };
  return { model, tokenizer, summary };
}
