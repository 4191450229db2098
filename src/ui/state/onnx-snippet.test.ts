// The transformers.js snippet the app hands out after an export, run as written (only its import and its folder
// changed) in Node with the @huggingface/transformers the project depends on, against a real export of a tiny model
// made by the app's own export code: a snippet that throws is a broken promise to the user.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { exportOnnx } from '../../export/merged-folder';
import { randomAdapter, writeExport } from '../../export/testing';
import { memoryFiles } from '../../llama/testing';
import { openModel } from '../../model/open';
import { makeTinyModel } from '../../model/tiny/make';
import { loadSnippet } from './onnx-export.svelte';

let dir = '';
afterAll(() => rm(dir, { recursive: true, force: true }));

it.each(['f32', 'f16'] as const)('the %s export\'s snippet loads the folder, generates and prints the reply', async (dtype) => {
  dir ||= await mkdtemp(join(tmpdir(), 'genpi-snippet-'));
  const name = `adapter-${dtype}`;
  const model = await openModel(memoryFiles(makeTinyModel({ arch: 'llama', seed: 1 })));
  await writeExport(join(dir, name), await exportOnnx(model, randomAdapter(model.config, 3), { dtype }));

  const snippet = loadSnippet(name, dtype);
  const [importLine, ...body] = snippet.split('\n');
  expect(importLine).toBe("import { AutoModelForCausalLM, AutoTokenizer, env } from '@huggingface/transformers';");
  const code = body.join('\n').replace("env.localModelPath = '/models/';", `env.localModelPath = ${JSON.stringify(`${dir}/`)};`);
  expect(code).not.toBe(body.join('\n'));
  const tf = await import('@huggingface/transformers');
  const printed: unknown[] = [];
  const fakeConsole = { log: (...a: unknown[]) => printed.push(...a) };
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (...a: string[]) => (...v: unknown[]) => Promise<void>;
  await new AsyncFunction('AutoModelForCausalLM', 'AutoTokenizer', 'env', 'console', code)(tf.AutoModelForCausalLM, tf.AutoTokenizer, tf.env, fakeConsole);
  console.log(`${dtype} snippet printed: ${JSON.stringify(printed)}`);
  expect(printed).toHaveLength(1);
  expect(typeof printed[0]).toBe('string');
  // An untrained model's 64 new tokens decode to some text; the prompt's own words are not in the reply.
  expect((printed[0] as string).length).toBeGreaterThan(0);
}, 120_000);
