// transformers.js' side of the peer benchmark, for both hosts (onnxruntime-node in Node, onnxruntime-web in the
// Chromium bench page): the same token ids, the same prefill and the same decode through its own `generate`, so the
// two tables measure one thing. Browser-safe: the caller hands in its transformers.js Tensor and model.

export interface Rates { prefill: number; decode1: number; decode16: number }

/** The parts of a transformers.js causal LM the bench calls. */
export interface PeerLM {
  (feeds: Record<string, unknown>): Promise<unknown>;
  generate(opts: Record<string, unknown>): Promise<unknown>;
}
type TensorCtor = new (type: 'int64', data: BigInt64Array, dims: number[]) => unknown;

/** Deterministic token ids below V, the same on both sides of every comparison. */
export const peerIds = (n: number, seed: number, V: number) => Array.from({ length: n }, (_, i) => (seed * 7919 + i * 104729) % V);

/** Prefill tokens/s for one `promptTokens` prompt, decode tokens/s at batch 1 and 16 (`steps` new tokens each). */
export async function theirRates(Tensor: TensorCtor, lm: PeerLM, V: number, promptTokens: number, steps: number): Promise<Rates> {
  const i64 = (rows: number[][]) => new Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0].length]);
  const feeds = (rows: number[][]) => ({ input_ids: i64(rows), attention_mask: i64(rows.map((r) => r.map(() => 1))) });
  const prompt = [peerIds(promptTokens, 1, V)];
  await lm(feeds(prompt)); // warm-up
  let t0 = performance.now();
  await lm(feeds(prompt));
  const prefill = promptTokens / ((performance.now() - t0) / 1000);
  // N+1 new tokens minus 1, so generate's own prefill is not counted.
  const decode = async (B: number) => {
    const rows = Array.from({ length: B }, (_, b) => peerIds(4, b + 2, V));
    const gen = (n: number) => lm.generate({ ...feeds(rows), max_new_tokens: n, min_new_tokens: n, do_sample: false });
    await gen(2);
    t0 = performance.now();
    await gen(1);
    const one = performance.now() - t0;
    t0 = performance.now();
    await gen(steps + 1);
    return (B * steps) / ((performance.now() - t0 - one) / 1000);
  };
  return { prefill, decode1: await decode(1), decode16: await decode(16) };
}
