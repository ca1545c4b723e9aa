/** Loopback fixtures shared by the network tests. */
import { waitFor as poll } from "../_wait.ts";
import { Identity } from "../../src/identity/identity.ts";
import { dial } from "../../src/net/dialer.ts";
import {
  listen,
  type Listener,
  type ListenerLimits,
} from "../../src/net/listener.ts";
import type { SecureChannel } from "../../src/net/secure_channel.ts";

/** Polls `condition` every 5 ms until true; throws after `timeoutMs`. */
export function waitFor(
  condition: () => boolean,
  what: string,
  timeoutMs = 5_000,
): Promise<void> {
  return poll(condition, what, timeoutMs, 5);
}

/** A listener whose sessions land in a queue. */
export interface TestServer {
  identity: Identity;
  listener: Listener;
  port: number;
  /** Resolves with the next accepted channel. */
  nextSession(): Promise<SecureChannel>;
  close(): Promise<void>;
}

export function startServer(
  limits: Partial<ListenerLimits> = {},
  identity = Identity.generate(),
  port = 0,
): TestServer {
  const sessions: SecureChannel[] = [];
  const waiters: ((c: SecureChannel) => void)[] = [];
  const listener = listen({
    hostname: "127.0.0.1",
    port,
    identity,
    limits,
    onSession: (channel) => {
      const waiter = waiters.shift();
      if (waiter) waiter(channel);
      else sessions.push(channel);
    },
  });
  return {
    identity,
    listener,
    port: listener.addr.port,
    nextSession() {
      const ready = sessions.shift();
      if (ready) return Promise.resolve(ready);
      return new Promise((resolve) => waiters.push(resolve));
    },
    close: () => listener.close(),
  };
}

/** A dialed channel and the server's side of it. */
export async function channelPair(
  options: {
    serverLimits?: Partial<ListenerLimits>;
    clientMaxMessageSize?: number;
  } = {},
) {
  const server = startServer(options.serverLimits);
  const clientIdentity = Identity.generate();
  const client = await dial({
    hostname: "127.0.0.1",
    port: server.port,
    identity: clientIdentity,
    expectedPeerId: server.identity.publicKey,
    maxMessageSize: options.clientMaxMessageSize,
  });
  const serverSide = await server.nextSession();
  return {
    server,
    clientIdentity,
    client,
    serverSide,
    async close() {
      await client.close();
      await serverSide.close();
      await server.close();
    },
  };
}

/** Deterministic bytes for content checks. */
export function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed * 2654435761 >>> 0;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}
