/**
 * LAN discovery of dsync peers: DNS-SD over mDNS (RFC 6762/6763), service
 * `_dsync._tcp.local` with TXT `v=1` and `id=<peer id hex>`.
 * @module
 */
export {
  Discovery,
  type DiscoveryOptions,
  type LostReason,
} from "./discovery.ts";
export { type Claim, claimOf, renamedLabel, winsTie } from "./name_conflict.ts";
export {
  DEFAULT_MAX_PEERS,
  type DiscoveredPeer,
  type Observation,
  PeerTable,
  type PeerTableOptions,
} from "./peer_table.ts";
export { browseDelayMs, MAX_QUERY_DELAY_MS } from "./browse_schedule.ts";
export {
  buildServiceRecords,
  type DiscoveredService,
  type ParsedInstance,
  parseServicePacket,
  parseServiceResponse,
  SERVICE_TYPE,
  type ServiceAnnouncement,
} from "./service_records.ts";
