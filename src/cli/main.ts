// genpi: the engine's command line. Progress goes to stderr, results to stdout, errors as one line (fail.ts).
import { fail, UsageError } from './fail';

const HELP = `genpi — Generative Prompt Internalization on WebGPU

Usage:
  genpi make-tiny --out DIR [--arch llama|qwen2] [--seed N] [--dtype f32|f16|bf16]
      Write a tiny random model (untrained) in the Hugging Face layout.
  genpi info --model DIR
      Print one JSON object: architecture, dimensions, parameter count, dtype, and the GPU adapter.
  genpi logits --model DIR [--adapter DIR] --tokens 1,2,3 --out FILE
      Write float32 little-endian logits [T x V] for every position (adapter: a PEFT folder).
  genpi generate --model DIR [--adapter DIR] [--prompt FILE] (--input TEXT | --tokens 1,2,3)
         [--max-new-tokens N] [--temperature T] [--top-p P] [--top-k K] [--seed S] [--json]
      Generate: text mode applies the chat template (the prompt file, plain text or a JSON list of
      messages, as system text and example turns) and streams text; --json prints
      {"tokens": [prompt and generated ids], "text": "..."} as its last line.
  genpi grads --model DIR --adapter DIR --batch FILE.json --out FILE.safetensors
      Write the LoRA gradients of the joint loss on a batch
      ({"groups":[{"weight":w,"sequences":[{"input_ids":[...],"labels":[...]}]}]}, labels as in
      Hugging Face, -100 ignored) under PEFT's key names; print {"loss":..,"groups":[..]} last.

Set GENPI_F16=0 to keep f32 weights on a device that has shader-f16.

Options for every command:
  --debug    show the stack trace of an error
  --help     this text
`;

type Command = (argv: string[]) => Promise<void>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  'make-tiny': async () => (await import('./make-tiny')).makeTiny,
  info: async () => (await import('./info')).info,
  logits: async () => (await import('./logits')).logits,
  grads: async () => (await import('./grads')).grads,
  generate: async () => (await import('./generate')).generate,
};

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help' || rest.includes('--help')) {
    process.stdout.write(HELP);
    return;
  }
  const load = COMMANDS[name];
  if (!load) throw new UsageError(`unknown command "${name}" (commands: ${Object.keys(COMMANDS).join(', ')}; see genpi --help)`);
  await (await load())(rest);
}

const argv = process.argv.slice(2);
main(argv).then(
  // Dawn keeps the event loop alive after the device is gone; a finished command exits explicitly.
  () => process.exit(0),
  (e) => fail(e, argv.includes('--debug')),
);
