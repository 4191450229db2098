// GenPI end to end on a tiny model, as a user runs it: genpi synthesize (from the prompt alone, with seed inputs),
// genpi train (the joint SFT + PG loss), genpi eval on the held-out inputs. The student, with no P, must end
// closer to the teacher than the base model is: lower KL(teacher || ·) with the teacher's tokens forced and
// higher token F1. Then the exported adapter, merged into the weights as PEFT merges it, must give the engine's
// own logits.
//
// The tiny model is made with near-uniform attention (qkScale 0.2) and a confident head (headStd 1.0). With fully
// random attention, what P does to a random model's answers is a random function of the input, and no method
// learns that from 28 inputs; with attention close to uniform, P acts as a shift of the averaged context, which
// is the kind of effect an adapter can learn and carry to inputs it never saw.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { readDataset } from '../genpi/dataset';
import { expectMatches } from '../gpu/testing';
import { importPeft } from '../llama/peft';
import { openModel } from '../model/open';
import { DirFileSet } from '../model/source-node';
import { writeTinyModel } from '../model/tiny/write-node';
import { llama_forward } from '../ref/llama';
import { loadRefModel } from '../ref/llama-load';
import { peft_merge } from '../ref/peft_merge';
import { packGroups } from '../train/batch';
import { genpi } from './testing';

const PROMPT = `You are an OS shell agent. Answer every request with exactly one line: Act: bash followed by the command. Act: bash is the only format. Never explain. Act: bash, always Act: bash.
<USER>: list the files in my home folder
<AGENT>: Act: bash ls ~
<USER>: how much disk space is free?
<AGENT>: Act: bash df -h
<USER>: show running processes
<AGENT>: Act: bash ps aux
<USER>: which user am I?
<AGENT>: Act: bash whoami
<USER>: print the date
<AGENT>: Act: bash date
<USER>: count lines in notes.txt
<AGENT>: Act: bash wc -l notes.txt
`;
const VERBS = ['check', 'compress', 'copy', 'count', 'delete', 'find', 'list', 'show'];
const THINGS = ['cron jobs', 'disk space', 'env vars', 'hidden files', 'logs'];

it('synthesize, train and eval: the student ends closer to the teacher than the base, and its adapter merges as PEFT merges it', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'genpi-e2e-'));
  const model = join(tmp, 'model');
  await writeTinyModel(model, { arch: 'qwen2', seed: 0, qkScale: 0.2, headStd: 1.0 });
  writeFileSync(join(tmp, 'prompt.txt'), PROMPT);
  writeFileSync(join(tmp, 'seeds.txt'), VERBS.flatMap((v) => THINGS.map((t) => `${v} ${t}`)).join('\n'));
  const data = join(tmp, 'data.jsonl');
  const adapter = join(tmp, 'adapter');

  const s = genpi('synthesize', '--model', model, '--prompt', join(tmp, 'prompt.txt'), '--samples', '40', '--seed-inputs', join(tmp, 'seeds.txt'),
    '--out', data, '--max-new-tokens', '16', '--reason-tokens', '24', '--heldout', '0.3');
  expect(s.code, s.stderr).toBe(0);
  expect(s.lastJson()).toMatchObject({ records: 40 });
  const records = readDataset(readFileSync(data, 'utf8'), data).records;
  expect(records.filter((r) => r.split === 'heldout')).toHaveLength(12);

  const t = genpi('train', '--model', model, '--data', data, '--out', adapter, '--epochs', '6', '--lr', '2e-4', '--batch-size', '8', '--checkpoint-every', '0');
  expect(t.code, t.stderr).toBe(0);
  const summary = t.lastJson();
  console.log('train:', JSON.stringify(summary));
  expect(summary.steps).toBe(24);
  expect(summary.last_sft_loss).toBeLessThan(summary.first_loss);

  const e = genpi('eval', '--model', model, '--adapter', adapter, '--prompt', join(tmp, 'prompt.txt'), '--data', data, '--json', '--max-new-tokens', '16');
  expect(e.code, e.stderr).toBe(0);
  const f = e.lastJson();
  console.log(`held-out KL(teacher || student) ${f.kl_teacher_student.toFixed(4)}, KL(teacher || base) ${f.kl_teacher_base.toFixed(4)}; ` +
    `token F1 student ${f.token_f1.toFixed(3)}, base ${f.base.token_f1.toFixed(3)}`);
  expect(f.inputs).toBe(12);
  expect(f.kl_teacher_student).toBeLessThan(f.kl_teacher_base);
  expect(f.token_f1).toBeGreaterThan(f.base.token_f1);

  // The adapter as a user's Python gets it: PEFT's merge in float64 against `genpi logits` with the adapter.
  const files = await openModel(new DirFileSet(model));
  const lora = await importPeft(new DirFileSet(adapter), files.config);
  const ref = await loadRefModel(files.weights, files.config, /\(f16 weights\)/.test(t.stderr));
  peft_merge(ref, lora);
  const ids = [1, 40, 41, 42, 300, 7, 9, 2, 77, 120];
  const out = join(tmp, 'logits.bin');
  const l = genpi('logits', '--model', model, '--adapter', adapter, '--tokens', ids.join(','), '--out', out);
  expect(l.code, l.stderr).toBe(0);
  const bytes = readFileSync(out);
  const engine = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const merged = llama_forward(ref, null, packGroups([{ weight: 1, sequences: [{ input_ids: ids, labels: ids }] }])).logits;
  expectMatches('logits: engine + trained adapter vs PEFT-merged weights', engine, merged, { scaled: 1e-4 });
}, 900_000);
