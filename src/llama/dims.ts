// The dimension letters used in every shape comment, kernel and reference function of the engine.
//
//   B  sequences in a batch          T  tokens (all sequences of a batch packed end to end, no padding)
//   C  hidden size                   H  query heads          KV  key/value heads (H is a multiple of KV)
//   D  head dim                      F  feed-forward size    V   vocabulary
//   R  LoRA rank                     K, N  a matmul's input and output widths (x [T,K] · Wᵀ [K,N] -> [T,N])
//
// Tensors are row-major; [T,H,D] means index (t*H + h)*D + d. Sequences are packed: a token's position is
// pos[t] and its sequence begins at token seqStart[t], so attention for t sees keys seqStart[t]..t only.

export interface Dims {
  C: number;
  H: number;
  KV: number;
  D: number;
  F: number;
  V: number;
}
