// The worker's own typed errors. Comlink carries only an error's name and message to the page, so every class
// sets `name` as an own field and its message says what the user should do next.
import { DeviceLostError } from '../gpu/errors';

/** A call that needs the model on the GPU came before loadModel (or after the device was lost). */
export class NoModelError extends Error {
  override name = 'NoModelError';
  constructor(what: string) {
    super(`${what} needs a model on the GPU: load a model first.`);
  }
}

/** cancel(jobId) stopped the job; the page asked for it, so it shows no error. Training reports stopped instead. */
export class CancelledError extends Error {
  override name = 'CancelledError';
  constructor(jobId: string) {
    super(`job ${jobId} was cancelled`);
  }
}

/** A request whose settings cannot work as given (a bad pattern, a missing adapter, a duplicate job id). */
export class RequestError extends Error {
  override name = 'RequestError';
}

/**
 * The device was lost during a job. Same name as the GPU layer's error (the UI keys on it), but the advice fits
 * the app: the page keeps its prompt, data and checkpoints, and loading the model again opens a new device.
 */
export function deviceLostInJob(lost: DeviceLostError): DeviceLostError {
  const e = new DeviceLostError(lost.reason, '');
  // The first sentence names the reason and the driver's detail; the GPU layer's advice after it is for the CLI.
  const what = lost.message.includes('). ') ? `${lost.message.slice(0, lost.message.indexOf('). '))}).` : lost.message;
  e.message = `${what} Load the model again to get a new device; your prompt, data and checkpoints are kept, and ` +
    'training resumes from its last checkpoint.';
  return e;
}

/** The model would not fit the GPU memory the app may use; refused before any weight is uploaded. */
export class ModelTooLargeError extends Error {
  override name = 'ModelTooLargeError';
  constructor(what: string, needed: string, available: string) {
    super(`${what} needs ${needed}, but ${available}; pick a smaller model (nothing was loaded).`);
  }
}
