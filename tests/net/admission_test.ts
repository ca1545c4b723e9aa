import {
  admitHandshake,
  admitSession,
  type HandshakeSeat,
  type SessionSeat,
} from "../../src/net/mod.ts";
import { assertEquals } from "../assert.ts";

const hs = (
  key: string,
  ip: string,
  startedAt: number,
): HandshakeSeat<string> => ({
  key,
  ip,
  startedAt,
});

Deno.test("admitHandshake() caps one address below the global cap and makes room from the busiest address", () => {
  const limits = { max: 4, perIp: 3 };
  const cases: {
    name: string;
    open: HandshakeSeat<string>[];
    ip: string;
    want: ReturnType<typeof admitHandshake<string>>;
  }[] = [
    { name: "empty", open: [], ip: "a", want: { kind: "admit" } },
    {
      name: "room left",
      open: [hs("1", "x", 1), hs("2", "x", 2)],
      ip: "a",
      want: { kind: "admit" },
    },
    {
      name: "address at its cap",
      open: [hs("1", "x", 1), hs("2", "x", 2), hs("3", "x", 3)],
      ip: "x",
      want: { kind: "refuse", reason: "per-ip" },
    },
    {
      name: "full: the oldest of the busiest address goes",
      open: [
        hs("1", "y", 0),
        hs("2", "x", 5),
        hs("3", "x", 2),
        hs("4", "x", 9),
      ],
      ip: "a",
      want: { kind: "evict", key: "3" },
    },
    {
      name: "full and fairly shared: refused",
      open: [
        hs("1", "x", 1),
        hs("2", "x", 2),
        hs("3", "a", 3),
        hs("4", "a", 4),
      ],
      ip: "a",
      want: { kind: "refuse", reason: "full" },
    },
    {
      name: "full, one each: a newcomer does not evict an equal",
      open: [
        hs("1", "w", 1),
        hs("2", "x", 2),
        hs("3", "y", 3),
        hs("4", "z", 4),
      ],
      ip: "a",
      want: { kind: "refuse", reason: "full" },
    },
  ];
  for (const c of cases) {
    assertEquals(admitHandshake(c.open, c.ip, limits), c.want, c.name);
  }
});

const ss = (
  key: string,
  ip: string,
  member: boolean,
  lastActiveAt: number,
): SessionSeat<string> => ({ key, ip, member, lastActiveAt });

Deno.test("admitSession() makes room for a member: strangers first, then the idlest of the busiest address; never a member for a stranger", () => {
  const cases: {
    name: string;
    open: SessionSeat<string>[];
    member: boolean;
    ip: string;
    want: ReturnType<typeof admitSession<string>>;
  }[] = [
    {
      name: "room left",
      open: [ss("1", "x", true, 1)],
      member: false,
      ip: "a",
      want: { kind: "admit" },
    },
    {
      name: "the idlest stranger goes first",
      open: [
        ss("1", "x", true, 0),
        ss("2", "x", false, 7),
        ss("3", "y", false, 3),
      ],
      member: true,
      ip: "a",
      want: { kind: "evict", key: "3" },
    },
    {
      name: "a stranger may replace a stranger",
      open: [
        ss("1", "x", true, 0),
        ss("2", "x", true, 1),
        ss("3", "y", false, 3),
      ],
      member: false,
      ip: "a",
      want: { kind: "evict", key: "3" },
    },
    {
      name: "a stranger never replaces a member",
      open: [
        ss("1", "x", true, 0),
        ss("2", "x", true, 1),
        ss("3", "y", true, 3),
      ],
      member: false,
      ip: "a",
      want: { kind: "refuse" },
    },
    {
      name: "members only: the idlest of the busiest address",
      open: [
        ss("1", "y", true, 0),
        ss("2", "x", true, 8),
        ss("3", "x", true, 4),
      ],
      member: true,
      ip: "a",
      want: { kind: "evict", key: "3" },
    },
    {
      name: "members only, fairly shared: refused",
      open: [
        ss("1", "y", true, 0),
        ss("2", "a", true, 8),
        ss("3", "x", true, 4),
      ],
      member: true,
      ip: "a",
      want: { kind: "refuse" },
    },
  ];
  for (const c of cases) {
    assertEquals(
      admitSession(c.open, { ip: c.ip, member: c.member }, 3),
      c.want,
      c.name,
    );
  }
});
