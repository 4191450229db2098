// Saving a file from the page: a temporary object URL behind a clicked link (no server, nothing leaves the tab).

/** A file name safe on every OS: letters, digits, dot, dash and underscore; spaces become dashes. */
export function safeFileName(name: string, ext: string): string {
  const base = name.trim().replace(/\s+/g, '-').replace(/[^A-Za-z0-9._-]/g, '').replace(/^[.-]+/, '') || 'genpi';
  return `${base.slice(0, 80)}.${ext}`;
}

export function download(fileName: string, data: BlobPart, type: string): void {
  const url = URL.createObjectURL(new Blob([data], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.append(a);
  a.click();
  a.remove();
  // The click has handed the blob to the browser's download; the URL can go once this task is over.
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
