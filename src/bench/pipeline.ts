// Wall time of the whole GenPI job a user waits for, synthesize then train, through the same EngineSession the
// app's worker runs: pseudo inputs (from seed inputs here, so the count is exact), AS-IS/TO-BE answers, reasons,
// role-play, then the joint-loss training run. Generation lengths are part of the result: they set the cost.
import type { Kernels } from '../gpu/kernel';
import { DEFAULT_ENVIRONMENT } from '../genpi/roleplay';
import { DEFAULT_LOSS } from '../train/variants';
import type { SynthesisSettings, TrainSettings } from '../worker/api';
import { EngineSession } from '../worker/session';

const PROMPT = `You are an OS shell agent. Answer every request with one shell command after "Act: bash", or "Act: finish" when the task is done.
<USER>: list the files in my home folder
<AGENT>: Act: bash ls ~
<USER>: how much disk space is free?
<AGENT>: Act: bash df -h`;

const VERBS = ['list', 'count', 'find', 'show', 'sort', 'compress', 'copy', 'delete'];
const THINGS = ['files', 'logs', 'users', 'processes', 'open ports', 'cron jobs', 'env vars', 'hidden files'];

export interface PipelineBench {
  model: string;
  samples: number;
  records: number;
  maxNewTokens: number;
  reasonTokens: number;
  epochs: number;
  steps: number;
  trainTokens: number;
  synthesizeSeconds: number;
  trainSeconds: number;
  totalSeconds: number;
}

export async function benchPipeline(kernels: Kernels, name: string, files: Map<string, Uint8Array>,
  o: { samples: number; maxNewTokens: number; reasonTokens: number; epochs: number }): Promise<PipelineBench> {
  const session = new EngineSession(kernels);
  try {
    await session.loadModel({ kind: 'folder', name, files: [...files].map(([path, bytes]) => ({ path: `${name}/${path}`, file: new File([bytes as BlobPart], path) })) });
    const seedInputs = VERBS.flatMap((v) => THINGS.map((t) => `${v} ${t}`)).slice(0, o.samples);
    const synth: SynthesisSettings = {
      samples: o.samples, heldout: 0, maxTurns: 1, seed: 0, maxNewTokens: o.maxNewTokens, reasonTokens: o.reasonTokens,
      seedInputs, environment: DEFAULT_ENVIRONMENT, actionPattern: '',
    };
    const t0 = performance.now();
    const { records } = await session.synthesize('bench-synth', PROMPT, synth);
    const t1 = performance.now();
    const train: TrainSettings = {
      lora: { rank: 16, alpha: 32, dropout: 0.05, targets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] }, loss: DEFAULT_LOSS,
      epochs: o.epochs, batchSize: 32, lr: 1e-4, warmupFraction: 0.03, seed: 0, checkpointEvery: 0, maxTokensPerMicroBatch: 2048,
    };
    let trainTokens = 0;
    const r = await session.train('bench-train', PROMPT, records, train, { onStep: (s) => (trainTokens += s.tokens) });
    const t2 = performance.now();
    return {
      model: name, samples: o.samples, records: records.length, maxNewTokens: o.maxNewTokens, reasonTokens: o.reasonTokens,
      epochs: o.epochs, steps: r.steps, trainTokens, synthesizeSeconds: (t1 - t0) / 1000, trainSeconds: (t2 - t1) / 1000, totalSeconds: (t2 - t0) / 1000,
    };
  } finally {
    session.unload();
  }
}
