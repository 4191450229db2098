// One reading of a prompt file for every command, as a user runs them: generate reads a JSON list after a UTF-8
// byte-order mark, a {"messages": [...]} body and a UTF-16 file exactly as the plain UTF-8 file they hold, and
// generate, synthesize, eval and train refuse the same bad files (a binary file, a role the others refuse, a path
// that is a folder) with the same message.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { writeTinyModel } from '../model/tiny/write-node';
import { genpi } from './testing';
import { testRecord } from '../testing/records';

const tmp = mkdtempSync(join(tmpdir(), 'genpi-prompt-file-'));
const modelDir = join(tmp, 'model');
const file = (name: string, bytes: string | Uint8Array) => {
  writeFileSync(join(tmp, name), bytes);
  return join(tmp, name);
};
const messages = [
  { role: 'system', content: 'You are a shell agent. Réponds avec une commande.' },
  { role: 'user', content: 'list files' },
  { role: 'assistant', content: 'Act: bash ls' },
];
const marked = 'You are a shell agent. Réponds avec une commande.\nuser: list files\nassistant: Act: bash ls';
const bom = (s: string) => Uint8Array.of(0xef, 0xbb, 0xbf, ...new TextEncoder().encode(s));
function utf16le(s: string): Uint8Array {
  const out = new Uint8Array(2 + 2 * s.length);
  const view = new DataView(out.buffer);
  view.setUint16(0, 0xfeff, true);
  for (let i = 0; i < s.length; i++) view.setUint16(2 + 2 * i, s.charCodeAt(i), true);
  return out;
}

beforeAll(async () => {
  await writeTinyModel(modelDir, { arch: 'llama', seed: 5 });
  mkdirSync(join(tmp, 'a-folder'));
  const record = JSON.stringify(testRecord(0, { input: 'hi', answer: 'b', as_is: 'a', reason: 'c', split: 'heldout' }));
  file('data.jsonl', `${record}\n${record.replace('"r0"', '"r1"').replace('heldout', 'train')}\n`);
  mkdirSync(join(tmp, 'adapter'));
});

/** The token ids generate prefills for one input with this prompt file. */
function promptTokens(promptFile: string): number[] {
  const r = genpi('generate', '--model', modelDir, '--prompt', promptFile, '--input', 'show the date', '--max-new-tokens', '1', '--json');
  expect(r.code, r.stderr).toBe(0);
  const out = r.lastJson();
  return out.tokens.slice(0, out.prompt_tokens);
}

it('generate reads a BOM, a request body and UTF-16 as the plain files they hold', () => {
  const plainJson = promptTokens(file('plain.json', JSON.stringify(messages)));
  expect(plainJson.length).toBeGreaterThan(20);
  expect(promptTokens(file('bom.json', bom(JSON.stringify(messages))))).toEqual(plainJson);
  expect(promptTokens(file('body.json', JSON.stringify({ model: 'gpt', messages })))).toEqual(plainJson);
  // Role-marked text is read as turns, as synthesize and the app read it: the same conversation as the JSON list.
  expect(promptTokens(file('marked.txt', marked))).toEqual(plainJson);
  expect(promptTokens(file('utf16.txt', utf16le(marked)))).toEqual(plainJson);
});

it('generate, synthesize, eval and train refuse the same bad prompt files with the same message', () => {
  const commands = (prompt: string): string[][] => [
    ['generate', '--model', modelDir, '--prompt', prompt, '--input', 'hi'],
    ['synthesize', '--model', modelDir, '--prompt', prompt, '--samples', '8', '--out', join(tmp, 'out.jsonl')],
    ['eval', '--model', modelDir, '--adapter', join(tmp, 'adapter'), '--prompt', prompt, '--data', join(tmp, 'data.jsonl')],
    ['train', '--model', modelDir, '--data', join(tmp, 'data.jsonl'), '--prompt', prompt, '--dry-run'],
  ];
  const cases: [string, RegExp][] = [
    [file('binary.bin', Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13)), /binary\.bin: is not a text file \(a NUL byte at offset 8\)/],
    [file('tool.json', JSON.stringify([...messages, { role: 'tool', content: 'x' }])), /tool\.json: Message 3 of the JSON prompt has role "tool"; use "system", "user" or "assistant"\./],
    [join(tmp, 'a-folder'), /a-folder: is a folder, not a file$/],
    [join(tmp, 'no-such.txt'), /no-such\.txt: does not exist$/],
  ];
  for (const [prompt, pattern] of cases) {
    for (const args of commands(prompt)) {
      const r = genpi(...args);
      expect(r.code, `${args[0]} ${prompt}: ${r.stderr}`).toBe(1);
      expect(r.errors, args[0]).toHaveLength(1);
      expect(r.errors[0], args[0]).toMatch(pattern);
    }
  }
});
