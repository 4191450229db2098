// The names a loaded model goes by: the label the page shows (a hub id, a folder's name, or a word on what the
// demo and tiny models are) and the id written where another tool must find the model again: PEFT's
// base_model_name_or_path and the ONNX export's config. A label with a description in it is never such an id.
import { DEMO_MODELS, type TestbedKind } from '../genpi/demo-models';

/** A demo model's label: its id and what it does. */
export function demoModelLabel(name: TestbedKind): string {
  return `${DEMO_MODELS[name].id} (${DEMO_MODELS[name].does})`;
}

const UNTRAINED = ' (untrained)';

/** The tiny random model's label: its id, marked as untrained. */
export function tinyModelLabel(arch: string): string {
  return `tiny-random-${arch}${UNTRAINED}`;
}

/**
 * The id for exports from a model's label: the hub id or the folder's name as they are; the demo's and the tiny
 * model's labels without their description. Adapters saved before this keep their label, so it works on those too.
 */
export function modelIdOf(label: string): string {
  for (const name of Object.keys(DEMO_MODELS) as TestbedKind[]) if (label === demoModelLabel(name)) return DEMO_MODELS[name].id;
  if (/^tiny-random-[a-z0-9]+ \(untrained\)$/.test(label)) return label.slice(0, -UNTRAINED.length);
  return label;
}
