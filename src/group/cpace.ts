/**
 * CPace (draft-irtf-cfrg-cpace-21) with the suite CPACE-RISTR255-SHA512, and
 * the thin {@link JoinPake} that dsync runs inside a Noise channel to prove a
 * join code without exposing it to offline guessing.
 *
 * CPace is the PAKE the CFRG recommends for the balanced case: one message
 * each way, a prime-order group (no cofactor pitfalls with ristretto255), and
 * a security proof that covers exactly this construction. The functions below
 * follow the draft's names so they can be read against it and checked with
 * its test vectors (tests/testdata/cpace_ristretto255_vectors.json). The
 * dsync-specific parts (inputs, key confirmation, handover key) are written
 * down in docs/GROUPS.md.
 */
import { ristretto255, ristretto255_hasher } from "@noble/curves/ed25519.js";
import { createHash, createHmac, hkdfSync } from "node:crypto";
import {
  concat,
  drawRandom,
  equalBytes,
  type RandomBytes,
  requireLength,
  systemRandom,
  utf8,
} from "./_bytes.ts";
import { JoinConfirmationError, PakeShareError } from "./errors.ts";
import type { JoinCode } from "./join_code.ts";

type Point = InstanceType<typeof ristretto255.Point>;
const Point = ristretto255.Point;
// Typed as optional on the generic hasher interface; ristretto255 has it.
const deriveElement = ristretto255_hasher.deriveToCurve!;

/** G_Ristretto255.DSI */
export const CPACE_DSI: Uint8Array = utf8("CPaceRistretto255");
/** H.s_in_bytes for SHA-512. */
export const SHA512_BLOCK_BYTES = 128;
/** Encoded group element length. */
export const CPACE_SHARE_LENGTH = 32;
/** ISK length (SHA-512 output). */
export const CPACE_ISK_LENGTH = 64;
/** G.I: the encoding of the neutral element. */
export const CPACE_IDENTITY: Uint8Array = new Uint8Array(32);
const GROUP_ORDER = Point.Fn.ORDER;

/** SHA-512. */
export function sha512(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha512").update(data).digest());
}

/** prepend_len: LEB128 length ‖ data. */
export function prependLen(data: Uint8Array): Uint8Array {
  const length: number[] = [];
  let n = data.length;
  do {
    length.push(n < 128 ? n : (n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  } while (n > 0);
  return concat(Uint8Array.from(length), data);
}

/** lv_cat(a0, a1, …) = prepend_len(a0) ‖ prepend_len(a1) ‖ … */
export function lvCat(...parts: readonly Uint8Array[]): Uint8Array {
  return concat(...parts.map(prependLen));
}

/** True if `a` > `b` in the draft's lexiographical order (a longer string wins a tie on the prefix). */
export function lexiographicallyLarger(a: Uint8Array, b: Uint8Array): boolean {
  const min = Math.min(a.length, b.length);
  for (let i = 0; i < min; i++) {
    if (a[i]! > b[i]!) return true;
    if (a[i]! < b[i]!) return false;
  }
  return a.length > b.length;
}

/** o_cat: b"oc" ‖ larger ‖ smaller. */
export function oCat(a: Uint8Array, b: Uint8Array): Uint8Array {
  return lexiographicallyLarger(a, b)
    ? concat(utf8("oc"), a, b)
    : concat(utf8("oc"), b, a);
}

/** transcript_ir(Ya, ADa, Yb, ADb) for the initiator–responder setting. */
export function transcriptIr(
  ya: Uint8Array,
  adA: Uint8Array,
  yb: Uint8Array,
  adB: Uint8Array,
): Uint8Array {
  return concat(lvCat(ya, adA), lvCat(yb, adB));
}

/** transcript_oc(Ya, ADa, Yb, ADb) for the symmetric setting (not used by dsync). */
export function transcriptOc(
  ya: Uint8Array,
  adA: Uint8Array,
  yb: Uint8Array,
  adB: Uint8Array,
): Uint8Array {
  return oCat(lvCat(ya, adA), lvCat(yb, adB));
}

/**
 * generator_string(DSI, PRS, CI, sid, s_in_bytes) =
 * lv_cat(DSI, PRS, zero_bytes(len_zpad), CI, sid), where the zero padding
 * makes DSI and PRS fill the first hash block.
 */
export function generatorString(
  dsi: Uint8Array,
  prs: Uint8Array,
  ci: Uint8Array,
  sid: Uint8Array,
  sInBytes: number,
): Uint8Array {
  const zpad = Math.max(
    0,
    sInBytes - 1 - prependLen(prs).length - prependLen(dsi).length,
  );
  return lvCat(dsi, prs, new Uint8Array(zpad), ci, sid);
}

/**
 * G.calculate_generator(H, PRS, CI, sid): SHA-512 of the generator string
 * (64 bytes), mapped with ristretto255 element derivation (RFC 9496 §4.3.4).
 */
export function calculateGenerator(
  prs: Uint8Array,
  ci: Uint8Array,
  sid: Uint8Array,
): Point {
  const hash = sha512(
    generatorString(CPACE_DSI, prs, ci, sid, SHA512_BLOCK_BYTES),
  );
  return deriveElement(hash);
}

/**
 * G.sample_scalar(): 32 random bytes with the bits above 252 cleared, read
 * little-endian (the draft's recommended method; the result is below the
 * group order). Zero, with probability 2^-252, is drawn again.
 */
export function sampleScalar(random: RandomBytes = systemRandom): bigint {
  for (;;) {
    const bytes = drawRandom(random, 32);
    bytes[31]! &= 0x0f;
    const scalar = scalarFromBytes(bytes);
    if (scalar !== 0n) return scalar;
  }
}

/** A 32-byte little-endian scalar, reduced modulo the group order. */
export function scalarFromBytes(bytes: Uint8Array): bigint {
  requireLength("CPace scalar", bytes, 32);
  let value = 0n;
  for (let i = 31; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]!);
  return value % GROUP_ORDER;
}

/** G.scalar_mult(y, g) = encode(y·g). */
export function scalarMult(y: bigint, g: Point): Uint8Array {
  return g.multiply(checkScalar(y)).toBytes();
}

/**
 * G.scalar_mult_vfy(y, X): encode(y·decode(X)), or G.I if X does not decode
 * (the caller then aborts, as it does for G.I itself).
 */
export function scalarMultVfy(y: bigint, x: Uint8Array): Uint8Array {
  let point: Point;
  try {
    point = Point.fromBytes(x);
  } catch {
    return CPACE_IDENTITY.slice();
  }
  return point.multiply(checkScalar(y)).toBytes();
}

/** ISK = H.hash(lv_cat(DSI ‖ "_ISK", sid, K) ‖ transcript). */
export function deriveIsk(
  sid: Uint8Array,
  k: Uint8Array,
  transcript: Uint8Array,
): Uint8Array {
  const dsiIsk = concat(CPACE_DSI, utf8("_ISK"));
  return sha512(concat(lvCat(dsiIsk, sid, k), transcript));
}

/** mac_key = H.hash(b"CPaceMac" ‖ sid ‖ ISK) (draft §"Key confirmation"). */
export function confirmationKey(sid: Uint8Array, isk: Uint8Array): Uint8Array {
  return sha512(concat(utf8("CPaceMac"), sid, isk));
}

/** T = HMAC-SHA-512(mac_key, lv_cat(Y, AD)) over the share a party sent. */
export function confirmationTag(
  macKey: Uint8Array,
  share: Uint8Array,
  ad: Uint8Array,
): Uint8Array {
  return new Uint8Array(
    createHmac("sha512", macKey).update(lvCat(share, ad)).digest(),
  );
}

function checkScalar(y: bigint): bigint {
  if (typeof y !== "bigint" || y <= 0n || y >= GROUP_ORDER) {
    throw new RangeError("CPace scalar must be in [1, group order)");
  }
  return y;
}

// ---------------------------------------------------------------------------
// dsync's use of CPace for joining a group (docs/GROUPS.md, "Join PAKE").

/** Which end of the Noise channel this side is; the Noise initiator is CPace's A. */
export type PakeRole = "initiator" | "responder";

/** Label of the channel identifier CI. */
export const JOIN_CI_LABEL: Uint8Array = utf8("dsync/2 join");
/** Associated data of the initiator's share (ADa). */
export const JOIN_AD_INITIATOR: Uint8Array = utf8("dsync/2 join initiator");
/** Associated data of the responder's share (ADb). */
export const JOIN_AD_RESPONDER: Uint8Array = utf8("dsync/2 join responder");
/** HKDF info of the key that protects the group secret on its way to the joiner. */
export const JOIN_HANDOVER_INFO: Uint8Array = utf8("dsync/2 join handover");
/** Length of a key-confirmation tag (HMAC-SHA-512). */
export const JOIN_TAG_LENGTH = 64;
/** Noise handshake hash length (SHA-256), used as sid. */
export const JOIN_SID_LENGTH = 32;
/** Session Ed25519 public key length, used as party id. */
export const JOIN_PARTY_ID_LENGTH = 32;

/** Inputs of {@link JoinPake.start}. */
export interface JoinPakeOptions {
  role: PakeRole;
  code: JoinCode;
  /** The Noise handshake hash `h` of the channel this PAKE runs in. */
  sid: Uint8Array;
  /** Session Ed25519 public key of the Noise initiator. */
  initiatorId: Uint8Array;
  /** Session Ed25519 public key of the Noise responder. */
  responderId: Uint8Array;
  /** Test only: scalar randomness. */
  random?: RandomBytes | undefined;
}

/** What a confirmed join PAKE yields. */
export interface JoinKeys {
  /** CPace's intermediate session key (64 bytes). */
  isk: Uint8Array;
  /** 32-byte key that seals the group secret for the joiner. */
  handoverKey: Uint8Array;
}

/**
 * One join PAKE, from one side. Flow (initiator = A):
 *
 * ```
 * A: start → share Ya ──────────▶ B: start, receive(Ya) → tag Tb
 * A: receive(Yb) → tag Ta ◀────── B: sends Yb ‖ Tb
 * A: confirm(Tb) → keys   ──────▶ B: confirm(Ta) → keys      (A sends Ta)
 * ```
 *
 * `receive` returns this side's tag; `confirm` checks the peer's and throws
 * {@link JoinConfirmationError} if the codes differ. A wrong code is thus
 * detected by both sides, and each session tests exactly one guess.
 */
export class JoinPake {
  readonly role: PakeRole;
  /** This side's share (Ya or Yb), to send to the peer. */
  readonly share: Uint8Array;
  readonly #sid: Uint8Array;
  readonly #scalar: bigint;
  #isk: Uint8Array | undefined;
  #peerTag: Uint8Array | undefined;
  #state: "started" | "received" | "done" | "failed" = "started";

  private constructor(
    role: PakeRole,
    sid: Uint8Array,
    scalar: bigint,
    share: Uint8Array,
  ) {
    this.role = role;
    this.#sid = sid;
    this.#scalar = scalar;
    this.share = share;
  }

  /** Computes the generator from the code and channel, and this side's share. */
  static start(options: JoinPakeOptions): JoinPake {
    const { role, code, sid, initiatorId, responderId } = options;
    if (role !== "initiator" && role !== "responder") {
      throw new TypeError(`Unknown PAKE role "${role}"`);
    }
    requireLength("Join PAKE sid (Noise handshake hash)", sid, JOIN_SID_LENGTH);
    requireLength("Join PAKE initiator id", initiatorId, JOIN_PARTY_ID_LENGTH);
    requireLength("Join PAKE responder id", responderId, JOIN_PARTY_ID_LENGTH);
    if (equalBytes(initiatorId, responderId)) {
      throw new RangeError("Join PAKE party ids must differ");
    }
    const ci = lvCat(JOIN_CI_LABEL, initiatorId, responderId);
    const g = calculateGenerator(code.password, ci, sid);
    const scalar = sampleScalar(options.random ?? systemRandom);
    return new JoinPake(role, sid.slice(), scalar, scalarMult(scalar, g));
  }

  /**
   * Takes the peer's share, derives ISK and returns this side's
   * key-confirmation tag to send.
   * @throws {PakeShareError} if the share is not a valid, non-neutral
   *   ristretto255 encoding or echoes our own share.
   */
  receive(peerShare: Uint8Array): Uint8Array {
    if (this.#state !== "started") {
      throw new TypeError(`JoinPake.receive() called when ${this.#state}`);
    }
    this.#state = "failed";
    if (
      !(peerShare instanceof Uint8Array) ||
      peerShare.length !== CPACE_SHARE_LENGTH
    ) {
      throw new PakeShareError(
        `PAKE share must be ${CPACE_SHARE_LENGTH} bytes, got ${
          peerShare instanceof Uint8Array ? peerShare.length : typeof peerShare
        }`,
      );
    }
    if (equalBytes(peerShare, this.share)) {
      throw new PakeShareError("PAKE share is our own share reflected");
    }
    const k = scalarMultVfy(this.#scalar, peerShare);
    if (equalBytes(k, CPACE_IDENTITY)) {
      throw new PakeShareError(
        "PAKE share is the neutral element or not a ristretto255 encoding",
      );
    }
    const initiator = this.role === "initiator";
    const [ya, yb] = initiator
      ? [this.share, peerShare]
      : [peerShare, this.share];
    const isk = deriveIsk(
      this.#sid,
      k,
      transcriptIr(ya, JOIN_AD_INITIATOR, yb, JOIN_AD_RESPONDER),
    );
    const macKey = confirmationKey(this.#sid, isk);
    const ownTag = confirmationTag(
      macKey,
      this.share,
      initiator ? JOIN_AD_INITIATOR : JOIN_AD_RESPONDER,
    );
    this.#peerTag = confirmationTag(
      macKey,
      peerShare,
      initiator ? JOIN_AD_RESPONDER : JOIN_AD_INITIATOR,
    );
    this.#isk = isk;
    this.#state = "received";
    return ownTag;
  }

  /**
   * Checks the peer's key-confirmation tag (constant time) and returns the keys.
   * @throws {JoinConfirmationError} if it does not match: the codes differ.
   */
  confirm(peerTag: Uint8Array): JoinKeys {
    if (this.#state !== "received") {
      throw new TypeError(`JoinPake.confirm() called when ${this.#state}`);
    }
    const expected = this.#peerTag!;
    const isk = this.#isk!;
    this.#peerTag = undefined;
    this.#isk = undefined;
    if (!(peerTag instanceof Uint8Array) || !equalBytes(peerTag, expected)) {
      this.#state = "failed";
      throw new JoinConfirmationError(
        "Join code confirmation failed: the two devices used different codes",
      );
    }
    this.#state = "done";
    const handoverKey = new Uint8Array(
      hkdfSync("sha256", isk, this.#sid, JOIN_HANDOVER_INFO, 32),
    );
    return { isk, handoverKey };
  }

  [Symbol.for("Deno.customInspect")](): string {
    return `JoinPake(${this.role}, ${this.#state})`;
  }
}
