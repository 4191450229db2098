// One index over a model's weights, whether in model.safetensors or in shards listed by
// model.safetensors.index.json: every tensor's file, dtype, shape and byte range, checked for consistency up front.
import { toFloat32, type DType } from './dtype';
import { MissingFileError, ModelError } from './errors';
import { checkTensorValues } from './finite';
import { readSafetensorsHeader, type SafetensorsFile, type TensorBytes, type TensorF32 } from './safetensors';
import { readJson, type ByteSource, type FileSet } from './source';

export const SINGLE_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';

/** Where one tensor lives; begin/end are absolute byte offsets into `source`. */
export interface WeightTensor {
  source: ByteSource;
  /** The file name within the model folder (a shard or model.safetensors). */
  file: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

export interface WeightIndex {
  /** The model folder's name, for messages. */
  name: string;
  tensors: Map<string, WeightTensor>;
  /** Sum of elements over every tensor. */
  parameterCount: number;
  /** The dtypes present, sorted. */
  dtypes: DType[];
  read(name: string): Promise<TensorBytes>;
  readF32(name: string): Promise<TensorF32>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses weight_map (tensor -> shard file), refusing shard names that could leave the folder. */
function parseWeightMap(file: string, json: unknown): Map<string, string> {
  if (!isObject(json)) throw new ModelError(file, 'must be a JSON object with a weight_map');
  const wm = json.weight_map;
  if (!isObject(wm)) throw new ModelError(file, 'must be an object of tensor name -> shard file', 'weight_map');
  const map = new Map<string, string>();
  for (const [name, shard] of Object.entries(wm)) {
    if (typeof shard !== 'string' || shard === '') {
      throw new ModelError(file, `shard must be a file name, got ${JSON.stringify(shard)}`, `weight_map.${name}`);
    }
    if (shard.startsWith('/') || shard.includes('\\') || shard.split('/').includes('..')) {
      throw new ModelError(file, `shard ${JSON.stringify(shard)} must be a file inside the model folder`, `weight_map.${name}`);
    }
    map.set(name, shard);
  }
  if (map.size === 0) throw new ModelError(file, 'lists no tensors', 'weight_map');
  return map;
}

interface OpenedFile {
  file: string;
  source: ByteSource;
  header: SafetensorsFile;
}

async function openShard(files: FileSet, file: string, hint: string): Promise<OpenedFile> {
  const source = await files.open(file);
  if (!source) throw new MissingFileError(`${files.name}/${file}`, hint);
  return { file, source, header: await readSafetensorsHeader(source) };
}

/** Opens every shard named by the index once and checks the map against the shards' own headers. */
async function openSharded(files: FileSet, indexSrc: ByteSource): Promise<Map<string, WeightTensor>> {
  const weightMap = parseWeightMap(indexSrc.name, await readJson(indexSrc));
  const shardNames = [...new Set(weightMap.values())];
  const hint = `is missing (${INDEX_FILE} names it as a shard)`;
  const shards = new Map<string, OpenedFile>();
  for (const s of await Promise.all(shardNames.map((f) => openShard(files, f, hint)))) shards.set(s.file, s);

  const tensors = new Map<string, WeightTensor>();
  for (const [name, shardFile] of weightMap) {
    const shard = shards.get(shardFile)!;
    const t = shard.header.tensors.get(name);
    if (!t) throw new ModelError(shard.source.name, `${INDEX_FILE} assigns this tensor to this shard, but the shard lacks it`, name);
    tensors.set(name, { source: shard.source, file: shardFile, ...t });
  }
  for (const shard of shards.values()) {
    for (const name of shard.header.tensors.keys()) {
      const assigned = weightMap.get(name);
      if (assigned !== shard.file) {
        const why = assigned === undefined ? `is not listed in ${INDEX_FILE}` : `${INDEX_FILE} assigns it to ${assigned} instead`;
        throw new ModelError(shard.source.name, `tensor in this shard ${why}`, name);
      }
    }
  }
  return tensors;
}

async function openSingle(files: FileSet): Promise<Map<string, WeightTensor>> {
  const { file, source, header } = await openShard(
    files,
    SINGLE_FILE,
    `is missing: a model folder needs ${SINGLE_FILE} or ${INDEX_FILE} with its shards`,
  );
  const tensors = new Map<string, WeightTensor>();
  for (const [name, t] of header.tensors) tensors.set(name, { source, file, ...t });
  return tensors;
}

/** Opens a model's weights: the shards of model.safetensors.index.json when present, else model.safetensors. */
export async function openWeights(files: FileSet): Promise<WeightIndex> {
  const indexSrc = await files.open(INDEX_FILE);
  const tensors = indexSrc ? await openSharded(files, indexSrc) : await openSingle(files);
  return makeIndex(files.name, tensors);
}

function makeIndex(name: string, tensors: Map<string, WeightTensor>): WeightIndex {
  let parameterCount = 0;
  const dtypes = new Set<DType>();
  for (const t of tensors.values()) {
    parameterCount += t.shape.reduce((a, b) => a * b, 1);
    dtypes.add(t.dtype);
  }
  const get = (tensor: string): WeightTensor => {
    const t = tensors.get(tensor);
    if (!t) throw new ModelError(name, 'no such tensor in the weights', tensor);
    return t;
  };
  const read = async (tensor: string): Promise<TensorBytes> => {
    const t = get(tensor);
    return { dtype: t.dtype, shape: [...t.shape], bytes: await t.source.read(t.begin, t.end - t.begin) };
  };
  return {
    name,
    tensors,
    parameterCount,
    dtypes: [...dtypes].sort(),
    read,
    /** Values as f32, refused (naming the file and tensor) when any is NaN or infinite. */
    async readF32(tensor: string): Promise<TensorF32> {
      const t = await read(tensor);
      const data = toFloat32(t.bytes, t.dtype);
      checkTensorValues(data, get(tensor).source.name, tensor, t.shape);
      return { shape: t.shape, data };
    },
  };
}
