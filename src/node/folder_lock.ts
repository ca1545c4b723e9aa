/**
 * One dsync per folder: an exclusive OS lock on `.dsync/lock`, held for the
 * life of the node. Two nodes on one folder would hand out the same sequence
 * numbers from one index and fight over every `.part` file.
 * @module
 */
import { LOCK_FILE, STATE_DIR } from "../index/mod.ts";

/** Another process holds the folder's lock. */
export class FolderInUseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FolderInUseError";
  }
}

/**
 * The folder is on a read-only file system (or not writable for this
 * user): dsync cannot keep its state in the folder's `.dsync/`.
 */
export class ReadOnlyFolderError extends Error {
  readonly folder: string;
  constructor(folder: string, stateRoot = folder, options?: ErrorOptions) {
    super(
      stateRoot === folder
        ? `Folder ${folder} is read-only: dsync keeps its index, keys and versions in ${folder}/${STATE_DIR} and cannot write there (give --state-dir DIR to keep them elsewhere)`
        : `State directory ${stateRoot} is read-only: dsync cannot write its ${STATE_DIR} there`,
      options,
    );
    this.name = "ReadOnlyFolderError";
    this.folder = folder;
  }
}

/** EROFS, or a write refused by the file's permissions. */
function isReadOnly(error: unknown): boolean {
  if (error instanceof Deno.errors.PermissionDenied) return true;
  const code = (error as { code?: unknown }).code;
  return code === "EROFS" || code === "EACCES" ||
    /read-only file system|os error 30\b/i.test(String(error));
}

/**
 * The held lock. The OS releases it when the process ends, however it ends,
 * so a lock file left behind by a crash never blocks the next start.
 */
export class FolderLock {
  #file: Deno.FsFile | undefined;

  private constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  /**
   * Takes the lock of a folder, in `<stateRoot>/.dsync/` (the folder's
   * own unless `--state-dir` moved it), creating `.dsync/` if needed, and writes this
   * process's pid into the lock file, for the message another start shows.
   * @throws {FolderInUseError} when another process holds it.
   * @throws {ReadOnlyFolderError} when `.dsync/` cannot be written.
   */
  static async acquire(
    stateRoot: string,
    folder = stateRoot,
  ): Promise<FolderLock> {
    const dir = `${stateRoot}/${STATE_DIR}`;
    const path = `${dir}/${LOCK_FILE}`;
    let file: Deno.FsFile;
    try {
      await Deno.mkdir(dir, { recursive: true });
      file = await Deno.open(path, { read: true, write: true, create: true });
    } catch (error) {
      if (isReadOnly(error)) {
        throw new ReadOnlyFolderError(folder, stateRoot, { cause: error });
      }
      throw error;
    }
    let locked = false;
    try {
      locked = await file.tryLock(true);
      if (!locked) {
        const holder = describeHolder(await readAll(file));
        throw new FolderInUseError(
          `Another dsync${holder} is already syncing ${folder}; stop it first, or choose another folder with -d`,
        );
      }
      await file.truncate(0);
      await file.seek(0, Deno.SeekMode.Start);
      await file.write(new TextEncoder().encode(`${Deno.pid}\n`));
      return new FolderLock(file);
    } catch (error) {
      file.close();
      throw error;
    }
  }

  /** Releases the lock; later calls do nothing. */
  release(): void {
    const file = this.#file;
    if (file === undefined) return;
    this.#file = undefined;
    try {
      file.unlockSync();
    } finally {
      file.close();
    }
  }
}

/** " (pid N)" from the lock file's content, or "" when it holds no pid. */
export function describeHolder(content: string): string {
  const pid = content.trim();
  return /^[1-9][0-9]{0,9}$/.test(pid) ? ` (pid ${pid})` : "";
}

async function readAll(file: Deno.FsFile): Promise<string> {
  const buffer = new Uint8Array(32);
  await file.seek(0, Deno.SeekMode.Start);
  const n = await file.read(buffer);
  return new TextDecoder().decode(buffer.subarray(0, n ?? 0));
}
