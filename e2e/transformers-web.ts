// transformers.js' web build and onnxruntime-web, served straight from node_modules to a test or bench page (never
// built into the app): the import map and environment a page needs, and the files behind them. The e2e test and
// the Chromium peer bench share it so both load transformers.js the way a web developer's page would.
import { readFile } from 'node:fs/promises';
import { join, normalize } from 'node:path';

/** The page's import map: transformers.js imports onnxruntime by bare name, and a page imports transformers.js so. */
export const IMPORT_MAP = `<script type="importmap">
{ "imports": { "@huggingface/transformers": "/tf/transformers.web.js", "onnxruntime-web/webgpu": "/ort/ort.webgpu.min.mjs", "onnxruntime-common": "/common.mjs" } }
</script>`;

/** onnxruntime-web's wasm from this server, as a site would serve it (transformers.js' default is a CDN). */
export const WASM_PATHS = "{ mjs: '/ort/ort-wasm-simd-threaded.asyncify.mjs', wasm: '/ort/ort-wasm-simd-threaded.asyncify.wasm' }";

/** Module code that loads transformers.js as `tf`, local models only, from `/models/NAME/`. */
export const LOAD_TRANSFORMERS = `
const tf = await import('/tf/transformers.web.js');
tf.env.allowLocalModels = true;
tf.env.allowRemoteModels = false;
tf.env.localModelPath = '/models/';
tf.env.backends.onnx.wasm.wasmPaths = ${WASM_PATHS};
`;

export const CONTENT_TYPES: Record<string, string> = {
  mjs: 'text/javascript', js: 'text/javascript', wasm: 'application/wasm', json: 'application/json', onnx: 'application/octet-stream', html: 'text/html',
};

export const contentType = (path: string) => CONTENT_TYPES[path.split('.').at(-1)!] ?? 'application/octet-stream';

/** The file for /tf/..., /ort/... or /common.mjs; undefined for any other path, null for a missing file. */
export async function transformersFile(path: string): Promise<Uint8Array | string | null | undefined> {
  // One onnxruntime for both: transformers.js makes its tensors with onnxruntime-common's Tensor, which must be the
  // class onnxruntime-web checks feeds against.
  if (path === '/common.mjs') return "export { Tensor } from '/ort/ort.webgpu.min.mjs';";
  const [, top, ...rest] = path.split('/');
  const dir = top === 'tf' ? 'node_modules/@huggingface/transformers/dist' : top === 'ort' ? 'node_modules/onnxruntime-web/dist' : null;
  if (!dir) return undefined;
  const file = normalize(rest.join('/'));
  if (file.startsWith('..')) return null;
  return readFile(join(dir, file)).catch(() => null);
}
