/**
 * Applies one operation to one peer's real folder, the way a person or an
 * editor would, and says what it found there first: the tokens at the path
 * just before (the content the operation saw and replaced). Deletes move
 * the path out of the folder in one rename and read it there, so what was
 * deleted is known exactly; in-place writes check afterwards that the file
 * they wrote is still the one in the folder.
 *
 * Temporary and trash files live in `scratch`, beside the folder on the
 * same file system (so renames are atomic) but outside it (dsync never sees
 * them).
 * @module
 */
import { appendLine, fileContent, tokensIn } from "./content.ts";
import type { WriteSpec } from "./generator.ts";
import type { Outcome, SeenFile } from "./journal.ts";
import { filesUnder } from "./tree.ts";

/** A peer's folder and its scratch space. */
export interface Place {
  readonly dir: string;
  readonly scratch: string;
}

/** What applying an operation found and did. */
export interface Effect {
  readonly seen: SeenFile[];
  readonly replaced: string[];
  readonly outcome: Outcome;
  readonly note?: string;
}

const SKIPPED = (note: string): Effect => ({
  seen: [],
  replaced: [],
  outcome: "skipped",
  note,
});

function full(place: Place, path: string): string {
  return `${place.dir}/${path}`;
}

async function ensureParent(place: Place, path: string): Promise<void> {
  const cut = path.lastIndexOf("/");
  if (cut > 0) {
    await Deno.mkdir(full(place, path.slice(0, cut)), { recursive: true });
  }
}

async function readAll(file: Deno.FsFile): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const buf = new Uint8Array(1 << 20);
  let total = 0;
  for (;;) {
    const n = await file.read(buf);
    if (n === null) break;
    parts.push(buf.slice(0, n));
    total += n;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  let done = 0;
  while (done < data.length) done += await file.write(data.subarray(done));
}

function notFound(err: unknown): boolean {
  return err instanceof Deno.errors.NotFound;
}

/**
 * Reads the file at `path` through a handle and checks, just before
 * `then` acts, that the handle is still the file at the path (dsync may
 * rename a pulled file over it at any moment); retries a few times.
 */
async function readThen(
  place: Place,
  path: string,
  then: (info: Deno.FileInfo | undefined) => Promise<void>,
): Promise<{ tokens: string[] | undefined }> {
  const target = full(place, path);
  for (let attempt = 0;; attempt++) {
    let file: Deno.FsFile | undefined;
    try {
      file = await Deno.open(target, { read: true });
    } catch (err) {
      if (!notFound(err)) throw err;
    }
    if (file === undefined) {
      try {
        await then(undefined);
        return { tokens: undefined };
      } catch (err) {
        // Something appeared meanwhile (`then` refuses to replace it): look again.
        if (!(err instanceof Deno.errors.AlreadyExists) || attempt >= 3) {
          throw err;
        }
        continue;
      }
    }
    try {
      const info = await file.stat();
      if (!info.isFile) throw new Error(`${path} is not a file here`);
      const bytes = await readAll(file);
      const now = await Deno.lstat(target).catch(() => undefined);
      if (now?.ino === info.ino || attempt >= 3) {
        await then(info);
        return { tokens: tokensIn(bytes) };
      }
    } finally {
      file.close();
    }
  }
}

/**
 * Puts the file `tmp` at `path` the way an editor that keeps a backup
 * does: whatever is at the path is first renamed out of the folder (so
 * what the write replaced is known exactly, whatever dsync did a moment
 * before), then the new file is hard-linked into place, which fails
 * rather than replace anything dsync put there since; then it looks
 * again. The new file keeps the mode of the file it replaced.
 */
async function replaceExactly(
  place: Place,
  path: string,
  tmp: string,
): Promise<SeenFile[]> {
  const target = full(place, path);
  const seen: SeenFile[] = [];
  for (let attempt = 0;; attempt++) {
    const aside = `${place.scratch}/a-${crypto.randomUUID()}`;
    let moved = true;
    try {
      await Deno.rename(target, aside);
    } catch (err) {
      if (!notFound(err)) throw err;
      moved = false;
    }
    if (moved) {
      const info = await Deno.lstat(aside);
      if (info.isFile && info.mode !== null) {
        await Deno.chmod(tmp, info.mode & 0o777);
      }
      // A folder dsync put here since the last look is replaced whole,
      // as a person replacing it would: every file in it counts as seen.
      seen.push(...await filesUnder(aside, path));
      await Deno.remove(aside, { recursive: true });
    }
    try {
      await Deno.link(tmp, target);
      await Deno.remove(tmp);
      return seen;
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists) || attempt >= 8) {
        throw err;
      }
    }
  }
}

/**
 * Whether the file written through `file` is no longer the one at
 * `target`: dsync put another file there while it was written (the write
 * then went to the old file, kept only in `.dsync/versions/` or nowhere).
 * Its link count does not tell, since a kept version links it.
 */
export async function replacedUnder(
  file: Deno.FsFile,
  target: string,
): Promise<boolean> {
  const written = await file.stat();
  if (written.nlink === 0) return true;
  const there = await Deno.lstat(target).catch(() => undefined);
  return there === undefined || there.ino !== written.ino ||
    there.dev !== written.dev;
}

/** Writes `spec` at `path` (creating parents); `exec` sets the exec bit afterwards. */
export async function applyWrite(
  place: Place,
  path: string,
  spec: WriteSpec,
  exec?: boolean,
): Promise<Effect> {
  const data = spec.token === undefined
    ? new Uint8Array(0)
    : fileContent(spec.token, spec.size);
  await ensureParent(place, path);
  const target = full(place, path);
  let effect: Effect;
  if (spec.mode === "atomic") {
    const tmp = `${place.scratch}/w-${crypto.randomUUID()}`;
    await Deno.writeFile(tmp, data);
    const seen = await replaceExactly(place, path, tmp);
    effect = { seen, replaced: seen.flatMap((s) => s.tokens), outcome: "done" };
  } else {
    // Only to journal "nothing there" rather than an empty file.
    const existed = await Deno.lstat(target).then(() => true, () => false);
    using file = await Deno.open(target, {
      read: true,
      write: true,
      create: true,
    });
    const tokens = tokensIn(await readAll(file));
    await file.truncate(0);
    await file.seek(0, Deno.SeekMode.Start);
    await writeAll(file, data);
    const orphaned = await replacedUnder(file, target);
    const seen = existed || tokens.length > 0 ? [{ path, tokens }] : [];
    effect = orphaned
      ? {
        seen,
        replaced: [],
        outcome: "orphaned",
        note: "dsync replaced the file while it was written in place",
      }
      : { seen, replaced: tokens, outcome: "done" };
  }
  if (exec === true && effect.outcome === "done") {
    await Deno.chmod(target, 0o755);
  }
  return effect;
}

/** Appends the line of `token` to the file at `path`, if there is one. */
export async function applyAppend(
  place: Place,
  path: string,
  token: string,
): Promise<Effect> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(full(place, path), { read: true, append: true });
  } catch (err) {
    if (notFound(err)) return SKIPPED("no file here");
    throw err;
  }
  using _ = file;
  if (!(await file.stat()).isFile) return SKIPPED("not a file here");
  const tokens = tokensIn(await readAll(file));
  await writeAll(file, appendLine(token));
  const orphaned = await replacedUnder(file, full(place, path));
  return {
    seen: [{ path, tokens }],
    replaced: [],
    outcome: orphaned ? "orphaned" : "done",
    ...(orphaned
      ? { note: "dsync replaced the file while it was appended to" }
      : {}),
  };
}

/** Deletes the file (`dir` false) or folder with its contents at `path`. */
export async function applyDelete(
  place: Place,
  path: string,
  dir: boolean,
): Promise<Effect> {
  const info = await Deno.lstat(full(place, path)).catch(() => undefined);
  if (info === undefined) return SKIPPED("nothing here");
  if (info.isDirectory !== dir) {
    return SKIPPED(dir ? "not a folder here" : "a folder here");
  }
  const trash = `${place.scratch}/d-${crypto.randomUUID()}`;
  try {
    await Deno.rename(full(place, path), trash);
  } catch (err) {
    if (notFound(err)) return SKIPPED("vanished");
    throw err;
  }
  const seen = await filesUnder(trash, path);
  await Deno.remove(trash, { recursive: true });
  return {
    seen,
    replaced: seen.flatMap((s) => s.tokens),
    outcome: "done",
  };
}

/** Renames the file or folder `from` to `to` (never over an existing entry). */
export async function applyRename(
  place: Place,
  from: string,
  to: string,
): Promise<Effect> {
  const there = await Deno.lstat(full(place, to)).catch(() => undefined);
  if (there !== undefined) return SKIPPED("destination exists here");
  const source = await Deno.lstat(full(place, from)).catch(() => undefined);
  if (source === undefined) return SKIPPED("nothing here");
  await ensureParent(place, to);
  try {
    await Deno.rename(full(place, from), full(place, to));
  } catch (err) {
    if (notFound(err)) return SKIPPED("vanished");
    throw err;
  }
  return {
    seen: await filesUnder(full(place, to), to),
    replaced: [],
    outcome: "done",
  };
}

/** Makes the folder `path` (and its parents). */
export async function applyMkdir(place: Place, path: string): Promise<Effect> {
  await Deno.mkdir(full(place, path), { recursive: true });
  return { seen: [], replaced: [], outcome: "done" };
}

/** Sets or clears the exec bits of the file at `path`. */
export async function applyChmod(
  place: Place,
  path: string,
  exec: boolean,
): Promise<Effect> {
  const target = full(place, path);
  const { tokens } = await readThen(place, path, async (info) => {
    if (info === undefined || info.mode === null) return;
    const mode = exec ? (info.mode & 0o777) | 0o111 : info.mode & 0o666;
    await Deno.chmod(target, mode);
  });
  if (tokens === undefined) return SKIPPED("no file here");
  return { seen: [{ path, tokens }], replaced: [], outcome: "done" };
}
