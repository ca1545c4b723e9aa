import {
  assert,
  assertEquals,
  assertRejects,
  assertStrictEquals,
  assertThrows,
} from "../assert.ts";
import { ed25519 } from "@noble/curves/ed25519.js";
import { fingerprint } from "../../src/identity/mod.ts";
import {
  DeviceKey,
  deviceKeyPath,
  ENDORSEMENT_LENGTH,
  KeyFileError,
  verifyEndorsement,
} from "../../src/group/mod.ts";
import { fromHex } from "../crypto/_hex.ts";
import { SeededRandom } from "../crypto/_random.ts";

const POSIX = Deno.build.os !== "windows";
const rng = new SeededRandom(6);
// RFC 8032 §7.1 TEST 1 key.
const SEED = fromHex(
  "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
);
const PUBLIC = fromHex(
  "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
);

async function withFolder(fn: (folder: string) => Promise<void>) {
  const folder = await Deno.makeTempDir({ prefix: "dsync-device-" });
  try {
    await fn(folder);
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
}

Deno.test("DeviceKey.fromSeed() derives the RFC 8032 public key and the peer-id fingerprint format", () => {
  const key = DeviceKey.fromSeed(SEED);
  assertEquals(key.publicKey, PUBLIC);
  assertStrictEquals(key.fingerprint, fingerprint(PUBLIC));
  assertStrictEquals(String(key), `DeviceKey(${fingerprint(PUBLIC)})`);
  assert(!Deno.inspect(key).includes("9d61"));
  assertThrows(() => DeviceKey.fromSeed(new Uint8Array(31)), RangeError);
});

Deno.test("DeviceKey.endorse() signs 'dsync/2 device' ‖ session key, and verifyEndorsement() checks it", () => {
  const key = DeviceKey.fromSeed(SEED);
  const session = rng.bytes(32);
  const signature = key.endorse(session);
  assertStrictEquals(signature.length, ENDORSEMENT_LENGTH);
  const message = new Uint8Array([
    ...new TextEncoder().encode("dsync/2 device"),
    ...session,
  ]);
  assert(ed25519.verify(signature, message, PUBLIC));
  assertStrictEquals(verifyEndorsement(PUBLIC, session, signature), true);
});

Deno.test("verifyEndorsement() is false for anything but the genuine endorsement", () => {
  const key = DeviceKey.fromSeed(SEED);
  const other = DeviceKey.fromSeed(rng.bytes(32));
  const session = rng.bytes(32);
  const signature = key.endorse(session);
  const cases: Array<[string, Uint8Array, Uint8Array, Uint8Array]> = [
    ["other device", other.publicKey, session, signature],
    ["other session", PUBLIC, rng.bytes(32), signature],
    [
      "flipped signature",
      PUBLIC,
      session,
      signature.map((b, i) => (i === 0 ? b ^ 1 : b)),
    ],
    ["truncated signature", PUBLIC, session, signature.subarray(0, 63)],
    ["short session key", PUBLIC, session.subarray(0, 31), signature],
    ["short device key", PUBLIC.subarray(0, 31), session, signature],
    [
      "identity signed without context",
      PUBLIC,
      session,
      ed25519.sign(session, SEED),
    ],
  ];
  for (const [name, device, sessionKey, sig] of cases) {
    assertStrictEquals(verifyEndorsement(device, sessionKey, sig), false, name);
  }
  assertThrows(() => key.endorse(new Uint8Array(33)), RangeError);
});

Deno.test("DeviceKey.loadOrCreate() creates .dsync/device.key 0600 once and keeps it across restarts", async () => {
  await withFolder(async (folder) => {
    const first = await DeviceKey.loadOrCreate(folder);
    const info = await Deno.stat(deviceKeyPath(folder));
    assertStrictEquals(info.size, 32);
    if (POSIX) assertStrictEquals(info.mode! & 0o777, 0o600);
    const again = await DeviceKey.loadOrCreate(folder);
    assertEquals(again.publicKey, first.publicKey);
    assertStrictEquals(again.fingerprint, first.fingerprint);
  });
});

Deno.test("DeviceKey.loadOrCreate() run concurrently agrees on one key", async () => {
  await withFolder(async (folder) => {
    const keys = await Promise.all(
      Array.from({ length: 8 }, () => DeviceKey.loadOrCreate(folder)),
    );
    for (const key of keys) assertEquals(key.publicKey, keys[0]!.publicKey);
    const names = [...Deno.readDirSync(`${folder}/.dsync`)].map((e) => e.name);
    assertEquals(names, ["device.key"]);
  });
});

Deno.test({
  name:
    "DeviceKey.loadOrCreate() refuses a group-readable or wrong-sized device.key",
  ignore: !POSIX,
  fn: async () => {
    await withFolder(async (folder) => {
      await Deno.mkdir(`${folder}/.dsync`);
      const path = deviceKeyPath(folder);
      await Deno.writeFile(path, SEED);
      await Deno.chmod(path, 0o644);
      assertStrictEquals(
        (await assertRejects(
          () => DeviceKey.loadOrCreate(folder),
          KeyFileError,
        )).kind,
        "permissions",
      );
      await Deno.writeFile(path, new Uint8Array(64));
      await Deno.chmod(path, 0o600);
      assertStrictEquals(
        (await assertRejects(
          () => DeviceKey.loadOrCreate(folder),
          KeyFileError,
        )).kind,
        "size",
      );
      // The bad file is left alone, not replaced by a new key.
      assertStrictEquals((await Deno.stat(path)).size, 64);
    });
  },
});
