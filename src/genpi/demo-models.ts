// The testbed models the app ships (public/<dir>), declared once and keyed by the kind of testbed they are: the demo
// model follows the single rule its system prompt states (src/genpi/testbed.ts), the compound one a persona,
// policies and a rule per kind of message (src/genpi/compound-testbed.ts). `id` is the name in the CLI's and
// exports' terms; `does` ends its label.
export const DEMO_MODELS = {
  single: { id: 'genpi-demo', dir: 'demo-model', does: 'follows rules in its system prompt' },
  compound: { id: 'genpi-compound', dir: 'compound-model', does: 'follows a rule per kind of message' },
} as const;
export type TestbedKind = keyof typeof DEMO_MODELS;
