import {
  assert,
  assertEquals,
  assertMatch,
  assertNotEquals,
  assertNotStrictEquals,
  assertRejects,
  assertStrictEquals,
  assertThrows,
} from "../assert.ts";
import { createHash, hkdfSync } from "node:crypto";
import {
  GROUP_SECRET_LENGTH,
  groupKeyPath,
  GroupSecret,
  KeyFileError,
  type KeyFileErrorKind,
} from "../../src/group/mod.ts";

const POSIX = Deno.build.os !== "windows";
const fixed = (byte: number) => () => new Uint8Array(32).fill(byte);

async function withFolder(fn: (folder: string) => Promise<void>) {
  const folder = await Deno.makeTempDir({ prefix: "dsync-group-" });
  try {
    await fn(folder);
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
}

Deno.test("GroupSecret.generate() draws 32 bytes; two groups differ", () => {
  const a = GroupSecret.generate();
  const b = GroupSecret.generate();
  assertStrictEquals(a.exportBytes().length, GROUP_SECRET_LENGTH);
  assert(!a.equals(b));
  assert(
    GroupSecret.generate(fixed(7)).equals(
      GroupSecret.fromBytes(new Uint8Array(32).fill(7)),
    ),
  );
});

Deno.test("GroupSecret subkeys are HKDF-SHA256 with distinct labels", () => {
  const secret = GroupSecret.generate(fixed(1));
  const bytes = new Uint8Array(32).fill(1);
  const hkdf = (label: string) =>
    new Uint8Array(hkdfSync("sha256", bytes, new Uint8Array(0), label, 32));
  assertEquals(secret.membershipKey, hkdf("dsync/2 membership key"));
  assertEquals(secret.mdnsTagKey, hkdf("dsync/2 mdns tag key"));
  assertEquals(secret.secretWrapKey, hkdf("dsync/2 secret wrap key"));
  const keys = [
    secret.membershipKey,
    secret.mdnsTagKey,
    secret.secretWrapKey,
    bytes,
  ];
  for (let i = 0; i < keys.length; i++) {
    for (let j = i + 1; j < keys.length; j++) {
      assertNotEquals(keys[i], keys[j]);
    }
  }
});

Deno.test("GroupSecret.fingerprint is a stable, label-derived XXXX-XXXX-XXXX", () => {
  const secret = GroupSecret.generate(fixed(2));
  assertMatch(secret.fingerprint, /^[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}$/);
  assertStrictEquals(
    secret.fingerprint,
    GroupSecret.generate(fixed(2)).fingerprint,
  );
  assertNotStrictEquals(
    secret.fingerprint,
    GroupSecret.generate(fixed(3)).fingerprint,
  );
});

Deno.test("GroupSecret never shows its bytes in logs", () => {
  const secret = GroupSecret.generate(fixed(0xab));
  const hex = "abababab";
  for (
    const text of [String(secret), Deno.inspect(secret), JSON.stringify(secret)]
  ) {
    assert(!text.toLowerCase().includes(hex), text);
    assert(text.includes(secret.fingerprint), text);
  }
});

Deno.test("GroupSecret.open() is SHA-256 of its label, public, and never a real group", () => {
  const open = GroupSecret.open();
  assert(open.isOpen);
  assert(open === GroupSecret.open());
  const label = createHash("sha256").update("dsync/2 open group").digest();
  assertEquals(open.exportBytes(), new Uint8Array(label));
  assertThrows(() => GroupSecret.fromBytes(new Uint8Array(label)), RangeError);
  assert(!GroupSecret.generate().isOpen);
  assertStrictEquals(String(open), "GroupSecret(open)");
});

Deno.test("GroupSecret.fromBytes() refuses wrong lengths", () => {
  for (const n of [0, 16, 31, 33, 64]) {
    assertThrows(() => GroupSecret.fromBytes(new Uint8Array(n)), RangeError);
  }
});

Deno.test("GroupSecret.save() writes .dsync/group.key 0600 and load() reads it back", async () => {
  await withFolder(async (folder) => {
    const secret = GroupSecret.generate();
    await secret.save(folder);
    const path = groupKeyPath(folder);
    const info = await Deno.stat(path);
    assertStrictEquals(info.size, 32);
    if (POSIX) assertStrictEquals(info.mode! & 0o777, 0o600);
    assert((await GroupSecret.load(folder)).equals(secret));
    // Rotation replaces it atomically and leaves no temporary file.
    const next = GroupSecret.generate();
    await next.save(folder);
    assert((await GroupSecret.load(folder)).equals(next));
    const names = [...Deno.readDirSync(`${folder}/.dsync`)].map((e) => e.name);
    assertEquals(names, ["group.key"]);
  });
});

Deno.test("GroupSecret.load() of a folder without a group throws NotFound", async () => {
  await withFolder(async (folder) => {
    await assertRejects(() => GroupSecret.load(folder), Deno.errors.NotFound);
  });
});

Deno.test("GroupSecret.save() does not create a missing folder", async () => {
  await withFolder(async (folder) => {
    await assertRejects(
      () => GroupSecret.generate().save(`${folder}/missing`),
      Deno.errors.NotFound,
    );
  });
});

Deno.test("GroupSecret.save() refuses the open group", async () => {
  await withFolder(async (folder) => {
    await assertRejects(() => GroupSecret.open().save(folder), TypeError);
  });
});

const BAD_FILES: Array<{
  name: string;
  bytes: Uint8Array;
  mode: number;
  kind: KeyFileErrorKind;
  message: RegExp;
  posixOnly?: boolean;
}> = [
  {
    name: "too short",
    bytes: new Uint8Array(31),
    mode: 0o600,
    kind: "size",
    message: /31 bytes, expected 32/,
  },
  {
    name: "too long",
    bytes: new Uint8Array(64),
    mode: 0o600,
    kind: "size",
    message: /64 bytes, expected 32/,
  },
  {
    name: "empty",
    bytes: new Uint8Array(0),
    mode: 0o600,
    kind: "size",
    message: /0 bytes/,
  },
  {
    name: "group-readable",
    bytes: new Uint8Array(32).fill(1),
    mode: 0o640,
    kind: "permissions",
    message: /mode 0640.*chmod 600/,
    posixOnly: true,
  },
  {
    name: "world-readable",
    bytes: new Uint8Array(32).fill(1),
    mode: 0o604,
    kind: "permissions",
    message: /mode 0604/,
    posixOnly: true,
  },
  {
    name: "the open secret",
    bytes: new Uint8Array(
      createHash("sha256").update("dsync/2 open group").digest(),
    ),
    mode: 0o600,
    kind: "open",
    message: /open-group/,
  },
];

for (const bad of BAD_FILES) {
  Deno.test({
    name: `GroupSecret.load() refuses a group.key that is ${bad.name}`,
    ignore: bad.posixOnly === true && !POSIX,
    fn: async () => {
      await withFolder(async (folder) => {
        await Deno.mkdir(`${folder}/.dsync`);
        const path = groupKeyPath(folder);
        await Deno.writeFile(path, bad.bytes, { mode: bad.mode });
        if (POSIX) await Deno.chmod(path, bad.mode);
        const error = await assertRejects(
          () => GroupSecret.load(folder),
          KeyFileError,
        );
        assertStrictEquals(error.kind, bad.kind);
        assertStrictEquals(error.path, path);
        assertMatch(error.message, bad.message);
      });
    },
  });
}

Deno.test("GroupSecret.load() refuses a directory named group.key", async () => {
  await withFolder(async (folder) => {
    await Deno.mkdir(`${folder}/.dsync/group.key`, {
      recursive: true,
      mode: 0o700,
    });
    const error = await assertRejects(
      () => GroupSecret.load(folder),
      KeyFileError,
    );
    assertStrictEquals(error.kind, "not-a-file");
  });
});
