/**
 * The status page's routes: the HTML, its style sheet and its script, all
 * embedded (see `scripts/embed_page.ts`) and served with a content
 * security policy that allows nothing but this origin, and no framing (a
 * foreign page cannot overlay it and have the user click).
 * @module
 */
import type { ControlRoutes } from "./control_server.ts";
import { PAGE_CSS, PAGE_HTML, PAGE_JS } from "./page/assets.ts";

const POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join("; ");

function asset(text: string, type: string): Response {
  return new Response(text, {
    headers: {
      "content-type": `${type}; charset=utf-8`,
      "content-security-policy": POLICY,
      "x-frame-options": "DENY",
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      "cache-control": "no-store",
    },
  });
}

/** `GET /`, `/app.css`, `/app.js`. */
export function pageRoutes(): ControlRoutes {
  return {
    "GET /": () => asset(PAGE_HTML, "text/html"),
    "GET /app.css": () => asset(PAGE_CSS, "text/css"),
    "GET /app.js": () => asset(PAGE_JS, "text/javascript"),
  };
}
