/**
 * Reading and writing the small secret files under `<folder>/.dsync/`
 * (`group.key`, `device.key`): owner-only permissions, exact sizes, and
 * atomic replacement so a crash never leaves half a key behind.
 */
import { STATE_DIR, toOsPath } from "../index/mod.ts";
import { KeyFileError } from "./errors.ts";

const POSIX = Deno.build.os !== "windows";

/** `<folder>/.dsync/<name>`. */
export function keyFilePath(folder: string, name: string): string {
  return toOsPath(toOsPath(folder, STATE_DIR), name);
}

/**
 * Reads a key file of exactly `size` bytes.
 * @throws {Deno.errors.NotFound} if it does not exist.
 * @throws {KeyFileError} kind `not-a-file`, `permissions` (POSIX: any group
 *   or other bit set) or `size`.
 */
export async function readKeyFile(
  path: string,
  size: number,
  what: string,
): Promise<Uint8Array> {
  const file = await Deno.open(path, { read: true });
  try {
    const info = await file.stat();
    if (!info.isFile) {
      throw new KeyFileError(
        "not-a-file",
        path,
        `Cannot load ${what} ${path}: not a regular file`,
      );
    }
    if (POSIX && info.mode !== null && (info.mode & 0o077) !== 0) {
      throw new KeyFileError(
        "permissions",
        path,
        `Cannot load ${what} ${path}: mode ${
          (info.mode & 0o777).toString(8).padStart(4, "0")
        } lets group or others read it; run chmod 600 on it`,
      );
    }
    if (info.size !== size) {
      throw new KeyFileError(
        "size",
        path,
        `Cannot load ${what} ${path}: ${info.size} bytes, expected ${size}`,
      );
    }
    // One byte more than expected shows a file that grew since the stat.
    const buffer = new Uint8Array(size + 1);
    let filled = 0;
    for (;;) {
      const n = await file.read(buffer.subarray(filled));
      if (n === null) break;
      filled += n;
      if (filled === buffer.length) break;
    }
    if (filled !== size) {
      throw new KeyFileError(
        "size",
        path,
        `Cannot load ${what} ${path}: changed size while being read`,
      );
    }
    return buffer.slice(0, size);
  } finally {
    file.close();
  }
}

/** How {@link writeKeyFile} treats an existing file. */
export type WriteMode = "replace" | "create";

/**
 * Writes `bytes` to `<folder>/.dsync/<name>` with mode 0600: a temporary file
 * in the same directory, fsynced, then renamed over the target (`replace`)
 * or hard-linked to it so an existing key is never clobbered (`create`;
 * returns false if the target already exists). Creates `.dsync/` (0700) if
 * needed, but never the folder itself: a missing folder is a wrong path.
 */
export async function writeKeyFile(
  folder: string,
  name: string,
  bytes: Uint8Array,
  mode: WriteMode,
): Promise<boolean> {
  const dir = toOsPath(folder, STATE_DIR);
  const path = toOsPath(dir, name);
  try {
    await Deno.mkdir(dir, { mode: 0o700 });
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
  const suffix = Array.from(
    crypto.getRandomValues(new Uint8Array(6)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  const temp = `${path}.${suffix}.tmp`;
  const file = await Deno.open(temp, {
    write: true,
    createNew: true,
    mode: 0o600,
  });
  try {
    try {
      // umask can only clear bits, but a default ACL could have added some;
      // settle the mode before a byte of the key is written.
      if (POSIX) await Deno.chmod(temp, 0o600);
      let written = 0;
      while (written < bytes.length) {
        written += await file.write(bytes.subarray(written));
      }
      await file.sync();
    } finally {
      file.close();
    }
    if (mode === "replace") {
      await Deno.rename(temp, path);
    } else {
      try {
        await Deno.link(temp, path);
      } catch (error) {
        if (error instanceof Deno.errors.AlreadyExists) return false;
        throw error;
      }
    }
    await syncDir(dir);
    return true;
  } finally {
    await Deno.remove(temp).catch(() => {});
  }
}

/** Makes the new directory entry durable; best effort where dirs cannot be opened. */
async function syncDir(dir: string): Promise<void> {
  if (!POSIX) return;
  let handle: Deno.FsFile | undefined;
  try {
    handle = await Deno.open(dir, { read: true });
    await handle.sync();
  } catch {
    // Some file systems refuse fsync on directories; the rename still stands.
  } finally {
    handle?.close();
  }
}
