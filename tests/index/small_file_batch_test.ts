import {
  assert,
  assertEquals,
  assertStrictEquals,
  assertThrows,
} from "../assert.ts";
import { digestBytes, type FileDigest } from "../../src/index/file_digest.ts";
import { toHex } from "../../src/index/hash.ts";
import { HasherPool } from "../../src/index/hasher_pool.ts";
import {
  digestSmallFiles,
  joinPaths,
  type SmallFileOutcome,
  splitPaths,
  unpackBatch,
} from "../../src/index/small_file_batch.ts";
import { noise } from "../_noise.ts";

const K = 1024;
const LIMIT = 64 * K;

function show(d: FileDigest) {
  return {
    size: d.size,
    hash: toHex(d.hash),
    chunks: d.chunks.map((c) => [c.offset, c.length, toHex(c.hash)]),
  };
}

function rebuild(name: string, message: string): Error {
  const cls = (Deno.errors as Record<string, unknown>)[name];
  return typeof cls === "function"
    ? new (cls as ErrorConstructor)(message)
    : new Error(message);
}

/**
 * A folder of: small files of several sizes, one at the limit, a missing
 * path, a directory, a symlink and a FIFO; returns the paths in that order.
 */
async function withMixedFolder(
  fn: (paths: string[], data: Map<string, Uint8Array>) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dsync-batch-" });
  try {
    const data = new Map<string, Uint8Array>();
    const paths: string[] = [];
    for (const [i, size] of [0, 1, 1000, 16 * K, LIMIT - 1].entries()) {
      const path = `${dir}/s${i}.bin`;
      const bytes = noise(size, i + 1);
      Deno.writeFileSync(path, bytes);
      data.set(path, bytes);
      paths.push(path);
    }
    Deno.writeFileSync(`${dir}/at-limit.bin`, noise(LIMIT, 99));
    Deno.mkdirSync(`${dir}/sub`);
    Deno.symlinkSync("s1.bin", `${dir}/link`);
    const mkfifo = new Deno.Command("mkfifo", { args: [`${dir}/pipe`] });
    assertStrictEquals((await mkfifo.output()).code, 0);
    paths.push(
      `${dir}/at-limit.bin`,
      `${dir}/missing`,
      `${dir}/sub`,
      `${dir}/link`,
      `${dir}/pipe`,
    );
    await fn(paths, data);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function checkOutcomes(
  outcomes: SmallFileOutcome[],
  paths: string[],
  data: Map<string, Uint8Array>,
): void {
  assertStrictEquals(outcomes.length, paths.length);
  for (let i = 0; i < 5; i++) {
    const o = outcomes[i]!;
    assertStrictEquals(o.kind, "digest", paths[i]);
    if (o.kind !== "digest") continue;
    assertEquals(show(o.digest), show(digestBytes(data.get(paths[i]!)!)));
    const info = Deno.lstatSync(paths[i]!);
    for (const seen of [o.before, o.after]) {
      assertStrictEquals(seen.size, info.size);
      assertStrictEquals(seen.mtimeMs, info.mtime!.getTime());
      assertStrictEquals(seen.ino, info.ino);
      assertStrictEquals(seen.mode, info.mode);
      assertStrictEquals(seen.isFile, true);
    }
  }
  const [atLimit, missing, dir, link, pipe] = outcomes.slice(5);
  assertStrictEquals(atLimit!.kind, "not-small");
  assertStrictEquals(missing!.kind, "error");
  if (missing!.kind === "error") {
    assert(missing!.error instanceof Deno.errors.NotFound);
  }
  // Looked at, never opened: a FIFO would block the open.
  for (const o of [dir, link, pipe]) {
    assertStrictEquals(o!.kind, "not-small");
    if (o!.kind === "not-small") assertStrictEquals(o!.before.isFile, false);
  }
}

Deno.test("digestSmallFiles() digests small files, leaves the rest and reports errors per file", async () => {
  await withMixedFolder((paths, data) => {
    const outcomes = unpackBatch(
      digestSmallFiles(paths, LIMIT),
      paths.length,
      rebuild,
    );
    checkOutcomes(outcomes, paths, data);
    return Promise.resolve();
  });
});

Deno.test("HasherPool.hashSmallFiles() answers like digestSmallFiles() from a worker", async () => {
  await withMixedFolder(async (paths, data) => {
    const pool = new HasherPool({ size: 1, smallFileLimit: LIMIT });
    try {
      checkOutcomes(await pool.hashSmallFiles(paths), paths, data);
      assertEquals(await pool.hashSmallFiles([]), []);
    } finally {
      await pool.close();
    }
  });
});

Deno.test("unpackBatch() rejects a malformed batch", () => {
  const good = () => digestSmallFiles([], LIMIT);
  assertThrows(() => unpackBatch(good(), 1, rebuild), TypeError);
  const badStatus = digestSmallFiles([], LIMIT);
  badStatus.status = new Uint8Array([7]);
  badStatus.stats = new Float64Array(12);
  badStatus.chunkCounts = new Uint32Array(1);
  badStatus.fileHashes = new Uint8Array(32);
  assertThrows(() => unpackBatch(badStatus, 1, rebuild), TypeError);
  const tooManyChunks = { ...badStatus, status: new Uint8Array([0]) };
  tooManyChunks.chunkCounts = new Uint32Array([2]);
  assertThrows(() => unpackBatch(tooManyChunks, 1, rebuild), TypeError);
  const noError = { ...badStatus, status: new Uint8Array([2]) };
  assertThrows(() => unpackBatch(noError, 1, rebuild), TypeError);
});

Deno.test("joinPaths() and splitPaths() round-trip paths with any other character", () => {
  const paths = ["/a/b c", "/ü/\n/x", "/d\\e", ""];
  assertEquals(splitPaths(joinPaths(paths)), paths);
});
