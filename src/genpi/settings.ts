// The settings of a synthesis and of a training run, as the worker receives them and the store keeps them with
// each dataset and run. A module of their own, below both, so the store does not import the worker's API.
import type { LoraSpec } from '../llama/lora';
import type { LossSettings } from '../train/variants';
import type { OptionalPart } from '../train/sequences';
import type { Environment } from './roleplay';

export interface SynthesisSettings {
  samples: number;
  heldout: number;
  maxTurns: number;
  seed: number;
  maxNewTokens: number;
  /** Tokens per reason (docs/METHOD.md: at most 512). */
  reasonTokens: number;
  seedInputs: string[];
  environment: Environment;
  /** A regular expression source (multiline) for a valid final action; '' for none. */
  actionPattern: string;
  /** Most user turns a training conversation is continued to with other inputs [3]; 1 is off (genpi/chain-turns.ts). */
  chainTurns?: number;
  /** Nucleus of the user-turn sampling; absent: DEFAULT_SYNTHESIS.userTurnTopP (datasets saved before it existed). */
  userTurnTopP?: number;
  /** min-p of the user-turn sampling; absent: DEFAULT_SYNTHESIS.userTurnMinP. */
  userTurnMinP?: number;
  /** Inputs gathered per input kept (input-spread.ts); absent: DEFAULT_SYNTHESIS.inputPool (records drawn before pools say none). */
  inputPool?: number;
  /** Retry budget: rounds of pseudo-input requests [max(4, N/4)]; 0 uses the seed inputs only. */
  maxRounds?: number;
  /** AS-IS answers and reasons, which only prompt-generation variants read; absent or empty: none made. */
  parts?: OptionalPart[];
}

export interface TrainSettings {
  lora: LoraSpec;
  /** Weights and variant; the distilling variants (joint_kl, kl_only, on_policy) also read klWeight and klTopK. */
  loss: LossSettings;
  /**
   * null is "auto": sized to the training records (src/train/run-size.ts), the other one set or not. Runs saved
   * before "auto" existed hold numbers and keep meaning exactly those.
   */
  epochs: number | null;
  /** Examples per optimizer step (the effective batch); null is "auto", as for epochs. */
  batchSize: number | null;
  lr: number;
  warmupFraction: number;
  seed: number;
  /** Optimizer steps between checkpoints (a reload loses at most this many). */
  checkpointEvery: number;
  maxTokensPerMicroBatch: number;
  /**
   * Stop once the held-out score stops improving, keeping the best step (train/early-stop.ts); absent is on. Epochs
   * set (not auto) ask for a fixed length, so they turn it off.
   */
  earlyStop?: boolean;
}
