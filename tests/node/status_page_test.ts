/** The status page's routes and the embedded copy of its sources. */
import { assert, assertEquals } from "../assert.ts";
import { pageRoutes } from "../../src/node/status_page.ts";
import { pageModule } from "../../scripts/embed_page.ts";

Deno.test("src/node/page/assets.ts is what scripts/embed_page.ts makes of the page sources", async () => {
  const embedded = await Deno.readTextFile(
    new URL("../../src/node/page/assets.ts", import.meta.url),
  );
  assert(
    embedded === await pageModule(),
    "assets.ts is stale: run deno run -A scripts/embed_page.ts",
  );
});

Deno.test("pageRoutes() serve the page with a policy that allows only this origin and no framing", async () => {
  const routes = pageRoutes();
  const context = {
    request: new Request("http://127.0.0.1/"),
    closing: new AbortController().signal,
  };
  for (
    const [route, type] of [
      ["GET /", "text/html"],
      ["GET /app.css", "text/css"],
      ["GET /app.js", "text/javascript"],
    ]
  ) {
    const response = await routes[route!]!(undefined, context) as Response;
    assertEquals(response.status, 200);
    assert(response.headers.get("content-type")!.startsWith(type!));
    const policy = response.headers.get("content-security-policy") ?? "";
    assert(policy.includes("default-src 'none'"), policy);
    assert(policy.includes("frame-ancestors 'none'"), policy);
    assert(!/https?:/.test(policy), policy);
    const body = await response.text();
    // Nothing is fetched from the internet.
    assert(!/(src|href)="https?:/.test(body), route);
  }
});
