/**
 * A relay in the middle that ends both handshakes with keys of its own and
 * passes the decrypted messages between two real dsync processes. Between
 * open instances it reads every byte (the control case, proving the relay
 * works); in a group it cannot prove membership to either side, so both
 * report the refusal, nothing arrives and neither ever says it is in sync.
 * @module
 */
import { assert, assertEquals } from "../assert.ts";
import { GroupSecret } from "../../src/group/mod.ts";
import { Identity } from "../../src/identity/mod.ts";
import {
  dial,
  establishChannel,
  type SecureChannel,
} from "../../src/net/mod.ts";
import { decodeMessage } from "../../src/protocol/mod.ts";
import { DsyncProcess, freePort, isolatedEnv, TEST_GROUP } from "./_dsync.ts";
import { waitFor } from "../_wait.ts";

const SECRET = "the relay must never read this\n";

/**
 * Relays A → relay → B: for each connection from A it runs the responder
 * handshake with A and, at the same time, dials B, each with a fresh
 * identity of its own; once both stand it passes messages through.
 */
class Relay {
  readonly socket: Deno.TcpListener;
  /** Plaintext application messages seen, both directions. */
  readonly seen: Uint8Array[] = [];
  /** Handshakes that failed, on either side. */
  failed = 0;
  readonly channels: SecureChannel[] = [];
  readonly tasks: Promise<void>[] = [];
  readonly #accepting: Promise<void>;

  constructor(port: number, targetPort: number, group: GroupSecret) {
    const identity = () => Identity.generate({ membership: group.membership });
    const socket = Deno.listen({ hostname: "127.0.0.1", port });
    this.socket = socket;
    this.#accepting = (async () => {
      for await (const conn of socket) {
        this.tasks.push(this.#bridge(conn, targetPort, identity));
      }
    })().catch(() => {});
  }

  async #bridge(
    conn: Deno.Conn,
    targetPort: number,
    identity: () => Identity,
  ): Promise<void> {
    const sides = await Promise.allSettled([
      establishChannel(conn, {
        role: "responder",
        identity: identity(),
        timeoutMs: 10_000,
        remoteAddr: "a",
      }),
      dial({ hostname: "127.0.0.1", port: targetPort, identity: identity() }),
    ]);
    const open: SecureChannel[] = [];
    for (const side of sides) {
      if (side.status === "fulfilled") open.push(side.value);
      else this.failed++;
    }
    this.channels.push(...open);
    if (open.length < 2) {
      for (const c of open) c.abort(new Error("relay: other side refused"));
      try {
        conn.close();
      } catch { /* closed by the handshake */ }
      return;
    }
    const [fromA, toB] = open as [SecureChannel, SecureChannel];
    const pump = async (from: SecureChannel, to: SecureChannel) => {
      try {
        for (;;) {
          const bytes = await from.receive();
          if (bytes === null) break;
          this.seen.push(bytes);
          await to.send(bytes);
        }
      } catch {
        // Either side went away.
      }
      to.abort(new Error("relay: other side ended"));
    };
    await Promise.all([pump(fromA, toB), pump(toB, fromA)]);
  }

  /** True when a decoded message carried `text` in its chunk data. */
  read(text: string): boolean {
    for (const bytes of this.seen) {
      try {
        const msg = decodeMessage(bytes);
        if (
          msg.type === "chunk_response" &&
          new TextDecoder().decode(msg.data).includes(text)
        ) return true;
      } catch {
        // Compressed or partial: not what we look for.
      }
    }
    return false;
  }

  async close(): Promise<void> {
    for (const c of this.channels) c.abort(new Error("relay closed"));
    this.socket.close();
    await this.#accepting;
    await Promise.allSettled(this.tasks);
  }
}

interface Pair {
  root: string;
  a: DsyncProcess;
  b: DsyncProcess;
  relay: Relay;
}

/** A dials only the relay; B dials nobody; the relay dials B. */
async function startPair(
  mode: "open" | "group",
  relayGroup: GroupSecret,
): Promise<Pair> {
  const root = await Deno.makeTempDir({ prefix: "dsync-relay-" });
  for (const d of ["a", "b", "home"]) await Deno.mkdir(`${root}/${d}`);
  await Deno.writeTextFile(`${root}/a/secret.txt`, SECRET);
  const env = isolatedEnv(`${root}/home`);
  const [portA, portB, portRelay] = [freePort(), freePort(), freePort()];
  const extra = mode === "open" ? ["--open"] : [];
  const relay = new Relay(portRelay, portB, relayGroup);
  const b = new DsyncProcess(
    ["-d", `${root}/b`, "-n", "b", "-p", String(portB), "--no-discovery"]
      .concat(extra),
    { env },
  );
  const a = new DsyncProcess(
    [
      "-d",
      `${root}/a`,
      "-n",
      "a",
      "-p",
      String(portA),
      "--no-discovery",
      "-a",
      `127.0.0.1:${portRelay}`,
    ].concat(extra),
    { env },
  );
  return { root, a, b, relay };
}

async function stopPair(pair: Pair): Promise<void> {
  await Promise.allSettled([pair.a.stop("SIGKILL"), pair.b.stop("SIGKILL")]);
  await pair.relay.close();
  await Deno.remove(pair.root, { recursive: true }).catch(() => {});
}

Deno.test("relay: between open instances a relay with its own keys reads the files (the attack works without groups)", async () => {
  const pair = await startPair("open", GroupSecret.open());
  try {
    await waitFor(
      async () =>
        await Deno.readTextFile(`${pair.root}/b/secret.txt`).catch(() => "") ===
          SECRET,
      "secret.txt to reach b through the relay",
      30_000,
    );
    assert(pair.relay.read(SECRET), "the relay read the plaintext");
  } finally {
    await stopPair(pair);
  }
});

Deno.test("relay: in a group a relay that ends both handshakes with its own key is refused by both sides, who never say in sync", async () => {
  // The relay knows no group secret: it makes up its own group.
  const pair = await startPair("group", GroupSecret.generate());
  try {
    await pair.a.waitForOutput(/is not in this folder's group/, 30_000);
    await pair.b.waitForOutput(
      /Refused a device that is not in this folder's group at 127\.0\.0\.1/,
      30_000,
    );
    // A few more dials of A change nothing.
    await pair.a.waitForOutput(/Indexed 1 file/);
    await waitFor(
      () => pair.relay.failed >= 4,
      "A to dial the relay twice",
      30_000,
    );
    assertEquals(pair.relay.seen.length, 0, "the relay saw no message");
    assertEquals(pair.relay.read(SECRET), false);
    for (const [name, proc] of [["a", pair.a], ["b", pair.b]] as const) {
      assert(!/in sync with/.test(proc.output), `${name} said in sync`);
    }
    const listing = [...Deno.readDirSync(`${pair.root}/b`)].map((e) => e.name);
    assert(!listing.includes("secret.txt"), "nothing reached b");
  } finally {
    await stopPair(pair);
  }
});

Deno.test("relay: a relay holding the real group secret is the only way through (membership is what it lacks)", async () => {
  // A member device gone rogue is a member; this is the boundary of what
  // groups promise, and shows the refusal above is for want of the secret.
  const pair = await startPair("group", TEST_GROUP);
  try {
    await waitFor(
      async () =>
        await Deno.readTextFile(`${pair.root}/b/secret.txt`).catch(() => "") ===
          SECRET,
      "secret.txt to reach b through a member relay",
      30_000,
    );
  } finally {
    await stopPair(pair);
  }
});
