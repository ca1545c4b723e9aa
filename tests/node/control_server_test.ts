/** The local control API: token, Host and Origin checks, and the endpoint file. */
import { assert, assertEquals } from "../assert.ts";
import {
  type ControlEndpoint,
  controlFilePath,
  ControlServer,
  cookieName,
  hostAllowed,
  originAllowed,
} from "../../src/node/control_server.ts";
import {
  callInstance,
  NoInstanceError,
} from "../../src/node/control_client.ts";
import {
  judgeTokenFile,
  tokenFilePath,
  type TokenFileSighting,
  type TokenVerdict,
} from "../../src/node/control_token.ts";

async function withServer(
  fn: (endpoint: ControlEndpoint, folder: string) => Promise<void>,
): Promise<void> {
  const folder = await Deno.makeTempDir({ prefix: "dsync-control-" });
  await Deno.mkdir(`${folder}/.dsync`);
  const server = await ControlServer.start(folder, {
    "GET /api/ping": () => ({ status: 200, body: { pong: true } }),
    "POST /api/echo": (body) => ({ status: 200, body: { got: body } }),
  });
  try {
    const endpoint = JSON.parse(
      await Deno.readTextFile(controlFilePath(folder)),
    ) as ControlEndpoint;
    await fn(endpoint, folder);
  } finally {
    await server.close();
    await Deno.remove(folder, { recursive: true });
  }
}

/** The status of a GET sent as raw HTTP/1.1, so that any Host can be sent. */
async function rawStatus(
  port: number,
  path: string,
  headers: Record<string, string>,
): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const lines = [`GET ${path} HTTP/1.1`, "Connection: close"];
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    await conn.write(new TextEncoder().encode(lines.join("\r\n") + "\r\n\r\n"));
    const buf = new Uint8Array(4096);
    const n = await conn.read(buf);
    const head = new TextDecoder().decode(buf.subarray(0, n ?? 0));
    return Number(head.match(/^HTTP\/1\.1 (\d{3})/)?.[1] ?? 0);
  } finally {
    conn.close();
  }
}

async function status(
  url: string,
  headers: Record<string, string>,
): Promise<number> {
  const response = await fetch(url, { headers });
  await response.body?.cancel();
  return response.status;
}

Deno.test("ControlServer writes its endpoint owner-only and answers only with the token", async () => {
  await withServer(async ({ port, token }, folder) => {
    if (Deno.build.os !== "windows") {
      const mode = (await Deno.stat(controlFilePath(folder))).mode! & 0o777;
      assertEquals(mode, 0o600);
    }
    const url = `http://127.0.0.1:${port}/api/ping`;
    assertEquals(await status(url, {}), 401);
    assertEquals(await status(url, { authorization: "Bearer nope" }), 401);
    const ok = { authorization: `Bearer ${token}` };
    assertEquals(await status(url, ok), 200);
    // DNS rebinding: a name that resolves to 127.0.0.1 is still refused.
    assertEquals(
      await rawStatus(port, "/api/ping", { ...ok, host: `127.0.0.1:${port}` }),
      200,
    );
    assertEquals(
      await rawStatus(port, "/api/ping", {
        ...ok,
        host: `evil.example:${port}`,
      }),
      403,
    );
    // CSRF: a request a web page makes carries its Origin.
    assertEquals(
      await status(url, { ...ok, origin: "http://evil.example" }),
      403,
    );
    assertEquals(
      await status(`http://127.0.0.1:${port}/api/nothing`, ok),
      404,
    );
    assertEquals(await callInstance(folder, "GET", "/api/ping"), {
      pong: true,
    });
    assertEquals(await callInstance(folder, "POST", "/api/echo", [1, "a"]), {
      got: [1, "a"],
    });
  });
});

Deno.test("callInstance() says plainly when no instance runs for the folder", async () => {
  const folder = await Deno.makeTempDir({ prefix: "dsync-control-" });
  try {
    const error = await callInstance(folder, "GET", "/api/ping").then(
      () => undefined,
      (e) => e,
    );
    assert(error instanceof NoInstanceError, String(error));
    assert(/No dsync is running for/.test(error.message));
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});

Deno.test("hostAllowed() accepts the listening address and loopback names only, with the port", () => {
  const loop = { hostname: "127.0.0.1", port: 8385 };
  const all = { hostname: "0.0.0.0", port: 8385 };
  const lan = { hostname: "192.168.1.5", port: 8385 };
  const loop6 = { hostname: "::1", port: 8385 };
  const any6 = { hostname: "::", port: 8385 };
  const lan6 = { hostname: "2001:db8::5", port: 8385 };
  const table: [string, typeof loop, boolean][] = [
    ["127.0.0.1:8385", loop, true],
    ["localhost:8385", loop, true],
    ["LOCALHOST:8385", loop, true],
    ["127.0.0.1:8386", loop, false],
    ["127.0.0.1", loop, false],
    ["evil.example:8385", loop, false],
    ["192.168.1.5:8385", lan, true],
    ["localhost:8385", lan, false],
    ["10.0.0.7:8385", all, true],
    ["nas.local:8385", all, false],
    ["", loop, false],
    ["[::1]:8385", loop6, true],
    ["[0:0::1]:8385", loop6, true],
    ["localhost:8385", loop6, true],
    ["[::1]:8386", loop6, false],
    ["127.0.0.1:8385", loop6, false],
    ["[::2]:8385", loop6, false],
    ["[::1]:8385", loop, false],
    ["[fe80::1]:8385", any6, true],
    ["10.0.0.7:8385", any6, true],
    ["nas.local:8385", any6, false],
    ["[nas.local]:8385", any6, false],
    ["[2001:db8::5]:8385", lan6, true],
    ["localhost:8385", lan6, false],
  ];
  for (const [host, listen, ok] of table) {
    assertEquals(
      hostAllowed(host, listen),
      ok,
      `${host} on ${listen.hostname}`,
    );
  }
});

Deno.test("originAllowed() accepts no Origin or this very origin", () => {
  assertEquals(originAllowed(null, "127.0.0.1:8385"), true);
  assertEquals(originAllowed("http://127.0.0.1:8385", "127.0.0.1:8385"), true);
  assertEquals(originAllowed("http://localhost:8385", "127.0.0.1:8385"), false);
  assertEquals(
    originAllowed("https://127.0.0.1:8385", "127.0.0.1:8385"),
    false,
  );
  assertEquals(originAllowed("null", "127.0.0.1:8385"), false);
  assertEquals(originAllowed("http://[::1]:8385", "[::1]:8385"), true);
  assertEquals(originAllowed("http://evil.example", "[::1]:8385"), false);
});

Deno.test("ControlServer turns the logged URL's token into a cookie and accepts the cookie", async () => {
  const folder = await Deno.makeTempDir({ prefix: "dsync-control-" });
  await Deno.mkdir(`${folder}/.dsync`);
  const server = await ControlServer.start(folder, {
    "GET /": () => new Response("page"),
    "GET /api/ping": () => ({ status: 200, body: { pong: true } }),
  });
  try {
    const url = new URL(server.pageUrl);
    assertEquals(url.origin, `http://127.0.0.1:${server.port}`);
    const wrong = await fetch(`${url.origin}/?token=${"0".repeat(64)}`, {
      redirect: "manual",
    });
    assertEquals(wrong.status, 401);
    await wrong.body?.cancel();
    const opened = await fetch(url, { redirect: "manual" });
    assertEquals(opened.status, 303);
    assertEquals(opened.headers.get("location"), "/");
    const cookie = opened.headers.get("set-cookie") ?? "";
    assert(/HttpOnly/.test(cookie) && /SameSite=Strict/.test(cookie), cookie);
    await opened.body?.cancel();
    const pair = cookie.split(";")[0]!;
    assertEquals(pair.split("=")[0], cookieName(server.port));
    const page = await fetch(`${url.origin}/`, { headers: { cookie: pair } });
    assertEquals([page.status, await page.text()], [200, "page"]);
    // Another instance's cookie (another port) is not this one's.
    const other = await fetch(`${url.origin}/api/ping`, {
      headers: { cookie: `dsync_1=${pair.split("=")[1]}` },
    });
    assertEquals(other.status, 401);
    await other.body?.cancel();
  } finally {
    await server.close();
    await Deno.remove(folder, { recursive: true });
  }
});

Deno.test("ControlServer takes a free port when the one asked for is taken", async () => {
  const folder = await Deno.makeTempDir({ prefix: "dsync-control-" });
  await Deno.mkdir(`${folder}/.dsync`);
  const squatter = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const taken = (squatter.addr as Deno.NetAddr).port;
  const server = await ControlServer.start(folder, {}, {
    hostname: "127.0.0.1",
    port: taken,
  });
  try {
    assert(server.port !== taken && server.port > 0, String(server.port));
    const endpoint = JSON.parse(
      await Deno.readTextFile(controlFilePath(folder)),
    ) as ControlEndpoint;
    assertEquals([endpoint.port, endpoint.hostname], [
      server.port,
      "127.0.0.1",
    ]);
  } finally {
    squatter.close();
    await server.close();
    await Deno.remove(folder, { recursive: true });
  }
});

Deno.test("ControlServer keeps its token across restarts, so a bookmarked URL keeps working", async () => {
  const folder = await Deno.makeTempDir({ prefix: "dsync-control-" });
  await Deno.mkdir(`${folder}/.dsync`);
  try {
    const first = await ControlServer.start(folder, {});
    const url = first.pageUrl;
    await first.close();
    const second = await ControlServer.start(folder, {}, {
      hostname: "127.0.0.1",
      port: first.port,
    });
    try {
      const token = new URL(url).searchParams.get("token");
      assertEquals(new URL(second.pageUrl).searchParams.get("token"), token);
      const opened = await fetch(
        `http://127.0.0.1:${second.port}/?token=${token}`,
        { redirect: "manual" },
      );
      assertEquals(opened.status, 303);
      await opened.body?.cancel();
    } finally {
      await second.close();
    }
    if (Deno.build.os !== "windows") {
      const mode = (await Deno.stat(tokenFilePath(folder))).mode! & 0o777;
      assertEquals(mode, 0o600);
    }
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});

Deno.test("ControlServer replaces a stored token that is damaged or readable by others", async () => {
  const folder = await Deno.makeTempDir({ prefix: "dsync-control-" });
  await Deno.mkdir(`${folder}/.dsync`);
  const file = tokenFilePath(folder);
  const tokenOf = async () =>
    new URL((await restart()).pageUrl).searchParams.get("token");
  const restart = async () => {
    const server = await ControlServer.start(folder, {});
    await server.close();
    return server;
  };
  try {
    const stored = "ab".repeat(32);
    await Deno.writeTextFile(file, stored + "\n", { mode: 0o600 });
    assertEquals(await tokenOf(), stored);
    if (Deno.build.os !== "windows") {
      await Deno.chmod(file, 0o644);
      const fresh = await tokenOf();
      assert(fresh !== stored && /^[0-9a-f]{64}$/.test(fresh ?? ""), fresh!);
      assertEquals((await Deno.stat(file)).mode! & 0o777, 0o600);
      assertEquals(await tokenOf(), fresh);
    }
    await Deno.writeTextFile(file, "not a token\n", { mode: 0o600 });
    const repaired = await tokenOf();
    assert(/^[0-9a-f]{64}$/.test(repaired ?? ""), repaired!);
    assertEquals((await Deno.readTextFile(file)).trim(), repaired);
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});

Deno.test("judgeTokenFile() trusts only an owner-only regular file with a token", () => {
  const token = "0f".repeat(32);
  const file = { isFile: true, isSymlink: false, mode: 0o600, uid: 1000 };
  const table: [TokenFileSighting, TokenVerdict][] = [
    [{ info: file, text: token + "\n" }, "ok"],
    [{}, "missing"],
    [
      { info: { ...file, mode: 0o640 }, text: token },
      "readable by other users",
    ],
    [{ info: { ...file, mode: undefined }, text: token }, "ok"],
    [{ info: { ...file, uid: 0 }, text: token }, "owned by another user"],
    [
      { info: { ...file, isSymlink: true, isFile: false } },
      "not a regular file",
    ],
    [{ info: { ...file, isFile: false } }, "not a regular file"],
    [{ info: file, text: token.toUpperCase() }, "not a token"],
    [{ info: file, text: token.slice(2) }, "not a token"],
  ];
  for (const [seen, want] of table) {
    assertEquals(judgeTokenFile(seen, 1000), want, JSON.stringify(seen));
  }
});

Deno.test("ControlServer on [::1] answers its IPv6 Host, and the CLI reaches it", async () => {
  const folder = await Deno.makeTempDir({ prefix: "dsync-control-" });
  await Deno.mkdir(`${folder}/.dsync`);
  let server: ControlServer;
  try {
    server = await ControlServer.start(folder, {
      "GET /api/ping": () => ({ status: 200, body: { pong: true } }),
    }, { hostname: "::1", port: 0 });
  } catch (error) {
    await Deno.remove(folder, { recursive: true });
    if (error instanceof Deno.errors.AddrNotAvailable) {
      console.log("skipped: no IPv6 loopback here");
      return;
    }
    throw error;
  }
  try {
    const url = new URL(server.pageUrl);
    assertEquals(url.hostname, "[::1]");
    const opened = await fetch(url, { redirect: "manual" });
    assertEquals(opened.status, 303);
    await opened.body?.cancel();
    assertEquals(
      await callInstance(folder, "GET", "/api/ping"),
      { pong: true },
    );
    const token = url.searchParams.get("token")!;
    const origin = `http://[::1]:${server.port}`;
    assertEquals(
      await status(`${origin}/api/ping`, {
        authorization: `Bearer ${token}`,
        origin,
      }),
      200,
    );
    assertEquals(
      await status(`${origin}/api/ping`, {
        authorization: `Bearer ${token}`,
        origin: "http://evil.example",
      }),
      403,
    );
  } finally {
    await server.close();
    await Deno.remove(folder, { recursive: true });
  }
});
