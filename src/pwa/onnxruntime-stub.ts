// Stands in for onnxruntime-web and onnxruntime-common in the app's bundles (see vite.config.ts): transformers.js
// imports them at load time, but we only use its tokenizers, and the real runtime adds a ~27 MB wasm to the build.

/** Thrown if anything ever tries to run an ONNX model: the engine runs its own WGSL kernels instead. */
export class OnnxRuntimeRemovedError extends Error {
  constructor(what: string) {
    super(
      `${what}: onnxruntime is not part of this build (GenPI only uses transformers.js for tokenizers); ` +
        'run the model through the WebGPU engine, or remove the onnxruntime alias in vite.config.ts',
    );
    this.name = 'OnnxRuntimeRemovedError';
  }
}

export const InferenceSession = {
  create(): never {
    throw new OnnxRuntimeRemovedError('InferenceSession.create');
  },
};

export class Tensor {
  constructor() {
    throw new OnnxRuntimeRemovedError('new Tensor');
  }
}

/** Undefined on purpose: transformers.js then skips configuring the runtime (wasm paths on a CDN, log level). */
export const env = undefined;

export default { InferenceSession, Tensor, env };
