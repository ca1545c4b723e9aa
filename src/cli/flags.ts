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
  help: boolean;
  version: boolean;
}

const OPTIONS = {
  path: { type: "string", short: "d" },
  port: { type: "string", short: "p" },
  name: { type: "string", short: "n" },
  peer: { type: "string", short: "a", multiple: true },
  exclude: { type: "string", short: "e", multiple: true },
  "no-discovery": { type: "boolean" },
  verbose: { type: "boolean", short: "v" },
  config: { type: "string" },
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
  if (positionals.length > 0) {
    throw new UsageError(
      `Unexpected argument "${
        positionals[0]
      }" (the folder is given with -d DIR)`,
    );
  }
  const flags: Flags = {
    peers: values.peer ?? [],
    excludes: values.exclude ?? [],
    noDiscovery: values["no-discovery"] ?? false,
    verbose: values.verbose ?? false,
    help: values.help ?? false,
    version: values.version ?? false,
  };
  if (values.path !== undefined) flags.path = values.path;
  if (values.port !== undefined) flags.port = values.port;
  if (values.name !== undefined) flags.name = values.name;
  if (values.config !== undefined) flags.config = values.config;
  return flags;
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
