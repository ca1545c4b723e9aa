/**
 * Join codes: the short secret a person reads from one device and types on
 * another, e.g. `K7Q4-M2XD-9TPT`, and the pure book-keeping that limits how
 * long and how often an issued code may be tried.
 *
 * Why this shape:
 * - Crockford base32 (`0-9`, `A-Z` without `I L O U`): no two symbols sound or
 *   look alike, and the parser forgives the usual confusions (`O`→`0`,
 *   `I`/`L`→`1`, any case, spaces and dashes).
 * - 12 symbols in three groups of four, 60 bits, of which the last symbol is a
 *   check symbol. The code is only ever used as a CPace password, so a guess
 *   costs an attacker one online session, and a code allows 3 sessions in 10
 *   minutes: 55 secret bits give a success chance of 3 / 2^55 ≈ 8·10^-17, far
 *   beyond need. The 5 bits spent on the check buy more than they cost: a typo
 *   is reported at once, on the joining device, instead of burning one of the
 *   3 attempts and ending in "wrong code" after a network round trip. A 13th
 *   symbol would break the 4-4-4 rhythm people read aloud.
 * - The check symbol is c = Σ α^(i+1)·d_i over GF(32) (α a root of
 *   x^5 + x^2 + 1, d_0…d_10 the data symbols). With all 12 weights distinct
 *   and non-zero (c has weight 1) it catches every single-symbol substitution
 *   and every swap of two different symbols, adjacent or not; other typos
 *   slip through with probability 1/32. Crockford's own mod-37 check symbol
 *   needs 5 extra symbols (`* ~ $ = U`) that are poor to read aloud.
 */
import { drawRandom, type RandomBytes, systemRandom } from "./_bytes.ts";
import { JoinCodeError } from "./errors.ts";

/** Crockford base32 alphabet, value = index. */
export const JOIN_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/** Symbols in a code, the check symbol included. */
export const JOIN_CODE_SYMBOLS = 12;
/** Secret bits in a code (11 data symbols of 5 bits). */
export const JOIN_CODE_SECRET_BITS = 55;
/** How long an issued code stays valid. */
export const JOIN_CODE_LIFETIME_MS = 10 * 60 * 1000;
/** PAKE sessions one issued code allows; the code is spent after that many. */
export const JOIN_CODE_MAX_ATTEMPTS = 3;

const DATA_SYMBOLS = JOIN_CODE_SYMBOLS - 1;
const CONFUSABLE: Readonly<Record<string, string>> = { O: "0", I: "1", L: "1" };
const SEPARATORS = /[\s\-\u2010-\u2015\u2212]/g;

/** A well-formed join code. Its text is the CPace password. */
export class JoinCode {
  /** The 12 canonical symbols, no separators. */
  readonly #symbols: string;

  private constructor(symbols: string) {
    this.#symbols = symbols;
  }

  /** @internal Builds a code from 11 data symbol values (0–31). */
  static fromDataValues(values: readonly number[]): JoinCode {
    if (values.length !== DATA_SYMBOLS) {
      throw new RangeError(
        `A join code has ${DATA_SYMBOLS} data symbols, got ${values.length}`,
      );
    }
    let text = "";
    for (const value of values) {
      if (!Number.isInteger(value) || value < 0 || value > 31) {
        throw new RangeError(`Join code symbol value ${value} is not 0–31`);
      }
      text += JOIN_CODE_ALPHABET[value];
    }
    return new JoinCode(text + JOIN_CODE_ALPHABET[checkValue(values)]);
  }

  /** Canonical form without separators, e.g. `K7Q4M2XD9TPA`. */
  get canonical(): string {
    return this.#symbols;
  }

  /** The CPace password: the ASCII bytes of {@link canonical}. */
  get password(): Uint8Array {
    return new TextEncoder().encode(this.#symbols);
  }

  /** Display form, e.g. `K7Q4-M2XD-9TPT`. */
  toString(): string {
    const s = this.#symbols;
    return `${s.slice(0, 4)}-${s.slice(4, 8)}-${s.slice(8)}`;
  }

  /** Same code (constant-time over the canonical symbols). */
  equals(other: JoinCode): boolean {
    let diff = 0;
    for (let i = 0; i < JOIN_CODE_SYMBOLS; i++) {
      diff |= this.#symbols.charCodeAt(i) ^ other.#symbols.charCodeAt(i);
    }
    return diff === 0;
  }

  /** Keeps the code out of logs; show it with `toString()` on purpose only. */
  [Symbol.for("Deno.customInspect")](): string {
    return "JoinCode(<redacted>)";
  }

  toJSON(): string {
    return "<redacted join code>";
  }
}

/** A fresh code from `random` (the system CSPRNG by default). */
export function generateJoinCode(random: RandomBytes = systemRandom): JoinCode {
  const bytes = drawRandom(random, 7);
  let bits = 0n;
  for (const byte of bytes) bits = (bits << 8n) | BigInt(byte);
  bits &= (1n << BigInt(JOIN_CODE_SECRET_BITS)) - 1n;
  const values: number[] = [];
  for (let i = DATA_SYMBOLS - 1; i >= 0; i--) {
    values.push(Number((bits >> BigInt(5 * i)) & 31n));
  }
  return JoinCode.fromDataValues(values);
}

/**
 * Parses what a person typed. Case, spaces and dashes do not matter, and
 * `O`, `I`, `L` are read as `0`, `1`, `1`.
 * @throws {JoinCodeError} kind `empty`, `symbol`, `length` or `check`, with a
 *   message that says what is wrong.
 */
export function parseJoinCode(text: string): JoinCode {
  if (typeof text !== "string") {
    throw new TypeError(`Join code must be a string, got ${typeof text}`);
  }
  const compact = text.replace(SEPARATORS, "");
  if (compact.length === 0) {
    throw new JoinCodeError("empty", "Join code is empty");
  }
  const values: number[] = [];
  for (const [index, char] of Array.from(compact).entries()) {
    const upper = char.toUpperCase();
    const symbol = CONFUSABLE[upper] ?? upper;
    const value = JOIN_CODE_ALPHABET.indexOf(symbol);
    if (value < 0 || symbol.length !== 1) {
      throw new JoinCodeError(
        "symbol",
        `Join code has "${printable(char)}" at position ${
          index + 1
        }, which is not a join code symbol (0-9 and A-Z without U)`,
      );
    }
    values.push(value);
  }
  if (values.length !== JOIN_CODE_SYMBOLS) {
    throw new JoinCodeError(
      "length",
      `Join code has ${values.length} symbols, expected ${JOIN_CODE_SYMBOLS} (like K7Q4-M2XD-9TPT)`,
    );
  }
  const data = values.slice(0, DATA_SYMBOLS);
  if (checkValue(data) !== values[DATA_SYMBOLS]) {
    throw new JoinCodeError(
      "check",
      "Join code check failed: a symbol is mistyped or two are swapped",
    );
  }
  return JoinCode.fromDataValues(data);
}

/** c = Σ α^(i+1)·d_i in GF(32). */
function checkValue(data: readonly number[]): number {
  let check = 0;
  let weight = 1;
  for (const value of data) {
    weight = gf32Mul(weight, 2); // α^(i+1)
    check ^= gf32Mul(weight, value);
  }
  return check;
}

/** Multiplication in GF(2^5) modulo x^5 + x^2 + 1 (primitive, so α = x has order 31). */
export function gf32Mul(a: number, b: number): number {
  let product = 0;
  for (let i = 0; i < 5; i++) {
    if ((b >> i) & 1) product ^= a;
    a <<= 1;
    if (a & 0x20) a ^= 0x25;
  }
  return product;
}

function printable(char: string): string {
  const code = char.codePointAt(0) ?? 0;
  return code < 0x20 || code === 0x7f
    ? `\\u${code.toString(16).padStart(4, "0")}`
    : char;
}

/** Where an issued code stands. */
export type JoinCodeState = "none" | "active" | "expired" | "spent" | "used";

/** A snapshot for the UI. */
export interface JoinCodeStatus {
  state: JoinCodeState;
  /** PAKE sessions still allowed (0 unless `active`). */
  attemptsLeft: number;
  /** Failed sessions so far. */
  failures: number;
  /** When the code stops being accepted (ms since the epoch), if one was issued. */
  expiresAt: number | undefined;
}

/** One PAKE session run with the issued code; report its outcome once. */
export interface JoinAttempt {
  readonly code: JoinCode;
  /** The peer proved the same code: the code is used up. */
  succeed(): void;
  /** Key confirmation failed or the session broke off. */
  fail(): void;
}

/** Options for {@link JoinCodeBook}. */
export interface JoinCodeBookOptions {
  /** Clock in ms since the epoch. */
  now: () => number;
  random?: RandomBytes | undefined;
  lifetimeMs?: number | undefined;
  maxAttempts?: number | undefined;
}

interface Issued {
  code: JoinCode;
  expiresAt: number;
  started: number;
  failures: number;
  used: boolean;
}

/**
 * The issuing device's record of its current join code. Pure apart from the
 * injected clock and randomness.
 *
 * An attempt is counted when it *starts*, not when it fails: each CPace
 * session lets the peer test one guess, so counting only reported failures
 * would let an attacker run many sessions in parallel before the first one is
 * reported. After `maxAttempts` sessions, or one success, or `lifetimeMs`, the
 * code is refused.
 */
export class JoinCodeBook {
  readonly #now: () => number;
  readonly #random: RandomBytes;
  readonly #lifetimeMs: number;
  readonly #maxAttempts: number;
  #issued: Issued | undefined;

  constructor(options: JoinCodeBookOptions) {
    if (typeof options.now !== "function") {
      throw new TypeError("JoinCodeBook needs a now() clock");
    }
    const lifetimeMs = options.lifetimeMs ?? JOIN_CODE_LIFETIME_MS;
    const maxAttempts = options.maxAttempts ?? JOIN_CODE_MAX_ATTEMPTS;
    if (!Number.isFinite(lifetimeMs) || lifetimeMs <= 0) {
      throw new RangeError(`Join code lifetime ${lifetimeMs} ms is not > 0`);
    }
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
      throw new RangeError(`Join code attempts ${maxAttempts} is not ≥ 1`);
    }
    this.#now = options.now;
    this.#random = options.random ?? systemRandom;
    this.#lifetimeMs = lifetimeMs;
    this.#maxAttempts = maxAttempts;
  }

  /** Issues a fresh code, replacing (and so revoking) any earlier one. */
  issue(): { code: JoinCode; expiresAt: number } {
    const code = generateJoinCode(this.#random);
    const expiresAt = this.#clock() + this.#lifetimeMs;
    this.#issued = { code, expiresAt, started: 0, failures: 0, used: false };
    return { code, expiresAt };
  }

  /** Forgets the current code. */
  revoke(): void {
    this.#issued = undefined;
  }

  /** Where the current code stands at `now()`. */
  status(): JoinCodeStatus {
    const issued = this.#issued;
    if (issued === undefined) {
      return {
        state: "none",
        attemptsLeft: 0,
        failures: 0,
        expiresAt: undefined,
      };
    }
    const state = this.#stateOf(issued, this.#clock());
    return {
      state,
      attemptsLeft: state === "active" ? this.#maxAttempts - issued.started : 0,
      failures: issued.failures,
      expiresAt: issued.expiresAt,
    };
  }

  /**
   * Starts one PAKE session with the current code and counts it.
   * @throws {JoinCodeError} kind `none`, `expired`, `spent` or `used`.
   */
  beginAttempt(): JoinAttempt {
    const issued = this.#issued;
    if (issued === undefined) {
      throw new JoinCodeError("none", "No join code has been issued");
    }
    const state = this.#stateOf(issued, this.#clock());
    switch (state) {
      case "expired":
        throw new JoinCodeError(
          "expired",
          `Join code expired ${
            Math.round(this.#lifetimeMs / 60000)
          } minutes after it was issued; issue a new one`,
        );
      case "spent":
        throw new JoinCodeError(
          "spent",
          `Join code was tried ${this.#maxAttempts} times and is spent; issue a new one`,
        );
      case "used":
        throw new JoinCodeError(
          "used",
          "Join code was already used by a device that joined; issue a new one",
        );
      case "none":
      case "active":
        break;
    }
    issued.started++;
    let reported = false;
    const report = (success: boolean) => {
      if (reported) return;
      reported = true;
      if (success) issued.used = true;
      else issued.failures++;
    };
    return {
      code: issued.code,
      succeed: () => report(true),
      fail: () => report(false),
    };
  }

  #stateOf(issued: Issued, now: number): JoinCodeState {
    if (issued.used) return "used";
    if (now >= issued.expiresAt) return "expired";
    if (issued.started >= this.#maxAttempts) return "spent";
    return "active";
  }

  #clock(): number {
    const now = this.#now();
    if (!Number.isFinite(now)) {
      throw new RangeError(`Clock returned ${now}, not a finite time`);
    }
    return now;
  }
}
