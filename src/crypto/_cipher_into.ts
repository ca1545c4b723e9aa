/**
 * ChaCha20 of a `node:crypto` cipher or decipher straight into the caller's
 * buffer. Deno's `update()` returns each result in a freshly allocated
 * `Buffer` (no pool) that dsync then copies into its frame: per 64 KiB
 * frame an allocation, a copy and the garbage it leaves (~35 full
 * collections per GiB per side). The runtime's own operation that
 * `update()` calls takes an output buffer; it is reached here through
 * `Deno[Deno.internal].core.ops` and the object's `_context` handle, both
 * internals of the runtime. Anything unexpected (no such operation, no
 * handle, the operation refusing the handle) answers false and the caller
 * uses `update()` as before, so a runtime that changes them only loses the
 * saving. The operations are visible under `deno run` (dsync) but not
 * inside `deno test`, so `tests/crypto/cipher_into_test.ts` checks this
 * path in a `deno run` process. Measured here, sealing 65,519-byte frames
 * in a loop, interleaved, under load: 1 GiB took 0.84-1.05 s this way
 * against 0.95-1.45 s through `update()`, before counting the collections
 * it saves in a long-running process.
 * @module
 */

type CipherOp = (rid: number, input: Uint8Array, output: Uint8Array) => boolean;

interface RuntimeOps {
  op_node_cipheriv_encrypt?: unknown;
  op_node_decipheriv_decrypt?: unknown;
}

function runtimeOps(): RuntimeOps | undefined {
  try {
    const deno = Deno as unknown as Record<symbol, unknown>;
    const internal = (Deno as unknown as { internal?: symbol }).internal;
    if (typeof internal !== "symbol") return undefined;
    const core = (deno[internal] as { core?: { ops?: RuntimeOps } })?.core;
    return core?.ops;
  } catch {
    return undefined;
  }
}

/**
 * The runtime's cipher operations, looked up at first use: they appear
 * only once `node:crypto` is loaded (the callers have made a cipher by
 * then).
 */
let found: { encrypt?: CipherOp; decrypt?: CipherOp } | undefined;

function cipherOps(): { encrypt?: CipherOp; decrypt?: CipherOp } {
  if (found !== undefined) return found;
  const ops = runtimeOps();
  const encrypt = ops?.op_node_cipheriv_encrypt;
  const decrypt = ops?.op_node_decipheriv_decrypt;
  found = {
    ...(typeof encrypt === "function" ? { encrypt: encrypt as CipherOp } : {}),
    ...(typeof decrypt === "function" ? { decrypt: decrypt as CipherOp } : {}),
  };
  return found;
}

function handleOf(cipher: object): number | undefined {
  const rid = (cipher as { _context?: unknown })._context;
  return typeof rid === "number" && Number.isInteger(rid) && rid > 0
    ? rid
    : undefined;
}

function runOp(
  op: CipherOp | undefined,
  cipher: object,
  input: Uint8Array,
  output: Uint8Array,
): boolean {
  if (op === undefined || output.length !== input.length) return false;
  const rid = handleOf(cipher);
  if (rid === undefined) return false;
  try {
    return op(rid, input, output) === true;
  } catch {
    return false;
  }
}

/**
 * Encrypts `input` with `cipher` (a `createCipheriv` result, before
 * `final()`) into `output` (same length). False when this runtime offers
 * no way to: then nothing happened, and `cipher.update()` must be used.
 */
export function encryptInto(
  cipher: object,
  input: Uint8Array,
  output: Uint8Array,
): boolean {
  return runOp(cipherOps().encrypt, cipher, input, output);
}

/** {@linkcode encryptInto} for a `createDecipheriv` result. */
export function decryptInto(
  decipher: object,
  input: Uint8Array,
  output: Uint8Array,
): boolean {
  return runOp(cipherOps().decrypt, decipher, input, output);
}

/**
 * True when this runtime lets ciphers write into the caller's buffer
 * (after `node:crypto` is loaded).
 */
export function cipherIntoAvailable(): boolean {
  const { encrypt, decrypt } = cipherOps();
  return encrypt !== undefined && decrypt !== undefined;
}
