/**
 * A `ChannelConn` over a `node:net` socket, for tests that need a chosen
 * source address (Deno.connect cannot bind one).
 */
import net from "node:net";
import type { ChannelConn } from "../../src/net/secure_channel.ts";

export async function connectFrom(
  localAddress: string,
  hostname: string,
  port: number,
): Promise<ChannelConn> {
  const socket = net.createConnection({ host: hostname, port, localAddress });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  socket.setNoDelay(true);
  const queue: Uint8Array[] = [];
  let ended = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  socket.on("data", (chunk: Uint8Array) => {
    queue.push(chunk);
    if (queue.length > 8) socket.pause();
    notify();
  });
  socket.on("end", () => {
    ended = true;
    notify();
  });
  socket.on("close", () => {
    ended = true;
    notify();
  });
  socket.on("error", (error: Error) => {
    failure = error;
    notify();
  });
  return {
    async read(p: Uint8Array): Promise<number | null> {
      while (queue.length === 0) {
        if (failure) throw failure;
        if (ended) return null;
        await new Promise<void>((resolve) => (wake = resolve));
      }
      const head = queue[0]!;
      const n = Math.min(p.length, head.length);
      p.set(head.subarray(0, n));
      if (n === head.length) queue.shift();
      else queue[0] = head.subarray(n);
      if (queue.length <= 8) socket.resume();
      return n;
    },
    write(p: Uint8Array): Promise<number> {
      if (failure) return Promise.reject(failure);
      const copy = p.slice();
      return new Promise((resolve, reject) => {
        socket.write(
          copy,
          (error) => (error ? reject(error) : resolve(copy.length)),
        );
      });
    },
    close() {
      socket.destroy();
      ended = true;
      notify();
    },
  };
}
