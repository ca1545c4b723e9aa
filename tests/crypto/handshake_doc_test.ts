/**
 * An independent reading of the reference handshake, from docs/PROTOCOL.md
 * alone: Noise XX built here from `@noble` primitives (not from
 * `src/crypto`), decoding message 2 of `dsync_handshake_vector.json` as the
 * initiator and checking every field of the identity payload the way the
 * document's tables lay it out.
 */
import { assert, assertEquals, assertStrictEquals } from "../assert.ts";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { fromHex, toHex } from "./_hex.ts";

const text = (s: string) => new TextEncoder().encode(s);
const cat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

/** Noise's HKDF with two outputs (Noise §4.3). */
function noiseHkdf(ck: Uint8Array, ikm: Uint8Array): [Uint8Array, Uint8Array] {
  const temp = hmac(sha256, ck, ikm);
  const out1 = hmac(sha256, temp, Uint8Array.of(1));
  const out2 = hmac(sha256, temp, cat(out1, Uint8Array.of(2)));
  return [out1, out2];
}

function nonce(n: number): Uint8Array {
  const out = new Uint8Array(12);
  new DataView(out.buffer).setBigUint64(4, BigInt(n), true);
  return out;
}

Deno.test("docs/PROTOCOL.md: message 2 of the reference handshake decodes as documented", async () => {
  const v = JSON.parse(
    await Deno.readTextFile(
      new URL("../testdata/dsync_handshake_vector.json", import.meta.url),
    ),
  ) as Record<string, string> & { wire_messages: string[] };
  const msg1 = fromHex(v.wire_messages[0]!);
  const msg2 = fromHex(v.wire_messages[1]!);
  // Length prefixes of the framing table.
  assertStrictEquals(toHex(msg1.subarray(0, 2)), "0020");
  assertStrictEquals(toHex(msg2.subarray(0, 2)), "0142");
  assertStrictEquals(msg2.length - 2, 322);

  // InitializeSymmetric: the name is 32 bytes, so h = name and ck = h.
  let h: Uint8Array = text("Noise_XX_25519_ChaChaPoly_SHA256");
  assertStrictEquals(h.length, 32);
  let ck: Uint8Array = h;
  let k: Uint8Array | undefined;
  let n = 0;
  const mixHash = (data: Uint8Array) => (h = sha256(cat(h, data)));
  const mixKey = (dh: Uint8Array) => {
    [ck, k] = noiseHkdf(ck, dh);
    n = 0;
  };
  const decryptAndHash = (ciphertext: Uint8Array) => {
    const ad = h;
    const plain = chacha20poly1305(k!, nonce(n++), ad).decrypt(ciphertext);
    mixHash(ciphertext);
    return { plain, ad };
  };
  mixHash(text("dsync/2"));

  // Message 1: e, empty payload (hashed in clear).
  const ei = fromHex(v.initiator_ephemeral!);
  const eiPub = msg1.subarray(2);
  assertEquals(eiPub, x25519.getPublicKey(ei));
  mixHash(eiPub);
  mixHash(new Uint8Array(0));

  // Message 2: e, ee, s, es, payload.
  const body = msg2.subarray(2);
  const er = body.subarray(0, 32);
  mixHash(er);
  mixKey(x25519.getSharedSecret(ei, er));
  const rs = decryptAndHash(body.subarray(32, 80)).plain;
  mixKey(x25519.getSharedSecret(ei, rs));
  const { plain: payload, ad: payloadHash } = decryptAndHash(
    body.subarray(80),
  );

  // The identity payload table.
  assertStrictEquals(payload.length, 226);
  assertStrictEquals(payload[0], 0x02);
  const session = payload.subarray(1, 33);
  const signature = payload.subarray(33, 97);
  const device = payload.subarray(97, 129);
  const endorsement = payload.subarray(129, 193);
  const mode = payload[193];
  const proof = payload.subarray(194, 226);
  assertStrictEquals(toHex(session), v.responder_peer_id);
  assertStrictEquals(toHex(device), v.responder_device_id);
  assert(
    ed25519.verify(
      signature,
      cat(text("dsync/2 identity"), payloadHash),
      session,
    ),
  );
  assert(
    ed25519.verify(endorsement, cat(text("dsync/2 device"), session), device),
  );
  assertStrictEquals(mode, 0x01);
  const membershipKey = hkdf(
    sha256,
    fromHex(v.group_secret!),
    new Uint8Array(0),
    text("dsync/2 membership key"),
    32,
  );
  const expected = hmac(
    sha256,
    membershipKey,
    cat(text("dsync/2 member"), Uint8Array.of(0x02), payloadHash),
  );
  assertEquals(proof, expected);
});
