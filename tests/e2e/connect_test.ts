import { assertEquals, assertNotEquals } from "../assert.ts";
import { DsyncProcess, freePort, isolatedEnv } from "./_dsync.ts";

const FINGERPRINT = "([A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4})";

function listeningAs(node: DsyncProcess): Promise<string> {
  return node.waitForOutput(
    new RegExp(`Listening on port \\d+ as ${FINGERPRINT}`),
  )
    .then((match) => match[1]!);
}

Deno.test("two dsync processes authenticate each other, reconnect after a restart, and say goodbye", async () => {
  const root = await Deno.makeTempDir({ prefix: "dsync-connect-" });
  const nodes: DsyncProcess[] = [];
  const start = (name: string, port: number, peerPort: number) => {
    const node = new DsyncProcess(
      [
        "-d",
        `${root}/${name}`,
        "-n",
        name,
        "-p",
        String(port),
        "--no-discovery",
        "-a",
        `127.0.0.1:${peerPort}`,
      ],
      { env: isolatedEnv(root) },
    );
    nodes.push(node);
    return node;
  };
  try {
    await Deno.mkdir(`${root}/alpha`);
    await Deno.mkdir(`${root}/beta`);
    const [portA, portB] = [freePort(), freePort()];
    const alpha = start("alpha", portA, portB);
    const beta = start("beta", portB, portA);
    const [fpA, fpB] = await Promise.all([
      listeningAs(alpha),
      listeningAs(beta),
    ]);
    assertNotEquals(fpA, fpB);

    // Each side names the other by the identity proven in the handshake.
    await alpha.waitForOutput(new RegExp(`Peer beta \\(${fpB}\\) connected`));
    await beta.waitForOutput(new RegExp(`Peer alpha \\(${fpA}\\) connected`));
    // Both are in the test group (seeded as if joined with a code).
    const group = /folder group ([A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4})/;
    assertEquals(
      alpha.output.match(group)?.[1],
      beta.output.match(group)?.[1],
      alpha.output,
    );
    // Not a terminal: the in-sync summary is a plain log line.
    await alpha.waitForOutput(/In sync with 1 peer, 0 files, 0 B/);

    // A clean stop says goodbye; the other side sees the peer leave at once.
    assertEquals(await beta.stop("SIGTERM"), 0, beta.output);
    await alpha.waitForOutput(
      new RegExp(`Peer beta \\(${fpB}\\) disconnected`),
    );

    // A restart has a fresh session identity but the same device
    // fingerprint, and alpha reconnects to it by itself.
    const session = async (node: DsyncProcess) =>
      (await node.waitForOutput(
        new RegExp(`Listening on port \\d+ as .*session ${FINGERPRINT}\\)`),
      ))[1]!;
    const oldSession = await session(beta);
    const beta2 = start("beta", portB, portA);
    const fpB2 = await listeningAs(beta2);
    assertEquals(fpB2, fpB);
    const newSession = await session(beta2);
    assertNotEquals(newSession, oldSession);
    await alpha.waitForOutput(
      new RegExp(`Connected to peer ${newSession} at`),
      30_000,
    );
    assertEquals(await beta2.stop("SIGINT"), 0, beta2.output);
    assertEquals(await alpha.stop("SIGTERM"), 0, alpha.output);
  } finally {
    for (const node of nodes) await node.stop("SIGKILL");
    await Deno.remove(root, { recursive: true });
  }
});
