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
/**
 * A goodbye for a connected peer counts only if its connection ends within
 * this long (ms): a real peer leaving closes it at once, a spoofed goodbye
 * leaves it up.
 */
export const GOODBYE_GRACE_MS = 10_000;

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
 * nothing by itself: the connection proves it is there; only if that
 * connection ends soon after is the peer taken as gone. Failed dials are
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
  const stopDialing = (peer: DiscoveredPeer, why: string) => {
    const key = peerIdHex(peer.id);
    dialing.get(key)?.stop();
    dialing.delete(key);
    log.info("Peer {name} ({fingerprint}) left the network ({why})", {
      name: peer.name,
      fingerprint: fingerprint(peer.id),
      why,
    });
  };
  // Goodbyes of connected peers, waiting for their connection to end.
  const farewells = new Map<
    string,
    { peer: DiscoveredPeer; why: string; at: number }
  >();
  pool.on("peer-connected", ({ peerId }) => discovery.markVerified(peerId));
  pool.on("peer-disconnected", ({ peerId }) => {
    const key = peerIdHex(peerId);
    const farewell = farewells.get(key);
    if (farewell === undefined) return;
    farewells.delete(key);
    if (now() - farewell.at <= GOODBYE_GRACE_MS && dialing.has(key)) {
      stopDialing(farewell.peer, farewell.why);
    }
  });
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
        onFailure: (error, failures) => {
          failed++;
          // The first failure of each entry is named; the rest are counted.
          if (failures === 1) {
            log.info(
              "Dialing {target} failed ({name}: {message}); further failures are summarised once a minute",
              {
                target,
                name: error instanceof Error ? error.name : "Error",
                message: error instanceof Error ? error.message : String(error),
              },
            );
          }
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
      if (farewells.size >= 1024) farewells.clear();
      farewells.set(key, { peer, why, at: now() });
      return;
    }
    stopDialing(peer, why);
  });
}
