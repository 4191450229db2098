// The WGSL sources as bundled by Vite (the app, its worker and the vitest runs).
import type { ShaderSources } from './registry';

const files = import.meta.glob('../../shaders/*.wgsl', { query: '?raw', import: 'default', eager: true });

export const shaderSources: ShaderSources = Object.fromEntries(
  Object.entries(files).map(([path, src]) => [path.replace(/^.*\/(.+)\.wgsl$/, '$1'), src as string]),
);
