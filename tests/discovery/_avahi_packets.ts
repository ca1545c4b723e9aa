/**
 * Real packets from avahi-daemon 0.8 (Debian 12), captured on a veth in a
 * private network namespace while `avahi-publish` announced, browsed and
 * withdrew services; stored as hex in tests/testdata/mdns_avahi_packets.json.
 * @module
 */

interface Fixture {
  id: string;
  packets: Record<string, string>;
}

const FIXTURE: Fixture = JSON.parse(
  await Deno.readTextFile(
    new URL("../testdata/mdns_avahi_packets.json", import.meta.url),
  ),
);

/** The peer id (hex) the captured dsync-type service announced. */
export const AVAHI_ID: string = FIXTURE.id;

/** Names of the captured packets. */
export const AVAHI_PACKETS: string[] = Object.keys(FIXTURE.packets);

/** The captured packet `name` as bytes. */
export function avahiPacket(name: string): Uint8Array {
  const hex = FIXTURE.packets[name];
  if (hex === undefined) throw new Error(`No fixture packet ${name}`);
  return Uint8Array.from(hex.match(/../g)!, (h) => parseInt(h, 16));
}
