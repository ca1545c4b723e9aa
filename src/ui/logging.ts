import {
  configure,
  getTextFormatter,
  type LogRecord,
  reset,
  type Sink,
} from "@logtape/logtape";
import { showInvisible } from "./visible_text.ts";

const encoder = new TextEncoder();

/** Where log lines go: standard error, or above a terminal status block. */
export interface LogOutput {
  interrupt(text: string): void;
}

/** A sink that writes one formatted line per record to standard error. */
function stderrSink(output: LogOutput | undefined): Sink {
  const format = getTextFormatter({
    timestamp: "time",
    level: "ABBR",
    category: (category) => category.slice(1).join(".") || "dsync",
    // Paths and names read better bare than quoted; errors as their message.
    value: (value, inspect) =>
      typeof value === "string"
        ? value
        : value instanceof Error
        ? `${value.name}: ${value.message}`
        : inspect(value),
  });
  return (record: LogRecord) => {
    // Names from peers and disks may hold bidi overrides or escapes.
    const line = showInvisible(format(record));
    if (output) output.interrupt(line);
    else Deno.stderr.writeSync(encoder.encode(line));
  };
}

/**
 * Sends dsync's log records to standard error: info and above, or debug and
 * above with `verbose`.
 */
export async function setupLogging(
  options: { verbose: boolean; output?: LogOutput },
): Promise<void> {
  await configure({
    reset: true,
    sinks: { stderr: stderrSink(options.output) },
    loggers: [
      {
        category: ["dsync"],
        lowestLevel: options.verbose ? "debug" : "info",
        sinks: ["stderr"],
      },
      {
        category: ["logtape", "meta"],
        lowestLevel: "warning",
        sinks: ["stderr"],
      },
    ],
  });
}

/** Flushes and removes the logging configuration. */
export async function teardownLogging(): Promise<void> {
  await reset();
}
