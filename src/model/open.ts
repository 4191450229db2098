// Opens a model's files as one checked whole: config.json parsed and validated, the weights' headers read (one
// file or shards), and every tensor the architecture needs present with its shape. No tensor data is read yet.
import { configFromFiles, type ModelConfig } from './config';
import type { FileSet } from './source';
import { checkWeights } from './weights-layout';
import { openWeights, type WeightIndex } from './weights';

export interface ModelFiles {
  files: FileSet;
  config: ModelConfig;
  weights: WeightIndex;
}

export async function openModel(files: FileSet): Promise<ModelFiles> {
  const config = await configFromFiles(files);
  const weights = await openWeights(files);
  checkWeights(weights, config);
  return { files, config, weights };
}

/** The dimensions and sizes a user (or `genpi info`) wants to see, in Hugging Face's field names. */
export function describeModel({ config: c, weights }: ModelFiles) {
  return {
    architecture: c.architecture,
    hidden_size: c.hiddenSize,
    intermediate_size: c.intermediateSize,
    num_hidden_layers: c.numLayers,
    num_attention_heads: c.numHeads,
    num_key_value_heads: c.numKvHeads,
    head_dim: c.headDim,
    vocab_size: c.vocabSize,
    max_position_embeddings: c.maxPositionEmbeddings,
    tie_word_embeddings: c.tieWordEmbeddings,
    rope_scaling: c.ropeScaling ? c.ropeScaling.type : null,
    parameters: weights.parameterCount,
    dtype: weights.dtypes.length === 1 ? weights.dtypes[0] : weights.dtypes,
  };
}
