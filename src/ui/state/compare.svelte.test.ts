// "Try it" over the scripted engine: one message answered by teacher (with P), student (adapter, no P) and base
// (neither), each a single fresh turn, in that order; Stop ends the round at the side answering.
import 'fake-indexeddb/auto';
import { expect, it } from 'vitest';
import type { StoredAdapter } from '../../store/schema';
import { testAdapter } from '../../store/testing';
import { CompareState } from './compare.svelte';
import { testApp } from './testing';

async function comparing() {
  const app = await testApp();
  const meta = { format: 'genpi-adapter', version: 1, prompt: { sha256: '' } } as unknown as StoredAdapter['meta'];
  await app.library.put(testAdapter({ id: 'a1', name: 'one', created: 1, meta }));
  app.prompt.text = 'You are terse.';
  const compare = new CompareState(app.engine.client, app.model, app.prompt, app.dataset, app.library, app.gate);
  compare.adapterId = 'a1';
  return { app, compare };
}

it('answers one message three ways, side by side: P only for the teacher, the adapter only for the student', async () => {
  const { app, compare } = await comparing();
  compare.input = 'hi';
  await compare.ask();
  expect(compare.error).toBeNull();
  expect(compare.asked).toBe('hi');
  expect(compare.answers).toEqual({ teacher: 'hello', student: 'hello', base: 'hello' });
  const calls = app.engine.chatCalls.map((c) => c.request);
  expect(calls.map((r) => r.side)).toEqual(['teacher', 'student', 'base']);
  expect(calls.map((r) => r.prompt)).toEqual(['You are terse.', '', '']);
  expect(calls.map((r) => r.adapter !== null)).toEqual([false, true, false]);
  expect(calls.every((r) => r.messages.length === 1 && r.temperature === 0)).toBe(true);
});

it('stops after the side answering when Stop is pressed', async () => {
  const { app, compare } = await comparing();
  app.engine.chat = async (jobId, request) => {
    app.engine.chatCalls.push({ jobId, request });
    compare.stop();
    return 'cut';
  };
  compare.input = 'hi';
  await compare.ask();
  expect(app.engine.chatCalls).toHaveLength(1);
  expect(compare.answers).toEqual({ teacher: 'cut', student: '', base: '' });
  expect(compare.running).toBe(false);
});
