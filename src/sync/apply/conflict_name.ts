/**
 * The name a conflict's losing copy is kept under:
 * `<stem>.sync-conflict-<YYYYMMDD-HHMMSS>-<peer>.<ext>`, beside the original.
 *
 * The extension is what follows the last dot of the file name, unless that
 * dot is leading (`.bashrc` has no extension, `.config.json` has `json`) or
 * trailing; `archive.tar.gz` has stem `archive.tar` and extension `gz`. A
 * name without an extension gets no trailing dot. The time is UTC. The name
 * is kept within 255 UTF-8 bytes (and the whole path within 4096) by
 * shortening the stem on a code point boundary; an extension too long to
 * leave room for it is treated as part of the stem.
 * @module
 */

import { truncateUtf8, utf8Length } from "../../protocol/mod.ts";

/** Largest file name, in UTF-8 bytes, on the file systems dsync supports. */
const MAX_NAME_BYTES = 255;
/** Largest relative path in UTF-8 bytes (the wire protocol's limit). */
const MAX_PATH_BYTES = 4096;
const PEER_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const MARKER = ".sync-conflict-";

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

/** `YYYYMMDD-HHMMSS` in UTC. */
function stamp(when: Date): string {
  return `${pad(when.getUTCFullYear(), 4)}${pad(when.getUTCMonth() + 1)}${
    pad(when.getUTCDate())
  }-${pad(when.getUTCHours())}${pad(when.getUTCMinutes())}${
    pad(when.getUTCSeconds())
  }`;
}

/** Splits a file name into stem and extension (`""` when it has none). */
export function splitExtension(name: string): [stem: string, ext: string] {
  let start = 0;
  while (start < name.length && name[start] === ".") start++;
  const dot = name.lastIndexOf(".");
  if (dot <= start || dot === name.length - 1) return [name, ""];
  return [name.slice(0, dot), name.slice(dot + 1)];
}

/**
 * The conflict copy's path for `path` (a canonical relative path, `/`
 * separated), made at `when` by the peer whose short id is `peerShortId`
 * (letters, digits, `-` and `_`, 1 to 64 characters). Throws `RangeError`
 * on an empty path, an invalid date, an unusable peer id, or a parent path
 * that leaves no room for the name within 4096 bytes.
 */
export function conflictName(
  path: string,
  when: Date,
  peerShortId: string,
): string {
  if (path === "" || path.endsWith("/")) {
    throw new RangeError(
      `Cannot name a conflict copy of "${path}": not a file path`,
    );
  }
  if (Number.isNaN(when.getTime())) {
    throw new RangeError("Cannot name a conflict copy: invalid date");
  }
  if (!PEER_PATTERN.test(peerShortId)) {
    throw new RangeError(
      `Cannot name a conflict copy with peer id "${peerShortId}": only letters, digits, - and _ (1 to 64)`,
    );
  }
  const cut = path.lastIndexOf("/");
  const parent = cut < 0 ? "" : path.slice(0, cut + 1);
  const name = path.slice(cut + 1);
  const marker = `${MARKER}${stamp(when)}-${peerShortId}`;
  const room = Math.min(
    MAX_NAME_BYTES,
    MAX_PATH_BYTES - utf8Length(parent),
  ) - utf8Length(marker);
  if (room < 0) {
    throw new RangeError(
      `Cannot name a conflict copy of "${path}": its folder's path is too long`,
    );
  }
  let [stem, ext] = splitExtension(name);
  let tail = ext === "" ? "" : `.${ext}`;
  if (utf8Length(tail) >= room) {
    stem = name;
    tail = "";
  }
  const stemRoom = Math.max(0, room - utf8Length(tail));
  return `${parent}${fitStem(stem, stemRoom)}${marker}${tail}`;
}

/** `stem` shortened to `bytes` UTF-8 bytes, still NFC. */
function fitStem(stem: string, bytes: number): string {
  let out = truncateUtf8(stem, bytes);
  // A prefix of an NFC string is NFC but for rare compositions; recheck.
  for (let i = 0; i < 4 && out.normalize("NFC") !== out; i++) {
    out = truncateUtf8(out.normalize("NFC"), bytes);
  }
  return out;
}
