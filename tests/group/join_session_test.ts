/** The join exchange over an in-memory channel pair. */
import { assert, assertEquals, assertStrictEquals, fail } from "../assert.ts";
import {
  answerJoin,
  generateJoinCode,
  type JoinChannel,
  JoinCodeBook,
  JoinRefusedError,
  requestJoin,
} from "../../src/group/mod.ts";
import { GroupSecret } from "../../src/group/mod.ts";

/** Two connected channels: what one sends, the other receives. */
function channelPair(): [JoinChannel, JoinChannel, Uint8Array, Uint8Array] {
  const h = crypto.getRandomValues(new Uint8Array(32));
  const keyA = crypto.getRandomValues(new Uint8Array(32));
  const keyB = crypto.getRandomValues(new Uint8Array(32));
  const make = (
    peerId: Uint8Array,
    inbox: (Uint8Array | null)[],
    outbox: (Uint8Array | null)[],
    wake: { a?: () => void; b?: () => void },
    side: "a" | "b",
  ): JoinChannel => ({
    peerId,
    handshakeHash: h,
    send(m) {
      outbox.push(m.slice());
      (side === "a" ? wake.b : wake.a)?.();
      return Promise.resolve();
    },
    async receive() {
      while (inbox.length === 0) {
        await new Promise<void>((resolve) => {
          if (side === "a") wake.a = resolve;
          else wake.b = resolve;
        });
      }
      return inbox.shift()!;
    },
    close() {
      outbox.push(null);
      (side === "a" ? wake.b : wake.a)?.();
      return Promise.resolve();
    },
  });
  const toA: (Uint8Array | null)[] = [];
  const toB: (Uint8Array | null)[] = [];
  const wake: { a?: () => void; b?: () => void } = {};
  return [
    make(keyB, toA, toB, wake, "a"),
    make(keyA, toB, toA, wake, "b"),
    keyA,
    keyB,
  ];
}

Deno.test("requestJoin() gets the group secret with the right code", async () => {
  let now = 0;
  const book = new JoinCodeBook({ now: () => now });
  const { code } = book.issue();
  const secret = GroupSecret.generate();
  const [joiner, member, joinerKey, memberKey] = channelPair();
  const [got, outcome] = await Promise.all([
    requestJoin(joiner, joinerKey, code),
    answerJoin(member, memberKey, book, secret),
  ]);
  assert(got.equals(secret));
  assertEquals(outcome, { ok: true });
  assertStrictEquals(book.status().state, "used");
  now += 1;
});

Deno.test("requestJoin() with a wrong code is refused on both sides; three sessions spend the code", async () => {
  const book = new JoinCodeBook({ now: () => 0 });
  const { code } = book.issue();
  const secret = GroupSecret.generate();
  for (let i = 0; i < 3; i++) {
    const [joiner, member, joinerKey, memberKey] = channelPair();
    const [error, outcome] = await Promise.all([
      requestJoin(joiner, joinerKey, generateJoinCode()).then(
        () => fail("joined with a wrong code"),
        (e) => e,
      ),
      answerJoin(member, memberKey, book, secret),
    ]);
    assert(error instanceof JoinRefusedError);
    assertStrictEquals(error.reason, "wrong-code");
    assertStrictEquals(outcome.ok, false);
  }
  assertStrictEquals(book.status().state, "spent");
  // The right code is refused now, and says why.
  const [joiner, member, joinerKey, memberKey] = channelPair();
  const [error] = await Promise.all([
    requestJoin(joiner, joinerKey, code).then(() => undefined, (e) => e),
    answerJoin(member, memberKey, book, secret),
  ]);
  assert(error instanceof JoinRefusedError);
  assertStrictEquals(error.reason, "spent");
});

Deno.test("answerJoin() refuses when no code is active or it expired", async () => {
  let now = 0;
  const book = new JoinCodeBook({ now: () => now });
  const secret = GroupSecret.generate();
  for (const expected of ["no-code", "expired"] as const) {
    if (expected === "expired") {
      book.issue();
      now += 10 * 60 * 1000;
    }
    const [joiner, member, joinerKey, memberKey] = channelPair();
    const [error] = await Promise.all([
      requestJoin(joiner, joinerKey, generateJoinCode()).then(
        () => undefined,
        (e) => e,
      ),
      answerJoin(member, memberKey, book, secret),
    ]);
    assert(error instanceof JoinRefusedError);
    assertStrictEquals(error.reason, expected);
  }
});
