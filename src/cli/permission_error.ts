/**
 * Missing Deno permissions as one line that names the flag: from the error
 * Deno threw ({@linkcode describePermissionError}), or checked up front
 * before anything starts ({@linkcode missingPermission}), because some
 * permissions are first used inside library callbacks (mDNS lists the
 * network interfaces from a socket event) where the error would escape as an
 * uncaught exception with a stack trace.
 * @module
 */

function refusal(flag: string, what: string): string {
  return `Permission denied: dsync needs ${flag} (${what}); run it again with ${flag}`;
}

/**
 * Turns Deno's "permission not granted" error into one line that names the
 * missing flag, or returns null for any other error.
 */
export function describePermissionError(error: unknown): string | null {
  if (!(error instanceof Deno.errors.NotCapable)) return null;
  const flag = error.message.match(/--allow-[a-z-]+/)?.[0];
  const what = error.message.match(/^Requires (.+?),/)?.[1];
  if (flag === undefined) return `Permission denied: ${error.message}`;
  return refusal(flag, what ?? "not granted");
}

/** What a run needs, from its settings. */
export interface PermissionNeeds {
  /** Absolute path of the synced folder: read and written. */
  readonly folder: string;
  /** The TCP port dsync listens on. */
  readonly port: number;
  /** mDNS discovery on: it lists the network interfaces. */
  readonly discovery: boolean;
}

/** The permissions a run with `needs` uses after its settings are read. */
export function requiredPermissions(
  needs: PermissionNeeds,
): Deno.PermissionDescriptor[] {
  const list: Deno.PermissionDescriptor[] = [
    { name: "read", path: needs.folder },
    { name: "write", path: needs.folder },
    { name: "net", host: `0.0.0.0:${needs.port}` },
    { name: "sys", kind: "hostname" },
  ];
  if (needs.discovery) list.push({ name: "sys", kind: "networkInterfaces" });
  return list;
}

function flagAndWhat(d: Deno.PermissionDescriptor): [string, string] {
  switch (d.name) {
    case "read":
    case "write":
      return [`--allow-${d.name}`, `${d.name} access to "${d.path ?? ""}"`];
    case "net":
      return ["--allow-net", `net access to "${d.host ?? ""}"`];
    case "sys":
      return ["--allow-sys", `sys access to "${d.kind ?? ""}"`];
    case "env":
      return ["--allow-env", `env access to "${d.variable ?? ""}"`];
    default:
      return [`--allow-${d.name}`, d.name];
  }
}

/**
 * Asks Deno for `descriptor`: granted or denied by the flags, or, where Deno
 * would prompt (`deno run` on a terminal without the flag), the user's
 * answer to that prompt now rather than halfway through a sync.
 */
function grantedState(
  descriptor: Deno.PermissionDescriptor,
): Deno.PermissionState {
  const { state } = Deno.permissions.querySync(descriptor);
  return state === "prompt"
    ? Deno.permissions.requestSync(descriptor).state
    : state;
}

/**
 * The one-line message for the first permission of `needs` that is not
 * granted, or null when all are. `state` (by default: the flags, then a
 * prompt where Deno would ask) is asked once per permission; anything but
 * "granted" counts as missing.
 */
export function missingPermission(
  needs: PermissionNeeds,
  state: (descriptor: Deno.PermissionDescriptor) => Deno.PermissionState =
    grantedState,
): string | null {
  for (const descriptor of requiredPermissions(needs)) {
    if (state(descriptor) !== "granted") {
      const [flag, what] = flagAndWhat(descriptor);
      return refusal(flag, what);
    }
  }
  return null;
}
