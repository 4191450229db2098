// The WGSL sources read from shaders/ on disk, for the genpi command (which runs without a bundler).
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ShaderSources } from './registry';

export function loadShaderSources(dir = fileURLToPath(new URL('../../shaders/', import.meta.url))): ShaderSources {
  const out: ShaderSources = {};
  for (const f of readdirSync(dir)) if (f.endsWith('.wgsl')) out[f.slice(0, -5)] = readFileSync(`${dir}/${f}`, 'utf8');
  return out;
}
