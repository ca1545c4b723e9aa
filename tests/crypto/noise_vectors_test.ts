import { assert, assertEquals, assertStrictEquals } from "../assert.ts";
import { keyPairFromPrivate } from "../../src/crypto/dh.ts";
import { HandshakeState, PROTOCOL_NAME } from "../../src/crypto/noise.ts";
import { TransportCipher } from "../../src/crypto/transport_cipher.ts";
import { fromHex, toHex } from "./_hex.ts";

interface Vector {
  source: string;
  protocol_name: string;
  init_prologue: string;
  init_static: string;
  init_ephemeral: string;
  resp_prologue: string;
  resp_static: string;
  resp_ephemeral: string;
  handshake_hash?: string;
  messages: { payload: string; ciphertext: string }[];
}

const data = JSON.parse(
  await Deno.readTextFile(
    new URL(
      "../testdata/noise_xx_25519_chachapoly_sha256.json",
      import.meta.url,
    ),
  ),
) as { vectors: Vector[] };

const HANDSHAKE_MESSAGES = 3;

for (const vector of data.vectors) {
  const label = vector.source.split(" ")[0];

  Deno.test(`HandshakeState matches the ${label} vector byte for byte`, () => {
    assertStrictEquals(vector.protocol_name, PROTOCOL_NAME);
    const initiator = new HandshakeState({
      initiator: true,
      prologue: fromHex(vector.init_prologue),
      staticKeyPair: keyPairFromPrivate(fromHex(vector.init_static)),
      ephemeralKeyPair: keyPairFromPrivate(fromHex(vector.init_ephemeral)),
    });
    const responder = new HandshakeState({
      initiator: false,
      prologue: fromHex(vector.resp_prologue),
      staticKeyPair: keyPairFromPrivate(fromHex(vector.resp_static)),
      ephemeralKeyPair: keyPairFromPrivate(fromHex(vector.resp_ephemeral)),
    });

    for (let i = 0; i < HANDSHAKE_MESSAGES; i++) {
      const { payload, ciphertext } = vector.messages[i]!;
      const [writer, reader] = i % 2 === 0
        ? [initiator, responder]
        : [responder, initiator];
      const message = writer.writeMessage(fromHex(payload));
      assertStrictEquals(
        toHex(message),
        ciphertext,
        `handshake message ${i + 1}`,
      );
      assertStrictEquals(toHex(reader.readMessage(message)), payload);
      assertEquals(writer.payloadHash, reader.payloadHash);
    }

    assert(initiator.isComplete && responder.isComplete);
    assertEquals(initiator.handshakeHash, responder.handshakeHash);
    if (vector.handshake_hash !== undefined) {
      assertStrictEquals(toHex(initiator.handshakeHash), vector.handshake_hash);
    }
    assertEquals(
      initiator.remoteStaticKey,
      keyPairFromPrivate(fromHex(vector.resp_static)).publicKey,
    );
    assertEquals(
      responder.remoteStaticKey,
      keyPairFromPrivate(fromHex(vector.init_static)).publicKey,
    );

    const i = initiator.split();
    const r = responder.split();
    assertEquals(i.send, r.receive);
    assertEquals(i.receive, r.send);
    const ciphers = {
      initiatorSend: new TransportCipher(i.send),
      initiatorReceive: new TransportCipher(i.receive),
      responderSend: new TransportCipher(r.send),
      responderReceive: new TransportCipher(r.receive),
    };
    for (let n = HANDSHAKE_MESSAGES; n < vector.messages.length; n++) {
      const { payload, ciphertext } = vector.messages[n]!;
      const [sender, receiver] = n % 2 === 0
        ? [ciphers.initiatorSend, ciphers.responderReceive]
        : [ciphers.responderSend, ciphers.initiatorReceive];
      const sealed = sender.seal(fromHex(payload));
      assertStrictEquals(
        toHex(sealed),
        ciphertext,
        `transport message ${n + 1}`,
      );
      assertStrictEquals(toHex(receiver.open(sealed)), payload);
    }
  });
}

Deno.test("HandshakeState starts from h = protocol name (32 bytes, no padding)", () => {
  assertStrictEquals(new TextEncoder().encode(PROTOCOL_NAME).length, 32);
});
