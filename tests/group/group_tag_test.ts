import {
  assertMatch,
  assertNotStrictEquals,
  assertStrictEquals,
  assertThrows,
} from "../assert.ts";
import { createHmac } from "node:crypto";
import { GroupSecret, groupTag, matchesGroup } from "../../src/group/mod.ts";
import { SeededRandom } from "../crypto/_random.ts";

const rng = new SeededRandom(5);
const random = (n: number) => rng.bytes(n);
const GROUP = GroupSecret.generate(random);
const OTHER = GroupSecret.generate(random);
const ID = rng.bytes(32);
const ID2 = rng.bytes(32);

Deno.test("groupTag() is the first 16 bytes of HMAC-SHA256(mdnsTagKey, 'dsync/2 tag' ‖ id), hex", () => {
  const mac = createHmac("sha256", GROUP.mdnsTagKey)
    .update(new Uint8Array([...new TextEncoder().encode("dsync/2 tag"), ...ID]))
    .digest("hex");
  assertStrictEquals(groupTag(GROUP, ID), mac.slice(0, 32));
  assertMatch(groupTag(GROUP, ID), /^[0-9a-f]{32}$/);
});

Deno.test("matchesGroup(): same group matches, in either case", () => {
  const tag = groupTag(GROUP, ID);
  assertStrictEquals(matchesGroup(tag, ID, GROUP), true);
  assertStrictEquals(matchesGroup(tag.toUpperCase(), ID, GROUP), true);
});

Deno.test("matchesGroup(): another group, or another instance id, does not match", () => {
  const tag = groupTag(GROUP, ID);
  assertStrictEquals(matchesGroup(tag, ID, OTHER), false);
  assertStrictEquals(matchesGroup(tag, ID2, GROUP), false);
  assertNotStrictEquals(groupTag(GROUP, ID2), tag);
});

Deno.test("matchesGroup(): the open group's tag differs from real groups' tags", () => {
  const open = GroupSecret.open();
  const openTag = groupTag(open, ID);
  assertStrictEquals(matchesGroup(openTag, ID, open), true);
  for (let i = 0; i < 50; i++) {
    const real = GroupSecret.generate(random);
    assertNotStrictEquals(groupTag(real, ID), openTag);
    assertStrictEquals(matchesGroup(openTag, ID, real), false);
    assertStrictEquals(matchesGroup(groupTag(real, ID), ID, open), false);
  }
});

Deno.test("matchesGroup(): malformed tags are false, not errors", () => {
  const tag = groupTag(GROUP, ID);
  for (
    const bad of [
      "",
      tag.slice(0, 31),
      tag + "0",
      `${tag.slice(0, 31)}g`,
      ` ${tag}`,
      42,
    ]
  ) {
    assertStrictEquals(
      matchesGroup(bad as string, ID, GROUP),
      false,
      String(bad),
    );
  }
});

Deno.test("groupTag() refuses empty or oversized instance ids", () => {
  assertThrows(() => groupTag(GROUP, new Uint8Array(0)), RangeError);
  assertThrows(() => groupTag(GROUP, new Uint8Array(256)), RangeError);
  assertThrows(() => groupTag(GROUP, "id" as unknown as Uint8Array), TypeError);
});
