// The Llama / Qwen2 / Qwen3 / Gemma 3 decoder as an ONNX graph with a KV cache, under the input and output names of Hugging
// Face Optimum's decoder export (input_ids, attention_mask, position_ids, past_key_values.N.key/value in; logits,
// present.N.key/value out), which is what transformers.js feeds. It computes what transformers' modeling code
// computes: RMSNorm (and Qwen3's per-head q/k norm), rotate-half RoPE from position_ids, grouped-query attention
// with a causal and padding mask, SwiGLU; for Gemma 3 also embeddings times √C, norms as 1 + w after both branches,
// GeGLU (tanh GELU), query_pre_attn_scalar's scale, and on sliding layers a windowed mask and local RoPE. Weights come in already merged with any LoRA adapter (merge.ts); f16
// stores them as halves and casts them to f32 once, so every input and output stays f32 and the arithmetic matches
// the f32 export.
import type { ModelConfig } from '../model/config';
import { fromFloat32 } from '../model/dtype';
import { LAYER_TENSORS, type LayerField } from '../model/weights-layout';
import { rope_inv_freq } from '../llama/rope-freq';
import { OnnxGraph } from './onnx-graph';

export type ExportDType = 'f32' | 'f16';

/** Reads one Hugging Face tensor (merged with the adapter where one applies), or null if the files lack it. */
export type TensorReader = (name: string) => Promise<Float32Array | null>;

/** Progress after each layer; the export stops at the next layer once `signal` aborts. */
export interface BuildOptions {
  dtype: ExportDType;
  onLayer?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/** [N,K] row-major (nn.Linear's layout) to [K,N], as MatMul(x, W^T) wants it. */
function transpose(w: Float32Array, N: number, K: number): Float32Array {
  const t = new Float32Array(w.length);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) t[k * N + n] = w[n * K + k];
  return t;
}

/** The projections that may carry a bias (Qwen2's q/k/v, Llama's attention_bias); the MLP never does. */
const BIASES: Partial<Record<string, LayerField>> = { q: 'qBias', k: 'kBias', v: 'vBias', o: 'oBias' };

export async function buildDecoderGraph(cfg: ModelConfig, read: TensorReader, opts: BuildOptions): Promise<OnnxGraph> {
  const { hiddenSize: C, numHeads: H, numKvHeads: KV, headDim: D, intermediateSize: F, vocabSize: V, numLayers: L } = cfg;
  const G = H / KV;
  const g = new OnnxGraph();
  const f16 = opts.dtype === 'f16';

  /** A weight as an f32 value: an initializer, cast from halves in the f16 export. */
  const weight = (name: string, data: Float32Array, dims: number[]): string => {
    if (!f16) return g.initializer(name, 'float', dims, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    g.initializer(name, 'float16', dims, fromFloat32(data, 'F16'));
    return g.op('Cast', [name], { to: 1 }, `${name}_f32`);
  };
  const need = async (name: string): Promise<Float32Array> => {
    const t = await read(name);
    if (!t) throw new Error(`export: tensor ${name} is missing`);
    return t;
  };
  const linear = async (name: string, N: number, K: number) => weight(`${name}.T`, transpose(await need(name), N, K), [K, N]);
  const gemma = cfg.gemma;
  /** An RMSNorm weight as the model applies it: Gemma's 1 + w. */
  const normWeight = async (name: string, n: number) => {
    const w = await need(name);
    return weight(name, gemma ? w.map((v) => 1 + v) : w, [n]);
  };

  const inputIds = g.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
  const attentionMask = g.input('attention_mask', 'int64', ['batch_size', 'total_sequence_length']);
  const positionIds = g.input('position_ids', 'int64', ['batch_size', 'sequence_length']);
  const past: [string, string][] = [];
  for (let l = 0; l < L; l++) {
    const shape = ['batch_size', KV, 'past_sequence_length', D];
    past.push([g.input(`past_key_values.${l}.key`, 'float', shape), g.input(`past_key_values.${l}.value`, 'float', shape)]);
  }
  g.output('logits', 'float', ['batch_size', 'sequence_length', V]);

  const embed = weight('model.embed_tokens.weight', await need('model.embed_tokens.weight'), [V, C]);
  let x = g.op('Gather', [embed, inputIds], { axis: 0 });
  if (gemma) x = g.op('Mul', [x, g.f32('embed_scale', [Math.sqrt(C)], [])]);

  // RoPE angles from position_ids: pos · inv_freq in f32, as transformers computes them, then cos and sin [B,1,S,D].
  const axis = (...a: number[]) => g.i64('axes', a);
  const pos = g.op('Unsqueeze', [g.op('Cast', [positionIds], { to: 1 }), axis(2)]);
  const angles = (name: string, invFreq: Float64Array) => {
    const freqs = g.op('Mul', [pos, g.f32(name, invFreq)]);
    const emb = g.op('Concat', [freqs, freqs], { axis: -1 });
    return { cos: g.op('Unsqueeze', [g.op('Cos', [emb]), axis(1)]), sin: g.op('Unsqueeze', [g.op('Sin', [emb]), axis(1)]) };
  };
  const globalAngles = angles('inv_freq', rope_inv_freq(D, cfg.ropeTheta, cfg.ropeScaling));
  // Gemma's sliding layers: plain RoPE at the local base, never the global layers' scaling.
  const localAngles = gemma ? angles('inv_freq_local', rope_inv_freq(D, gemma.ropeLocalTheta, null)) : globalAngles;
  const half = g.i64('half', [D / 2]);
  const start0 = g.i64('zero', [0]);
  const endD = g.i64('d', [D]);
  const lastAxis = axis(3);
  const rope = (t: string, { cos, sin }: { cos: string; sin: string }): string => {
    const x1 = g.op('Slice', [t, start0, half, lastAxis]);
    const x2 = g.op('Slice', [t, half, endD, lastAxis]);
    const rotated = g.op('Concat', [g.op('Neg', [x2]), x1], { axis: 3 });
    return g.op('Add', [g.op('Mul', [t, cos]), g.op('Mul', [rotated, sin])]);
  };

  // Mask [B,1,1,S,T]: key j is visible to query i (at absolute position P+i) when j <= P+i and attention_mask[j] is 1.
  const one = g.i64('one', [1], []);
  const S = g.op('Gather', [g.op('Shape', [inputIds]), one], { axis: 0 });
  const T = g.op('Gather', [g.op('Shape', [attentionMask]), one], { axis: 0 });
  const zero = g.i64('zero', [0], []);
  const keyPos = g.op('Range', [zero, T, one]);
  const queryPos = g.op('Unsqueeze', [g.op('Range', [g.op('Sub', [T, S]), T, one]), axis(1)]);
  const causal = g.op('LessOrEqual', [keyPos, queryPos]);
  const padding = g.op('Unsqueeze', [g.op('Cast', [attentionMask], { to: 9 }), axis(1, 2, 3)]);
  const visible = g.op('And', [causal, padding]);
  const open = g.f32('mask_open', [0], []);
  const closed = g.f32('mask_closed', [-3.4028234663852886e38], []);
  const mask = g.op('Where', [visible, open, closed]);
  // Gemma's sliding layers also hide keys W or more places back (cache index, as transformers masks them).
  const slidingMask = gemma
    ? g.op('Where', [g.op('And', [visible, g.op('Less', [g.op('Sub', [queryPos, keyPos]), g.i64('window', [gemma.slidingWindow], [])])]), open, closed])
    : mask;

  const eps = g.f32('eps', [cfg.rmsNormEps], []);
  const rmsnorm = (t: string, w: string): string => {
    const meanSq = g.op('ReduceMean', [g.op('Mul', [t, t])], { axes: [-1], keepdims: 1 });
    const rstd = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [meanSq, eps])])]);
    return g.op('Mul', [w, g.op('Mul', [t, rstd])]);
  };
  const scale = g.f32('attn_scale', [1 / Math.sqrt(gemma ? gemma.queryPreAttnScalar : D)], []);
  // gelu_pytorch_tanh: ½·t·(1 + tanh(√(2/π)·(t + 0.044715·t³))).
  const geluTanh = (t: string): string => {
    const cube = g.op('Mul', [g.op('Mul', [t, t]), t]);
    const inner = g.op('Mul', [g.f32('gelu_k', [Math.sqrt(2 / Math.PI)], []), g.op('Add', [t, g.op('Mul', [g.f32('gelu_c', [0.044715], []), cube])])]);
    return g.op('Mul', [g.op('Mul', [g.f32('half_one', [0.5], []), t]), g.op('Add', [g.f32('one_f', [1], []), g.op('Tanh', [inner])])]);
  };
  const heads = (n: number) => g.i64('heads_shape', [0, 0, n, D]);
  const toHeads = (t: string, n: number) => g.op('Transpose', [g.op('Reshape', [t, heads(n)])], { perm: [0, 2, 1, 3] });
  const groups = g.i64('groups_shape', [0, KV, G, -1, D]);
  const mergedHeads = g.i64('merged_shape', [0, H, -1, D]);
  const flat = g.i64('flat_shape', [0, 0, H * D]);

  for (let l = 0; l < L; l++) {
    // A macrotask between layers lets a worker take in the cancel message that aborts `signal`.
    await new Promise((resolve) => setTimeout(resolve, 0));
    opts.signal?.throwIfAborted();
    const p = (f: LayerField) => `model.layers.${l}.${LAYER_TENSORS[f]}`;
    const proj = async (f: 'q' | 'k' | 'v' | 'o' | 'gate' | 'up' | 'down', input: string, N: number, K: number) => {
      let y = g.op('MatMul', [input, await linear(p(f), N, K)]);
      const biasField = BIASES[f];
      const bias = biasField ? await read(p(biasField)) : null;
      if (bias && biasField) y = g.op('Add', [y, weight(p(biasField), bias, [N])]);
      return y;
    };
    const sliding = gemma?.sliding[l] ?? false;
    const h = rmsnorm(x, await normWeight(p('inNorm'), C));
    // Qwen3 and Gemma normalize each head's query and key (weights [D]) before RoPE.
    const headNorm = async (t: string, f: 'qNorm' | 'kNorm') => (cfg.qkNorm ? rmsnorm(t, await normWeight(p(f), D)) : t);
    const cs = sliding ? localAngles : globalAngles;
    const q = rope(await headNorm(toHeads(await proj('q', h, H * D, C), H), 'qNorm'), cs);
    const k = rope(await headNorm(toHeads(await proj('k', h, KV * D, C), KV), 'kNorm'), cs);
    const v = toHeads(await proj('v', h, KV * D, C), KV);
    const presentK = g.op('Concat', [past[l][0], k], { axis: 2 }, `present.${l}.key`);
    const presentV = g.op('Concat', [past[l][1], v], { axis: 2 }, `present.${l}.value`);
    g.output(`present.${l}.key`, 'float', ['batch_size', KV, 'total_sequence_length', D]);
    g.output(`present.${l}.value`, 'float', ['batch_size', KV, 'total_sequence_length', D]);
    // Grouped-query attention without copying K and V: query heads [B,KV,G,S,D] against keys [B,KV,1,T,D].
    const q5 = g.op('Reshape', [q, groups]);
    const k5 = g.op('Transpose', [g.op('Unsqueeze', [presentK, axis(2)])], { perm: [0, 1, 2, 4, 3] });
    const v5 = g.op('Unsqueeze', [presentV, axis(2)]);
    const scores = g.op('Add', [g.op('Mul', [g.op('MatMul', [q5, k5]), scale]), sliding ? slidingMask : mask]);
    const ctx = g.op('MatMul', [g.op('Softmax', [scores], { axis: -1 }), v5]);
    const att = g.op('Reshape', [g.op('Transpose', [g.op('Reshape', [ctx, mergedHeads])], { perm: [0, 2, 1, 3] }), flat]);
    // Gemma norms each branch's output before the residual adds it, and norms the MLP's input with its own weight.
    const attOut = await proj('o', att, C, H * D);
    const mid = g.op('Add', [x, gemma ? rmsnorm(attOut, await normWeight(p('postNorm'), C)) : attOut]);
    const h2 = rmsnorm(mid, await normWeight(p(gemma ? 'preFfNorm' : 'postNorm'), C));
    const gate = await proj('gate', h2, F, C);
    const up = await proj('up', h2, F, C);
    const act = g.op('Mul', [gemma ? geluTanh(gate) : g.op('Mul', [gate, g.op('Sigmoid', [gate])]), up]);
    const down = await proj('down', act, C, F);
    x = g.op('Add', [mid, gemma ? rmsnorm(down, await normWeight(p('postFfNorm'), C)) : down]);
    opts.onLayer?.(l + 1, L);
  }

  const nf = rmsnorm(x, await normWeight('model.norm.weight', C));
  const head = cfg.tieWordEmbeddings ? g.op('Transpose', [embed], { perm: [1, 0] }) : await linear('lm_head.weight', V, C);
  g.op('MatMul', [nf, head], {}, 'logits');
  return g;
}
