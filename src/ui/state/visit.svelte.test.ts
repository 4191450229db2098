// The state a first visit meets (issue 25), over the scripted engine: a cancelled synthesis or evaluation is a calm
// notice, not an error box; each "who answers" side keeps its own chat, so the teacher never answers in a
// conversation the student wrote.
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import type { StoredAdapter } from '../../store/schema';
import { testAdapter } from '../../store/testing';
import { EvaluationState } from './evaluation.svelte';
import { namedError, testApp } from './testing';

describe('a first visit', () => {
  it('a cancelled synthesis says so calmly and keeps the dataset it had', async () => {
    const app = await testApp();
    app.prompt.text = 'You are terse.';
    Object.assign(app.engine, {
      synthesize: async (jobId: string) => {
        throw namedError('CancelledError', `job ${jobId} was cancelled`);
      },
    });
    await app.dataset.synthesize();
    expect(app.dataset.error).toBeNull();
    expect(app.dataset.notice).toBe('Synthesis cancelled; nothing was kept.');
    // Any other failure is still an error.
    Object.assign(app.engine, { synthesize: async () => Promise.reject(namedError('ModelError', 'too long')) });
    await app.dataset.synthesize();
    expect(app.dataset.notice).toBe('');
    expect(app.dataset.error).toEqual({ name: 'ModelError', message: 'too long' });
  });

  it('a cancelled evaluation is a notice, not an error', async () => {
    const app = await testApp();
    const evaluation = new EvaluationState(app.engine.client, app.model, app.prompt, app.dataset, app.library, app.gate);
    // An adapter whose metadata keeps no hash of its P: the prompt on the page is its teacher's.
    const meta = { format: 'genpi-adapter', version: 1, prompt: { sha256: '' } } as unknown as StoredAdapter['meta'];
    await app.library.put(testAdapter({ id: 'a1', name: 'one', created: 1, meta }));
    evaluation.adapterId = 'a1';
    evaluation.source = 'typed';
    evaluation.typed = 'hello';
    app.prompt.text = 'the prompt';
    Object.assign(app.engine, { evaluate: async () => Promise.reject(namedError('CancelledError', 'job eval-1 was cancelled')) });
    await evaluation.run();
    expect(evaluation.error).toBeNull();
    expect(evaluation.notice).toBe('Evaluation cancelled.');
  });

  it('keeps one conversation per "who answers" side', async () => {
    const app = await testApp();
    await app.library.put(testAdapter({ id: 'a1', name: 'one', created: 1 }));
    app.chat.open('a1');
    app.chat.input = 'hi';
    await app.chat.send();
    expect(app.chat.turns.map((t) => t.side ?? 'user')).toEqual(['user', 'student']);

    app.chat.side = 'base';
    expect(app.chat.turns).toEqual([]);
    app.chat.input = 'hello base';
    await app.chat.send();
    // The base model is asked only what was said to it.
    expect(app.engine.chatCalls[1].request.messages).toEqual([{ role: 'user', content: 'hello base' }]);
    expect(app.chat.turns.map((t) => t.side ?? 'user')).toEqual(['user', 'base']);

    app.chat.side = 'student';
    expect(app.chat.turns.map((t) => t.content)).toEqual(['hi', 'hello']);
    app.chat.clear();
    app.chat.side = 'base';
    expect(app.chat.turns).toEqual([]);
  });
});
