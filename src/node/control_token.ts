/**
 * The control API's token, kept in `.dsync/control.token` across restarts:
 * a bookmarked status page URL (`/?token=…`) keeps working after dsync is
 * restarted. The file is trusted only while it is a regular file of this
 * user with mode 0600 holding 64 hex digits; anything else (missing,
 * damaged, readable by others, a link) gets a new random token, written
 * owner-only, and the old URL stops working, as it should once others
 * could have read it.
 * @module
 */
import { CONTROL_TOKEN_FILE, STATE_DIR, toOsPath } from "../index/mod.ts";

/** What was found where the token file should be. */
export interface TokenFileSighting {
  /** Undefined when there is no such file. */
  readonly info?: {
    readonly isFile: boolean;
    readonly isSymlink: boolean;
    /** Permission bits; undefined where the platform has none (Windows). */
    readonly mode: number | undefined;
    /** Owner; undefined where the platform has none. */
    readonly uid: number | undefined;
  };
  readonly text?: string;
}

/** Why a stored token is not used, or `"ok"`. */
export type TokenVerdict =
  | "ok"
  | "missing"
  | "not a regular file"
  | "readable by other users"
  | "owned by another user"
  | "not a token";

const TOKEN = /^[0-9a-f]{64}$/;

/** Whether the token file found can be used (pure). */
export function judgeTokenFile(
  seen: TokenFileSighting,
  uid: number | null,
): TokenVerdict {
  const info = seen.info;
  if (info === undefined) return "missing";
  if (info.isSymlink || !info.isFile) return "not a regular file";
  if (info.mode !== undefined && (info.mode & 0o077) !== 0) {
    return "readable by other users";
  }
  if (uid !== null && info.uid !== undefined && info.uid !== uid) {
    return "owned by another user";
  }
  if (!TOKEN.test((seen.text ?? "").trim())) return "not a token";
  return "ok";
}

/** `<stateRoot>/.dsync/control.token` */
export function tokenFilePath(stateRoot: string): string {
  return toOsPath(toOsPath(stateRoot, STATE_DIR), CONTROL_TOKEN_FILE);
}

function randomToken(): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(32)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}

async function sightTokenFile(file: string): Promise<TokenFileSighting> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return {};
    throw error;
  }
  const seen = {
    isFile: info.isFile,
    isSymlink: info.isSymlink,
    mode: Deno.build.os === "windows" || info.mode === null
      ? undefined
      : info.mode & 0o777,
    uid: info.uid ?? undefined,
  };
  if (!info.isFile) return { info: seen };
  return { info: seen, text: await Deno.readTextFile(file) };
}

/** The token and, when a new one replaced a stored one, why. */
export interface LoadedToken {
  readonly token: string;
  /** Set when a stored token was refused (not when there was none). */
  readonly replaced?: Exclude<TokenVerdict, "ok" | "missing">;
}

/**
 * The token stored under `stateRoot`, or a new one written there
 * (owner-only) when there is none or it cannot be trusted.
 */
export async function loadOrCreateToken(
  stateRoot: string,
): Promise<LoadedToken> {
  const file = tokenFilePath(stateRoot);
  const seen = await sightTokenFile(file);
  // The owner of `.dsync/` stands for this user (Deno.uid() would need
  // another permission): a token file someone else put there is refused.
  const owner = (await Deno.stat(toOsPath(stateRoot, STATE_DIR))).uid;
  const verdict = judgeTokenFile(seen, owner);
  if (verdict === "ok") return { token: seen.text!.trim() };
  const token = randomToken();
  const temp = `${file}.tmp`;
  await Deno.remove(temp).catch(() => {});
  await Deno.writeTextFile(temp, token + "\n", {
    mode: 0o600,
    createNew: true,
  });
  if (Deno.build.os !== "windows") await Deno.chmod(temp, 0o600);
  if (seen.info !== undefined && !seen.info.isFile && !seen.info.isSymlink) {
    // A directory in the way: rename cannot replace it.
    await Deno.remove(file, { recursive: true });
  }
  await Deno.rename(temp, file);
  return verdict === "missing" ? { token } : { token, replaced: verdict };
}
