// Self role-play with a scripted generator in place of the model: who plays which role in each request (the
// environment sees P's examples and the teacher's turns with user and assistant swapped), when a conversation
// stops (end marker, turn limit), and which teacher turns the token limit cut.
import { beforeAll, describe, expect, it } from 'vitest';
import type { GenRequest, GenResult, Generator } from '../llama/generator';
import type { Tokenizer } from '../model/tokenizer';
import { parsePrompt } from './prompt';
import { environmentMessages, rolePlay, type Environment } from './roleplay';
import { tinyTokenizer } from '../testing/tokenizer';

const P = parsePrompt('You are a shell agent.\n<USER>: list files\n<AGENT>: Act: bash ls\n<USER>: a.txt b.txt\n<AGENT>: Act: finish');
const ENV: Environment = { name: 'the OS', description: 'a Linux shell', endMarker: '[END]' };

let tok: Tokenizer;
beforeAll(async () => {
  tok = await tinyTokenizer();
});

/** The (role, content) turns of a ChatML text as the model sees it. */
function turns(text: string): [string, string][] {
  return [...text.matchAll(/<\|im_start\|>(\w+)\n([\s\S]*?)<\|im_end\|>/g)].map((m) => [m[1], m[2]]);
}

/**
 * Stands in for the model: answers each request with `reply(seen request)`, and remembers what it was sent; a
 * request of more than `maxTurns` turns does not fit its context.
 */
function scripted(reply: (ts: [string, string][]) => { text: string; cut?: boolean }, maxTurns = Infinity) {
  const seen: [string, string][][] = [];
  const gen = {
    tooLong: (r: GenRequest) => {
      const n = turns(tok.decode([...(r.prefix ?? []), ...r.prompt])).length;
      return n > maxTurns ? `the prompt has ${n} turns; the model's context holds ${maxTurns}` : null;
    },
    async generate(reqs: GenRequest[]): Promise<GenResult[]> {
      return reqs.map((r) => {
        const ts = turns(tok.decode([...(r.prefix ?? []), ...r.prompt]));
        seen.push(ts);
        const { text, cut } = reply(ts);
        return { tokens: [], text, finishReason: cut ? 'length' : 'stop_token' };
      });
    },
  } as unknown as Generator;
  return { gen, seen };
}

describe('environmentMessages', () => {
  it("tells the environment what it plays and gives it P's examples with the roles swapped", () => {
    const m = environmentMessages(P, ENV);
    expect(m[0].role).toBe('system');
    expect(m[0].content).toContain('You are the OS: a Linux shell.');
    expect(m[0].content).toContain('reply with [END] only');
    expect(m[0].content).toContain('You are a shell agent.');
    expect(m.slice(1)).toEqual([
      { role: 'assistant', content: 'list files' },
      { role: 'user', content: 'Act: bash ls' },
      { role: 'assistant', content: 'a.txt b.txt' },
      { role: 'user', content: 'Act: finish' },
    ]);
  });
});

describe('rolePlay', () => {
  it('alternates teacher and environment with the right roles, and stops at the end marker', async () => {
    const { gen, seen } = scripted((ts) => {
      const system = ts[0][1];
      if (system.startsWith('You are the OS')) return { text: ts.length > 6 ? 'done [END]' : 'x.txt' };
      return { text: 'Act: bash cat x.txt' };
    });
    const [c] = await rolePlay(gen, tok, P, ['show my files'], [{ text: 'Act: bash ls', cut: false }], { env: ENV, maxTurns: 5, maxNewTokens: 8 });
    expect(c.conversation).toEqual([
      { role: 'user', content: 'show my files' },
      { role: 'assistant', content: 'Act: bash ls' },
      { role: 'user', content: 'x.txt' },
      { role: 'assistant', content: 'Act: bash cat x.txt' },
      { role: 'user', content: 'done [END]' },
    ]);
    expect(c).toMatchObject({ endMarker: true, stoppedByLimit: false, cutTurns: [] });

    // The environment's first request: its system message, P's examples swapped, then the teacher's turn as user.
    expect(seen[0].slice(1)).toEqual([
      ['assistant', 'list files'], ['user', 'Act: bash ls'], ['assistant', 'a.txt b.txt'], ['user', 'Act: finish'],
      ['user', 'Act: bash ls'],
    ]);
    // The teacher's request: P (its system message and examples as they are), the input, its turn, and the
    // environment's reply as the user.
    expect(seen[1]).toEqual([
      ['system', 'You are a shell agent.'],
      ['user', 'list files'], ['assistant', 'Act: bash ls'], ['user', 'a.txt b.txt'], ['assistant', 'Act: finish'],
      ['user', 'show my files'], ['assistant', 'Act: bash ls'], ['user', 'x.txt'],
    ]);
    // The environment's second request sees the teacher's second turn as the user, its own reply as the assistant.
    expect(seen[2].slice(-3)).toEqual([['user', 'Act: bash ls'], ['assistant', 'x.txt'], ['user', 'Act: bash cat x.txt']]);
  });

  it('stops at the turn limit without asking the environment again, and records the teacher turns that were cut', async () => {
    const { gen, seen } = scripted((ts) => (ts[0][1].startsWith('You are the OS') ? { text: 'more' } : { text: 'Act: bash yes', cut: true }));
    const [c] = await rolePlay(gen, tok, P, ['loop'], [{ text: 'Act: bash', cut: true }], { env: ENV, maxTurns: 2, maxNewTokens: 8 });
    expect(c.conversation.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
    expect(c).toMatchObject({ endMarker: false, stoppedByLimit: true, cutTurns: [1, 3] });
    expect(seen).toHaveLength(2); // one environment reply, one teacher turn
  });

  it('ends a conversation whose next request does not fit the context on its last teacher turn, saying why', async () => {
    // The environment's first request has 6 turns, the teacher's next one 8: it does not fit 7.
    const { gen, seen } = scripted((ts) => ({ text: ts[0][1].startsWith('You are the OS') ? 'more' : 'Act: bash yes' }), 7);
    const [c] = await rolePlay(gen, tok, P, ['loop'], [{ text: 'Act: bash ls', cut: false }], { env: ENV, maxTurns: 5, maxNewTokens: 8 });
    expect(c.conversation).toEqual([{ role: 'user', content: 'loop' }, { role: 'assistant', content: 'Act: bash ls' }]);
    expect(c).toMatchObject({ endMarker: false, stoppedByLimit: false, skipped: "the teacher's request does not fit: the prompt has 8 turns; the model's context holds 7" });
    expect(seen).toHaveLength(1); // the environment's reply only: the teacher's request was never sent
  });
});
