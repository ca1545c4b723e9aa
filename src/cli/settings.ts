import { isAbsolute, relative, resolve } from "node:path";
import type { FileConfig } from "./config_file.ts";
import type { ControlCommand, Flags } from "./flags.ts";
import { type JoinCode, JoinCodeError, parseJoinCode } from "../group/mod.ts";
import {
  parseGuiAddress,
  parsePeerAddress,
  parsePort,
  type PeerAddress,
} from "./peer_address.ts";
import { UsageError } from "./usage_error.ts";

/** Everything a dsync node needs to start, after flags, config and defaults. */
export interface Settings {
  /** Absolute path of the synced folder. */
  folder: string;
  port: number;
  name: string;
  peers: PeerAddress[];
  excludes: string[];
  discovery: boolean;
  verbose: boolean;
  maxConcurrentTransfers: number;
  /** `--open`: the open LAN pseudo-group. */
  open: boolean;
  /** `--join CODE` (or `join` in dsync.toml), checked. */
  join?: JoinCode;
  /**
   * The code came from dsync.toml, not the command line: it is used only
   * while the folder has no group yet (the file is read at every start).
   */
  joinFromConfig?: boolean;
  /** A control command for the running instance instead of running one. */
  command?: ControlCommand;
  /** Where the status page and control API listen (`--gui`, `gui`). */
  gui?: PeerAddress;
  /** `naming` in dsync.toml: the naming rules declared to peers. */
  namingRules?: "posix" | "windows";
  /** Days versions are kept (0: versioning off); default 30. */
  versionsKeepDays?: number;
  /** Most megabytes of versions; default a tenth of the file system. */
  versionsMaxMb?: number;
  /** Which way changes flow. */
  mode: FolderMode;
  /**
   * Absolute path of the directory that holds `.dsync/` instead of the
   * folder (`--state-dir`, for a folder on a read-only file system).
   */
  stateDir?: string;
}

/** Which way a folder's changes flow. */
export type FolderMode = "send-receive" | "send-only" | "receive-only";
export const FOLDER_MODES: readonly FolderMode[] = [
  "send-receive",
  "send-only",
  "receive-only",
];

export const DEFAULT_PORT = 9000;
export const DEFAULT_NAME = "dsync-instance";
export const DEFAULT_MAX_CONCURRENT_TRANSFERS = 4;
/** An mDNS instance name is one DNS label: at most 63 bytes. */
const MAX_NAME_BYTES = 63;

/**
 * Merges command-line flags over the config file over defaults. Scalar flags
 * replace the file's value; `-a` and `-e` add to the file's lists.
 * @throws {UsageError} for a missing folder, bad port, name or peer address.
 */
export function mergeSettings(
  flags: Flags,
  config: FileConfig,
  defaults: { hostname: string | null; cwd: string },
): Settings {
  const path = flags.path ?? config.path;
  if (path === undefined || path.trim() === "") {
    throw new UsageError(
      "Missing folder: give it with -d DIR (or `path` in dsync.toml)",
    );
  }
  const port = flags.port !== undefined
    ? parsePort(flags.port)
    : config.port ?? DEFAULT_PORT;
  const name = validateName(
    flags.name ?? config.name ?? defaults.hostname ?? DEFAULT_NAME,
  );
  const peers = [...(config.peer ?? []), ...flags.peers].map(
    parsePeerAddress,
  );
  const excludes = [...(config.exclude ?? []), ...flags.excludes];
  for (const pattern of excludes) {
    if (pattern.trim() === "" || pattern.includes("\0")) {
      throw new UsageError(`Invalid exclude pattern "${pattern}"`);
    }
  }
  const open = flags.open || (config.open ?? false);
  const guiText = flags.gui ?? config.gui;
  const gui = guiText === undefined ? undefined : parseGuiAddress(guiText);
  const joinText = flags.join ?? config.join;
  let join: JoinCode | undefined;
  if (joinText !== undefined) {
    if (open) {
      throw new UsageError(
        "--join and --open exclude each other: an open folder has no group to join",
      );
    }
    try {
      join = parseJoinCode(joinText);
    } catch (error) {
      if (!(error instanceof JoinCodeError)) throw error;
      throw new UsageError(`Invalid join code: ${error.message}`);
    }
  }
  const modeText = flags.mode ?? config.mode ?? "send-receive";
  const mode = FOLDER_MODES.find((m) => m === modeText);
  if (mode === undefined) {
    throw new UsageError(
      `Invalid mode "${modeText}" (one of: ${FOLDER_MODES.join(", ")})`,
    );
  }
  const stateText = flags.stateDir ?? config.state_dir;
  const stateDir = stateText === undefined
    ? undefined
    : resolve(defaults.cwd, stateText);
  const folder = resolve(defaults.cwd, path);
  if (stateDir !== undefined && isWithin(folder, stateDir)) {
    throw new UsageError(
      `The state directory ${stateDir} is inside the folder ${folder}; choose one outside it`,
    );
  }
  return {
    mode,
    ...(stateDir === undefined ? {} : { stateDir }),
    ...(config.versions_keep_days === undefined
      ? {}
      : { versionsKeepDays: config.versions_keep_days }),
    ...(config.versions_max_mb === undefined
      ? {}
      : { versionsMaxMb: config.versions_max_mb }),
    ...(join === undefined
      ? {}
      : { join, joinFromConfig: flags.join === undefined }),
    ...(flags.command === undefined ? {} : { command: flags.command }),
    ...(gui === undefined ? {} : { gui }),
    ...(config.naming === "posix" || config.naming === "windows"
      ? { namingRules: config.naming }
      : {}),
    open,
    folder,
    port,
    name,
    peers,
    excludes,
    discovery: !(flags.noDiscovery || (config.no_discovery ?? false)),
    verbose: flags.verbose || (config.verbose ?? false),
    maxConcurrentTransfers: config.max_concurrent_transfers ??
      DEFAULT_MAX_CONCURRENT_TRANSFERS,
  };
}

function validateName(name: string): string {
  const bytes = new TextEncoder().encode(name).length;
  // deno-lint-ignore no-control-regex
  if (name.trim() === "" || /[\x00-\x1f\x7f]/.test(name)) {
    throw new UsageError(`Invalid name "${name}": empty or control characters`);
  }
  if (bytes > MAX_NAME_BYTES) {
    throw new UsageError(
      `Invalid name "${name}": longer than ${MAX_NAME_BYTES} bytes`,
    );
  }
  return name;
}

/**
 * The directory a relative `-d` (or `path` in dsync.toml) is resolved
 * against: where the user typed the command. `deno task` runs dsync from
 * the directory of deno.json and passes the caller's directory in
 * `INIT_CWD`; an empty or relative `INIT_CWD` is not one and is ignored.
 */
export function invocationDir(
  initCwd: string | undefined,
  cwd: string,
): string {
  return initCwd !== undefined && initCwd !== "" && isAbsolute(initCwd)
    ? initCwd
    : cwd;
}

/**
 * Checks that the folder exists and is a directory.
 * @throws {UsageError} otherwise.
 */
export async function checkFolder(folder: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(folder);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new UsageError(`Folder ${folder} does not exist`);
    }
    throw error;
  }
  if (!info.isDirectory) {
    throw new UsageError(`${folder} is not a folder`);
  }
}

/** Whether `path` is `dir` or inside it (both absolute). */
function isWithin(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

/**
 * Creates the state directory if it is missing.
 * @throws {UsageError} when it is a file or cannot be created.
 */
export async function checkStateDir(dir: string): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) {
      throw new UsageError(`State directory ${dir} is not a directory`);
    }
    throw new UsageError(
      `Cannot create the state directory ${dir}: ${(error as Error).message}`,
    );
  }
}
