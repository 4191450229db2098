// A model with its adapter merged as one GGUF file llama.cpp (and Ollama, LM Studio) loads, or the adapter alone
// as a GGUF LoRA adapter for a base GGUF the user already has. The adapter is merged as the ONNX export merges it
// (merge.ts, PEFT's merge_and_unload); the container, the architecture's names and the tokenizer live in gguf-*.ts.
import type { LoraAdapter } from '../llama/peft';
import type { ModelFiles } from '../model/open';
import type { ModelConfig } from '../model/config';
import { tokenizerProblems } from '../model/tokenizer-check';
import { archMetadata, archTensors, type ArchTensor, GgufExportError, llama3RopeFactors, permuteRows, targetTensorName, toLlamaCpp } from './gguf-arch';
import { encodeGguf, encodeGgufHeader, gguf, tensorParts, type GgufTensor, type GgufTensorInfo, type GgufValue } from './gguf-container';
import { encodeTensor, FILE_TYPE_ID, tensorType, type GgufFileType } from './gguf-quant';
import { tokenizerMetadata } from './gguf-tokenizer';
import { mergedReader } from './merge';

export interface GgufOptions {
  type: GgufFileType;
  /** general.name: what llama.cpp and Ollama show. */
  name: string;
  /** 0..1 with what is happening, after each tensor. */
  onProgress?: (fraction: number, what: string) => void;
  signal?: AbortSignal;
}

/** The general.* keys every file has. */
function general(cfg: ModelConfig, name: string): [string, GgufValue][] {
  return [
    ['general.architecture', gguf.str(cfg.architecture)],
    ['general.name', gguf.str(name)],
  ];
}

/** A GGUF file before its bytes are made: its exact size, and its parts in order, one tensor in memory at a time. */
export interface GgufPlan {
  bytes: number;
  parts: () => AsyncGenerator<Uint8Array>;
}

/**
 * The GGUF file of the model with `adapter` merged (or none), planned: the tokenizer checked and refused where
 * llama.cpp could not express it, the header made, and the size known before any weight is read; `parts()` then
 * merges and encodes each tensor as it is asked for, so a writer streams the file without holding it.
 */
export async function planGguf(model: ModelFiles, adapter: LoraAdapter | null, opts: GgufOptions): Promise<GgufPlan> {
  // As the ONNX export: a tokenizer that would fail where it goes stops the export before it starts.
  const problems = await tokenizerProblems(model.files);
  if (problems.length) throw new GgufExportError(`gguf: ${problems[0]}; the export would not load in llama.cpp`);
  const cfg = model.config;
  const progress = opts.onProgress ?? (() => {});
  const metadata: [string, GgufValue][] = [
    ...general(cfg, opts.name),
    ['general.file_type', gguf.u32(FILE_TYPE_ID[opts.type])],
    ['general.quantization_version', gguf.u32(2)],
    ...archMetadata(cfg),
    ...(await tokenizerMetadata(model)),
  ];
  const specs = archTensors(cfg, (hf) => model.weights.tensors.has(hf));
  const factors = llama3RopeFactors(cfg);
  const shapeOf = (t: ArchTensor) => model.weights.tensors.get(t.hf)!.shape;
  const infos: GgufTensorInfo[] = [
    ...(factors ? [{ name: 'rope_freqs.weight', shape: [factors.length], type: tensorType([factors.length], 'f32') }] : []),
    ...specs.map((t) => ({ name: t.gguf, shape: shapeOf(t), type: tensorType(shapeOf(t), opts.type) })),
  ];
  const { head, bytes } = encodeGgufHeader(metadata, infos);
  async function* parts(): AsyncGenerator<Uint8Array> {
    yield head;
    if (factors) yield* tensorParts(encodeTensor('rope_freqs.weight', [factors.length], factors, 'f32'));
    const read = mergedReader(model.weights, adapter);
    for (const [i, t] of specs.entries()) {
      opts.signal?.throwIfAborted();
      const shape = shapeOf(t);
      const values = toLlamaCpp(cfg, t, (await read(t.hf))!, shape.length > 1 ? shape[shape.length - 1] : 1);
      yield* tensorParts(encodeTensor(t.gguf, shape, values, opts.type));
      progress((i + 1) / specs.length, t.gguf);
    }
  }
  return { bytes, parts };
}

/**
 * The adapter alone as llama.cpp's LoRA GGUF: general.type adapter, adapter.type lora, and per target
 * `<weight>.lora_a` [R, K] and `.lora_b` [N, R]. llama.cpp scales by alpha / R, so rsLoRA's alpha / √R is written
 * as an alpha of alpha·√R.
 */
export function exportGgufLora(cfg: ModelConfig, adapter: LoraAdapter, name: string): Uint8Array[] {
  const R = adapter.layout.spec.rank;
  const metadata: [string, GgufValue][] = [
    ...general(cfg, name),
    ['general.type', gguf.str('adapter')],
    ['adapter.type', gguf.str('lora')],
    ['adapter.lora.alpha', gguf.f32(adapter.layout.scale * R)],
  ];
  const tensors: GgufTensor[] = [];
  for (const s of adapter.layout.slots) {
    const base = targetTensorName(s.layer, s.target);
    const A = adapter.params.slice(s.aOffset, s.aOffset + R * s.K);
    let B: Float32Array = adapter.params.slice(s.bOffset, s.bOffset + s.N * R);
    // B's rows are the base weight's output rows, which the llama export permutes for q and k.
    if (cfg.architecture === 'llama' && (s.target === 'q' || s.target === 'k')) B = permuteRows(B, s.target === 'q' ? cfg.numHeads : cfg.numKvHeads, R);
    tensors.push(encodeTensor(`${base}.lora_a`, [R, s.K], A, 'f32'));
    tensors.push(encodeTensor(`${base}.lora_b`, [s.N, R], B, 'f32'));
  }
  if (!tensors.length) throw new GgufExportError('gguf: the adapter has no LoRA weights');
  return encodeGguf(metadata, tensors);
}

/** The LoRA-only file as a plan, as planGguf gives the merged one; it is small, so it is made whole first. */
export function planGgufLora(cfg: ModelConfig, adapter: LoraAdapter, name: string): GgufPlan {
  const parts = exportGgufLora(cfg, adapter, name);
  return { bytes: parts.reduce((n, p) => n + p.length, 0), parts: async function* () { yield* parts; } };
}
