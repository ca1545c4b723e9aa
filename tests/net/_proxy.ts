/**
 * A frame-aware TCP relay on loopback for attack and failure tests. Every
 * byte stream in dsync is a sequence of 2-byte-length-prefixed frames (the
 * three handshake messages, then transport frames), so the relay parses
 * frames per direction and lets a test rewrite, drop, repeat or reorder them.
 */
import { FrameReader, writeAll } from "../../src/net/frame_io.ts";

export type Direction = "toServer" | "toClient";

/**
 * What to do with one frame: bytes to send instead of it, or bytes to send
 * and then close both sides.
 */
export type TamperResult = Uint8Array[] | { send: Uint8Array[]; close: true };

export interface ProxyOptions {
  targetPort: number;
  /**
   * Sees each frame (length prefix included, a private copy) with its index in
   * its direction: toServer 0 and 1 are handshake messages 1 and 3, 2+ are
   * transport frames; toClient 0 is message 2, 1+ transport.
   */
  tamper?: (
    direction: Direction,
    index: number,
    frame: Uint8Array,
  ) => TamperResult;
}

export interface Proxy {
  port: number;
  /** Stop forwarding (both directions) without closing anything. */
  pause(): void;
  /** Forward again what `pause()` held. */
  resume(): void;
  close(): Promise<void>;
}

export function startProxy(options: ProxyOptions): Proxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const tasks = new Set<Promise<void>>();
  let paused = false;
  let resumeAll: (() => void)[] = [];

  const closeBoth = (a: Deno.Conn, b: Deno.Conn) => {
    for (const c of [a, b]) {
      try {
        c.close();
      } catch { /* already closed */ }
      conns.delete(c);
    }
  };

  const pump = async (from: Deno.Conn, to: Deno.Conn, direction: Direction) => {
    const reader = new FrameReader(from, { bufferSize: 1 << 20 });
    try {
      for (let index = 0;; index++) {
        const body = await reader.readFrame();
        if (body === null) break;
        while (paused) await new Promise<void>((r) => resumeAll.push(r));
        const frame = new Uint8Array(2 + body.length);
        frame[0] = body.length >> 8;
        frame[1] = body.length & 0xff;
        frame.set(body, 2);
        const out = options.tamper?.(direction, index, frame) ?? [frame];
        const chunks = Array.isArray(out) ? out : out.send;
        for (const chunk of chunks) await writeAll(to, chunk);
        if (!Array.isArray(out)) break;
      }
    } catch {
      // A side went away; end both.
    } finally {
      closeBoth(from, to);
    }
  };

  const accepting = (async () => {
    for (;;) {
      let client: Deno.Conn;
      try {
        client = await listener.accept();
      } catch {
        return;
      }
      let server: Deno.Conn;
      try {
        server = await Deno.connect({
          hostname: "127.0.0.1",
          port: options.targetPort,
        });
      } catch {
        client.close();
        continue;
      }
      conns.add(client);
      conns.add(server);
      for (
        const task of [
          pump(client, server, "toServer"),
          pump(server, client, "toClient"),
        ]
      ) {
        tasks.add(task);
        task.finally(() => tasks.delete(task));
      }
    }
  })();

  return {
    port: (listener.addr as Deno.NetAddr).port,
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
      for (const r of resumeAll.splice(0)) r();
    },
    async close() {
      listener.close();
      await accepting;
      for (const c of conns) {
        try {
          c.close();
        } catch { /* already closed */ }
      }
      conns.clear();
      paused = false;
      for (const r of resumeAll) r();
      resumeAll = [];
      await Promise.allSettled([...tasks]);
    },
  };
}
