// Saving a file the worker makes part by part (a GGUF model of a gigabyte or more): straight to a file the user picks
// where the browser can (the File System Access API's save picker and writable stream, in Chrome and Edge), so the
// file never sits whole in the tab; elsewhere gathered in the tab and handed to a download as one Blob. A picked
// file is written whole or not at all: the browser writes beside it and moves the result in on close(), abort()
// discards that, and a file the picker made empty for us is removed again.
import { download } from './download';

export interface SaveTarget {
  /** 'disk': written as the parts come; 'download': gathered in this tab, then downloaded. */
  readonly kind: 'disk' | 'download';
  write(part: Uint8Array): Promise<void>;
  /** Ends the file: the disk file takes its new bytes, or the download starts. */
  close(): Promise<void>;
  /** Drops what was written: the picked file is left as it was, or removed if the picker made it. */
  abort(): Promise<void>;
}

export interface SaveType {
  description: string;
  mime: string;
  /** With its dot: '.gguf'. */
  ext: string;
}

/** What this module uses of the File System Access API (not in TypeScript's DOM types). */
interface WritableFile {
  write(data: Uint8Array): Promise<void>;
  close(): Promise<void>;
  abort(): Promise<void>;
}
interface PickedFile {
  getFile(): Promise<{ size: number }>;
  createWritable(): Promise<WritableFile>;
  /** Chrome's FileSystemHandle.remove(); absent elsewhere. */
  remove?(): Promise<void>;
}
type SavePicker = (o: { suggestedName: string; types: { description: string; accept: Record<string, string[]> }[] }) => Promise<PickedFile>;

/** The user closed the save picker without choosing a file. */
export class NoFileChosenError extends Error {
  override name = 'NoFileChosenError';
}

function memoryTarget(fileName: string, type: SaveType): SaveTarget {
  let parts: Uint8Array[] = [];
  return {
    kind: 'download',
    write: async (part) => void parts.push(part),
    close: async () => {
      download(fileName, new Blob(parts as BlobPart[], { type: type.mime }), type.mime);
      parts = [];
    },
    abort: async () => void (parts = []),
  };
}

/**
 * A file to write `fileName` into: the user's pick where the browser has a save picker (call this straight from the
 * click, before other awaits, or the browser refuses the picker), else a download. NoFileChosenError when the
 * user closes the picker.
 */
export async function openSaveTarget(fileName: string, type: SaveType): Promise<SaveTarget> {
  const picker = (globalThis as { showSaveFilePicker?: SavePicker }).showSaveFilePicker;
  if (typeof picker !== 'function') return memoryTarget(fileName, type);
  let handle: PickedFile;
  try {
    handle = await picker({ suggestedName: fileName, types: [{ description: type.description, accept: { [type.mime]: [type.ext] } }] });
  } catch (e) {
    if ((e as { name?: string }).name === 'AbortError') throw new NoFileChosenError('no file was chosen, so nothing was saved');
    throw e;
  }
  // An empty file is one the picker made (or one with nothing to lose): removed again if the export does not finish.
  const madeByPicker = (await handle.getFile()).size === 0;
  const writable = await handle.createWritable();
  return {
    kind: 'disk',
    write: (part) => writable.write(part),
    close: () => writable.close(),
    abort: async () => {
      await writable.abort().catch(() => undefined);
      if (madeByPicker) await handle.remove?.().catch(() => undefined);
    },
  };
}
