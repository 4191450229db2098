// The engine's web worker: owns the WebGPU device and everything heavy, and exposes WorkerApi through comlink.
import * as Comlink from 'comlink';
import { acquireGpu } from '../gpu/device';
import { shaderSources } from '../gpu/shaders-vite';
import { OpfsModelCache } from '../model/cache-opfs';
import { createWorkerApi } from './worker-api';

const gpu = () => acquireGpu((self.navigator as Navigator).gpu, { where: 'browser' });
Comlink.expose(createWorkerApi(gpu, shaderSources, new OpfsModelCache()));
