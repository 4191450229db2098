// Typed errors for model files: each names the file and the problem, so the UI and the CLI can show one line
// that tells the user what to fix.

export class ModelError extends Error {
  override name = 'ModelError';
  /** `file` is the file (or URL) at fault; `field` the JSON field or tensor name, when there is one. */
  constructor(
    readonly file: string,
    readonly problem: string,
    readonly field?: string,
  ) {
    super(`${file}: ${field ? `${field}: ` : ''}${problem}`);
  }
}

/** A file the model needs is not there (404 on the hub, missing in a folder). */
export class MissingFileError extends ModelError {
  override name = 'MissingFileError';
  constructor(file: string, hint = 'is missing') {
    super(file, hint);
  }
}
