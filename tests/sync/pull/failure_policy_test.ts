import { assertEquals } from "../../assert.ts";
import {
  ContentMismatchError,
  LocalChangeError,
  UnsafePathError,
} from "../../../src/sync/apply/errors.ts";
import { DirectoryNotEmptyError } from "../../../src/sync/apply/local_ops.ts";
import {
  ChunkHashMismatchError,
  ChunkUnavailableError,
  PeerGoneError,
} from "../../../src/sync/session/chunk_requests.ts";
import { NoSourceError } from "../../../src/sync/pull/chunk_fetcher.ts";
import { PullerPausedError } from "../../../src/sync/pull/pull_errors.ts";
import {
  type FailureKind,
  failureKind,
  lacksSource,
} from "../../../src/sync/pull/failure_policy.ts";

const diskFull = Object.assign(new Error("write failed"), { code: "ENOSPC" });

Deno.test("failureKind() decides by the error's class, not its name", () => {
  const cases: [unknown, FailureKind][] = [
    [new PullerPausedError(), "paused"],
    [new LocalChangeError("a", "edited"), "local-change"],
    [new UnsafePathError("a", "through a link"), "unsafe-path"],
    [new ContentMismatchError("a", "bad hash"), "no-source"],
    [new ChunkHashMismatchError("bad chunk"), "no-source"],
    [new NoSourceError("a"), "no-source"],
    [new PeerGoneError("gone"), "no-source"],
    [new ChunkUnavailableError("a", 0, "not_found"), "no-source"],
    [new DirectoryNotEmptyError("d"), "not-empty"],
    [diskFull, "disk-full"],
    [new Error("No space left on device (os error 28)"), "disk-full"],
    [new Deno.errors.PermissionDenied("read-only"), "other"],
    ["a string", "other"],
  ];
  for (const [err, kind] of cases) {
    assertEquals(failureKind(err), kind, String(err));
  }
});

Deno.test("failureKind() ignores an error that only borrows a class's name", () => {
  const fake = new Error("edited");
  fake.name = "LocalChangeError";
  assertEquals(failureKind(fake), "other");
  assertEquals(
    lacksSource(Object.assign(new Error(), { name: "NoSourceError" })),
    false,
  );
});
