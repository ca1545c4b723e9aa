/**
 * The group at work in a running node: answers join requests with the
 * current code, keeps the member list as devices connect, hands a new
 * secret to the members when one is removed (and takes one from them), and
 * serves the control API's group verbs (`invite`, `members`, `remove`).
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { answerJoin, refuseJoin } from "../group/mod.ts";
import { fingerprint, parsePeerIdHex, peerIdHex } from "../identity/mod.ts";
import type { ConnectionPool, SecureChannel } from "../net/mod.ts";
import type { SyncEngine } from "../sync/mod.ts";
import type { ControlReply, ControlRoutes } from "./control_server.ts";
import type { GroupContext } from "./group_context.ts";

const log = getLogger(["dsync", "node"]);

/** One join attempt per address per this long. */
const JOIN_INTERVAL_MS = 3_000;

/** The group's runtime side; see the module comment. */
export class GroupService {
  readonly #group: GroupContext;
  readonly #sessionKey: Uint8Array;
  readonly #name: string;
  readonly #now: () => number;
  /** Connected peers: session id (hex) → device key (hex). */
  readonly #devices = new Map<string, string>();
  readonly #names = new Map<string, string>();
  readonly #lastJoin = new Map<string, number>();
  readonly #tasks = new Set<Promise<unknown>>();
  #pool: ConnectionPool | undefined;
  #engine: SyncEngine | undefined;

  constructor(
    group: GroupContext,
    sessionKey: Uint8Array,
    name: string,
    now: () => number = Date.now,
  ) {
    this.#group = group;
    this.#sessionKey = sessionKey;
    this.#name = name;
    this.#now = now;
  }

  /** Starts following the pool's members and serving the engine's rekeys. */
  attach(pool: ConnectionPool, engine: SyncEngine): void {
    this.#pool = pool;
    this.#engine = engine;
    pool.on("peer-connected", ({ peerId, channel }) => {
      const device = peerIdHex(channel.peerDevice);
      if (this.#group.members.isRemoved(device)) {
        log.warn(
          "Refused {device}: it was removed from this folder's group",
          { device: fingerprint(channel.peerDevice) },
        );
        channel.abort(new Error("Removed from the group"));
        return;
      }
      this.#devices.set(peerIdHex(peerId), device);
    });
    pool.on("peer-disconnected", ({ peerId, reason }) => {
      // A duplicate connection replaced: the peer stays connected.
      if (reason.kind === "replaced") return;
      const key = peerIdHex(peerId);
      const device = this.#devices.get(key);
      const name = this.#names.get(key);
      if (device !== undefined && name !== undefined) {
        this.#track(this.#group.members.seen(device, name, this.#now()));
      }
      this.#devices.delete(key);
      this.#names.delete(key);
    });
  }

  /** A peer said hello: remember its device under its name. */
  peerHello(peerId: Uint8Array, name: string): void {
    const key = peerIdHex(peerId);
    this.#names.set(key, name);
    const device = this.#devices.get(key);
    if (device === undefined) return;
    const known = this.#group.members.list().some((m) => m.device === device);
    if (!known && !this.#group.isOpen) {
      // Just joined: the devices met first were members before us.
      const verb = this.#group.origin === "joined" &&
          this.#group.members.list().length === 0
        ? "is a member of"
        : "joined";
      log.info(`{name} ({fingerprint}) ${verb} this folder's group`, {
        name,
        fingerprint: fingerprint(parsePeerIdHex(device)),
      });
    }
    this.#track(this.#group.members.seen(device, name, this.#now()));
  }

  /** A member removed a device and sent the new secret. */
  rekey(peerId: Uint8Array, secret: Uint8Array, removed: Uint8Array): void {
    this.#track((async () => {
      try {
        if (await this.#group.rekeyed(secret, removed)) {
          this.#disconnectDevice(peerIdHex(removed));
          // Pass it on: a member connected only to us gets it too.
          await this.#engine?.sendGroupRekey(
            secret,
            removed,
            new Set([peerIdHex(peerId)]),
          );
        }
      } catch (error) {
        log.warn("Ignored a group key change from {peer}: {error}", {
          peer: fingerprint(peerId),
          error: String(error),
        });
      }
    })());
  }

  /** Takes a channel whose peer asked to join (`onJoin` of the pool). */
  join(channel: SecureChannel, remote: Deno.NetAddr): void {
    const now = this.#now();
    const last = this.#lastJoin.get(remote.hostname);
    if (last !== undefined && now - last < JOIN_INTERVAL_MS) {
      this.#track(
        refuseJoin(
          channel,
          "rate-limited",
          "Too many join attempts from this address; try again in a few seconds",
        ),
      );
      return;
    }
    if (this.#lastJoin.size > 4096) this.#lastJoin.clear();
    this.#lastJoin.set(remote.hostname, now);
    this.#track((async () => {
      const outcome = await answerJoin(
        channel,
        this.#sessionKey,
        this.#group.codes,
        this.#group.secret,
      );
      await channel.close("join done").catch(() => {});
      this.#group.joinsChanged();
      if (outcome.ok) {
        log.info(
          "A new device ({fingerprint}) at {addr} joined this folder's group with the join code",
          {
            fingerprint: fingerprint(channel.peerDevice),
            addr: remote.hostname,
          },
        );
        return;
      }
      const left = this.#group.codes.status().attemptsLeft;
      log.warn(
        "Refused a join request from {addr}: {message}{left}",
        {
          addr: remote.hostname,
          message: outcome.message,
          left: outcome.reason === "wrong-code"
            ? ` (${left} tries of this code left)`
            : "",
        },
      );
    })());
  }

  /** The control API's group routes. */
  routes(): ControlRoutes {
    return {
      "POST /api/invite": () => this.#invite(),
      "GET /api/members": () => this.#members(),
      "POST /api/remove": (body) => this.#remove(body),
    };
  }

  /** Waits for member-list writes and rekeys in progress. */
  async settled(): Promise<void> {
    while (this.#tasks.size > 0) await Promise.allSettled([...this.#tasks]);
    await this.#group.members.flush();
  }

  #invite(): ControlReply {
    try {
      const { code, expiresAt } = this.#group.invite();
      log.info(
        "New join code {code}, valid until {until}: on the other device run `dsync -d DIR --join {code}`",
        { code, until: new Date(expiresAt).toISOString() },
      );
      return { status: 200, body: { code, expiresAt } };
    } catch (error) {
      return { status: 409, body: { error: String((error as Error).message) } };
    }
  }

  #members(): ControlReply {
    const connected = new Set(this.#devices.values());
    return {
      status: 200,
      body: {
        group: this.#group.isOpen ? "open" : this.#group.secret.fingerprint,
        self: {
          name: this.#name,
          fingerprint: this.#group.device.fingerprint,
        },
        members: this.#group.members.list().map((m) => ({
          name: m.name,
          fingerprint: m.fingerprint,
          lastSeen: m.lastSeen,
          connected: connected.has(m.device) && m.removedAt === undefined,
          ...(m.removedAt === undefined ? {} : { removedAt: m.removedAt }),
        })),
      },
    };
  }

  async #remove(body: unknown): Promise<ControlReply> {
    const fp = (body as { fingerprint?: unknown } | undefined)?.fingerprint;
    if (typeof fp !== "string" || fp.length === 0 || fp.length > 64) {
      return { status: 400, body: { error: "Give the device's fingerprint" } };
    }
    let removal;
    try {
      removal = await this.#group.remove(fp);
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      return { status: 404, body: { error: error.message } };
    }
    const removedHex = peerIdHex(removal.device);
    const except = new Set<string>();
    for (const [session, device] of this.#devices) {
      if (device === removedHex) except.add(session);
    }
    const notified = await this.#engine?.sendGroupRekey(
      removal.secret.exportBytes(),
      removal.device,
      except,
    ) ?? 0;
    this.#disconnectDevice(removedHex);
    log.info(
      "Removed {name} ({fingerprint}) from this folder's group; the new group key went to {count} connected members (the others need a new join code)",
      {
        name: removal.name,
        fingerprint: fingerprint(removal.device),
        count: notified,
      },
    );
    return {
      status: 200,
      body: {
        removed: fingerprint(removal.device),
        name: removal.name,
        notified,
        group: removal.secret.fingerprint,
      },
    };
  }

  #disconnectDevice(device: string): void {
    for (const [session, d] of this.#devices) {
      if (d !== device) continue;
      this.#pool?.channel(parsePeerIdHex(session))?.abort(
        new Error("Removed from the group"),
      );
    }
  }

  #track(task: Promise<unknown>): void {
    this.#tasks.add(task);
    task.catch(() => {}).finally(() => this.#tasks.delete(task));
  }
}
