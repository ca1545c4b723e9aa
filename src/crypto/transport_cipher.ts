/**
 * One direction of a Noise transport session: ChaCha20-Poly1305 with a 64-bit
 * counter nonce and a Noise §11.3 rekey every {@link REKEY_INTERVAL} messages.
 */
import {
  type AeadKey,
  aeadOpen,
  aeadOpenInto,
  aeadSealInto,
  AeadSealStream,
  importAeadKey,
  KEY_LENGTH,
  NONCE_LENGTH,
  TAG_LENGTH,
} from "./aead.ts";
import { DecryptError, NonceExhaustedError } from "./errors.ts";
import { MAX_NOISE_MESSAGE, rekeyKey } from "./noise.ts";

/** Largest plaintext in one transport message (65535 - 16). */
export const MAX_PLAINTEXT = MAX_NOISE_MESSAGE - TAG_LENGTH;
/** Messages per key: after nonce `n` with `(n + 1) % 2^20 === 0`, the key is replaced by REKEY(key). */
export const REKEY_INTERVAL = 2 ** 20;

const EMPTY = new Uint8Array(0);
const U32 = 2 ** 32;
const REKEY_MASK = REKEY_INTERVAL - 1;

/** Options for {@link TransportCipher}. */
export interface TransportCipherOptions {
  /**
   * Test only: the nonce of the next message, as if `key` were the key in use
   * at that nonce. Defaults to 0.
   */
  initialNonce?: bigint;
}

/**
 * Seals or opens the messages of one direction, in order. Not both: a session
 * has one TransportCipher for sending and another for receiving.
 */
export class TransportCipher {
  #rawKey: Uint8Array;
  #key: AeadKey;
  readonly #nonceBytes = new Uint8Array(NONCE_LENGTH);
  readonly #nonceView = new DataView(this.#nonceBytes.buffer);
  #low = 0;
  #high = 0;
  #failed = false;

  constructor(key: Uint8Array, options: TransportCipherOptions = {}) {
    if (key.length !== KEY_LENGTH) {
      throw new RangeError(
        `Transport key must be ${KEY_LENGTH} bytes, got ${key.length}`,
      );
    }
    this.#rawKey = key.slice();
    this.#key = importAeadKey(this.#rawKey);
    const start = options.initialNonce ?? 0n;
    if (start < 0n || start >= (1n << 64n)) {
      throw new RangeError(`Initial nonce out of range: ${start}`);
    }
    this.#low = Number(start & 0xffffffffn);
    this.#high = Number(start >> 32n);
  }

  /** The nonce the next message will use. */
  get nonce(): bigint {
    return (BigInt(this.#high) << 32n) | BigInt(this.#low);
  }

  /**
   * Encrypts one message of at most {@link MAX_PLAINTEXT} bytes; returns
   * ciphertext ‖ 16-byte tag.
   * @throws {NonceExhaustedError} once 2^64-1 messages were sealed.
   */
  seal(plaintext: Uint8Array): Uint8Array {
    const out = new Uint8Array(plaintext.length + TAG_LENGTH);
    this.sealInto(plaintext, out, 0);
    return out;
  }

  /**
   * Like {@link seal}, but writes ciphertext ‖ tag into `out` at `offset`
   * (e.g. right after a frame's length prefix), saving one copy per frame.
   * @returns the number of bytes written, `plaintext.length + 16`.
   * @throws {RangeError} if the plaintext is too long or `out` has no room.
   * @throws {NonceExhaustedError} once 2^64-1 messages were sealed.
   */
  sealInto(plaintext: Uint8Array, out: Uint8Array, offset: number): number {
    if (plaintext.length > MAX_PLAINTEXT) {
      throw new RangeError(
        `Plaintext of ${plaintext.length} bytes exceeds ${MAX_PLAINTEXT}`,
      );
    }
    if (this.#isExhausted()) {
      throw new NonceExhaustedError("Transport nonce counter reached 2^64-1");
    }
    const written = aeadSealInto(
      this.#key,
      this.#currentNonce(),
      EMPTY,
      plaintext,
      out,
      offset,
    );
    this.#advance();
    return written;
  }

  /**
   * Starts sealing the next message from pieces (see {@link TransportSeal}):
   * its nonce is used up now, whether or not the message is finished.
   * @throws {NonceExhaustedError} once 2^64-1 messages were sealed.
   */
  startSeal(): TransportSeal {
    if (this.#isExhausted()) {
      throw new NonceExhaustedError("Transport nonce counter reached 2^64-1");
    }
    const stream = new AeadSealStream(this.#key, this.#currentNonce());
    this.#advance();
    return new TransportSeal(stream);
  }

  /**
   * Decrypts the next message. After any failure the cipher refuses all
   * further messages: the connection must be closed.
   * @throws {DecryptError} on a bad length, a failed tag, or an earlier failure.
   */
  open(ciphertext: Uint8Array): Uint8Array {
    this.#beginOpen(ciphertext);
    const plaintext = aeadOpen(
      this.#key,
      this.#currentNonce(),
      EMPTY,
      ciphertext,
    );
    this.#advance();
    this.#failed = false;
    return plaintext;
  }

  /**
   * The checks before opening `ciphertext`. The cipher counts as failed
   * from here until the caller has opened it and advanced the nonce.
   */
  #beginOpen(ciphertext: Uint8Array): void {
    if (this.#failed) {
      throw new DecryptError("Transport cipher is closed after a failure");
    }
    this.#failed = true;
    if (
      ciphertext.length < TAG_LENGTH || ciphertext.length > MAX_NOISE_MESSAGE
    ) {
      throw new DecryptError(
        `Transport message of ${ciphertext.length} bytes is outside ${TAG_LENGTH}..${MAX_NOISE_MESSAGE}`,
      );
    }
    if (this.#isExhausted()) {
      throw new DecryptError("Transport nonce counter reached 2^64-1");
    }
  }

  /**
   * Like {@link open}, but writes the plaintext into `out` at `offset` (a
   * receiver's reused buffer, not overlapping `ciphertext`) and returns its
   * length. After a failure `out` may hold unauthenticated bytes, and the
   * cipher refuses all further messages.
   * @throws {DecryptError} on a bad length, a failed tag, or an earlier failure.
   * @throws {RangeError} if `out` has no room (the cipher is then closed too).
   */
  openInto(ciphertext: Uint8Array, out: Uint8Array, offset: number): number {
    this.#beginOpen(ciphertext);
    const length = aeadOpenInto(
      this.#key,
      this.#currentNonce(),
      EMPTY,
      ciphertext,
      out,
      offset,
    );
    this.#advance();
    this.#failed = false;
    return length;
  }

  #isExhausted(): boolean {
    return this.#low === U32 - 1 && this.#high === U32 - 1;
  }

  #currentNonce(): Uint8Array {
    this.#nonceView.setUint32(4, this.#low, true);
    this.#nonceView.setUint32(8, this.#high, true);
    return this.#nonceBytes;
  }

  #advance(): void {
    this.#low++;
    if (this.#low === U32) {
      this.#low = 0;
      this.#high++;
    }
    if ((this.#low & REKEY_MASK) === 0) {
      this.#rawKey = rekeyKey(this.#rawKey);
      this.#key = importAeadKey(this.#rawKey);
    }
  }
}

/**
 * One transport message sealed piece by piece, straight into the caller's
 * buffer: `update()` each piece (at most {@link MAX_PLAINTEXT} bytes in
 * all), then `finish()` writes the tag. The result equals
 * `TransportCipher.seal()` of the concatenated pieces.
 */
export class TransportSeal {
  readonly #stream: AeadSealStream;
  #length = 0;

  /** Use `TransportCipher.startSeal()`. */
  constructor(stream: AeadSealStream) {
    this.#stream = stream;
  }

  /** Plaintext bytes sealed so far. */
  get length(): number {
    return this.#length;
  }

  /**
   * Encrypts `piece` into `out` at `offset`.
   * @returns the number of bytes written, `piece.length`.
   * @throws {RangeError} past {@link MAX_PLAINTEXT} bytes in all, or if
   *   `out` has no room.
   */
  update(piece: Uint8Array, out: Uint8Array, offset: number): number {
    if (this.#length + piece.length > MAX_PLAINTEXT) {
      throw new RangeError(
        `Plaintext of ${
          this.#length + piece.length
        } bytes exceeds ${MAX_PLAINTEXT}`,
      );
    }
    const n = this.#stream.update(piece, out, offset);
    this.#length += n;
    return n;
  }

  /**
   * Writes the 16-byte tag into `out` at `offset`; the message is complete.
   * @returns 16.
   */
  finish(out: Uint8Array, offset: number): number {
    return this.#stream.finish(out, offset);
  }
}
