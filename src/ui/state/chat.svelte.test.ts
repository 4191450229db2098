// ChatState over a scripted engine: a reply lands in the conversation it was asked in, and one that comes back after
// the user opened another adapter (or cleared the chat) is stopped and dropped, with its error and its message.
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { testAdapter } from '../../store/testing';
import { deferred, namedError, testApp, type TestApp } from './testing';

/** The app with two adapters for the loaded model and the first one's chat open. */
async function chatting(): Promise<TestApp> {
  const app = await testApp();
  await app.library.put(testAdapter({ id: 'a1', name: 'one', created: 2 }));
  await app.library.put(testAdapter({ id: 'a2', name: 'two', created: 1 }));
  app.chat.open('a1');
  return app;
}

/** Lets the send in flight reach the engine. */
const settle = () => new Promise((r) => setTimeout(r, 0));

/** A reply the test releases, streaming `partial` first. */
function slowReply(app: TestApp, partial = 'par') {
  const reply = deferred<string>();
  app.engine.chat = async (jobId, request, onText) => {
    app.engine.chatCalls.push({ jobId, request });
    onText?.(partial);
    return reply.promise;
  };
  return reply;
}

describe('ChatState', () => {
  it('streams a reply into the open chat, labelled with the side that wrote it', async () => {
    const app = await chatting();
    app.chat.input = ' hi ';
    await app.chat.send();
    expect(app.chat.turns).toEqual([{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello', side: 'student' }]);
    expect(app.engine.chatCalls[0].request).toMatchObject({ side: 'student', prompt: '', messages: [{ role: 'user', content: 'hi' }] });
    expect(app.chat.input).toBe('');
    expect(app.chat.streaming).toBe('');
    expect(app.chat.running).toBe(false);
  });

  it('drops a reply that arrives after another adapter was opened, and stops it', async () => {
    const app = await chatting();
    const reply = slowReply(app);
    app.chat.input = 'hi';
    const sent = app.chat.send();
    await settle();
    expect(app.chat.streaming).toBe('par');
    app.chat.open('a2');
    expect(app.engine.cancelled).toEqual([app.engine.chatCalls[0].jobId]);
    app.chat.input = 'typed in the new chat';
    reply.resolve('an answer for adapter one');
    await sent;
    expect(app.chat.adapterId).toBe('a2');
    expect(app.chat.turns).toEqual([]);
    expect(app.chat.streaming).toBe('');
    expect(app.chat.input).toBe('typed in the new chat');
    expect(app.chat.error).toBeNull();
  });

  it('drops the error of a reply the user walked away from, and does not put its message back', async () => {
    const app = await chatting();
    const reply = slowReply(app);
    app.chat.input = 'hi';
    const sent = app.chat.send();
    await settle();
    app.chat.clear();
    reply.reject(Object.assign(new Error('cancelled'), { name: 'CancelledError' }));
    await sent;
    expect(app.chat.turns).toEqual([]);
    expect(app.chat.input).toBe('');
    expect(app.chat.error).toBeNull();
  });

  it('puts the message back when the reply in the open chat fails, so it can be sent again', async () => {
    const app = await chatting();
    const reply = slowReply(app);
    app.chat.input = 'hi';
    const sent = app.chat.send();
    reply.reject(Object.assign(new Error('the GPU went away'), { name: 'DeviceLostError' }));
    await sent;
    expect(app.chat.turns).toEqual([]);
    expect(app.chat.input).toBe('hi');
    expect(app.chat.error?.name).toBe('DeviceLostError');
  });

  it('shows a reply that met non-finite logits as an error, not as a (partial or empty) answer', async () => {
    const app = await chatting();
    const reply = slowReply(app, '');
    app.chat.input = 'hi';
    const sent = app.chat.send();
    const message = 'the model produced 387 NaN or infinite logits of 387 at the next token with adapter "a1": the model\'s weights or the adapter\'s overflow';
    reply.reject(namedError('NonFiniteLogitsError', message));
    await sent;
    expect(app.chat.turns).toEqual([]);
    expect(app.chat.streaming).toBe('');
    expect(app.chat.error).toEqual({ name: 'NonFiniteLogitsError', message });
  });

  it('reopening the same adapter keeps the conversation', async () => {
    const app = await chatting();
    app.chat.input = 'hi';
    await app.chat.send();
    app.chat.open('a1');
    expect(app.chat.turns).toHaveLength(2);
    expect(app.engine.cancelled).toEqual([]);
  });
});
