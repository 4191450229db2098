// Packs sequences end to end into one training batch (no padding) with per-token targets and loss weights.
// Labels follow Hugging Face: same length as input_ids, position t predicts labels[t+1], -100 is ignored. Each
// group's loss is the mean over its own labelled tokens, times the group's weight, so a token's weight is
// group weight / group token count, counted over the whole batch (all micro-batches of one optimizer step).
export const IGNORE = -100;

export interface Sequence {
  input_ids: number[];
  labels: number[];
}

export interface Group {
  weight: number;
  sequences: Sequence[];
}

export interface PackedBatch {
  T: number;
  ids: Uint32Array; // [T]
  pos: Uint32Array; // [T] position within its sequence
  seqStart: Uint32Array; // [T] index of the first token of its sequence
  targets: Int32Array; // [T] next token to predict, or IGNORE
  weights: Float32Array; // [T] loss weight of the prediction at t
  group: Uint32Array; // [T] which group the token belongs to
}

/** Labelled predictions per group: positions 1..L-1 whose label is not IGNORE. */
export function groupTokenCounts(groups: Group[]): number[] {
  return groups.map((g) => g.sequences.reduce((n, s) => n + s.labels.slice(1).filter((l) => l !== IGNORE).length, 0));
}

/**
 * Packs `parts` (sequences with their group index) into one batch. `counts` are the per-group token counts of the
 * whole optimizer step, so micro-batches of one step share the same normalization.
 */
export function packBatch(parts: { seq: Sequence; group: number }[], groups: Group[], counts: number[]): PackedBatch {
  const T = parts.reduce((n, p) => n + p.seq.input_ids.length, 0);
  const b: PackedBatch = {
    T,
    ids: new Uint32Array(T),
    pos: new Uint32Array(T),
    seqStart: new Uint32Array(T),
    targets: new Int32Array(T).fill(IGNORE),
    weights: new Float32Array(T),
    group: new Uint32Array(T),
  };
  let at = 0;
  for (const { seq, group } of parts) {
    const L = seq.input_ids.length;
    const w = counts[group] > 0 ? groups[group].weight / counts[group] : 0;
    for (let i = 0; i < L; i++) {
      const t = at + i;
      b.ids[t] = seq.input_ids[i];
      b.pos[t] = i;
      b.seqStart[t] = at;
      b.group[t] = group;
      if (i + 1 < L && seq.labels[i + 1] !== IGNORE) {
        b.targets[t] = seq.labels[i + 1];
        b.weights[t] = w;
      }
    }
    at += L;
  }
  return b;
}

/** Every sequence of every group, in order, as one batch. */
export function packGroups(groups: Group[]): PackedBatch {
  const parts = groups.flatMap((g, group) => g.sequences.map((seq) => ({ seq, group })));
  return packBatch(parts, groups, groupTokenCounts(groups));
}
