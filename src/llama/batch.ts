// The packed batch the trainer consumes, and the label that means "no loss here". They live with the trainer
// (not with the training data in src/train, which builds them) so the engine depends on nothing above it.

/**
 * A label or target that adds nothing to the loss and gets a zero gradient row (Hugging Face's and PyTorch's -100).
 * WGSL cannot import it: shaders/cross_entropy.wgsl (CE_IGNORE) and shaders/kl_topk.wgsl (KL_IGNORE) repeat it.
 */
export const IGNORE = -100;

/** Sequences packed end to end, no padding: per token its id, position, sequence start, target and loss weight. */
export interface PackedBatch {
  T: number;
  ids: Uint32Array; // [T]
  pos: Uint32Array; // [T] position within its sequence
  seqStart: Uint32Array; // [T] index of the first token of its sequence
  targets: Int32Array; // [T] next token to predict, or IGNORE
  weights: Float32Array; // [T] loss weight of the prediction at t
  group: Uint32Array; // [T] which group the token belongs to
  /** Present when a 'kl' group is and some sequence carries targets: the teacher's at each token (zero rows and weights where none). */
  kl?: {
    K: number;
    ids: Uint32Array; // [T,K]
    logp: Float32Array; // [T,K]
    weights: Float32Array; // [T] KL weight: kl group weight / its token count, 0 where not distilled
    /** On-policy distillation's reverse KL(student || teacher) on every distilled token of this batch. */
    reverse?: boolean;
  };
}
