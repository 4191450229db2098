// A folder dropped on the page: walk its entries (the drop gives entries, not the files an <input webkitdirectory>
// gives) and return each file with its path inside the folder, as a picked folder has.

export interface DroppedFiles {
  name: string;
  files: { path: string; file: File }[];
}

function readBatch(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  return new Promise((resolve, reject) => reader.readEntries(resolve, reject));
}

async function walk(entry: FileSystemEntry, out: { path: string; file: File }[]): Promise<void> {
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    out.push({ path: entry.fullPath.replace(/^\//, ''), file });
  } else if (entry.isDirectory) {
    const reader = (entry as FileSystemDirectoryEntry).createReader();
    // readEntries returns at most ~100 entries per call; an empty batch means the end.
    for (let batch = await readBatch(reader); batch.length; batch = await readBatch(reader)) {
      for (const child of batch) await walk(child, out);
    }
  }
}

export async function filesFromDrop(data: DataTransfer): Promise<DroppedFiles> {
  const entries = [...data.items].map((i) => i.webkitGetAsEntry()).filter((e): e is FileSystemEntry => e !== null);
  const files: { path: string; file: File }[] = [];
  for (const e of entries) await walk(e, files);
  const name = entries.length === 1 && entries[0].isDirectory ? entries[0].name : 'dropped files';
  return { name, files };
}
