import { waitFor } from "../../_wait.ts";
import { assert, assertEquals, assertThrows } from "../../assert.ts";
import { blake3 } from "../../../src/index/hash.ts";
import type {
  ChunkRequest,
  ChunkResponse,
} from "../../../src/protocol/messages.ts";
import {
  decompressChunk,
  LZ4_AVAILABLE,
} from "../../../src/compress/chunk_compression.ts";
import { answerChunkRequest } from "../../../src/sync/session/chunk_answer.ts";
import {
  ChunkResponder,
  TooManyRequestsError,
} from "../../../src/sync/session/responder.ts";
import { OpenFiles } from "../../../src/sync/session/open_files.ts";
import { IgnoreRules } from "../../../src/index/mod.ts";

const enc = new TextEncoder();
const noIgnore = { ignores: () => false };

function request(
  path: string,
  data: Uint8Array,
  offset = 0,
  length = data.length - offset,
): ChunkRequest {
  return {
    type: "chunk_request",
    id: 7,
    path,
    hash: blake3(data.subarray(offset, offset + length)),
    offset,
    length,
  };
}

async function withFolder(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function raw(response: ChunkResponse): Uint8Array {
  return response.compression === "lz4"
    ? decompressChunk(response.data, response.rawLength, 1 << 20)
    : response.data;
}

/** A `send` that keeps every response in `sent` and resolves at once. */
function collectInto(
  sent: ChunkResponse[],
): (response: ChunkResponse) => Promise<void> {
  return (response) => {
    sent.push(response);
    return Promise.resolve();
  };
}

Deno.test("answerChunkRequest() serves the requested range", () =>
  withFolder(async (dir) => {
    const data = crypto.getRandomValues(new Uint8Array(5000));
    await Deno.mkdir(`${dir}/sub`);
    await Deno.writeFile(`${dir}/sub/f.bin`, data);
    const answer = answerChunkRequest(
      dir,
      noIgnore,
      request("sub/f.bin", data, 1000, 3000),
    );
    assertEquals(answer.changed, false);
    assertEquals(answer.response.status, "ok");
    assertEquals(answer.response.id, 7);
    assertEquals(raw(answer.response), data.subarray(1000, 4000));
  }));

Deno.test("answerChunkRequest() compresses when it pays", () =>
  withFolder(async (dir) => {
    const data = enc.encode("la la la ".repeat(2000));
    await Deno.writeFile(`${dir}/t.txt`, data);
    const { response } = answerChunkRequest(
      dir,
      noIgnore,
      request("t.txt", data),
    );
    if (LZ4_AVAILABLE) assertEquals(response.compression, "lz4");
    assertEquals(raw(response), data);
  }));

Deno.test("answerChunkRequest() answers changed when the bytes moved on", () =>
  withFolder(async (dir) => {
    const data = enc.encode("original content");
    const req = request("f", data);
    await Deno.writeFile(`${dir}/f`, enc.encode("edited! content."));
    assertEquals(answerChunkRequest(dir, noIgnore, req), {
      response: { ...answerChunkRequest(dir, noIgnore, req).response },
      changed: true,
    });
    assertEquals(
      answerChunkRequest(dir, noIgnore, req).response.status,
      "changed",
    );
    await Deno.writeFile(`${dir}/f`, enc.encode("short"));
    assertEquals(
      answerChunkRequest(dir, noIgnore, req).response.status,
      "changed",
    );
  }));

Deno.test("answerChunkRequest() refuses ignored and internal paths", () =>
  withFolder(async (dir) => {
    const data = enc.encode("secret");
    await Deno.mkdir(`${dir}/.dsync`);
    await Deno.writeFile(`${dir}/.dsync/index.db`, data);
    await Deno.writeFile(`${dir}/x.log`, data);
    const ignore = { ignores: (p: string) => p.endsWith(".log") };
    for (const path of [".dsync/index.db", "x.log", "../escape"]) {
      const { response } = answerChunkRequest(dir, ignore, request(path, data));
      assertEquals(response.status, "refused", path);
      assertEquals(response.data.length, 0);
    }
  }));

Deno.test("answerChunkRequest() on a (simulated) case-insensitive disk refuses case variants of ignored names", () =>
  withFolder(async (dir) => {
    // On a case-insensitive disk `.GIT/config` opens `.git/config`; here
    // the files sit under the variant names a peer would ask for, and the
    // rules fold case as they do on such a disk.
    const data = enc.encode("[remote] url = secret\n");
    await Deno.writeTextFile(`${dir}/.dsyncignore`, ".git\nprivate/\n");
    for (const p of [".GIT", "PRIVATE", ".DSYNC"]) {
      await Deno.mkdir(`${dir}/${p}`);
    }
    for (const p of [".GIT/config", "PRIVATE/x", ".DSYNC/id.key"]) {
      await Deno.writeFile(`${dir}/${p}`, data);
    }
    const folding = await IgnoreRules.load(dir, [], { caseInsensitive: true });
    for (const path of [".GIT/config", "PRIVATE/x", ".DSYNC/id.key"]) {
      const { response } = answerChunkRequest(
        dir,
        folding,
        request(path, data),
      );
      assertEquals(response.status, "refused", path);
    }
  }));

Deno.test("answerChunkRequest() never follows symlinks", () =>
  withFolder(async (dir) => {
    const outside = await Deno.makeTempDir();
    try {
      const data = enc.encode("outside the folder");
      await Deno.writeFile(`${outside}/secret`, data);
      await Deno.symlink(outside, `${dir}/linkdir`);
      await Deno.symlink(`${outside}/secret`, `${dir}/linkfile`);
      for (const path of ["linkdir/secret", "linkfile", "missing"]) {
        const { response } = answerChunkRequest(
          dir,
          noIgnore,
          request(path, data),
        );
        assertEquals(response.status, "not_found", path);
      }
    } finally {
      await Deno.remove(outside, { recursive: true });
    }
  }));

Deno.test("answerChunkRequest() finds a name stored NFC that is NFD on disk", () =>
  withFolder(async (dir) => {
    const data = enc.encode("accented");
    await Deno.writeFile(`${dir}/cafe\u0301.txt`, data);
    const { response } = answerChunkRequest(
      dir,
      noIgnore,
      request("caf\u00e9.txt", data),
    );
    if (Deno.build.os === "linux") assertEquals(response.status, "ok");
  }));

Deno.test("ChunkResponder answers in turn and tells about changed files", () =>
  withFolder(async (dir) => {
    const data = enc.encode("0123456789".repeat(100));
    await Deno.writeFile(`${dir}/f`, data);
    const sent: ChunkResponse[] = [];
    const changed: string[] = [];
    const responder = new ChunkResponder({
      folder: dir,
      ignore: noIgnore,
      to: { send: collectInto(sent) },
      changed: { add: (p) => changed.push(p) },
      maxSendingBytes: 300,
    });
    for (let i = 0; i < 10; i++) {
      responder.handle({ ...request("f", data, i * 100, 100), id: i });
    }
    responder.handle({ ...request("f", enc.encode("nope")), id: 99 });
    await waitFor(() => sent.length >= 11, "11 responses", 5000, 1);
    await responder.close();
    assertEquals(sent.map((r) => r.id).sort((a, b) => a - b), [
      0,
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      8,
      9,
      99,
    ]);
    assertEquals(changed, ["f"]);
    assert(responder.bytesSent > 0);
  }));

Deno.test("ChunkResponder compresses for a peer on a link, never for a loopback peer", () =>
  withFolder(async (dir) => {
    const data = enc.encode("la la la ".repeat(2000));
    await Deno.writeFile(`${dir}/t.txt`, data);
    for (const loopback of [false, true]) {
      const sent: ChunkResponse[] = [];
      const responder = new ChunkResponder({
        folder: dir,
        ignore: noIgnore,
        loopback,
        to: {
          send: (response) => {
            sent.push(response as ChunkResponse);
            return Promise.resolve();
          },
        },
      });
      responder.handle({ ...request("t.txt", data), id: 1 });
      await waitFor(() => sent.length === 1, "the answer", 5000, 1);
      await responder.close();
      assertEquals(sent[0]!.compression, loopback ? "none" : "lz4");
      assertEquals(raw(sent[0]!), data);
    }
  }));

Deno.test("ChunkResponder reads into a buffer again only once its answer is written", () =>
  withFolder(async (dir) => {
    // Incompressible, so that the answers carry the read buffers themselves.
    let x = 2463534242;
    const data = new Uint8Array(3 * 40_000).map(() => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return x & 0xff;
    });
    await Deno.writeFile(`${dir}/f`, data);
    const sent: { response: ChunkResponse; copy: Uint8Array }[] = [];
    const written: (() => void)[] = [];
    const responder = new ChunkResponder({
      folder: dir,
      ignore: noIgnore,
      to: {
        send: (response) => {
          sent.push({
            response: response as ChunkResponse,
            copy: response.data.slice(),
          });
          return new Promise<void>((resolve) => written.push(resolve));
        },
      },
    });
    const ask = (i: number) =>
      responder.handle({ ...request("f", data, i * 40_000, 40_000), id: i });
    ask(0);
    ask(1);
    await waitFor(() => sent.length === 2, "2 answers", 5000, 1);
    assert(sent[0]!.response.data.buffer !== sent[1]!.response.data.buffer);
    assertEquals(responder.keptReadBytes, 0);
    written[0]!(); // the first answer is on the wire: its buffer is free
    await waitFor(() => responder.keptReadBytes > 0, "a free buffer", 5000, 1);
    ask(2);
    await waitFor(() => sent.length === 3, "3 answers", 5000, 1);
    assert(sent[2]!.response.data.buffer === sent[0]!.response.data.buffer);
    // The answer still being written kept its bytes.
    assertEquals(sent[1]!.response.data, sent[1]!.copy);
    for (const [i, s] of sent.entries()) {
      assertEquals(s.copy, data.subarray(i * 40_000, (i + 1) * 40_000));
    }
    for (const resolve of written) resolve();
    await responder.close();
  }));

Deno.test("ChunkResponder cuts off a peer that floods it", () =>
  withFolder(async (dir) => {
    const stuck: ((e: Error) => void)[] = [];
    const responder = new ChunkResponder({
      folder: dir,
      ignore: noIgnore,
      // Never written until the end: everything queues meanwhile.
      to: { send: () => new Promise((_, reject) => stuck.push(reject)) },
      maxSendingBytes: 1,
      maxQueued: 3,
    });
    const req = request("f", enc.encode("x"));
    for (let i = 0; i < 4; i++) responder.handle(req); // 1 sending + 3 queued
    assertThrows(() => responder.handle(req), TooManyRequestsError);
    const closing = responder.close();
    for (const reject of stuck) reject(new Error("connection closed"));
    await closing;
  }));

Deno.test("answerChunkRequest() with kept handles follows a replaced file", () =>
  withFolder(async (dir) => {
    const files = new OpenFiles();
    const ask = (data: Uint8Array, offset = 0, length?: number) =>
      answerChunkRequest(
        dir,
        noIgnore,
        request("f.bin", data, offset, length),
        files,
      );
    try {
      const first = crypto.getRandomValues(new Uint8Array(8000));
      await Deno.writeFile(`${dir}/f.bin`, first);
      const a = ask(first, 0, 4000);
      assertEquals(raw(a.response), first.subarray(0, 4000));
      assertEquals(files.size, 1);
      const b = ask(first, 4000);
      assertEquals(raw(b.response), first.subarray(4000));
      // Replaced by rename: the kept handle still reads the old inode.
      const second = crypto.getRandomValues(new Uint8Array(8000));
      await Deno.writeFile(`${dir}/new.bin`, second);
      await Deno.rename(`${dir}/new.bin`, `${dir}/f.bin`);
      const c = ask(second, 2000, 3000);
      assertEquals(c.response.status, "ok");
      assertEquals(raw(c.response), second.subarray(2000, 5000));
      // Old content asked again: the file really changed.
      const d = ask(first, 0, 4000);
      assertEquals(d.response.status, "changed");
      assertEquals(d.changed, true);
      // Deleted: once the handles are let go, the answer is not_found.
      await Deno.remove(`${dir}/f.bin`);
      files.clear();
      const e = ask(second, 0, 100);
      assertEquals(e.response.status, "not_found");
    } finally {
      files.clear();
    }
  }));

/** Open descriptors of this process on `path` (Linux: /proc/self/fd). */
function openDescriptors(path: string): number {
  let n = 0;
  for (const entry of Deno.readDirSync("/proc/self/fd")) {
    try {
      if (Deno.readLinkSync(`/proc/self/fd/${entry.name}`) === path) n++;
    } catch {
      // Closed meanwhile.
    }
  }
  return n;
}

Deno.test({
  name:
    "ChunkResponder keeps a file open across requests, and lets it go when idle",
  ignore: Deno.build.os !== "linux",
  fn: () =>
    withFolder(async (dir) => {
      const data = crypto.getRandomValues(new Uint8Array(4000));
      await Deno.writeFile(`${dir}/f.bin`, data);
      const path = await Deno.realPath(`${dir}/f.bin`);
      const sent: ChunkResponse[] = [];
      const responder = new ChunkResponder({
        folder: dir,
        ignore: noIgnore,
        to: { send: collectInto(sent) },
      });
      try {
        responder.handle(request("f.bin", data, 0, 1000));
        responder.handle(request("f.bin", data, 1000, 1000));
        await waitFor(() => sent.length >= 2, "2 responses", 5_000, 5);
        assertEquals(sent.map((r) => r.status), ["ok", "ok"]);
        assertEquals(openDescriptors(path), 1);
        // No more requests: released within a few seconds, not held open.
        await waitFor(
          () => openDescriptors(path) === 0,
          "the file to be closed",
          5_000,
          50,
        );
        assertEquals(openDescriptors(path), 0);
      } finally {
        await responder.close();
      }
    }),
});
