import { getLogger } from "@logtape/logtape";
import type { DiscoveredPeer, Discovery } from "../discovery/mod.ts";
import { fingerprint, peerIdHex } from "../identity/mod.ts";
import type { ConnectionPool } from "../net/mod.ts";

const log = getLogger(["dsync", "node"]);

/** The address to dial: IPv4 first, since the pool listens on 0.0.0.0. */
export function dialAddress(peer: DiscoveredPeer): string | undefined {
  return peer.addresses.find((a) => !a.includes(":")) ?? peer.addresses[0];
}

/**
 * Keeps one dialed connection per peer that mDNS reports and `accept`
 * takes (a member of our group, by its tag), requiring the handshake to
 * prove the announced id; follows address changes and stops dialing a peer
 * that says goodbye, expires, or is no longer accepted (its tag changed).
 */
export function followDiscoveredPeers(
  discovery: Discovery,
  pool: ConnectionPool,
  accept: (peer: DiscoveredPeer) => boolean = () => true,
): void {
  const dialing = new Map<string, { address: string; stop: () => void }>();
  discovery.on("peer", (peer) => {
    const key = peerIdHex(peer.id);
    const address = dialAddress(peer);
    if (address === undefined) return;
    if (!accept(peer)) {
      dialing.get(key)?.stop();
      dialing.delete(key);
      log.debug("Not dialing {name} ({fingerprint}): not in this group", {
        name: peer.name,
        fingerprint: fingerprint(peer.id),
      });
      return;
    }
    const target = `${address}:${peer.port}`;
    const current = dialing.get(key);
    if (current?.address === target) return;
    current?.stop();
    log.info("Discovered {name} ({fingerprint}) at {target}", {
      name: peer.name,
      fingerprint: fingerprint(peer.id),
      target,
    });
    dialing.set(key, {
      address: target,
      stop: pool.addStaticPeer(address, peer.port, peer.id),
    });
  });
  discovery.on("lost", (peer, reason) => {
    const key = peerIdHex(peer.id);
    if (!dialing.has(key)) return;
    dialing.get(key)?.stop();
    dialing.delete(key);
    log.info("Peer {name} ({fingerprint}) left the network ({why})", {
      name: peer.name,
      fingerprint: fingerprint(peer.id),
      why: reason === "goodbye" ? "mDNS goodbye" : "mDNS records expired",
    });
  });
}
