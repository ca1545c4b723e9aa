/**
 * Keeps what a peer's change replaces or deletes as a version, saying
 * which device made the change.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { StoredStat } from "../../index/mod.ts";
import type { VersionKeeper } from "../../versions/mod.ts";
import type { LocalOpsContext } from "./ops_context.ts";
import { assertUnchanged, checkParentDirs } from "./safe_paths.ts";

const log = getLogger(["dsync", "sync", "local_ops"]);

/**
 * Keeps the local file of `path` as a version, if versioning is on and a
 * file the index holds (`expected`) is there, after checking it is still
 * what the index holds (else
 * {@linkcode LocalChangeError}). Call it under the gate, right before the
 * step that replaces or deletes the path: a file to be `"deleted"` is
 * moved to the versions, one to be `"replaced"` stays in place until the
 * new one is renamed over it. Returns the version's name.
 */
export async function keepVersion(
  ctx: LocalOpsContext,
  path: string,
  expected: StoredStat | undefined,
  change: "replaced" | "deleted",
  by: string,
): Promise<string | undefined> {
  if (ctx.versions === undefined || expected?.kind !== "file") return undefined;
  const os = await checkParentDirs(ctx.folder, path);
  if (os === undefined) return undefined;
  await assertUnchanged(path, os, expected);
  try {
    await Deno.lstat(os);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
  const name = await ctx.versions.keep(
    path,
    change === "replaced" ? "link" : "move",
  );
  log.info("{by} {change} {path}; kept the old copy in versions ({name})", {
    by,
    change,
    path,
    name,
  });
  return name;
}

/**
 * Keeps the old file of `path`, moved aside at `aside` by an exact delete
 * or replace, as a version; where that fails it is removed (as without
 * versions), never left as a stray `.part`.
 */
export function keepAside(
  versions: VersionKeeper,
  aside: string,
  path: string,
  change: "deleted" | "replaced",
  by: string,
): void {
  try {
    const name = versions.keepAsideSync(aside, path);
    log.info("{by} {change} {path}; kept the old copy in versions ({name})", {
      by,
      change,
      path,
      name,
    });
  } catch (error) {
    log.warn("Cannot keep the old copy of {path} in versions: {error}", {
      path,
      error: String(error),
    });
    try {
      Deno.removeSync(aside);
    } catch {
      // Gone already.
    }
  }
}
