/**
 * The two commands the folder modes offer: `override` (send-only: make
 * this folder's state win over the group's, so peers apply it) and
 * `revert` (receive-only: drop the local changes, keeping them as
 * versions, so the group's records are pulled again). Each runs as one
 * step under the apply gate; the caller announces and requeues.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import {
  bump,
  EMPTY_VERSION,
  type FileRecord,
  type IndexStore,
  merge,
} from "../index/mod.ts";
import type { VersionKeeper } from "../versions/mod.ts";
import {
  type ApplyGate,
  assertUnchanged,
  checkParentDirs,
  type EchoFilter,
  removePath,
} from "./apply/mod.ts";
import { isLocalChange } from "./pull/mod.ts";

const log = getLogger(["dsync", "sync", "modes"]);

/** What the mode commands work on. */
export interface ModeContext {
  readonly folder: string;
  readonly store: IndexStore;
  readonly remote: {
    recordsFor(path: string): { record: FileRecord }[];
  };
  readonly gate: ApplyGate;
  readonly echo: EchoFilter;
}

/** A tombstone of `base` with `version` (nothing of its content kept). */
function tombstoneOf(
  base: FileRecord,
  version: FileRecord["version"],
): FileRecord {
  const { inode: _i, dev: _d, symlinkTarget: _t, ...rest } = base;
  return {
    ...rest,
    size: 0,
    exec: false,
    hash: new Uint8Array(0),
    chunks: [],
    deleted: true,
    version,
    sequence: 0,
  };
}

/**
 * For each of `paths`: stores the local record (a tombstone where there is
 * none) with a version newer than every peer's record of the path, so each
 * peer replaces its state with this folder's. Returns the paths changed.
 */
export async function overrideGroup(
  ctx: ModeContext,
  paths: Iterable<string>,
): Promise<string[]> {
  const wanted = [...paths];
  return await ctx.gate.run(() => {
    const records: FileRecord[] = [];
    for (const path of wanted) {
      const remotes = ctx.remote.recordsFor(path).map((r) => r.record);
      if (remotes.length === 0) continue;
      const local = ctx.store.get(path);
      let version = local?.version ?? EMPTY_VERSION;
      for (const r of remotes) version = merge(version, r.version);
      version = bump(version, ctx.store.replicaId);
      records.push(
        local === undefined
          ? tombstoneOf(remotes[0]!, version)
          : { ...local, version, sequence: 0 },
      );
    }
    ctx.store.putMany(records);
    return records.map((r) => r.path);
  });
}

/** Outcome of {@linkcode revertLocalChanges}. */
export interface RevertOutcome {
  /** Paths whose local change is gone (kept as a version where a file). */
  readonly reverted: string[];
  /** Paths left as they are (changed again meanwhile, or a folder with entries). */
  readonly skipped: string[];
}

/**
 * Drops every local change ({@linkcode isLocalChange}): files go to
 * `versions`, links and emptied folders are removed, and each record
 * becomes a tombstone with an empty version, older than any peer's record
 * (so the group's is pulled) and never announced. Deepest paths first.
 */
export async function revertLocalChanges(
  ctx: ModeContext,
  versions: VersionKeeper,
): Promise<RevertOutcome> {
  return await ctx.gate.run(async () => {
    const changes: FileRecord[] = [];
    for (let cursor = 0;;) {
      const page = ctx.store.since(cursor, 1000);
      if (page.length === 0) break;
      cursor = page[page.length - 1]!.sequence;
      for (const local of page) {
        const remotes = ctx.remote.recordsFor(local.path).map((r) => r.record);
        if (isLocalChange(local, remotes)) changes.push(local);
      }
    }
    const depth = (p: string) => p.split("/").length;
    changes.sort((a, b) => depth(b.path) - depth(a.path));
    const outcome: RevertOutcome = { reverted: [], skipped: [] };
    const tombstones: FileRecord[] = [];
    for (const local of changes) {
      try {
        if (!local.deleted) {
          const os = await checkParentDirs(ctx.folder, local.path);
          if (os !== undefined) {
            await assertUnchanged(
              local.path,
              os,
              ctx.store.getStat(local.path),
            );
          }
          if (local.kind === "file" && os !== undefined) {
            const name = await versions.keep(local.path, "move");
            log.info(
              "Reverted the local change of {path}; kept it in versions ({name})",
              {
                path: local.path,
                name,
              },
            );
          } else if (
            await removePath(ctx.folder, local.path) === "not-empty"
          ) {
            outcome.skipped.push(local.path);
            continue;
          }
          ctx.echo.remember(local.path, "absent");
        }
        tombstones.push(tombstoneOf(local, EMPTY_VERSION));
        outcome.reverted.push(local.path);
      } catch (error) {
        log.warn("Not reverting {path}: {error}", {
          path: local.path,
          error: String(error),
        });
        outcome.skipped.push(local.path);
      }
    }
    ctx.store.putMany(tombstones);
    return outcome;
  });
}
