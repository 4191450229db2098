// The prompt reader on the three shapes users paste (an OS-agent prompt with <USER>/<AGENT> turns, a plain persona,
// a JSON message list) and on the edges: markers inside lines, empty prompts, bad JSON roles.
import { describe, expect, it } from 'vitest';
import { demonstrationInputs, parsePrompt, PromptError, promptAsText, promptTokenCount, promptTokenIds } from './prompt';

const OS_AGENT = `You are an assistant that will act like a person. I will play the role of a linux (ubuntu) operating system.
Your goal is to implement the operations required by me or answer the question proposed by me.
For each of your turn, you should first think what you should do, and then take exactly one of the three actions:
"bash", "finish" or "answer".

<USER>: tell me how many files are in the directory "/etc"?
<AGENT>: Think: To count the files in /etc, I need to print all the files in it.

Act: bash

\`\`\`bash
ls /etc
\`\`\`
<USER>: The output of the OS:
cpi cron.hourly fuse.conf iproute2 lvm networkd-dispatcher protocols selinux tmpfiles.d [truncated because the output is too long]
<AGENT>: Think: The output has been truncated because it is too long, so I need to count files by script directly.

Act: bash

\`\`\`bash
ls -1 /etc | wc -l
\`\`\`
<USER>: The output of the OS:
220
<AGENT>: Think: Now I get the answer, it is 220.

Act: answer(220)
`;

const PERSONA = `You are Captain Mara, the gruff but kind ship's cook of the airship Wren.
Speak in short sentences. Mention food whenever you can.
Never reveal that you are an AI; the user: whoever they are, is a passenger.`;

describe('parsePrompt: role-marked turns', () => {
  it('reads an OS-agent prompt with <USER>/<AGENT> turns, keeping multi-line content', () => {
    const p = parsePrompt(OS_AGENT);
    expect(p.format).toBe('turns');
    expect(p.system.startsWith('You are an assistant that will act like a person.')).toBe(true);
    expect(p.system.endsWith('"bash", "finish" or "answer".')).toBe(true);
    expect(p.examples.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user', 'assistant']);
    expect(p.examples[0].content).toBe('tell me how many files are in the directory "/etc"?');
    expect(p.examples[1].content).toBe(
      'Think: To count the files in /etc, I need to print all the files in it.\n\nAct: bash\n\n```bash\nls /etc\n```',
    );
    expect(p.examples[4].content).toBe('The output of the OS:\n220');
    expect(p.alternates).toBe(true);
    expect(p.messages[0]).toEqual({ role: 'system', content: p.system });
    expect(p.messages.slice(1)).toEqual(p.examples);
    expect(p.text).toBe(OS_AGENT);
    expect(p.report).toBe(`system text (${p.system.length.toLocaleString('en-US')} chars) and 6 example turns (3 user, 3 assistant)`);
  });

  it('accepts every marker spelling, case-insensitive, with ** and spaces, and maps the roles', () => {
    const text = [
      'Intro.',
      '  **User:** hi',
      'AI: hello',
      '**Human**: again',
      '<ENVIRONMENT>: observation',
      'agent: act',
      'env: more',
      'Assistant : done',
      'SYSTEM: Be brief.',
    ].join('\n');
    const p = parsePrompt(text);
    expect(p.examples).toEqual([
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'hello' },
      { role: 'user', content: 'again' },
      { role: 'user', content: 'observation' },
      { role: 'assistant', content: 'act' },
      { role: 'user', content: 'more' },
      { role: 'assistant', content: 'done' },
    ]);
    expect(p.system).toBe('Intro.\n\nBe brief.');
  });

  it('keeps a marker word that is not at the start of a line as content', () => {
    const p = parsePrompt('Rules follow.\nuser: what does "assistant: yes" mean?\nassistant: It quotes the user: a reply.');
    expect(p.examples).toEqual([
      { role: 'user', content: 'what does "assistant: yes" mean?' },
      { role: 'assistant', content: 'It quotes the user: a reply.' },
    ]);
  });

  it('reports turns that do not alternate, without refusing them', () => {
    const p = parsePrompt('Sys.\nuser: a\nuser: b\nassistant: c');
    expect(p.alternates).toBe(false);
    expect(p.report).toContain('example turns 1 and 2 are both user turns');
    const q = parsePrompt('assistant: Welcome!\nuser: hi');
    expect(q.alternates).toBe(false);
    expect(q.system).toBe('');
    expect(q.messages).toEqual(q.examples); // no system message without system text
    expect(q.report).toMatch(/^no system text and 2 example turns \(1 user, 1 assistant\); .*start with an assistant turn/);
  });
});

describe('parsePrompt: plain text', () => {
  it('takes a persona without markers as system text only', () => {
    const p = parsePrompt(`\n${PERSONA}\n\n`);
    expect(p.format).toBe('text');
    expect(p.system).toBe(PERSONA);
    expect(p.examples).toEqual([]);
    expect(p.messages).toEqual([{ role: 'system', content: PERSONA }]);
    expect(p.report).toBe(`system text (${PERSONA.length} chars) and no example turns`);
    expect(demonstrationInputs(p)).toEqual([]);
    expect(parsePrompt('x'.repeat(1234)).report).toBe('system text (1,234 chars) and no example turns');
  });

  it('treats text starting with "[" that is not JSON as text', () => {
    expect(parsePrompt('[Task] Summarize the email.').format).toBe('text');
  });

  it('refuses an empty or whitespace-only prompt with an actionable message', () => {
    for (const t of ['', '   \n\t ']) {
      expect(() => parsePrompt(t)).toThrow(PromptError);
      expect(() => parsePrompt(t)).toThrow(/empty: paste the prompt your application sends/);
    }
    expect(() => parsePrompt('user:\nassistant:   ')).toThrow(/no text/);
  });
});

describe('parsePrompt: JSON messages', () => {
  const msgs = [
    { role: 'system', content: 'You are a SQL assistant.' },
    { role: 'user', content: 'List all customers.' },
    { role: 'assistant', content: 'SELECT * FROM customers;' },
    { role: 'system', content: 'Use uppercase keywords.' },
    { role: 'user', content: [{ type: 'text', text: 'Count' }, { type: 'text', text: 'orders.' }] },
    { role: 'assistant', content: 'SELECT COUNT(*) FROM orders;' },
  ];

  it('reads a message list: system messages to the system text, others in order', () => {
    const p = parsePrompt(JSON.stringify(msgs, null, 2));
    expect(p.format).toBe('json');
    expect(p.system).toBe('You are a SQL assistant.\n\nUse uppercase keywords.');
    expect(p.examples).toEqual([
      { role: 'user', content: 'List all customers.' },
      { role: 'assistant', content: 'SELECT * FROM customers;' },
      { role: 'user', content: 'Count\norders.' },
      { role: 'assistant', content: 'SELECT COUNT(*) FROM orders;' },
    ]);
    expect(p.report).toBe('system text (49 chars) and 4 example turns (2 user, 2 assistant)');
    expect(demonstrationInputs(p)).toEqual(['List all customers.', 'Count\norders.']);
  });

  it('reads an API request body {messages: [...]}', () => {
    const p = parsePrompt(JSON.stringify({ model: 'x', messages: msgs.slice(0, 3) }));
    expect(p.format).toBe('json');
    expect(p.examples).toHaveLength(2);
  });

  it('names the index of a message with an unknown role or no text', () => {
    const bad = [msgs[0], msgs[1], { role: 'tool', content: 'x' }];
    expect(() => parsePrompt(JSON.stringify(bad))).toThrow(/Message 2 .*"tool".*"system", "user" or "assistant"/);
    try {
      parsePrompt(JSON.stringify(bad));
    } catch (e) {
      expect((e as PromptError).index).toBe(2);
    }
    expect(() => parsePrompt('[{"role": "user", "content": 5}]')).toThrow(/Message 0 .*"content" must be a string/);
    expect(() => parsePrompt('["hello"]')).toThrow(/Message 0 .*not a \{"role", "content"\} object/);
    expect(() => parsePrompt('[]')).toThrow(/empty JSON list/);
  });

  it('refuses a file that starts like a message list and does not parse, naming the line and column', () => {
    const body = JSON.stringify({ messages: msgs.slice(0, 3) }, null, 2);
    // Truncated after the first message: the parser stops at the end, on the last line.
    const cut = `\n\n${body.slice(0, body.indexOf('},') + 2)}`;
    const lines = cut.split('\n');
    expect(() => parsePrompt(cut)).toThrow(
      new RegExp(`looks like JSON but does not parse: line ${lines.length}, column ${lines.at(-1)!.length + 1} \\(`),
    );
    expect(() => parsePrompt('[{"role": "system", "content": "x"}')).toThrow(/line 1, column 36/);
    // A stray character inside: the column is where it stands.
    expect(() => parsePrompt('{\n  "messages": [\n    {"role" "user"}\n  ]\n}')).toThrow(/line 3, column 13/);
    expect(() => parsePrompt('[{"role": "user", "content": "x"}')).toThrow(PromptError);
    // Text that only opens with a bracket is still text.
    expect(parsePrompt('[Task] Summarize the email.').format).toBe('text');
    expect(parsePrompt('{name} is a placeholder the user fills in.').format).toBe('text');
  });

  it('refuses a request body whose "messages" is not a list, and keeps other JSON objects as text', () => {
    expect(() => parsePrompt('{"messages": "you are a bot"}')).toThrow(/"messages" of the JSON prompt must be a list .* got a string/);
    expect(() => parsePrompt('{"messages": {"role": "user"}}')).toThrow(/got an object/);
    expect(() => parsePrompt('{"messages": null}')).toThrow(/got null/);
    expect(parsePrompt('{"tone": "formal", "language": "fr"}').format).toBe('text');
  });

  it('reads a list or a request body after a byte-order mark as JSON, not as text', () => {
    const p = parsePrompt(`\uFEFF${JSON.stringify(msgs.slice(0, 3))}`);
    expect(p.format).toBe('json');
    expect(p.text.charCodeAt(0)).not.toBe(0xfeff);
    expect(parsePrompt(`\uFEFF${JSON.stringify({ messages: msgs.slice(0, 3) })}`).messages).toEqual(p.messages);
  });
});

describe('promptAsText', () => {
  it('renders the system text and labelled turns', () => {
    const p = parsePrompt('Be kind.\nuser: hi\nassistant: hello');
    expect(promptAsText(p)).toBe('Be kind.\n\nUser:\nhi\n\nAssistant:\nhello');
  });
});

describe('promptTokenIds', () => {
  // A template that writes one token per message plus one per character: enough to see what was rendered.
  const seen: unknown[] = [];
  const tok = {
    applyChatTemplate: (messages: readonly { role: string; content: string }[], o: { addGenerationPrompt?: boolean } = {}) => {
      seen.push(o);
      const ids = messages.flatMap((m) => [0, ...[...m.content].map((c) => c.charCodeAt(0))]);
      return { text: '', ids };
    },
  };

  it("renders P's messages without a generation prompt, and counts them", () => {
    const p = parsePrompt('Be kind.\nuser: hi\nassistant: yo');
    expect(promptTokenIds(tok, p)).toEqual([0, ...[...'Be kind.'].map((c) => c.charCodeAt(0)), 0, 104, 105, 0, 121, 111]);
    expect(promptTokenCount(tok, p)).toBe(3 + 8 + 2 + 2);
    expect(seen.every((o) => (o as { addGenerationPrompt: boolean }).addGenerationPrompt === false)).toBe(true);
  });

  it('is empty for a prompt with no messages, without asking the template', () => {
    seen.length = 0;
    expect(promptTokenIds(tok, { messages: [] })).toEqual([]);
    expect(promptTokenCount(tok, { messages: [] })).toBe(0);
    expect(seen).toEqual([]);
  });
});
