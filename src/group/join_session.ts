/**
 * The join exchange: what runs on a channel whose initiator asked to join
 * (handshake mode `join`) instead of the sync protocol. A CPace run with the
 * join code, bound to the channel's handshake hash, then the group secret
 * sealed under the PAKE's handover key. One guess per channel; the member
 * counts every session against its code (`JoinCodeBook`), so a code is
 * spent after three, whatever their outcome; a recorded session gives
 * nothing to guess offline. Messages (docs/GROUPS.md, "Join exchange"):
 *
 * | type | name | body |
 * |---|---|---|
 * | 0x01 | start | Ya (32) |
 * | 0x02 | reply | Yb (32) ‖ Tb (64) |
 * | 0x03 | confirm | Ta (64) |
 * | 0x04 | welcome | ChaCha20-Poly1305(handoverKey, nonce 0, ad "dsync/2 welcome", secret) (48) |
 * | 0x7f | refused | reason (1) ‖ UTF-8 text (≤ 200) |
 * @module
 */
import { createCipheriv, createDecipheriv } from "node:crypto";
import { JoinPake } from "./cpace.ts";
import { JoinCodeError, JoinConfirmationError } from "./errors.ts";
import { GroupSecret } from "./group_secret.ts";
import type { JoinCode, JoinCodeBook } from "./join_code.ts";

/** What the join exchange needs of a channel (a `SecureChannel` fits). */
export interface JoinChannel {
  /** The peer's session Ed25519 key. */
  readonly peerId: Uint8Array;
  /** Noise handshake hash `h`, the same on both ends. */
  readonly handshakeHash: Uint8Array;
  send(message: Uint8Array): Promise<void>;
  /** The next message, or null once the peer closed. */
  receive(): Promise<Uint8Array | null>;
  close(reason?: string): Promise<void>;
}

const START = 0x01;
const REPLY = 0x02;
const CONFIRM = 0x03;
const WELCOME = 0x04;
const REFUSED = 0x7f;
const WELCOME_AD = new TextEncoder().encode("dsync/2 welcome");
const SHARE = 32;
const TAG = 64;
const MAX_REFUSAL_TEXT = 200;

/** Why a member refused a join. */
export type JoinRefusal =
  | "no-code"
  | "expired"
  | "spent"
  | "used"
  | "wrong-code"
  | "rate-limited"
  | "protocol";

const REFUSAL_CODES: readonly JoinRefusal[] = [
  "no-code",
  "expired",
  "spent",
  "used",
  "wrong-code",
  "rate-limited",
  "protocol",
];

/** The member refused the join (the reason says why), or the exchange broke. */
export class JoinRefusedError extends Error {
  readonly reason: JoinRefusal;
  constructor(reason: JoinRefusal, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "JoinRefusedError";
    this.reason = reason;
  }
}

/** Default time a join exchange may take per message. */
export const JOIN_STEP_TIMEOUT_MS = 10_000;

async function receiveWithin(
  channel: JoinChannel,
  timeoutMs: number,
): Promise<Uint8Array> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const message = await Promise.race([
      channel.receive(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new JoinRefusedError(
                "protocol",
                `The join exchange stalled for ${timeoutMs} ms`,
              ),
            ),
          timeoutMs,
        );
      }),
    ]);
    if (message === null) {
      throw new JoinRefusedError(
        "protocol",
        "The other device closed the connection during the join",
      );
    }
    return message;
  } finally {
    clearTimeout(timer);
  }
}

function message(type: number, ...parts: Uint8Array[]): Uint8Array {
  const size = parts.reduce((n, p) => n + p.length, 1);
  const out = new Uint8Array(size);
  out[0] = type;
  let at = 1;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function refusal(reason: JoinRefusal, text: string): Uint8Array {
  const bytes = new TextEncoder().encode(text.slice(0, MAX_REFUSAL_TEXT));
  return message(
    REFUSED,
    Uint8Array.of(REFUSAL_CODES.indexOf(reason)),
    bytes.subarray(0, MAX_REFUSAL_TEXT),
  );
}

/** Throws the refusal `m` carries, or a protocol error unless `m` is `type` of `length`. */
function expect(m: Uint8Array, type: number, length: number): Uint8Array {
  if (m[0] === REFUSED && m.length >= 2) {
    const reason = REFUSAL_CODES[m[1]!] ?? "protocol";
    const text = new TextDecoder("utf-8", { fatal: false }).decode(
      m.subarray(2, 2 + MAX_REFUSAL_TEXT),
    );
    // deno-lint-ignore no-control-regex
    const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, "?");
    throw new JoinRefusedError(reason, clean || `Join refused (${reason})`);
  }
  if (m[0] !== type || m.length !== 1 + length) {
    throw new JoinRefusedError(
      "protocol",
      `Unexpected join message (type ${m[0]}, ${m.length} bytes)`,
    );
  }
  return m.subarray(1);
}

function seal(key: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const cipher = createCipheriv("chacha20-poly1305", key, new Uint8Array(12), {
    authTagLength: 16,
  });
  cipher.setAAD(WELCOME_AD, { plaintextLength: plaintext.length });
  const body = cipher.update(plaintext);
  cipher.final();
  const out = new Uint8Array(body.length + 16);
  out.set(body, 0);
  out.set(cipher.getAuthTag(), body.length);
  return out;
}

function open(key: Uint8Array, sealed: Uint8Array): Uint8Array {
  const decipher = createDecipheriv(
    "chacha20-poly1305",
    key,
    new Uint8Array(12),
    { authTagLength: 16 },
  );
  decipher.setAAD(WELCOME_AD, { plaintextLength: sealed.length - 16 });
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  const body = decipher.update(sealed.subarray(0, sealed.length - 16));
  decipher.final(); // throws on a bad tag
  return new Uint8Array(body);
}

/** Refuses a join session without counting it (e.g. too frequent), then closes it. */
export async function refuseJoin(
  channel: JoinChannel,
  reason: JoinRefusal,
  text: string,
): Promise<void> {
  await channel.send(refusal(reason, text)).catch(() => {});
  await channel.close("join refused").catch(() => {});
}

/**
 * The joining side (the channel's initiator): runs the PAKE with `code`
 * and returns the group secret the member handed over.
 * @throws {JoinRefusedError} when the member refused (no code, expired,
 *   spent, wrong code…) or the exchange broke.
 */
export async function requestJoin(
  channel: JoinChannel,
  ownSessionKey: Uint8Array,
  code: JoinCode,
  timeoutMs = JOIN_STEP_TIMEOUT_MS,
): Promise<GroupSecret> {
  const pake = JoinPake.start({
    role: "initiator",
    code,
    sid: channel.handshakeHash,
    initiatorId: ownSessionKey,
    responderId: channel.peerId,
  });
  await channel.send(message(START, pake.share));
  const reply = expect(
    await receiveWithin(channel, timeoutMs),
    REPLY,
    SHARE + TAG,
  );
  let ownTag: Uint8Array;
  try {
    ownTag = pake.receive(reply.slice(0, SHARE));
  } catch (error) {
    throw new JoinRefusedError(
      "protocol",
      "The member's PAKE share is invalid",
      {
        cause: error,
      },
    );
  }
  await channel.send(message(CONFIRM, ownTag));
  let handoverKey: Uint8Array;
  try {
    handoverKey = pake.confirm(reply.slice(SHARE)).handoverKey;
  } catch (error) {
    if (!(error instanceof JoinConfirmationError)) throw error;
    throw new JoinRefusedError(
      "wrong-code",
      "The join code is wrong (or was typed wrong)",
      { cause: error },
    );
  }
  const welcome = expect(await receiveWithin(channel, timeoutMs), WELCOME, 48);
  try {
    return GroupSecret.fromBytes(open(handoverKey, welcome));
  } catch (error) {
    throw new JoinRefusedError(
      "protocol",
      "The group secret did not arrive intact",
      { cause: error },
    );
  }
}

/** How a member's side of one join exchange ended. */
export type JoinOutcome =
  | { readonly ok: true }
  | {
    readonly ok: false;
    readonly reason: JoinRefusal;
    readonly message: string;
  };

/**
 * The member's side (the channel's responder): counts the session against
 * the current code, runs the PAKE and hands over `secret` when the codes
 * match. Never throws for the peer's sake: the outcome says what happened.
 */
export async function answerJoin(
  channel: JoinChannel,
  ownSessionKey: Uint8Array,
  book: JoinCodeBook,
  secret: GroupSecret,
  timeoutMs = JOIN_STEP_TIMEOUT_MS,
): Promise<JoinOutcome> {
  const refuse = async (reason: JoinRefusal, text: string) => {
    await channel.send(refusal(reason, text)).catch(() => {});
    return { ok: false, reason, message: text } as const;
  };
  let attempt;
  try {
    attempt = book.beginAttempt();
  } catch (error) {
    if (!(error instanceof JoinCodeError)) throw error;
    const reason: JoinRefusal = error.kind === "expired"
      ? "expired"
      : error.kind === "spent"
      ? "spent"
      : error.kind === "used"
      ? "used"
      : "no-code";
    const text = reason === "no-code"
      ? "This device has no join code active; run `dsync invite` on it for a new one"
      : `${error.message}: run \`dsync invite\` on a member for a new one`;
    return await refuse(reason, text);
  }
  try {
    const start = expect(
      await receiveWithin(channel, timeoutMs),
      START,
      SHARE,
    );
    const pake = JoinPake.start({
      role: "responder",
      code: attempt.code,
      sid: channel.handshakeHash,
      initiatorId: channel.peerId,
      responderId: ownSessionKey,
    });
    const ownTag = pake.receive(start.slice());
    await channel.send(message(REPLY, pake.share, ownTag));
    const confirm = expect(
      await receiveWithin(channel, timeoutMs),
      CONFIRM,
      TAG,
    );
    let handoverKey: Uint8Array;
    try {
      handoverKey = pake.confirm(confirm.slice()).handoverKey;
    } catch (error) {
      if (!(error instanceof JoinConfirmationError)) throw error;
      attempt.fail();
      return await refuse("wrong-code", "The join code is wrong");
    }
    attempt.succeed();
    await channel.send(
      message(WELCOME, seal(handoverKey, secret.exportBytes())),
    );
    return { ok: true };
  } catch (error) {
    attempt.fail();
    const text = error instanceof Error ? error.message : String(error);
    return await refuse("protocol", text);
  }
}
