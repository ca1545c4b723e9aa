/**
 * Folders for end-to-end sync tests: build trees, take snapshots (relative
 * path → kind, content hash, exec bit, link target), and poll until two
 * folders are identical. `.dsync/` and `.dsyncignore` are left out of every
 * comparison; names are compared in NFC.
 * @module
 */
import { waitFor } from "../_wait.ts";
import { Blake3Hasher, toHex } from "../../src/index/hash.ts";
import {
  DsyncProcess,
  freePort,
  isolatedEnv,
  RUN_PERMISSIONS,
} from "./_dsync.ts";

/** What a path holds: `dir`, `file:<exec>:<size>[:<blake3>]` or `link:<target>`. */
export type Snapshot = Map<string, string>;

/** A file to write: its content, and whether it is executable. */
export type FileSpec = string | Uint8Array | {
  data: string | Uint8Array;
  exec?: boolean;
};

const encoder = new TextEncoder();

/**
 * Whether `path` holds exactly `text` now. A missing file is "not yet": while
 * dsync replaces a file, the path is briefly empty (the old entry is moved
 * aside before the new one is linked in), so a poll must not fail on it.
 */
export async function holdsText(path: string, text: string): Promise<boolean> {
  try {
    return (await Deno.readTextFile(path)) === text;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Writes `files` (relative `/` paths) under `root`, creating parents; `dirs` adds empty folders. */
export async function writeTree(
  root: string,
  files: Record<string, FileSpec>,
  dirs: readonly string[] = [],
): Promise<void> {
  for (const dir of dirs) {
    await Deno.mkdir(`${root}/${dir}`, { recursive: true });
  }
  for (const [path, spec] of Object.entries(files)) {
    const full = `${root}/${path}`;
    await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
    const data = typeof spec === "string" || spec instanceof Uint8Array
      ? spec
      : spec.data;
    await Deno.writeFile(
      full,
      typeof data === "string" ? encoder.encode(data) : data,
    );
    const exec = typeof spec === "object" && !(spec instanceof Uint8Array) &&
      spec.exec === true;
    if (exec) await Deno.chmod(full, 0o755);
  }
}

/** Size of the first dsync `.part` file directly in `dir` (0 when there is none). */
export async function partSize(dir: string): Promise<number> {
  for await (const e of Deno.readDir(dir)) {
    if (!e.name.endsWith(".part")) continue;
    try {
      return (await Deno.stat(`${dir}/${e.name}`)).size;
    } catch {
      return 0;
    }
  }
  return 0;
}

/**
 * Bytes the first `.part` in `dir` holds on disk (allocated blocks), 0 if
 * none: a receiver fills a big file's `.part` in its own chunk order, so
 * the part's size is its furthest write, not what it holds.
 */
export async function partHeldBytes(dir: string): Promise<number> {
  for await (const e of Deno.readDir(dir)) {
    if (!e.name.endsWith(".part")) continue;
    try {
      const info = await Deno.stat(`${dir}/${e.name}`);
      return Math.min(info.size, (info.blocks ?? 0) * 512);
    } catch {
      return 0;
    }
  }
  return 0;
}

/** `size` pseudo-random bytes from `seed` (fast, deterministic). */
export function randomBytes(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  const words = new Uint32Array(out.buffer, 0, Math.floor(size / 4));
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  for (let i = words.length * 4; i < size; i++) out[i] = i & 0xff;
  return out;
}

async function hashFile(path: string): Promise<string> {
  using file = await Deno.open(path, { read: true });
  const hasher = new Blake3Hasher();
  const buf = new Uint8Array(1 << 20);
  for (;;) {
    const n = await file.read(buf);
    if (n === null) break;
    hasher.update(buf.subarray(0, n));
  }
  return toHex(hasher.digest());
}

/**
 * The entries under `root` (without `.dsync/` and `.dsyncignore`). File
 * contents are hashed only when `withHashes`.
 */
export async function snapshot(
  root: string,
  withHashes = true,
): Promise<Snapshot> {
  const out: Snapshot = new Map();
  const walk = async (dir: string, rel: string) => {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(dir));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return;
      throw err;
    }
    for (const entry of entries) {
      const path = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (path === ".dsync" || path === ".dsyncignore") continue;
      const key = path.normalize("NFC");
      const full = `${dir}/${entry.name}`;
      let info: Deno.FileInfo;
      try {
        info = await Deno.lstat(full);
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) continue;
        throw err;
      }
      if (info.isSymlink) {
        out.set(key, `link:${await Deno.readLink(full)}`);
      } else if (info.isDirectory) {
        out.set(key, "dir");
        await walk(full, path);
      } else {
        const exec = ((info.mode ?? 0) & 0o100) !== 0;
        let value = `file:${exec}:${info.size}`;
        if (withHashes) {
          try {
            value += `:${await hashFile(full)}`;
          } catch (err) {
            if (err instanceof Deno.errors.NotFound) continue;
            throw err;
          }
        }
        out.set(key, value);
      }
    }
  };
  await walk(root, "");
  return out;
}

/** Lines describing how two snapshots differ (empty when equal). */
export function diffSnapshots(a: Snapshot, b: Snapshot): string[] {
  const lines: string[] = [];
  for (const [path, value] of a) {
    const other = b.get(path);
    if (other === undefined) lines.push(`only in first: ${path} (${value})`);
    else if (other !== value) {
      lines.push(`differs: ${path}: ${value} vs ${other}`);
    }
  }
  for (const [path, value] of b) {
    if (!a.has(path)) lines.push(`only in second: ${path} (${value})`);
  }
  return lines.sort();
}

/**
 * Polls until `a` and `b` hold the same entries with the same bytes (sizes
 * are compared first; contents are hashed only when those match) and,
 * when given, `check` accepts the snapshot. Returns the snapshot; throws
 * with the differences after `timeoutMs`.
 */
export async function waitIdentical(
  a: string,
  b: string,
  options: {
    timeoutMs?: number;
    check?: (snap: Snapshot) => boolean;
    procs?: DsyncProcess[];
  } = {},
): Promise<Snapshot> {
  let diff: string[] = ["not compared yet"];
  let same: Snapshot | undefined;
  await waitFor(
    async () => {
      const [sa, sb] = await Promise.all([
        snapshot(a, false),
        snapshot(b, false),
      ]);
      diff = diffSnapshots(sa, sb);
      if (diff.length === 0) {
        const [ha, hb] = await Promise.all([snapshot(a), snapshot(b)]);
        diff = diffSnapshots(ha, hb);
        if (diff.length === 0 && (options.check?.(ha) ?? true)) {
          same = ha;
          return true;
        }
        if (diff.length === 0) diff = ["check() not satisfied"];
      }
      return false;
    },
    () => {
      const logs = (options.procs ?? []).map((p, i) =>
        `--- process ${i} ---\n${p.output.split("\n").slice(-40).join("\n")}`
      ).join("\n");
      return `folders ${a} and ${b} to match; they still differ:\n${
        diff.slice(0, 30).join("\n")
      }\n${logs}`;
    },
    options.timeoutMs ?? 30_000,
    50,
  );
  return same!;
}

/** One dsync instance of a test: its folder, port and process. */
export interface Node {
  readonly dir: string;
  readonly port: number;
  proc: DsyncProcess | undefined;
}

/** A temp workspace with two folders `a` and `b` and two dsync nodes pointed at each other. */
export class SyncPair {
  readonly root: string;
  readonly a: Node;
  readonly b: Node;
  readonly #env: Record<string, string>;

  private constructor(root: string) {
    this.root = root;
    this.a = { dir: `${root}/a`, port: freePort(), proc: undefined };
    this.b = { dir: `${root}/b`, port: freePort(), proc: undefined };
    this.#env = isolatedEnv(`${root}/home`);
  }

  /** Makes the workspace (folders empty). Dispose with `await using`. */
  static async create(): Promise<SyncPair> {
    const root = await Deno.makeTempDir({ prefix: "dsync_sync_" });
    const pair = new SyncPair(root);
    await Deno.mkdir(pair.a.dir);
    await Deno.mkdir(pair.b.dir);
    await Deno.mkdir(`${root}/home`);
    return pair;
  }

  /** Starts (or restarts) `node`, dialing the other one. */
  start(node: Node, extra: string[] = []): DsyncProcess {
    const other = node === this.a ? this.b : this.a;
    node.proc = new DsyncProcess([
      "-d",
      node.dir,
      "-p",
      String(node.port),
      "-n",
      node === this.a ? "alpha" : "beta",
      "--no-discovery",
      "-a",
      `127.0.0.1:${other.port}`,
      ...extra,
    ], { permissions: RUN_PERMISSIONS, env: this.#env });
    return node.proc;
  }

  /** Starts both nodes. */
  startBoth(extra: string[] = []): void {
    this.start(this.a, extra);
    this.start(this.b, extra);
  }

  /** Waits until the two nodes have said hello to each other and indexed their folders. */
  async connected(timeoutMs = 30_000): Promise<void> {
    await this.a.proc!.waitForOutput(/Peer "?beta"? .* connected/, timeoutMs);
    await this.b.proc!.waitForOutput(/Peer "?alpha"? .* connected/, timeoutMs);
    // Nodes serve peers while they index: a change made before a node's
    // first scan ends is found by it, not seen as a change.
    await this.a.proc!.waitForOutput(/Indexed /, timeoutMs);
    await this.b.proc!.waitForOutput(/Indexed /, timeoutMs);
  }

  /** Stops `node` (SIGTERM: a clean shutdown) and returns its exit code. */
  async stop(node: Node, signal: Deno.Signal = "SIGTERM"): Promise<number> {
    const proc = node.proc;
    node.proc = undefined;
    return proc === undefined ? 0 : await proc.stop(signal);
  }

  /** The processes running. */
  get procs(): DsyncProcess[] {
    return [this.a.proc, this.b.proc].filter((p) => p !== undefined);
  }

  /** Polls until the folders are identical. */
  identical(
    options: { timeoutMs?: number; check?: (snap: Snapshot) => boolean } = {},
  ): Promise<Snapshot> {
    return waitIdentical(this.a.dir, this.b.dir, {
      ...options,
      procs: this.procs,
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.allSettled([
      this.stop(this.a, "SIGKILL"),
      this.stop(this.b, "SIGKILL"),
    ]);
    await Deno.remove(this.root, { recursive: true }).catch(() => {});
  }
}
