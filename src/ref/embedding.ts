// float64 reference for shaders/embedding.wgsl: token embedding lookup from the frozen table (no backward: the
// embeddings get no LoRA and no gradient).

/** out[t] = table[ids[t]]. ids: [T] (each < V), table: [V,C]. Returns out: [T,C]. */
export function embedding_forward(ids: ArrayLike<number>, table: ArrayLike<number>, T: number, C: number): Float64Array {
  const out = new Float64Array(T * C);
  for (let t = 0; t < T; t++) {
    const id = ids[t];
    if (!Number.isInteger(id) || id < 0 || (id + 1) * C > table.length) {
      throw new Error(`embedding_forward: token ${t} has id ${id}, outside the table of ${table.length / C} rows`);
    }
    for (let c = 0; c < C; c++) out[t * C + c] = table[id * C + c];
  }
  return out;
}
