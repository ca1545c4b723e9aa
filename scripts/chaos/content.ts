/**
 * What the chaos suite writes into files, and how it reads it back: every
 * write carries a unique token line, so the final trees say which writes
 * survived and where. Pure functions, shared by the runner and the checks.
 * @module
 */

const encoder = new TextEncoder();
const latin1 = new TextDecoder("latin1");
const TOKEN_PATTERN = /chaos-(?:token|append):([0-9]+-[0-9]+)\n/g;

/** The token of write number `n` in the run of `seed`. */
export function tokenOf(seed: number, n: number): string {
  return `${seed}-${n}`;
}

/** The line an append adds. */
export function appendLine(token: string): Uint8Array {
  return encoder.encode(`chaos-append:${token}\n`);
}

/**
 * A file's content: the token line, then `payloadSize` bytes (text lines
 * when small, pseudo-random bytes when large, so both the compressible and
 * the incompressible paths of dsync are used). Deterministic in its inputs.
 */
export function fileContent(token: string, payloadSize: number): Uint8Array {
  const head = encoder.encode(`chaos-token:${token}\n`);
  const out = new Uint8Array(head.length + payloadSize);
  out.set(head);
  const body = out.subarray(head.length);
  if (payloadSize <= 64 * 1024) {
    const line = encoder.encode(`payload of ${token}: lorem ipsum dolor\n`);
    for (let i = 0; i < body.length; i++) body[i] = line[i % line.length]!;
  } else {
    let x = 0;
    for (const c of token) x = (Math.imul(x, 31) + c.charCodeAt(0)) >>> 0;
    x = x || 1;
    for (let i = 0; i < body.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      body[i] = x & 0xff;
    }
  }
  return out;
}

/** The tokens (written and appended) found in `bytes`, in order. */
export function tokensIn(bytes: Uint8Array): string[] {
  const text = latin1.decode(bytes);
  return Array.from(text.matchAll(TOKEN_PATTERN), (m) => m[1]!);
}
