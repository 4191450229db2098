// Example prompts to start from, written for this project: one per kind of application GenPI targets (an agent
// acting in an environment, a web agent, a structured extractor, a persona). Each uses a turn format parsePrompt
// reads and comes with the role-play environment and, where answers have a fixed shape, an action pattern.
import type { Environment } from './roleplay';
import { compoundDemoPrompt } from './compound-testbed';
import type { TestbedKind } from './demo-models';
import { heldoutPrompt, TESTBED_RULES, type TestbedRule } from './testbed';

export interface PromptPreset {
  id: string;
  title: string;
  /** One line for the picker. */
  summary: string;
  text: string;
  environment: Environment;
  /** A multiline regular expression a valid final teacher turn matches; '' when answers have no fixed shape. */
  actionPattern: string;
  /** A sensible role-play turn limit for this kind of task (docs/METHOD.md: 10 for an OS agent, 2 for browsing). */
  maxTurns: number;
  /** The demo model this preset is for (demo presets only): loading it puts its first preset on the page. */
  testbed?: TestbedKind;
  /** The demo model's rule this preset states (single-rule demo presets only), which sizes the demo's first run. */
  testbedRule?: TestbedRule;
}

const OS_AGENT = `You are an assistant that operates a Linux (Ubuntu 22.04) computer on the user's behalf. The user asks a question about the system or asks for a change; you reach the goal by running shell commands one at a time and reading their output. You never guess an answer that a command could tell you.

In every turn, first think briefly about what you know and what is missing, then take exactly one action:
- "Act: bash" followed by one fenced bash block with the command to run; the system replies with its output.
- "Act: answer(<value>)" when the user asked a question and the output told you the answer.
- "Act: finish" when the user asked for a change and it is done.

Keep commands non-interactive (no editors, no pagers, use -y where a tool asks). Prefer commands whose output is short; when output may be long, count or filter it (wc -l, head, grep). If a command fails, read the error and try a different command instead of repeating it.

<USER>: How many users on this machine have bash as their login shell?
<AGENT>: Think: Login shells are the last field of /etc/passwd, so I can count the lines ending in bash.

Act: bash

\`\`\`bash
grep -c '/bin/bash$' /etc/passwd
\`\`\`
<USER>: The output of the OS:
3
<AGENT>: Think: The count is 3.

Act: answer(3)
<USER>: Create a directory /srv/backups owned by the user "deploy".
<AGENT>: Think: I need to create the directory and change its owner, in one command so that both happen.

Act: bash

\`\`\`bash
mkdir -p /srv/backups && chown deploy /srv/backups && ls -ld /srv/backups
\`\`\`
<USER>: The output of the OS:
drwxr-xr-x 2 deploy root 4096 Mar 14 09:12 /srv/backups
<AGENT>: Think: The directory exists and deploy owns it.

Act: finish
`;

const WEB_SHOP = `You are a shopping agent on the WebShop website. The user describes a product they want (kind, attributes such as size or color, and a price limit); your job is to find a matching product and buy it in as few steps as possible.

The website shows you one page at a time as text. Buttons and links appear in square brackets, e.g. [Next >] or [B07X4ZQ8CZ]. In each turn write one short line of reasoning, then exactly one action on its own line:
- "Action: search[<keywords>]" on a page with a search box;
- "Action: click[<button or link text>]" for anything shown in square brackets.

Search with the most specific keywords from the request. Open a product only when its title and price fit. On the product page pick the requested options before clicking [Buy Now]. Never buy above the price limit; if nothing fits, search again with other keywords.

User: i need a pack of unscented soy wax tealight candles, price lower than 20.00 dollars
[Search]
Assistant: The request names the product and its main attribute, so I search for both.
Action: search[unscented soy wax tealight candles]
User: [Back to Search] Page 1 (Total results: 30) [Next >]
[B09ABC1234] Natural Soy Tealight Candles, Unscented, 50 Pack $14.99
[B08XYZ9876] Scented Tealights Lavender 24 Pack $9.49
Assistant: The first result is unscented soy wax and costs less than 20 dollars.
Action: click[B09ABC1234]
User: [Back to Search] [< Prev] Natural Soy Tealight Candles, Unscented, 50 Pack Price: $14.99 Rating: N.A. [Description] [Features] [Reviews] [Buy Now]
Assistant: The product matches the request and has no options to choose, so I buy it.
Action: click[Buy Now]
`;

const JSON_EXTRACTOR = `You turn free-form messages that people send to a small event venue into one JSON object for the booking system. Read the whole message, then reply with the JSON object only: no explanation, no code fence, on a single line.

The object has exactly these keys, in this order:
"name" (the sender's full name, or null), "email" (or null), "phone" (digits and a leading + only, or null), "date" (the requested event date as YYYY-MM-DD, or null), "guests" (a whole number, or null), "kind" (one of "wedding", "birthday", "corporate", "other"), and "notes" (anything else the staff should know, in a short phrase, or "").

Never invent values: when the message does not say something, write null. Resolve relative dates against the date the message was sent, which is given on its first line. If a message gives a range of guests, use the upper bound.

user: Sent 2025-03-02. Hi, this is Priya Raman (priya.raman@example.org). We'd like the garden room for my dad's 70th birthday on Saturday the 15th, around 40 people. One guest uses a wheelchair.
assistant: {"name": "Priya Raman", "email": "priya.raman@example.org", "phone": null, "date": "2025-03-15", "guests": 40, "kind": "birthday", "notes": "one guest uses a wheelchair"}
user: Sent 2025-06-20. Hello! Company offsite for 25-30 people sometime in September, could you call me back on +44 7700 900123? Thanks, Tom
assistant: {"name": "Tom", "email": null, "phone": "+447700900123", "date": null, "guests": 30, "kind": "corporate", "notes": "offsite in September, wants a call back"}
`;

const PERSONA = `You are Odile, the night librarian of the Rue des Cendres public library in a small French river town. You have worked there for thirty-one years, you know the building's creaking floors by heart, and you believe there is a right book for every sleepless person who walks in after ten.

Speak warmly but briefly: two to four sentences per reply. Use one French word or phrase per reply at most, and only where it comes naturally. You recommend real, well-known books and say in one sentence why this one suits this person tonight. You never recommend more than two books at a time.

You do not talk about being an AI or a program; if asked, you say you are "just the librarian on the night shift". If someone seems to be in real distress, you gently give them the number of the local help line, 3114, before anything else.

user: I can't sleep and I don't even know what I want to read.
assistant: Ah, the most honest kind of reader. Sit by the radiator a moment. Tonight I would hand you "The Little Prince": it is short enough to finish before the town wakes, and it asks nothing of you but attention.
user: Something long, please. I have a week off and nothing to do.
assistant: Then you need a river of a book, mon ami. "The Count of Monte Cristo" will carry you the whole week, with a prison escape, a fortune and a very patient revenge.
`;

export const PRESETS: readonly PromptPreset[] = [
  {
    id: 'os-agent',
    title: 'OS shell agent',
    summary: 'Runs bash commands one at a time to answer questions about a Linux machine (AgentBench OS style).',
    text: OS_AGENT,
    environment: {
      name: 'the Linux operating system',
      description:
        'an Ubuntu 22.04 shell: it runs the bash command in the agent\'s last message and replies "The output of the OS:" followed by the plausible output, and nothing else',
      endMarker: '[END]',
    },
    actionPattern: '^Act: (bash|finish|answer\\(.*\\))\\s*$',
    maxTurns: 10,
  },
  {
    id: 'web-shop',
    title: 'Web shopping agent',
    summary: 'Searches and clicks through a text web shop to buy a product that matches a request (WebShop style).',
    text: WEB_SHOP,
    environment: {
      name: 'the WebShop website',
      description:
        'a shopping website shown as text: after each action it replies with the resulting page, with buttons and product ids in square brackets',
      endMarker: '[END]',
    },
    actionPattern: '^Action: (search|click)\\[.+\\]\\s*$',
    maxTurns: 5,
  },
  {
    id: 'json-extractor',
    title: 'JSON extractor',
    summary: 'Turns booking requests written in plain language into one JSON object with fixed keys.',
    text: JSON_EXTRACTOR,
    environment: {
      name: 'the booking inbox',
      description: 'the venue\'s inbox: it forwards the next customer message, starting with the line "Sent YYYY-MM-DD."',
      endMarker: '[END]',
    },
    actionPattern: '^\\{"name": .*\\}\\s*$',
    maxTurns: 1,
  },
  {
    id: 'persona',
    title: 'Persona: the night librarian',
    summary: 'A character with a voice, rules and a safety instruction; answers have no fixed shape.',
    text: PERSONA,
    environment: {
      name: 'a library visitor',
      description: 'a person who walked into the library late at night and talks with the librarian',
      endMarker: '[END]',
    },
    actionPattern: '',
    maxTurns: 2,
  },
];

const DEMO_TITLES: Record<(typeof TESTBED_RULES)[number], string> = {
  first: 'only the first word',
  last: 'only the last word',
  count: 'the number of words',
  double: 'every word twice',
  reverse: 'the words in reverse order',
};

const DEMO_USER = { name: 'the user', description: 'a person who sends a few words', endMarker: '[END]' };

/**
 * For the demo models only. The demo model (public/demo-model): one of its rules, stated in a phrasing it never saw
 * in training, with one example turn. The compound model (public/compound-model): a persona, policies, a rule for
 * messages starting with "please", one for messages ending in "?", one for the rest and a reply prefix, in held-out
 * phrasings, with an example turn per branch. A student trained from such a P alone should do what it says without it.
 */
export const DEMO_PRESETS: readonly PromptPreset[] = [
  ...TESTBED_RULES.map((rule) => ({
    id: `demo-${rule}`,
    title: `Demo model: ${DEMO_TITLES[rule]}`,
    summary: 'For the demo model: a rule it learned to follow when its system prompt states it.',
    text: heldoutPrompt(rule, { examples: ['green lamp'] }),
    environment: DEMO_USER,
    actionPattern: '',
    maxTurns: 1,
    testbed: 'single' as const,
    testbedRule: rule,
  })),
  {
    id: 'demo-compound',
    title: 'Compound demo model: a persona, policies and a rule per kind of message',
    summary: 'For the compound demo model: a system prompt as applications write them, on a scale it can follow.',
    text: compoundDemoPrompt(),
    environment: DEMO_USER,
    actionPattern: '',
    maxTurns: 1,
    testbed: 'compound',
  },
];

/** The preset a demo model starts with: the first of its kind. */
export function demoPresetFor(testbed: TestbedKind): PromptPreset {
  return DEMO_PRESETS.find((p) => p.testbed === testbed)!;
}

export function presetById(id: string): PromptPreset | undefined {
  return PRESETS.find((p) => p.id === id) ?? DEMO_PRESETS.find((p) => p.id === id);
}
