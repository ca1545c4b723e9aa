import { getLogger } from "@logtape/logtape";
import type { DiscoveredPeer, Discovery } from "../discovery/mod.ts";
import { fingerprint, peerIdHex } from "../identity/mod.ts";
import type { ConnectionPool } from "../net/mod.ts";

const log = getLogger(["dsync", "node"]);

/**
 * Failed dials in a row after which a discovered peer is dropped from the
 * discovery table (an unverified one is then not taken again for a while):
 * fake announcements used to cost ~2,100 dials in 70 s to addresses an
 * attacker chose. A real peer comes back with its next announcement.
 */
export const MAX_DISCOVERED_DIAL_FAILURES = 3;
/** At most one summary of failed dials per this interval (ms). */
export const DIAL_FAILURE_REPORT_MS = 60_000;

/** The address to dial: IPv4 first, since the pool listens on 0.0.0.0. */
export function dialAddress(peer: DiscoveredPeer): string | undefined {
  return peer.addresses.find((a) => !a.includes(":")) ?? peer.addresses[0];
}

/**
 * Keeps one dialed connection per peer that mDNS reports and `accept`
 * takes (a member of our group, by its tag), requiring the handshake to
 * prove the announced id; follows address changes and stops dialing a peer
 * that says goodbye, expires, keeps failing, or is no longer accepted (its
 * tag changed). A goodbye or expiry of a peer we are connected to ends
 * nothing: the connection itself proves it is there. Failed dials are
 * summarised once a minute.
 */
export function followDiscoveredPeers(
  discovery: Discovery,
  pool: ConnectionPool,
  accept: (peer: DiscoveredPeer) => boolean = () => true,
  now: () => number = Date.now,
): void {
  const dialing = new Map<string, { address: string; stop: () => void }>();
  let failed = 0;
  let givenUp = 0;
  let lastReport = -Infinity;
  const report = () => {
    const t = now();
    if (t - lastReport < DIAL_FAILURE_REPORT_MS) return;
    lastReport = t;
    log.info(
      "{failed} dials to peers found by mDNS failed since the last report; {givenUp} peers dropped after {max} failures in a row",
      { failed, givenUp, max: MAX_DISCOVERED_DIAL_FAILURES },
    );
    failed = givenUp = 0;
  };
  pool.on("peer-connected", ({ peerId }) => discovery.markVerified(peerId));
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
    const entry = {
      address: target,
      stop: pool.addStaticPeer(address, peer.port, peer.id, {
        maxFailures: MAX_DISCOVERED_DIAL_FAILURES,
        onFailure: () => {
          failed++;
          report();
        },
        onGiveUp: () => {
          if (dialing.get(key) === entry) dialing.delete(key);
          discovery.markFailed(peer.id);
          givenUp++;
          report();
        },
      }),
    };
    dialing.set(key, entry);
  });
  discovery.on("lost", (peer, reason) => {
    const key = peerIdHex(peer.id);
    if (!dialing.has(key)) return;
    const why = reason === "goodbye" ? "mDNS goodbye" : "mDNS records expired";
    if (pool.isConnected(peer.id)) {
      log.debug("Keeping {name} ({fingerprint}): connected despite {why}", {
        name: peer.name,
        fingerprint: fingerprint(peer.id),
        why,
      });
      return;
    }
    dialing.get(key)?.stop();
    dialing.delete(key);
    log.info("Peer {name} ({fingerprint}) left the network ({why})", {
      name: peer.name,
      fingerprint: fingerprint(peer.id),
      why,
    });
  });
}
