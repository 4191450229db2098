// The worker's EngineSession on Dawn for a test file, set up once: f32 kernels and a session made before the file's
// tests (with a model loaded when asked), unloaded and its device destroyed after them.
import { afterAll, beforeAll } from 'vitest';
import type { Kernels } from '../gpu/kernel';
import { testKernels } from '../gpu/testing';
import type { ModelSource } from '../worker/api';
import { EngineSession } from '../worker/session';

/** The tiny random Qwen2 model most session tests load. */
export const TINY_QWEN2: ModelSource = { kind: 'tiny', arch: 'qwen2', seed: 3 };

/** Registers the set-up in the calling file; the returned object's fields are set once beforeAll has run. */
export function sessionSuite(o: { model?: ModelSource } = {}): { kernels: Kernels; session: EngineSession } {
  const suite = { kernels: undefined as unknown as Kernels, session: undefined as unknown as EngineSession };
  beforeAll(async () => {
    suite.kernels = await testKernels(false);
    suite.session = new EngineSession(suite.kernels);
    if (o.model) await suite.session.loadModel(o.model);
  });
  afterAll(() => {
    suite.session?.unload();
    suite.kernels?.device.destroy();
  });
  return suite;
}
