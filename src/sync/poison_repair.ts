/**
 * Gives a local record poisoned before the counter rule (a counter no
 * device accepts; see `session/poisoned_version.ts`) a version every
 * device takes, as one step under the apply gate. The caller announces it
 * and plans the path again: against the peers' records it is now a
 * conflict, which every device resolves the same way.
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { IndexStore } from "../index/mod.ts";
import type { ApplyGate } from "./apply/mod.ts";
import { isPoisoned, repairedVersion } from "./session/mod.ts";

const log = getLogger(["dsync", "sync"]);

/**
 * What a session calls for a poisoned path: {@linkcode repairPoisoned},
 * then `repaired(path)` (to announce it and plan the path again).
 */
export function poisonRepairer(
  ctx: { readonly store: IndexStore; readonly gate: ApplyGate },
  repaired: (path: string) => void,
): (path: string) => void {
  return (path) => {
    repairPoisoned(ctx, path).then((done) => {
      if (done) repaired(path);
    }).catch((err) =>
      log.error("Cannot repair the version of {path}: {error}", {
        path,
        error: String(err),
      })
    );
  };
}

/** Repairs the local record of `path` if poisoned; true when it did. */
export async function repairPoisoned(
  ctx: { readonly store: IndexStore; readonly gate: ApplyGate },
  path: string,
): Promise<boolean> {
  return await ctx.gate.run(() => {
    const local = ctx.store.get(path);
    if (local === undefined || !isPoisoned(local.version)) return false;
    ctx.store.putMany([{
      ...local,
      version: repairedVersion(local.version, ctx.store.replicaId),
      sequence: 0,
    }]);
    log.warn(
      "Our record of {path} held a version counter no device accepts (from before that rule); it now has a version every device takes, and differences with peers become a conflict",
      { path },
    );
    return true;
  });
}
