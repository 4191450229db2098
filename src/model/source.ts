// Random-access byte sources, so large weight files are read piece by piece (a header, then one tensor at a time)
// and never held twice in memory. A folder of model files is a FileSet: name -> source.
import { MissingFileError, ModelError } from './errors';

export interface ByteSource {
  /** For messages: a path, URL or file name. */
  readonly name: string;
  size(): Promise<number>;
  /** Exactly `length` bytes from `offset`; throws ModelError if the source is shorter. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** The files of one model (a local folder, a dropped directory, a hub cache). */
export interface FileSet {
  readonly name: string;
  /** The file, or null when it does not exist. */
  open(file: string): Promise<ByteSource | null>;
}

export async function readAll(src: ByteSource): Promise<Uint8Array> {
  return src.read(0, await src.size());
}

export async function readText(src: ByteSource): Promise<string> {
  return new TextDecoder().decode(await readAll(src));
}

/** Parses a JSON file, naming the file when it is not JSON. */
export async function readJson(src: ByteSource): Promise<unknown> {
  const text = await readText(src);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ModelError(src.name, `not valid JSON (${(e as Error).message})`);
  }
}

export async function openRequired(files: FileSet, file: string): Promise<ByteSource> {
  const src = await files.open(file);
  if (!src) throw new MissingFileError(`${files.name}/${file}`);
  return src;
}

function checkRange(name: string, size: number, offset: number, length: number): void {
  if (offset < 0 || length < 0 || offset + length > size) {
    throw new ModelError(name, `read of ${length} bytes at ${offset} is past the end (${size} bytes)`);
  }
}

/** Bytes already in memory (tests, generated files). */
export class BytesSource implements ByteSource {
  constructor(
    readonly name: string,
    private readonly bytes: Uint8Array,
  ) {}
  async size(): Promise<number> {
    return this.bytes.byteLength;
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this.name, this.bytes.byteLength, offset, length);
    return this.bytes.subarray(offset, offset + length);
  }
}

/** A Blob or a user-picked File: slices are read lazily by the browser. */
export class BlobSource implements ByteSource {
  constructor(
    readonly name: string,
    private readonly blob: Blob,
  ) {}
  async size(): Promise<number> {
    return this.blob.size;
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this.name, this.blob.size, offset, length);
    return new Uint8Array(await this.blob.slice(offset, offset + length).arrayBuffer());
  }
}

/** Files given as Blobs by name: a dropped folder or an <input webkitdirectory>. */
export class BlobFileSet implements FileSet {
  constructor(
    readonly name: string,
    private readonly blobs: Map<string, Blob>,
  ) {}
  async open(file: string): Promise<ByteSource | null> {
    const blob = this.blobs.get(file);
    return blob ? new BlobSource(`${this.name}/${file}`, blob) : null;
  }
}
