/**
 * The local control channel of a running node: an HTTP API on 127.0.0.1
 * that `dsync invite`, `dsync members`, `dsync remove` and `dsync status`
 * talk to. Only the same user on the same machine can use
 * it: the port and a random token are written to `.dsync/control.json`
 * (mode 0600), and every request must carry the token
 * (`Authorization: Bearer …`). The Host header must name the loopback
 * address it listens on and a foreign Origin is refused, so a web page in
 * the user's browser cannot drive it (DNS rebinding, CSRF).
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { constantTimeEqual } from "../crypto/mod.ts";
import { CONTROL_FILE, STATE_DIR, toOsPath } from "../index/mod.ts";

const log = getLogger(["dsync", "node"]);

/** What `.dsync/control.json` holds. */
export interface ControlEndpoint {
  readonly port: number;
  readonly token: string;
  readonly pid: number;
}

/** A handler's answer: a status and a JSON body. */
export interface ControlReply {
  readonly status: number;
  readonly body: unknown;
}

/** One API route: method and path to a handler of the parsed JSON body. */
export type ControlRoutes = Record<
  string,
  (body: unknown) => Promise<ControlReply> | ControlReply
>;

/** `<folder>/.dsync/control.json` */
export function controlFilePath(folder: string): string {
  return toOsPath(toOsPath(folder, STATE_DIR), CONTROL_FILE);
}

const MAX_BODY = 16 * 1024;

/** The running control server. */
export class ControlServer {
  readonly port: number;
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #file: string;

  private constructor(
    server: Deno.HttpServer<Deno.NetAddr>,
    port: number,
    file: string,
  ) {
    this.#server = server;
    this.port = port;
    this.#file = file;
  }

  /**
   * Serves `routes` (keys like `"POST /api/invite"`) on 127.0.0.1 at a free
   * port and writes the endpoint file.
   */
  static async start(
    folder: string,
    routes: ControlRoutes,
  ): Promise<ControlServer> {
    const token = Array.from(
      crypto.getRandomValues(new Uint8Array(32)),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
    const expected = new TextEncoder().encode(`Bearer ${token}`);
    let port = 0;
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen: () => {},
    }, (request) => handle(request, port, expected, routes));
    port = server.addr.port;
    const file = controlFilePath(folder);
    const endpoint: ControlEndpoint = { port, token, pid: Deno.pid };
    const temp = `${file}.tmp`;
    await Deno.writeTextFile(temp, JSON.stringify(endpoint) + "\n", {
      mode: 0o600,
    });
    if (Deno.build.os !== "windows") await Deno.chmod(temp, 0o600);
    await Deno.rename(temp, file);
    return new ControlServer(server, port, file);
  }

  /** Stops serving and removes the endpoint file. */
  async close(): Promise<void> {
    await Deno.remove(this.#file).catch(() => {});
    await this.#server.shutdown();
  }
}

async function handle(
  request: Request,
  port: number,
  expected: Uint8Array,
  routes: ControlRoutes,
): Promise<Response> {
  const url = new URL(request.url);
  const host = request.headers.get("host") ?? "";
  const allowedHosts = [`127.0.0.1:${port}`, `localhost:${port}`];
  if (!allowedHosts.includes(host.toLowerCase())) {
    return json(403, { error: "Wrong Host header" });
  }
  const origin = request.headers.get("origin");
  if (origin !== null && !allowedHosts.some((h) => origin === `http://${h}`)) {
    return json(403, { error: "Cross-origin requests are refused" });
  }
  const auth = new TextEncoder().encode(
    request.headers.get("authorization") ?? "",
  );
  if (!constantTimeEqual(auth, expected)) {
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
    const reply = await route(body);
    return json(reply.status, reply.body);
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
    headers: { "content-type": "application/json" },
  });
}
