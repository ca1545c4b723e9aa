/** Errors of the local file-application layer that callers catch. */

/**
 * A write or delete would go through a symlink, through a file where a
 * directory should be, or to a path that is not a valid relative path (or
 * lies in `.dsync/`). Nothing was written.
 */
export class UnsafePathError extends Error {
  /** The relative path that was refused. */
  readonly path: string;
  constructor(path: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UnsafePathError";
    this.path = path;
  }
}

/**
 * The entry at the path is not what the index holds: a local change the
 * index has not seen yet. Nothing was replaced or removed; rescan the path
 * and plan again.
 */
export class LocalChangeError extends Error {
  /** The relative path that changed. */
  readonly path: string;
  constructor(path: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "LocalChangeError";
    this.path = path;
  }
}

/**
 * The assembled `.part` file does not have the expected size or BLAKE3
 * hash. It was removed and the target left untouched; fetch the file again.
 */
export class ContentMismatchError extends Error {
  /** The relative path of the target. */
  readonly path: string;
  constructor(path: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ContentMismatchError";
    this.path = path;
  }
}
