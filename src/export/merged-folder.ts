// The whole transformers.js folder for a model with its adapter merged: config.json (with a transformers.js_config
// naming the dtype, and the external data chunks when there are any), generation_config.json, the tokenizer files
// and onnx/model.onnx (model_fp16.onnx for f16). Returned as files in memory, in parts, so the CLI writes them
// through its whole-or-nothing folder swap and the worker zips them, without one buffer past 2 GB.
import type { LoraAdapter } from '../llama/peft';
import type { ModelFiles } from '../model/open';
import { readAll, readJson, type FileSet } from '../model/source';
import { tokenizerProblems } from '../model/tokenizer-check';
import { buildDecoderGraph, type ExportDType } from './decoder-graph';
import { mergedReader } from './merge';
import type { ExternalPlacement } from './onnx-graph';

export interface ExportedFile {
  /** Relative to the export's folder, with `/` (onnx/model.onnx). */
  name: string;
  /** The file's bytes, in order. */
  parts: Uint8Array[];
}

export interface ExportOptions {
  dtype: ExportDType;
  /** Weights beyond this many bytes go to external data files of at most this size each [1.9 GB, under protobuf's 2 GB]. */
  externalDataAbove?: number;
  /** 0..1 with what is happening, after each layer and at the end. */
  onProgress?: (fraction: number, what: string) => void;
  signal?: AbortSignal;
}

export class ExportError extends Error {
  override name = 'ExportError';
}

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.json', 'merges.txt', 'added_tokens.json', 'chat_template.jinja'];
const CHUNK_LIMIT = 1.9e9;
/**
 * The architectures decoder-graph.ts builds, with the model_type transformers.js knows each by; one the engine
 * learns later is refused here until it does too.
 */
const MODEL_TYPE: Record<string, string> = { llama: 'llama', qwen2: 'qwen2', qwen3: 'qwen3', gemma3: 'gemma3_text' };
const EXPORTABLE = Object.keys(MODEL_TYPE);

async function optional(files: FileSet, name: string): Promise<Uint8Array | null> {
  const src = await files.open(name);
  return src ? readAll(src) : null;
}

/**
 * Weights laid end to end into chunk files of at most `limit` bytes; a tensor is never split. Small constants (the
 * shapes that Reshape reads) stay inside model.onnx, where onnxruntime's shape inference needs them.
 */
function placeExternal(initializers: { name: string; type: string; bytes: Uint8Array }[], onnxName: string, limit: number) {
  const chunks: ExportedFile[] = [];
  const place = new Map<string, ExternalPlacement>();
  let size = Infinity;
  for (const t of initializers) {
    if (t.type === 'int64' || t.bytes.length < 4096) continue;
    if (size + t.bytes.length > limit && size > 0) {
      const i = chunks.length;
      chunks.push({ name: `onnx/${onnxName}_data${i === 0 ? '' : `_${i}`}`, parts: [] });
      size = 0;
    }
    const chunk = chunks[chunks.length - 1];
    place.set(t.name, { file: chunk.name.slice('onnx/'.length), offset: size });
    chunk.parts.push(t.bytes);
    size += t.bytes.length;
  }
  return { chunks, place };
}

export async function exportOnnx(model: ModelFiles, adapter: LoraAdapter | null, opts: ExportOptions): Promise<ExportedFile[]> {
  const cfg = model.config;
  if (!EXPORTABLE.includes(cfg.architecture)) {
    throw new ExportError(`export: ${String(cfg.architecture)} models cannot be exported to ONNX yet (${EXPORTABLE.join(', ')} can)`);
  }
  // The tokenizer files are copied as they are: ones that would fail in transformers.js stop the export before it starts.
  const problems = await tokenizerProblems(model.files);
  if (problems.length) throw new ExportError(`export: ${problems[0]}; the export would not load in transformers.js`);
  const progress = opts.onProgress ?? (() => {});
  progress(0, 'merging the adapter and building the graph');
  const graph = await buildDecoderGraph(cfg, mergedReader(model.weights, adapter), {
    dtype: opts.dtype,
    signal: opts.signal,
    onLayer: (done, total) => progress((0.9 * done) / total, `layer ${done} of ${total}`),
  });
  opts.signal?.throwIfAborted();
  const onnxName = opts.dtype === 'f16' ? 'model_fp16.onnx' : 'model.onnx';
  const limit = opts.externalDataAbove ?? CHUNK_LIMIT;
  const external = graph.weightBytes > limit ? placeExternal(graph.initializers, onnxName, limit) : null;
  progress(0.9, 'encoding the ONNX model');
  const out: ExportedFile[] = [{ name: `onnx/${onnxName}`, parts: [graph.encode(external?.place)] }, ...(external?.chunks ?? [])];

  const config = (await readJson((await model.files.open('config.json'))!)) as Record<string, unknown>;
  // transformers.js picks its model class by model_type alone; a config that names only `architectures` (which our
  // loader accepts) would otherwise fail there with "Unsupported model type: null".
  config.model_type ??= MODEL_TYPE[cfg.architecture];
  config['transformers.js_config'] = {
    dtype: opts.dtype === 'f16' ? 'fp16' : 'fp32',
    ...(external ? { use_external_data_format: { [onnxName]: external.chunks.length } } : {}),
  };
  const json = (v: unknown) => new TextEncoder().encode(`${JSON.stringify(v, null, 2)}\n`);
  out.push({ name: 'config.json', parts: [json(config)] });
  const generation = await optional(model.files, 'generation_config.json');
  out.push({
    name: 'generation_config.json',
    parts: [generation ?? json({ bos_token_id: cfg.bosTokenId ?? undefined, eos_token_id: cfg.eosTokenIds.length === 1 ? cfg.eosTokenIds[0] : cfg.eosTokenIds })],
  });
  for (const name of TOKENIZER_FILES) {
    const bytes = await optional(model.files, name);
    if (bytes) out.push({ name, parts: [bytes] });
  }
  if (!out.some((f) => f.name === 'tokenizer.json')) {
    throw new ExportError(`export: ${model.files.name} has no tokenizer.json, which transformers.js needs to load the model`);
  }
  progress(1, 'done');
  return out;
}
