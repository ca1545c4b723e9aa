/**
 * The other end of the control channel: finds the instance running for a
 * folder through `.dsync/control.json` and calls its API. Used by the
 * `dsync invite | members | remove` commands.
 * @module
 */
import {
  type ControlEndpoint,
  controlFilePath,
  dialHostname,
  urlHost,
} from "./control_server.ts";

/** No instance runs for the folder (or it cannot be reached). */
export class NoInstanceError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "NoInstanceError";
  }
}

/** The instance answered with an error status. */
export class ControlRequestError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = "ControlRequestError";
    this.status = status;
  }
}

async function endpointOf(
  folder: string,
  stateRoot: string,
): Promise<ControlEndpoint> {
  let text: string;
  try {
    text = await Deno.readTextFile(controlFilePath(stateRoot));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new NoInstanceError(
        `No dsync is running for ${folder} (start it with: dsync -d ${folder})`,
      );
    }
    throw error;
  }
  try {
    const data = JSON.parse(text) as Partial<ControlEndpoint>;
    if (
      typeof data.port !== "number" || !Number.isInteger(data.port) ||
      data.port < 1 || data.port > 65535 || typeof data.token !== "string" ||
      !/^[0-9a-f]{64}$/.test(data.token)
    ) throw new Error("bad fields");
    // Only an IP literal: the file must not send the token to a name.
    const hostname = typeof data.hostname === "string" &&
        (/^(?:\d{1,3}\.){3}\d{1,3}$/.test(data.hostname) ||
          /^[0-9a-f:.]+$/.test(data.hostname) && data.hostname.includes(":"))
      ? dialHostname(data.hostname)
      : "127.0.0.1";
    return { port: data.port, token: data.token, pid: data.pid ?? 0, hostname };
  } catch {
    throw new NoInstanceError(
      `No dsync is running for ${folder} (its control file is damaged)`,
    );
  }
}

/**
 * Calls `method path` on the instance of `folder` (whose `.dsync/` is in
 * `stateRoot`, the folder unless `--state-dir` moved it); returns the JSON
 * answer.
 */
export async function callInstance(
  folder: string,
  method: "GET" | "POST",
  path: string,
  body?: unknown,
  stateRoot = folder,
): Promise<unknown> {
  const { port, token, hostname = "127.0.0.1" } = await endpointOf(
    folder,
    stateRoot,
  );
  let response: Response;
  try {
    response = await fetch(`http://${urlHost(hostname)}:${port}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) throw error;
    throw new NoInstanceError(
      `No dsync is running for ${folder} (nothing answers on its control port ${port})`,
      { cause: error },
    );
  }
  const data = await response.json().catch(() => ({})) as {
    error?: string;
  };
  if (!response.ok) {
    throw new ControlRequestError(
      response.status,
      data.error ?? `The instance answered ${response.status}`,
    );
  }
  return data;
}
