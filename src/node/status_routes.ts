/**
 * The status document served over the control channel: `GET /api/status`
 * (one JSON document, for `dsync status` and scripts) and `GET /api/events`
 * (the same document as Server-Sent Events, for the status page). The
 * document itself is built in `status_api.ts`.
 * @module
 */
import type { ControlRoutes } from "./control_server.ts";
import type { StatusBuilder } from "./status_api.ts";

/** How often the event stream looks for a new state. */
const EVENT_CHECK_MS = 250;
/** A comment this often keeps proxies and the browser from timing out. */
const EVENT_KEEPALIVE_MS = 15_000;

/**
 * `GET /api/events`: Server-Sent Events, one `status` event with the whole
 * document each time it changes (checked four times a second), so the page
 * never polls.
 */
export function statusEvents(
  builder: StatusBuilder,
  signal: AbortSignal,
): Response {
  const encoder = new TextEncoder();
  let timer: ReturnType<typeof setInterval> | undefined;
  let last = "";
  let quietSince = Date.now();
  const stop = () => clearInterval(timer);
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = () => {
        if (signal.aborted) {
          stop();
          try {
            controller.close();
          } catch {
            // Closed by the client already.
          }
          return;
        }
        const doc = builder.document();
        // Time-only fields change every tick; compare without them.
        const text = JSON.stringify(doc);
        const key = JSON.stringify({ ...doc, remaining: null });
        try {
          if (key !== last) {
            last = key;
            quietSince = Date.now();
            controller.enqueue(
              encoder.encode(`event: status\ndata: ${text}\n\n`),
            );
          } else if (Date.now() - quietSince > EVENT_KEEPALIVE_MS) {
            quietSince = Date.now();
            controller.enqueue(encoder.encode(": keepalive\n\n"));
          }
        } catch {
          stop();
        }
      };
      send();
      timer = setInterval(send, EVENT_CHECK_MS);
      signal.addEventListener("abort", send, { once: true });
    },
    cancel: stop,
  });
  return new Response(body, {
    headers: {
      "content-type": "text/event-stream",
      "cache-control": "no-store",
    },
  });
}

/** The control API's status routes: the document and its event stream. */
export function statusRoutes(builder: StatusBuilder): ControlRoutes {
  return {
    "GET /api/status": () => ({ status: 200, body: builder.document() }),
    // A client that goes away cancels the stream; `closing` ends the rest.
    "GET /api/events": (_body, { closing }) => statusEvents(builder, closing),
  };
}
