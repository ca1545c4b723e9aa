/**
 * The local control channel of a running node: an HTTP API and the status
 * page, on 127.0.0.1 by default (`--gui ADDR:PORT`), that `dsync invite`,
 * `dsync members`, `dsync remove`, `dsync status` and the browser talk to.
 * Only the same user on the same machine can use it: the port and a random
 * token are written to `.dsync/control.json` (mode 0600), and every request
 * must carry the token, as `Authorization: Bearer …` (the CLI) or as the
 * cookie that opening the logged URL (`/?token=…`) sets (the browser). The
 * token is kept in `.dsync/control.token` across restarts (see
 * `control_token.ts`), so a bookmarked URL keeps working.
 * Without it a request gets 401 and nothing else. The Host header must name
 * the address it listens on (an IPv4 or bracketed IPv6 literal, or
 * `localhost` for loopback, never another name: DNS rebinding) and a
 * foreign Origin is refused (CSRF).
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { constantTimeEqual } from "../crypto/mod.ts";
import { CONTROL_FILE, STATE_DIR, toOsPath } from "../index/mod.ts";
import { loadOrCreateToken } from "./control_token.ts";

const log = getLogger(["dsync", "node"]);

/** What `.dsync/control.json` holds. */
export interface ControlEndpoint {
  readonly port: number;
  readonly token: string;
  readonly pid: number;
  /** The address it listens on (absent in files of older versions). */
  readonly hostname?: string;
}

/** A handler's answer: a status and a JSON body. */
export interface ControlReply {
  readonly status: number;
  readonly body: unknown;
}

/** What a route gets besides the parsed JSON body. */
export interface ControlContext {
  readonly request: Request;
  /** Aborts when the server closes (long-lived answers end then). */
  readonly closing: AbortSignal;
}

/**
 * One API route: method and path to a handler of the parsed JSON body. A
 * handler answers JSON (a `ControlReply`) or a whole `Response` (the page,
 * the event stream).
 */
export type ControlRoutes = Record<
  string,
  (
    body: unknown,
    context: ControlContext,
  ) => Promise<ControlReply | Response> | ControlReply | Response
>;

/** Where the control server listens. */
export interface ControlAddress {
  readonly hostname: string;
  /** 0: any free port. */
  readonly port: number;
}

/** The default: loopback only, on a port of its own (a free one when taken). */
export const DEFAULT_CONTROL_ADDRESS: ControlAddress = {
  hostname: "127.0.0.1",
  port: 8385,
};

/** `<folder>/.dsync/control.json` */
export function controlFilePath(folder: string): string {
  return toOsPath(toOsPath(folder, STATE_DIR), CONTROL_FILE);
}

const MAX_BODY = 16 * 1024;

/** `hostname` as it goes in a URL or a Host header: IPv6 in brackets. */
export function urlHost(hostname: string): string {
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}

/** Where a client on this machine reaches a server listening on `hostname`. */
export function dialHostname(hostname: string): string {
  if (hostname === "0.0.0.0") return "127.0.0.1";
  if (hostname === "::") return "::1";
  return hostname;
}

/** The running control server. */
export class ControlServer {
  readonly port: number;
  readonly hostname: string;
  readonly #token: string;
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #file: string;
  readonly #closing: AbortController;

  private constructor(
    server: Deno.HttpServer<Deno.NetAddr>,
    address: { hostname: string; port: number; token: string },
    file: string,
    closing: AbortController,
  ) {
    this.#server = server;
    this.port = address.port;
    this.hostname = address.hostname;
    this.#token = address.token;
    this.#file = file;
    this.#closing = closing;
  }

  /**
   * Serves `routes` (keys like `"POST /api/invite"`) at `address` (a free
   * port on the same address when that port is taken) and writes the
   * endpoint file.
   */
  static async start(
    folder: string,
    routes: ControlRoutes,
    address: ControlAddress = { hostname: "127.0.0.1", port: 0 },
  ): Promise<ControlServer> {
    const { token, replaced } = await loadOrCreateToken(folder);
    if (replaced !== undefined) {
      log.warn(
        "The stored status page token was {why}; made a new one (bookmarks of the old URL stop working)",
        { why: replaced },
      );
    }
    const closing = new AbortController();
    const gate = { port: 0, hostname: address.hostname, token };
    const handler = (request: Request) =>
      handle(request, gate, routes, closing.signal);
    let server: Deno.HttpServer<Deno.NetAddr>;
    try {
      server = Deno.serve(
        { hostname: address.hostname, port: address.port, onListen: () => {} },
        handler,
      );
    } catch (error) {
      if (!(error instanceof Deno.errors.AddrInUse) || address.port === 0) {
        throw error;
      }
      server = Deno.serve(
        { hostname: address.hostname, port: 0, onListen: () => {} },
        handler,
      );
      log.info(
        "Port {wanted} for the status page is taken; using {port} instead",
        { wanted: address.port, port: server.addr.port },
      );
    }
    gate.port = server.addr.port;
    const file = controlFilePath(folder);
    const endpoint: ControlEndpoint = {
      port: gate.port,
      token,
      pid: Deno.pid,
      hostname: address.hostname,
    };
    const temp = `${file}.tmp`;
    await Deno.writeTextFile(temp, JSON.stringify(endpoint) + "\n", {
      mode: 0o600,
    });
    if (Deno.build.os !== "windows") await Deno.chmod(temp, 0o600);
    await Deno.rename(temp, file);
    return new ControlServer(server, gate, file, closing);
  }

  /** The URL that opens the page and hands the browser its cookie. */
  get pageUrl(): string {
    const host = urlHost(dialHostname(this.hostname));
    return `http://${host}:${this.port}/?token=${this.#token}`;
  }

  /** Stops serving (ending event streams) and removes the endpoint file. */
  async close(): Promise<void> {
    await Deno.remove(this.#file).catch(() => {});
    this.#closing.abort();
    await this.#server.shutdown();
  }
}

/** The cookie of one instance (cookies are per host, not per port). */
export function cookieName(port: number): string {
  return `dsync_${port}`;
}

const IPV4 = /^(?:\d{1,3}\.){3}\d{1,3}$/;

/** The IPv6 literal inside `[…]` in its canonical form, or undefined. */
function bracketedIpv6(name: string): string | undefined {
  if (!/^\[[0-9a-f:.]+\]$/.test(name)) return undefined;
  try {
    return new URL(`http://${name}/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
}

/** True for a loopback address: 127.0.0.0/8 or ::1. */
export function isLoopback(hostname: string): boolean {
  return /^127\./.test(hostname) || hostname === "::1";
}

/**
 * Whether a Host header names this server: the address it listens on (any
 * IP literal when it listens on all of them), or `localhost` for loopback,
 * with its port. Names that DNS resolves are refused, so a rebinding attack
 * cannot reach it.
 */
export function hostAllowed(
  host: string,
  listen: { hostname: string; port: number },
): boolean {
  const lower = host.toLowerCase();
  const colon = lower.lastIndexOf(":");
  if (colon < 0 || lower.slice(colon + 1) !== String(listen.port)) {
    return false;
  }
  const name = lower.slice(0, colon);
  const v6 = bracketedIpv6(name);
  if (listen.hostname === "0.0.0.0") {
    return name === "localhost" || IPV4.test(name);
  }
  if (listen.hostname === "::") {
    // Listening on every address (IPv4 too, where the system maps it).
    return name === "localhost" || IPV4.test(name) || v6 !== undefined;
  }
  if (name === "localhost") return isLoopback(listen.hostname);
  if (listen.hostname.includes(":")) return v6 === listen.hostname;
  return name === listen.hostname;
}

/** A same-origin request names no Origin or exactly `http://<Host>`. */
export function originAllowed(origin: string | null, host: string): boolean {
  return origin === null || origin.toLowerCase() === `http://${host}`;
}

function cookieToken(request: Request, port: number): string {
  const header = request.headers.get("cookie") ?? "";
  const name = cookieName(port);
  for (const part of header.split(";")) {
    const [key, ...value] = part.trim().split("=");
    if (key === name) return value.join("=");
  }
  return "";
}

function tokenMatches(given: string, token: string): boolean {
  const encoder = new TextEncoder();
  return constantTimeEqual(encoder.encode(given), encoder.encode(token));
}

async function handle(
  request: Request,
  gate: { port: number; hostname: string; token: string },
  routes: ControlRoutes,
  closing: AbortSignal,
): Promise<Response> {
  const url = new URL(request.url);
  const host = request.headers.get("host") ?? "";
  if (!hostAllowed(host, gate)) {
    return json(403, { error: "Wrong Host header" });
  }
  if (!originAllowed(request.headers.get("origin"), host.toLowerCase())) {
    return json(403, { error: "Cross-origin requests are refused" });
  }
  const bearer = (request.headers.get("authorization") ?? "").replace(
    /^Bearer /,
    "",
  );
  const queryToken = url.searchParams.get("token");
  if (
    request.method === "GET" && url.pathname === "/" && queryToken !== null &&
    tokenMatches(queryToken, gate.token)
  ) {
    // Opening the logged URL: the token moves into a cookie and out of the
    // address bar (and out of the history).
    return new Response(null, {
      status: 303,
      headers: {
        location: "/",
        "set-cookie": `${
          cookieName(gate.port)
        }=${gate.token}; Path=/; HttpOnly; SameSite=Strict`,
        "cache-control": "no-store",
      },
    });
  }
  if (
    !tokenMatches(bearer, gate.token) &&
    !tokenMatches(cookieToken(request, gate.port), gate.token)
  ) {
    return json(401, { error: "Missing or wrong token" });
  }
  const route = routes[`${request.method} ${url.pathname}`];
  if (route === undefined) return json(404, { error: "No such endpoint" });
  let body: unknown = undefined;
  if (request.method === "POST") {
    const text = await request.text();
    if (text.length > MAX_BODY) return json(413, { error: "Body too large" });
    if (text.length > 0) {
      try {
        body = JSON.parse(text);
      } catch {
        return json(400, { error: "Body is not JSON" });
      }
    }
  }
  try {
    const reply = await route(body, { request, closing });
    return reply instanceof Response ? reply : json(reply.status, reply.body);
  } catch (error) {
    log.error("Control request {path} failed: {error}", {
      path: url.pathname,
      error: String(error),
    });
    return json(500, {
      error: error instanceof Error ? error.message : String(error),
    });
  }
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      "content-type": "application/json",
      "cache-control": "no-store",
    },
  });
}
