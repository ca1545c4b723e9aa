/**
 * Run by `cipher_into_test.ts` under `deno run`: the runtime operations
 * that let ciphers write into the caller's buffer are not visible inside
 * `deno test`, so the fast path is checked in a process like dsync's.
 * Prints `ok <cases>` or throws.
 * @module
 */
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import {
  aeadOpenInto,
  aeadSeal,
  AeadSealStream,
  importAeadKey,
  noiseNonce,
} from "../../src/crypto/aead.ts";
import { cipherIntoAvailable } from "../../src/crypto/_cipher_into.ts";
import { DecryptError } from "../../src/crypto/errors.ts";
import { SeededRandom } from "./_random.ts";

const MAX_PLAINTEXT = 65535 - 16;

function same(a: Uint8Array, b: Uint8Array, what: string): void {
  if (a.length !== b.length || a.some((v, i) => v !== b[i])) {
    throw new Error(`${what}: bytes differ`);
  }
}

// Make a cipher first: the operations appear once node:crypto is in use.
aeadSeal(
  importAeadKey(new Uint8Array(32)),
  noiseNonce(0n),
  new Uint8Array(0),
  new Uint8Array(1),
);
if (!cipherIntoAvailable()) throw new Error("cipher operations not found");
const random = new SeededRandom(0xc1f);
const out = new Uint8Array(MAX_PLAINTEXT + 64);
let cases = 0;
for (const length of [0, 1, 16, 17, 1000, 32768, 65000, MAX_PLAINTEXT]) {
  const rawKey = random.bytes(32);
  const nonce = noiseNonce(BigInt(random.nextU32()));
  const ad = random.bytes(length % 2 === 0 ? 0 : 13);
  const plaintext = random.bytes(length);
  const reference = chacha20poly1305(rawKey, nonce, ad).encrypt(plaintext);
  const key = importAeadKey(rawKey);
  same(aeadSeal(key, nonce, ad, plaintext), reference, `seal ${length}`);
  if (ad.length === 0) {
    const stream = new AeadSealStream(key, nonce);
    const cut = length >> 1;
    let at = 5;
    at += stream.update(plaintext.subarray(0, cut), out, at);
    at += stream.update(plaintext.subarray(cut), out, at);
    at += stream.finish(out, at);
    same(out.subarray(5, at), reference, `stream ${length}`);
  }
  const n = aeadOpenInto(key, nonce, ad, reference, out, 3);
  same(out.subarray(3, 3 + n), plaintext, `open ${length}`);
  const tampered = reference.slice();
  tampered[tampered.length - 1]! ^= 1;
  try {
    aeadOpenInto(key, nonce, ad, tampered, out, 0);
    throw new Error(`tampered message of ${length} bytes opened`);
  } catch (err) {
    if (!(err instanceof DecryptError)) throw err;
  }
  cases++;
}
console.log(`ok ${cases}`);
