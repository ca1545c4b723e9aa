/**
 * What a folder holds, as the benchmark compares it: every regular file by
 * relative path, with its size and SHA-256. Entries that a sync tool keeps
 * for itself (dot-names such as `.dsync/`, `.stfolder`, rsync's and
 * Syncthing's temporary files, and dsync's `*.part`) are left out; the
 * datasets never contain such names.
 * @module
 */
import { createHash } from "node:crypto";

/** Size and content hash of one file. */
export interface FileEntry {
  size: number;
  sha256: string;
}

/** Files by relative, `/`-separated path. */
export type Manifest = Map<string, FileEntry>;

/** Whether `name` is a sync tool's own metadata or temporary file. */
export function isToolEntry(name: string): boolean {
  return name.startsWith(".") || name.endsWith(".part");
}

const READ_SIZE = 1024 * 1024;
const HASH_CONCURRENCY = 8;

/** SHA-256 (hex) of a file, read in 1 MiB pieces. */
export async function hashFile(
  path: string,
  buf = new Uint8Array(READ_SIZE),
): Promise<FileEntry> {
  using file = await Deno.open(path, { read: true });
  const hash = createHash("sha256");
  let size = 0;
  for (;;) {
    const n = await file.read(buf);
    if (n === null) break;
    hash.update(buf.subarray(0, n));
    size += n;
  }
  return { size, sha256: hash.digest("hex") };
}

/** Relative paths of the regular files under `dir`, tool entries skipped. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const entry of Deno.readDirSync(rel === "" ? dir : `${dir}/${rel}`)) {
      if (isToolEntry(entry.name)) continue;
      const path = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory) walk(path);
      else if (entry.isFile) out.push(path);
    }
  };
  walk("");
  return out.sort();
}

/** Runs `work` on every item, at most `limit` at a time. */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T, buf: Uint8Array<ArrayBuffer>) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    const buf = new Uint8Array(READ_SIZE);
    while (next < items.length) await work(items[next++]!, buf);
  };
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, lane),
  );
}

/** The manifest of `dir` (reads every byte). */
export async function buildManifest(dir: string): Promise<Manifest> {
  const paths = listFiles(dir);
  const manifest: Manifest = new Map();
  await forEachLimited(paths, HASH_CONCURRENCY, async (path, buf) => {
    manifest.set(path, await hashFile(`${dir}/${path}`, buf));
  });
  return new Map([...manifest].sort(([a], [b]) => (a < b ? -1 : 1)));
}

/**
 * The paths of `expected` that `dir` does not hold byte for byte (missing,
 * other size, other content). Extra files in `dir` are not looked at.
 */
export async function findMismatches(
  dir: string,
  expected: Manifest,
): Promise<string[]> {
  const bad: string[] = [];
  await forEachLimited(
    [...expected],
    HASH_CONCURRENCY,
    async ([path, want], buf) => {
      try {
        const got = await hashFile(`${dir}/${path}`, buf);
        if (got.size !== want.size || got.sha256 !== want.sha256) {
          bad.push(
            path,
          );
        }
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
        bad.push(path);
      }
    },
  );
  return bad.sort();
}

/** Whether two manifests list the same files with the same content. */
export function sameManifest(a: Manifest, b: Manifest): boolean {
  if (a.size !== b.size) return false;
  for (const [path, entry] of a) {
    const other = b.get(path);
    if (other?.size !== entry.size || other.sha256 !== entry.sha256) {
      return false;
    }
  }
  return true;
}

/**
 * Whether folders `a` and `b` hold the same files with the same bytes
 * (tool entries ignored, empty folders not compared).
 */
export async function foldersIdentical(a: string, b: string): Promise<boolean> {
  return sameManifest(await buildManifest(a), await buildManifest(b));
}
