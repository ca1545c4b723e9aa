import { parseArgs } from "node:util";
import { UsageError } from "./usage_error.ts";

/** What the user typed on the command line, before defaults and config. */
export interface Flags {
  path?: string;
  port?: string;
  name?: string;
  peers: string[];
  excludes: string[];
  noDiscovery: boolean;
  verbose: boolean;
  config?: string;
  /** `--gui ADDR:PORT`: where the status page listens. */
  gui?: string;
  /** `--join CODE`: join the group of a member with this code. */
  join?: string;
  /** `--open`: the open LAN mode instead of a group. */
  open: boolean;
  /** `--mode`: send-receive, send-only or receive-only. */
  mode?: string;
  /** `--state-dir`: where `.dsync/` goes instead of the folder. */
  stateDir?: string;
  /** A control command for the running instance, with its arguments. */
  command?: ControlCommand;
  help: boolean;
  version: boolean;
}

/**
 * `dsync invite | members | remove FINGERPRINT | status [--json] |
 * versions [PATH] | restore PATH [--at TIME] | override | revert | pause |
 * resume`.
 */
export type ControlCommand =
  | { readonly name: "invite" }
  | { readonly name: "members" }
  | { readonly name: "remove"; readonly fingerprint: string }
  /** `json`: the whole status document instead of the short summary. */
  | { readonly name: "status"; readonly json: boolean }
  /** `dsync versions [PATH]`: the kept versions (of PATH and below). */
  | { readonly name: "versions"; readonly path?: string }
  /** `dsync restore PATH [--at TIME]`: a version back under its name. */
  | { readonly name: "restore"; readonly path: string; readonly at?: string }
  /** `dsync override`: a send-only folder's state onto the peers. */
  | { readonly name: "override" }
  /** `dsync revert`: a receive-only folder's local changes dropped. */
  | { readonly name: "revert" }
  /** `dsync pause` / `dsync resume`: hold or carry on all transfers. */
  | { readonly name: "pause" }
  /** `acceptDeletes`: apply the deletes the mass-delete guard held. */
  | { readonly name: "resume"; readonly acceptDeletes: boolean };

const COMMANDS = [
  "invite",
  "members",
  "remove",
  "status",
  "versions",
  "restore",
  "override",
  "revert",
  "pause",
  "resume",
] as const;

const OPTIONS = {
  path: { type: "string", short: "d" },
  port: { type: "string", short: "p" },
  name: { type: "string", short: "n" },
  peer: { type: "string", short: "a", multiple: true },
  exclude: { type: "string", short: "e", multiple: true },
  "no-discovery": { type: "boolean" },
  verbose: { type: "boolean", short: "v" },
  config: { type: "string" },
  gui: { type: "string" },
  join: { type: "string" },
  open: { type: "boolean" },
  json: { type: "boolean" },
  at: { type: "string" },
  "accept-deletes": { type: "boolean" },
  mode: { type: "string" },
  "state-dir": { type: "string" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "V" },
} as const;

/**
 * Parses dsync's command line.
 * @throws {UsageError} for unknown options, missing values and stray arguments.
 */
export function parseFlags(argv: readonly string[]): Flags {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: OPTIONS,
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    throw new UsageError(describeParseError(error), { cause: error });
  }
  const { values, positionals } = parsed;
  const command = parseCommand(
    positionals,
    values.json ?? false,
    values.at,
    values["accept-deletes"] ?? false,
  );
  const flags: Flags = {
    peers: values.peer ?? [],
    excludes: values.exclude ?? [],
    noDiscovery: values["no-discovery"] ?? false,
    verbose: values.verbose ?? false,
    open: values.open ?? false,
    help: values.help ?? false,
    version: values.version ?? false,
  };
  if (command !== undefined) flags.command = command;
  if (values.join !== undefined) flags.join = values.join;
  if (values.path !== undefined) flags.path = values.path;
  if (values.port !== undefined) flags.port = values.port;
  if (values.name !== undefined) flags.name = values.name;
  if (values.config !== undefined) flags.config = values.config;
  if (values.gui !== undefined) flags.gui = values.gui;
  if (values.mode !== undefined) flags.mode = values.mode;
  if (values["state-dir"] !== undefined) {
    flags.stateDir = values["state-dir"];
  }
  return flags;
}

function parseCommand(
  positionals: readonly string[],
  json: boolean,
  at: string | undefined,
  acceptDeletes: boolean,
): ControlCommand | undefined {
  const [first, ...rest] = positionals;
  if (acceptDeletes && first !== "resume") {
    throw new UsageError(
      "--accept-deletes goes with resume: dsync resume -d DIR --accept-deletes",
    );
  }
  if (at !== undefined && first !== "restore") {
    throw new UsageError(
      "--at goes with restore: dsync restore -d DIR PATH --at TIME",
    );
  }
  if (json && first !== "status") {
    throw new UsageError("--json goes with status: dsync status -d DIR --json");
  }
  if (first === undefined) return undefined;
  const name = COMMANDS.find((c) => c === first);
  if (name === undefined) {
    throw new UsageError(
      `Unexpected argument "${first}" (the folder is given with -d DIR; commands: ${
        COMMANDS.join(", ")
      })`,
    );
  }
  if (name === "remove") {
    if (rest.length !== 1) {
      throw new UsageError(
        "Usage: dsync remove -d DIR FINGERPRINT (see dsync members -d DIR)",
      );
    }
    return { name, fingerprint: rest[0]! };
  }
  if (name === "restore") {
    if (rest.length !== 1) {
      throw new UsageError(
        "Usage: dsync restore -d DIR PATH [--at TIME] (see dsync versions -d DIR)",
      );
    }
    return at === undefined
      ? { name, path: rest[0]! }
      : { name, path: rest[0]!, at };
  }
  if (name === "versions") {
    if (rest.length > 1) {
      throw new UsageError(`Unexpected argument "${rest[1]}" after versions`);
    }
    return rest[0] === undefined ? { name } : { name, path: rest[0] };
  }
  if (rest.length > 0) {
    throw new UsageError(`Unexpected argument "${rest[0]}" after ${name}`);
  }
  if (name === "resume") return { name, acceptDeletes };
  return name === "status" ? { name, json } : { name };
}

function describeParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string }).code;
  const option = message.match(/Unknown option '([^']+)'/)?.[1];
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && option) {
    return `Unknown option "${option}" (see dsync --help)`;
  }
  const missing = message.match(/Option '([^']+)' argument missing/)?.[1];
  if (missing) return `Option "${missing}" needs a value`;
  // Keep whatever node:util said, on one line, without its hints.
  return message.split("\n")[0]!.replace(/\. To specify.*$/, "");
}
