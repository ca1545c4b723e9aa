import { assertEquals, assertStrictEquals, assertThrows } from "../assert.ts";
import { createHmac } from "node:crypto";
import {
  GroupSecret,
  type HandshakeRole,
  MEMBERSHIP_PROOF_LENGTH,
  proveMembership,
  verifyMembership,
} from "../../src/group/mod.ts";
import { SeededRandom } from "../crypto/_random.ts";

const rng = new SeededRandom(4);
const SECRET = GroupSecret.generate((n) => rng.bytes(n));
const OTHER = GroupSecret.generate((n) => rng.bytes(n));
const H = rng.bytes(32);
const H2 = rng.bytes(32);

Deno.test("proveMembership() is HMAC-SHA256(membershipKey, 'dsync/2 member' ‖ role ‖ h)", () => {
  for (const [role, byte] of [["initiator", 1], ["responder", 2]] as const) {
    const expected = createHmac("sha256", SECRET.membershipKey)
      .update(
        new Uint8Array([
          ...new TextEncoder().encode("dsync/2 member"),
          byte,
          ...H,
        ]),
      )
      .digest();
    assertEquals(
      proveMembership(SECRET, role, H),
      new Uint8Array(expected),
    );
  }
  assertStrictEquals(
    proveMembership(SECRET, "initiator", H).length,
    MEMBERSHIP_PROOF_LENGTH,
  );
});

const proof = proveMembership(SECRET, "responder", H);
const CASES: Array<{
  name: string;
  secret: GroupSecret;
  role: HandshakeRole;
  h: Uint8Array;
  proof: Uint8Array;
  ok: boolean;
}> = [
  {
    name: "genuine proof",
    secret: SECRET,
    role: "responder",
    h: H,
    proof,
    ok: true,
  },
  {
    name: "wrong secret",
    secret: OTHER,
    role: "responder",
    h: H,
    proof,
    ok: false,
  },
  {
    name: "open group vs real",
    secret: GroupSecret.open(),
    role: "responder",
    h: H,
    proof,
    ok: false,
  },
  {
    name: "wrong h",
    secret: SECRET,
    role: "responder",
    h: H2,
    proof,
    ok: false,
  },
  {
    name: "reflected role",
    secret: SECRET,
    role: "initiator",
    h: H,
    proof,
    ok: false,
  },
  {
    name: "truncated",
    secret: SECRET,
    role: "responder",
    h: H,
    proof: proof.subarray(0, 31),
    ok: false,
  },
  {
    name: "empty",
    secret: SECRET,
    role: "responder",
    h: H,
    proof: new Uint8Array(0),
    ok: false,
  },
  {
    name: "extended",
    secret: SECRET,
    role: "responder",
    h: H,
    proof: new Uint8Array([...proof, 0]),
    ok: false,
  },
  {
    name: "one bit flipped",
    secret: SECRET,
    role: "responder",
    h: H,
    proof: proof.map((b, i) => (i === 17 ? b ^ 1 : b)),
    ok: false,
  },
];

for (const c of CASES) {
  Deno.test(`verifyMembership(): ${c.name} → ${c.ok}`, () => {
    assertStrictEquals(verifyMembership(c.secret, c.role, c.h, c.proof), c.ok);
  });
}

Deno.test("verifyMembership() treats a non-bytes proof as false", () => {
  assertStrictEquals(
    verifyMembership(SECRET, "responder", H, "proof" as unknown as Uint8Array),
    false,
  );
});

Deno.test("proveMembership() refuses a bad h or role", () => {
  assertThrows(
    () => proveMembership(SECRET, "initiator", new Uint8Array(31)),
    RangeError,
  );
  assertThrows(
    () => proveMembership(SECRET, "initiator", new Uint8Array(64)),
    RangeError,
  );
  assertThrows(
    () => proveMembership(SECRET, "toString" as HandshakeRole, H),
    TypeError,
  );
});
