import { parse, TomlError } from "smol-toml";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { UsageError } from "./usage_error.ts";

/** The settings a `dsync.toml` may hold; every key is optional. */
export interface FileConfig {
  path?: string;
  port?: number;
  name?: string;
  peer?: string[];
  exclude?: string[];
  no_discovery?: boolean;
  verbose?: boolean;
  max_concurrent_transfers?: number;
  /** Join code, as with `--join`. */
  join?: string;
  /** Open LAN mode, as with `--open`. */
  open?: boolean;
  /** Where the status page listens, as with `--gui`. */
  gui?: string;
  /**
   * Which names the folder's file system holds: "posix" or "windows"
   * (e.g. an NTFS or exFAT disk mounted on Linux). Default: this OS's.
   */
  naming?: string;
  /** Days versions are kept; 0 turns versioning off. */
  versions_keep_days?: number;
  /** Most megabytes all versions take. */
  versions_max_mb?: number;
  /** `send-receive`, `send-only` or `receive-only`, as with `--mode`. */
  mode?: string;
  /** Where `.dsync/` goes, as with `--state-dir`. */
  state_dir?: string;
}

type KeyKind =
  | "string"
  | "port"
  | "strings"
  | "boolean"
  | "transfers"
  | "count";
const KEYS: Record<keyof FileConfig, KeyKind> = {
  path: "string",
  port: "port",
  name: "string",
  peer: "strings",
  exclude: "strings",
  no_discovery: "boolean",
  verbose: "boolean",
  max_concurrent_transfers: "transfers",
  join: "string",
  open: "boolean",
  gui: "string",
  naming: "string",
  versions_keep_days: "count",
  versions_max_mb: "count",
  mode: "string",
  state_dir: "string",
};

/** Upper bound on `max_concurrent_transfers`; more only adds memory use. */
export const MAX_CONCURRENT_TRANSFERS_LIMIT = 64;

/** Where the platform keeps dsync's config file, or null if it cannot tell. */
export function defaultConfigPath(
  env: (name: string) => string | undefined,
  os: typeof Deno.build.os,
): string | null {
  if (os === "windows") {
    const appData = env("APPDATA");
    return appData ? join(appData, "dsync", "dsync.toml") : null;
  }
  const xdg = env("XDG_CONFIG_HOME");
  if (xdg && isAbsolute(xdg)) return join(xdg, "dsync", "dsync.toml");
  const home = env("HOME");
  return home ? join(home, ".config", "dsync", "dsync.toml") : null;
}

/**
 * Parses and validates the text of a config file. `file` only names the file
 * in error messages and anchors a relative `path`.
 * @throws {UsageError} for syntax errors (with the line), unknown keys and
 * values of the wrong type, each naming the key and the file.
 */
export function parseConfig(text: string, file: string): FileConfig {
  let table: Record<string, unknown>;
  try {
    table = parse(text) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof TomlError) {
      const what = error.message.split("\n")[0]!.replace(
        /^Invalid TOML document: /,
        "",
      );
      throw new UsageError(
        `Syntax error in config file ${file} at line ${error.line}: ${what}`,
        { cause: error },
      );
    }
    throw error;
  }
  const config: FileConfig = {};
  for (const [key, value] of Object.entries(table)) {
    const kind = KEYS[key as keyof FileConfig];
    const bad = (expected: string) =>
      new UsageError(
        `Invalid value for "${key}" in config file ${file}: expected ${expected}`,
      );
    switch (kind) {
      case undefined:
        throw new UsageError(
          `Unknown key "${key}" in config file ${file} (known: ${
            Object.keys(KEYS).join(", ")
          })`,
        );
      case "string":
        if (typeof value !== "string" || value === "") {
          throw bad("a non-empty string");
        }
        if (key === "path" || key === "state_dir") {
          config[key] = resolveConfigPath(value, file);
        } else if (key === "naming") {
          if (value !== "posix" && value !== "windows") {
            throw bad('"posix" or "windows"');
          }
          config.naming = value;
        } else config[key as "name" | "join" | "gui" | "mode"] = value;
        break;
      case "port":
        if (
          typeof value !== "number" || !Number.isInteger(value) || value < 1 ||
          value > 65535
        ) throw bad("an integer from 1 to 65535");
        config.port = value;
        break;
      case "strings": {
        const list = typeof value === "string" ? [value] : value;
        if (
          !Array.isArray(list) || !list.every((v) => typeof v === "string")
        ) throw bad("a string or an array of strings");
        config[key as "peer" | "exclude"] = list as string[];
        break;
      }
      case "boolean":
        if (typeof value !== "boolean") throw bad("true or false");
        config[key as "no_discovery" | "verbose" | "open"] = value;
        break;
      case "transfers":
        if (
          typeof value !== "number" || !Number.isInteger(value) || value < 1 ||
          value > MAX_CONCURRENT_TRANSFERS_LIMIT
        ) {
          throw bad(
            `an integer from 1 to ${MAX_CONCURRENT_TRANSFERS_LIMIT}`,
          );
        }
        config.max_concurrent_transfers = value;
        break;
      case "count":
        if (
          typeof value !== "number" || !Number.isSafeInteger(value) || value < 0
        ) throw bad("a whole number, 0 or more");
        config[key as "versions_keep_days" | "versions_max_mb"] = value;
        break;
    }
  }
  return config;
}

function resolveConfigPath(value: string, file: string): string {
  if (value === "~" || value.startsWith("~/")) {
    const home = Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE");
    if (home) return join(home, value.slice(1));
  }
  return isAbsolute(value) ? value : resolve(dirname(file), value);
}

/**
 * Reads the config file. With `explicit` (from `--config`) a missing file is
 * an error; the default location may simply not exist.
 */
export async function loadConfig(
  file: string,
  explicit: boolean,
): Promise<FileConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound && !explicit) return {};
    if (error instanceof Deno.errors.NotFound) {
      throw new UsageError(`Config file ${file} does not exist`);
    }
    if (error instanceof Deno.errors.IsADirectory) {
      throw new UsageError(`Config file ${file} is a directory`);
    }
    throw error;
  }
  return parseConfig(text, file);
}
