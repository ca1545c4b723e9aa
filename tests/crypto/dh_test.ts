import { x25519 } from "@noble/curves/ed25519.js";
import { assertEquals, assertThrows } from "../assert.ts";
import {
  dh,
  generateKeyPair,
  keyPairFromPrivate,
} from "../../src/crypto/dh.ts";
import { LowOrderPointError } from "../../src/crypto/errors.ts";
import { fromHex, toHex } from "../../src/index/hash.ts";

Deno.test("keyPairFromPrivate() and dh() follow RFC 7748 §6.1", () => {
  const alice = keyPairFromPrivate(
    fromHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"),
  );
  const bob = keyPairFromPrivate(
    fromHex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"),
  );
  assertEquals(
    toHex(alice.publicKey),
    "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
  );
  assertEquals(
    toHex(bob.publicKey),
    "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
  );
  const shared =
    "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
  assertEquals(toHex(dh(alice.privateKey, bob.publicKey)), shared);
  assertEquals(toHex(dh(bob.privateKey, alice.publicKey)), shared);
});

Deno.test("dh() follows RFC 7748 §5.2, a u-coordinate with its top bit set included", () => {
  const vectors = [
    [
      "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
      "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
      "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552",
    ],
    [
      "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
      "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
      "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957",
    ],
  ];
  for (const [scalar, u, out] of vectors) {
    assertEquals(toHex(dh(fromHex(scalar!), fromHex(u!))), out);
    // The independent reference agrees.
    assertEquals(
      toHex(x25519.getSharedSecret(fromHex(scalar!), fromHex(u!))),
      out,
    );
  }
});

Deno.test("generateKeyPair() keys agree with each other and with the reference", () => {
  const a = generateKeyPair();
  const b = generateKeyPair();
  assertEquals(toHex(a.publicKey), toHex(x25519.getPublicKey(a.privateKey)));
  assertEquals(
    toHex(dh(a.privateKey, b.publicKey)),
    toHex(dh(b.privateKey, a.publicKey)),
  );
});

Deno.test("dh() refuses every low-order public key with LowOrderPointError", () => {
  const low = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  ];
  const me = generateKeyPair();
  for (const key of low) {
    assertThrows(
      () => dh(me.privateKey, fromHex(key)),
      LowOrderPointError,
      undefined,
      key,
    );
  }
});
