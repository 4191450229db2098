// genpi: the engine's command line. Progress goes to stderr, results to stdout, errors as one line (fail.ts).
import { VARIANT_NAMES } from '../train/variants';
import { fail, UsageError } from './fail';

const HELP = `genpi — Generative Prompt Internalization on WebGPU

Usage:
  genpi make-tiny --out DIR [--arch llama|qwen2|qwen3|gemma3] [--seed N] [--dtype f32|f16|bf16]
         [--qk-scale S] [--head-std S] [--merges N] [--force]
      Write a tiny random model (untrained) in the Hugging Face layout; --qk-scale near 0 makes attention
      near-uniform, --head-std sets how confident its answers are, --merges the tokenizer's BPE merges.
  genpi info --model DIR
      Print one JSON object: architecture, dimensions, parameter count, dtype, and the GPU adapter;
      "warnings" lists tokenizer files an export would refuse (ids past vocab_size, a template that fails).
  genpi logits --model DIR [--adapter DIR] --tokens 1,2,3 --out FILE
      Write float32 little-endian logits [T x V] for every position (adapter: a PEFT folder).
  genpi generate --model DIR [--adapter DIR] [--prompt FILE] (--input TEXT | --tokens 1,2,3)
         [--max-new-tokens N] [--temperature T] [--top-p P] [--top-k K] [--min-p M] [--seed S] [--json] [--[no-]thinking]
      Generate: text mode applies the chat template (the prompt file, plain text or a JSON list of
      messages, as system text and example turns) and streams text; --json prints
      {"tokens": [prompt and generated ids], "text": "..."} as its last line.
  genpi grads --model DIR --adapter DIR --batch FILE.json --out FILE.safetensors
      Write the LoRA gradients of the joint loss on a batch
      ({"groups":[{"weight":w,"sequences":[{"input_ids":[...],"labels":[...]}]}]}, labels as in
      Hugging Face, -100 ignored) under PEFT's key names; print {"loss":..,"groups":[..]} last.

  genpi synthesize --model DIR --prompt FILE --samples N --out FILE.jsonl [--max-turns K] [--seed S]
         [--heldout F] [--seed-inputs FILE] [--env-name NAME] [--env-description TEXT] [--end-marker M]
         [--action-pattern REGEX] [--max-new-tokens N] [--reason-tokens N] [--max-rounds N] [--with-reasons]
         [--chain-turns K] [--user-turn-top-p P] [--user-turn-min-p M] [--input-pool K] [--[no-]thinking]
      Synthesize training data from the prompt alone (pseudo inputs from the seed inputs, then sampled user
      turns and list requests; TO-BE answers, role-play); prints the quality figures as JSON last. The AS-IS
      answers and reasons only the prompt-generation variants read are written with --with-reasons (train
      writes them first when such a variant meets a dataset without them). It says up front how long P may
      be on the model; a request that does not fit the context is skipped and counted, not fatal. Half the
      training conversations are continued to 2..K user turns (--chain-turns, default 3; 1 is off) with other
      training inputs, each answered by the teacher with P, so the student learns P's rules on later turns too.
      --max-rounds is the retry budget for pseudo inputs (0: seed inputs only). --user-turn-top-p is the
      nucleus the user turns are sampled from (default 1, the whole distribution, so a branch keyed on a rare
      token such as a digit is reached; README, "The compound testbed"); 0.9 cuts the tail.
      --user-turn-min-p M (default 0, off) also drops tokens under M times the top one's probability.
      --input-pool K (1 to 4; default 1, off) gathers K times N unique inputs and keeps N so that each trait
      the pool holds (a digit, the closing mark, a common leading word, a length band) reaches a fifth of them
      where it can: more inputs for a rule keyed on a rare kind of message, no better retention so far
      (README, "The compound testbed"). Fewer
      records than asked is one "synthesize: wrote N of M" line on stderr; fewer than 8 training records (or
      than a smaller request asks for) is an error, and no file is written.
  genpi train --model DIR --data FILE.jsonl --out ADAPTER_DIR [--epochs E] [--rank R] [--alpha A] [--lr LR]
         [--sft-weight W] [--pg-weight W] [--targets q,k,v,o,gate,up,down] [--seed S] [--resume | --force]
         [--variant ${VARIANT_NAMES.join('|')}]
         [--kl-weight W] [--kl-top-k K] [--batch-size N]
         [--checkpoint-every N] [--dropout P] [--max-tokens N] [--memory-gb G] [--prompt FILE] [--dry-run]
         [--[no-]thinking] [--no-early-stop]
      Train a LoRA adapter; writes the PEFT folder, genpi_adapter.json and checkpoints; prints {steps,
      max_steps, stopped_early, best_step, best_heldout_kl, first_loss, last_loss, last_sft_loss,
      last_pg_loss, last_kl_loss} last. kl_only is logit distillation,
      KL(teacher with P || student) on the teacher's answers against its top-K (weight 1.0, top 32). The
      default, on_policy, adds each epoch the student's own sampled answers, trained on the reverse
      KL(student || teacher with P): the best measured on both testbeds, at two to three times kl_only's
      training time. joint is GenPI's joint SFT + PG loss (--sft-weight 0.7, --pg-weight 0.3), joint_kl both. --resume continues from the checkpoint in ADAPTER_DIR (same
      model, dataset and flags, or it refuses); --force trains a new adapter over an earlier one there. The folder
      is replaced whole at the end. Without
      --batch-size or --epochs they are sized to the training records (at least 120 steps where it can);
      the plan and its reason go on stderr before training. With held-out records, the run scores them
      every few steps (KL to the teacher's top-K) and stops once that stops improving, keeping the best
      step's adapter; the "stopping:" line states the rule. --epochs or --no-early-stop runs every step.
      --dry-run prints the plan (and the memory it needs) as JSON and stops there; it needs no --out.
  genpi export-onnx --model DIR [--adapter DIR] --out DIR [--dtype f32|f16] [--force]
      Write the model with the adapter merged (as PEFT merges it) as a folder transformers.js loads:
      config.json, generation_config.json, the tokenizer files and onnx/model.onnx (model_fp16.onnx for
      f16), with a KV cache under Optimum's names. --force replaces an earlier export, nothing else.
  genpi export-gguf --model DIR [--adapter DIR] --out FILE [--type f32|f16|q8_0] [--force]
  genpi export-gguf --model DIR --adapter DIR --lora-only --out FILE [--force]
      Write the model with the adapter merged (as export-onnx merges it) as one GGUF file for llama.cpp,
      Ollama and LM Studio: the architecture's metadata, the tokenizer and the chat template, matrices in
      --type (default f16; norms stay f32). --lora-only writes the adapter alone as a GGUF LoRA adapter for
      a base GGUF of the model it was trained on (llama.cpp's --lora, Ollama's ADAPTER); --model names that
      base and is checked against the adapter. An existing --out is replaced only with --force.
  genpi eval --model DIR --adapter DIR --prompt FILE --data FILE.jsonl [--json] [--action-pattern REGEX] [--[no-]thinking]
      [--turns N]
      Base, teacher and student on the held-out inputs: exact match, token F1, ROUGE-L, KL(teacher||student),
      KL(teacher||base), prompt tokens and prefill timings. On a testbed model (or with --rule), accuracy per
      branch of P and per turn of conversations of --turns user turns (default 3), retention as the worst branch.

A folder --out (make-tiny, train, export-onnx) is replaced whole, and only one that command wrote (with --force):
never a folder of other files, an input, or the current folder. One command at a time writes an output; one
stopped (Ctrl-C, SIGTERM) leaves the old output or the complete new one, and what a killed one left beside the
output is finished or removed by the next command that writes there.

--thinking lets a model with a thinking mode (Qwen3) think before it answers; it is off otherwise. A dataset
and an adapter record the mode they were made with, and train, eval and generate use it unless told otherwise
(--no-thinking turns it off where a recorded mode has it on).

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
  synthesize: async () => (await import('./synthesize')).synthesizeCommand,
  train: async () => (await import('./train')).trainCommand,
  eval: async () => (await import('./eval')).evalCommand,
  'export-onnx': async () => (await import('./export-onnx')).exportOnnxCommand,
  'export-gguf': async () => (await import('./export-gguf')).exportGgufCommand,
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
