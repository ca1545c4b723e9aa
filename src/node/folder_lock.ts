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
 * The held lock. The OS releases it when the process ends, however it ends,
 * so a lock file left behind by a crash never blocks the next start.
 */
export class FolderLock {
  #file: Deno.FsFile | undefined;

  private constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  /**
   * Takes the lock of `folder` (creating `.dsync/` if needed) and writes this
   * process's pid into the lock file, for the message another start shows.
   * @throws {FolderInUseError} when another process holds it.
   */
  static async acquire(folder: string): Promise<FolderLock> {
    const dir = `${folder}/${STATE_DIR}`;
    await Deno.mkdir(dir, { recursive: true });
    const path = `${dir}/${LOCK_FILE}`;
    const file = await Deno.open(path, {
      read: true,
      write: true,
      create: true,
    });
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
