/**
 * How a kept version is named: `<relative path>~<UTC yyyymmdd-hhmmss>`, as
 * Syncthing's "simple" versioning names them, so a user finds the old copy
 * beside where the file was, sorted by time. Two versions of one path in the
 * same second get `-2`, `-3`, … after the stamp. Pure.
 * @module
 */

/** A version's path and time, read from its name. */
export interface VersionName {
  /** The relative `/`-separated path the file had in the folder. */
  readonly path: string;
  /** When it was kept, epoch ms (whole seconds). */
  readonly at: number;
  /** 1 for the first version of the second, 2 and up for later ones. */
  readonly serial: number;
}

const STAMP =
  /^(.+)~(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})(?:-(\d{1,4}))?$/;

function two(n: number): string {
  return String(n).padStart(2, "0");
}

/** `yyyymmdd-hhmmss` of `at` (epoch ms) in UTC. */
export function formatStamp(at: number): string {
  const d = new Date(at);
  return `${d.getUTCFullYear()}${two(d.getUTCMonth() + 1)}${
    two(d.getUTCDate())
  }-${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}`;
}

/** The name of the version of `path` kept at `at`; `serial` > 1 adds `-N`. */
export function versionName(path: string, at: number, serial = 1): string {
  const stamp = formatStamp(at);
  return serial > 1 ? `${path}~${stamp}-${serial}` : `${path}~${stamp}`;
}

/** Reads a version's relative name; undefined for a name that is none. */
export function parseVersionName(name: string): VersionName | undefined {
  const m = STAMP.exec(name);
  if (m === null) return undefined;
  const [, path, y, mo, d, h, mi, s, serial] = m;
  const at = Date.UTC(
    Number(y),
    Number(mo) - 1,
    Number(d),
    Number(h),
    Number(mi),
    Number(s),
  );
  if (
    !Number.isFinite(at) || formatStamp(at) !== `${y}${mo}${d}-${h}${mi}${s}`
  ) {
    return undefined; // a day or hour that does not exist
  }
  return { path: path!, at, serial: serial === undefined ? 1 : Number(serial) };
}

/**
 * Reads the time a user gives to `restore --at`: a stamp as `dsync versions`
 * prints it (`20261207-031500`), or an ISO 8601 date-time
 * (`2026-12-07T03:15:00Z`; without a zone, UTC). Undefined when it is
 * neither.
 */
export function parseRestoreTime(text: string): number | undefined {
  const stamp = parseVersionName(`x~${text.trim()}`);
  if (stamp !== undefined && stamp.serial === 1) return stamp.at;
  const iso = text.trim();
  if (
    !/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2})?)?(Z|[+-]\d{2}:?\d{2})?$/.test(
      iso,
    )
  ) {
    return undefined;
  }
  const zoned = /(Z|[+-]\d{2}:?\d{2})$/.test(iso) || !iso.includes(":")
    ? iso
    : `${iso}Z`;
  const at = Date.parse(zoned.replace(" ", "T"));
  return Number.isFinite(at) ? at : undefined;
}
