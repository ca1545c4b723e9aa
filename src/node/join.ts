/**
 * Joining a group with a code, before the node starts: finds members that
 * accept joins (mDNS instances announcing `j=1`, and the `-a` addresses),
 * opens a join session to each in turn (handshake mode `join`), runs the
 * PAKE with the code, and returns the group secret. Nothing is written into
 * the folder here: the node stores the secret once it starts.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { JOIN_MEMBERSHIP } from "../crypto/mod.ts";
import { Discovery } from "../discovery/mod.ts";
import {
  type GroupSecret,
  type JoinCode,
  JoinRefusedError,
  requestJoin,
} from "../group/mod.ts";
import { fingerprint, Identity } from "../identity/mod.ts";
import { dial } from "../net/mod.ts";
import { dialAddress } from "./discovered_peers.ts";
import type { StaticPeer } from "./node_config.ts";

const log = getLogger(["dsync", "node"]);

/** Wait before asking the same address again. */
const RETRY_MS = 3_500;

/** The join failed for a reason the user must act on (wrong code, none found…). */
export class JoinFailedError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "JoinFailedError";
  }
}

/** Options of {@linkcode joinGroup}. */
export interface JoinOptions {
  readonly code: JoinCode;
  readonly peers: readonly StaticPeer[];
  readonly discovery: boolean;
  readonly name: string;
  /** Give up after this long without a member to ask (default 60 s). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

interface Target {
  readonly hostname: string;
  readonly port: number;
  readonly expectedPeerId?: Uint8Array;
}

/**
 * Asks members for the group secret with `options.code`.
 * @throws {JoinFailedError} when a member refused the code (wrong,
 *   expired, spent) or no member accepting joins was found in time.
 */
export async function joinGroup(options: JoinOptions): Promise<GroupSecret> {
  const identity = Identity.generate({ membership: JOIN_MEMBERSHIP });
  const timeoutMs = options.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  const queue: Target[] = options.peers.map((p) => ({ ...p }));
  const tried = new Set<string>();
  const retries = new Set<ReturnType<typeof setTimeout>>();
  let wake: (() => void) | undefined;
  let discovery: Discovery | undefined;
  if (options.discovery) {
    discovery = new Discovery({
      name: options.name,
      // Announced only so that the browse works; nothing listens there.
      port: 9,
      peerId: identity.publicKey,
    });
    discovery.on("peer", (peer) => {
      const address = dialAddress(peer);
      if (!peer.joinable || address === undefined) return;
      queue.push({
        hostname: address,
        port: peer.port,
        expectedPeerId: peer.id,
      });
      wake?.();
    });
    discovery.start();
  }
  log.info(
    "Looking for a member of the group that accepts this join code…",
  );
  let lastRefusal: JoinRefusedError | undefined;
  try {
    while (Date.now() < deadline && !options.signal?.aborted) {
      const target = queue.shift();
      if (target === undefined) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, Math.min(1000, deadline - Date.now()));
        });
        wake = undefined;
        // Static addresses are asked again (the member may start later).
        if (queue.length === 0) {
          for (const p of options.peers) {
            if (!tried.has(`${p.hostname}:${p.port}`)) queue.push({ ...p });
          }
        }
        continue;
      }
      const key = `${target.hostname}:${target.port}`;
      if (tried.has(key)) continue;
      tried.add(key);
      try {
        const channel = await dial({
          hostname: target.hostname,
          port: target.port,
          identity,
          expectedPeerId: target.expectedPeerId,
          timeoutMs: 5_000,
        });
        try {
          const secret = await requestJoin(
            channel,
            identity.publicKey,
            options.code,
          );
          log.info("Joined the group through {peer} at {addr}", {
            peer: fingerprint(channel.peerId),
            addr: key,
          });
          return secret;
        } finally {
          await channel.close("join done").catch(() => {});
        }
      } catch (error) {
        if (error instanceof JoinRefusedError) {
          if (
            error.reason === "wrong-code" || error.reason === "expired" ||
            error.reason === "spent" || error.reason === "used"
          ) {
            throw new JoinFailedError(refusalLine(error), { cause: error });
          }
          lastRefusal = error;
        }
        log.debug("Join through {addr} failed: {error}", {
          addr: key,
          error: String(error),
        });
        // Try this address again later (it may accept joins soon; a
        // member takes one join attempt per address every few seconds).
        const retry = setTimeout(() => tried.delete(key), RETRY_MS);
        retries.add(retry);
      }
    }
  } finally {
    for (const retry of retries) clearTimeout(retry);
    await discovery?.close();
  }
  if (options.signal?.aborted) {
    throw new JoinFailedError("Join cancelled");
  }
  throw new JoinFailedError(
    lastRefusal !== undefined
      ? refusalLine(lastRefusal)
      : `Found no member of the group accepting joins within ${
        Math.round(timeoutMs / 1000)
      } s: run dsync on a member, and \`dsync invite -d DIR\` there for a code${
        options.peers.length === 0 && !options.discovery
          ? " (and give its address with -a HOST:PORT)"
          : ""
      }`,
  );
}

function refusalLine(error: JoinRefusedError): string {
  switch (error.reason) {
    case "wrong-code":
      return "The join code is wrong; check it, or ask for a new one with `dsync invite -d DIR` on a member";
    case "expired":
      return "The join code has expired (codes last 10 minutes); ask for a new one with `dsync invite -d DIR` on a member";
    case "spent":
      return "The join code was tried 3 times and is spent; ask for a new one with `dsync invite -d DIR` on a member";
    case "used":
      return "The join code was already used by another device; ask for a new one with `dsync invite -d DIR` on a member";
    default:
      return `The member refused the join: ${error.message}`;
  }
}
