import { assert, assertEquals } from "../assert.ts";
import {
  asksForService,
  buildServiceRecords,
  MAX_TXT_BYTES,
  parseServicePacket,
  parseServiceResponse,
  type ServiceAnnouncement,
  toLabel,
} from "../../src/discovery/service_records.ts";
import {
  type DnsAnswer,
  encodeDnsMessage,
} from "../../src/discovery/mdns_socket.ts";
import { Identity, peerIdHex } from "../../src/identity/mod.ts";

const ID = Identity.fromKeys(new Uint8Array(32).fill(7), {
  publicKey: new Uint8Array(32).fill(1),
  privateKey: new Uint8Array(32).fill(2),
}).publicKey;

const ME: ServiceAnnouncement = {
  name: "laptop",
  host: "laptop-host",
  port: 22000,
  peerId: ID,
  ipv4: ["192.168.1.20", "10.0.0.5"],
  ipv6: ["fd00::1"],
};

function response(answers: DnsAnswer[], additionals: DnsAnswer[] = []) {
  return encodeDnsMessage({
    type: "response",
    flags: 0x8400,
    answers,
    additionals,
  });
}

function hex(text: string): Uint8Array {
  const clean = text.replace(/#.*$/gm, "").replace(/\s+/g, "");
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  }
  return out;
}

/** An Avahi-style answer for a printer's `_http._tcp.local`, with name compression. */
const AVAHI_HTTP = hex(`
  0000 8400 0000 0001 0000 0002                      # header: response, 1 answer, 2 additional
  055f68747470 045f746370 056c6f63616c 00            # @12 _http._tcp.local
  000c 0001 00001194 000a                            # PTR IN ttl 4500, 10 bytes
  077072696e746572 c00c                              # @40 printer._http._tcp.local
  c028 0021 8001 00000078 0010                       # SRV flush ttl 120, 16 bytes
  0000 0000 0050 077072696e746572 c017               # prio 0 weight 0 port 80 printer.local
  c028 0010 8001 00001194 0007                       # TXT flush ttl 4500, 7 bytes
  06 706174683d2f                                    # "path=/"
`);

Deno.test("buildServiceRecords() round-trips through bytes and parseServicePacket()", () => {
  const parsed = parseServicePacket(response(buildServiceRecords(ME)));
  assertEquals(parsed.length, 1);
  const r = parsed[0];
  assert(r?.kind === "service", JSON.stringify(r));
  assertEquals(peerIdHex(r.service.id), peerIdHex(ID));
  assertEquals(r.service.name, "laptop");
  assertEquals(r.service.instance, "laptop._dsync._tcp.local");
  assertEquals(r.service.host, "laptop-host.local");
  assertEquals(r.service.port, 22000);
  assertEquals(r.service.addresses, ["192.168.1.20", "10.0.0.5", "fd00::1"]);
  assertEquals(r.service.ttl, 120);
});

Deno.test("buildServiceRecords() has the DNS-SD record set", () => {
  const records = buildServiceRecords(ME);
  assertEquals(records.map((r) => r.type), [
    "PTR",
    "SRV",
    "TXT",
    "A",
    "A",
    "AAAA",
  ]);
  assertEquals(records[0], {
    name: "_dsync._tcp.local",
    type: "PTR",
    ttl: 120,
    data: "laptop._dsync._tcp.local",
  });
  assertEquals(records[2]?.data, ["v=1", `id=${peerIdHex(ID)}`]);
});

Deno.test("parseServicePacket() reads a TTL 0 announcement as a goodbye", () => {
  const parsed = parseServicePacket(response(buildServiceRecords(ME, 0)));
  assertEquals(parsed, [{
    kind: "goodbye",
    instance: "laptop._dsync._tcp.local",
  }]);
});

Deno.test("parseServicePacket() ignores other service types (Avahi _http._tcp)", () => {
  assertEquals(parseServicePacket(AVAHI_HTTP), []);
});

Deno.test("parseServicePacket() gives a problem for truncated or garbage bytes", () => {
  const whole = response(buildServiceRecords(ME));
  for (let n = 0; n < whole.length; n++) {
    const parsed = parseServicePacket(whole.subarray(0, n));
    for (const r of parsed) {
      assert(r.kind === "problem", `length ${n}: ${r.kind}`);
    }
  }
  for (let n = 0; n < AVAHI_HTTP.length; n++) {
    const parsed = parseServicePacket(AVAHI_HTTP.subarray(0, n));
    for (const r of parsed) {
      assert(r.kind === "problem", `length ${n}: ${r.kind}`);
    }
  }
  // Deterministic pseudo-random garbage with a plausible header.
  let seed = 12345;
  for (let i = 0; i < 500; i++) {
    const bytes = new Uint8Array(12 + (i % 200));
    for (let j = 0; j < bytes.length; j++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      bytes[j] = seed & 0xff;
    }
    bytes[2] = 0x84;
    for (const r of parseServicePacket(bytes)) assert(r.kind !== "service");
  }
  const bad = parseServicePacket(new Uint8Array([1, 2, 3]));
  assertEquals(bad.length, 1);
  assertEquals(bad[0]?.kind, "problem");
});

function withTxt(data: unknown, srvPort: unknown = 22000): unknown {
  const records = buildServiceRecords(ME) as DnsAnswer[];
  return {
    type: "response",
    answers: records.map((r) => {
      if (r.type === "TXT") return { ...r, data };
      if (r.type === "SRV") {
        return {
          ...r,
          data: {
            priority: 0,
            weight: 0,
            port: srvPort,
            target: "laptop-host.local",
          },
        };
      }
      return r;
    }),
  };
}

Deno.test("parseServiceResponse() validates TXT and SRV strictly", () => {
  const good = `id=${peerIdHex(ID)}`;
  const cases: [string, unknown, unknown][] = [
    ["no v", [good], 22000],
    ["wrong v", ["v=2", good], 22000],
    ["no id", ["v=1"], 22000],
    ["short id", ["v=1", "id=abcd"], 22000],
    ["non-hex id", ["v=1", `id=${"zz".repeat(32)}`], 22000],
    ["not a key", ["v=1", `id=${"ff".repeat(32)}`], 22000],
    ["oversize", ["v=1", good, "x=" + "a".repeat(MAX_TXT_BYTES)], 22000],
    ["bad data", 42, 22000],
    ["port 0", ["v=1", good], 0],
    ["port 65536", ["v=1", good], 65536],
    ["port text", ["v=1", good], "22000"],
    ["port fraction", ["v=1", good], 1.5],
  ];
  for (const [what, txt, port] of cases) {
    const parsed = parseServiceResponse(withTxt(txt, port));
    assertEquals(parsed.length, 1, what);
    assertEquals(parsed[0]?.kind, "problem", what);
  }
  const ok = parseServiceResponse(
    withTxt([new TextEncoder().encode("V=1"), new TextEncoder().encode(good)]),
  );
  assertEquals(ok[0]?.kind, "service");
});

Deno.test("parseServiceResponse() never throws on odd shapes", () => {
  const shapes: unknown[] = [
    null,
    42,
    "x",
    {},
    { type: "query" },
    { type: "response", answers: "x" },
    { type: "response", answers: [null, 1, { name: 5 }] },
    {
      type: "response",
      answers: [{ name: "_dsync._tcp.local", type: "PTR", ttl: 1, data: 5 }],
    },
    {
      type: "response",
      answers: [{
        name: "_dsync._tcp.local",
        type: "PTR",
        ttl: 1,
        data: "x.other",
      }],
    },
    {
      type: "response",
      answers: [{
        name: "_dsync._tcp.local",
        type: "PTR",
        ttl: 1,
        data: "a._dsync._tcp.local",
      }],
    },
    {
      type: "response",
      answers: [{
        name: "_dsync._tcp.local",
        type: "PTR",
        ttl: -1,
        data: "a._dsync._tcp.local",
      }],
    },
  ];
  for (const s of shapes) {
    for (const r of parseServiceResponse(s)) {
      assert(r.kind === "problem", JSON.stringify(s));
    }
  }
});

Deno.test("parseServiceResponse() reads a bounded number of records", () => {
  const answers: DnsAnswer[] = [];
  for (let i = 0; i < 5_000; i++) {
    answers.push({
      name: "_dsync._tcp.local",
      type: "PTR",
      ttl: 120,
      data: `n${i}._dsync._tcp.local`,
    });
  }
  const parsed = parseServiceResponse({ type: "response", answers });
  assert(parsed.length <= 64, `${parsed.length} results`);
});

Deno.test("asksForService() matches PTR queries for our type and our names", () => {
  const q = (name: string, type = "PTR") => ({
    type: "query",
    questions: [{ name, type }],
  });
  assert(asksForService(q("_dsync._tcp.local")));
  assert(asksForService(q("_DSYNC._tcp.local")));
  assert(!asksForService(q("_http._tcp.local")));
  assert(
    asksForService(q("laptop._dsync._tcp.local", "SRV"), [
      "laptop._dsync._tcp.local",
    ]),
  );
  assert(!asksForService({ type: "response", questions: [] }));
  assert(!asksForService(null));
});

Deno.test("toLabel() makes one safe DNS label", () => {
  assertEquals(toLabel("my.host"), "my-host");
  assertEquals(toLabel(""), "dsync");
  assertEquals(
    new TextEncoder().encode(toLabel("é".repeat(100))).length <= 63,
    true,
  );
});
