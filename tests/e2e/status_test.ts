/**
 * `dsync status`: the short summary and the JSON document of a running
 * node, read through its control API, and the one-line refusal when no
 * node runs for the folder.
 * @module
 */
import { waitFor } from "../_wait.ts";
import { assert, assertEquals } from "../assert.ts";
import {
  DsyncProcess,
  freePort,
  isolatedEnv,
  loopbackNodeArgs,
  runDsync,
} from "./_dsync.ts";
import { writeTree } from "./_folders.ts";
import type { StatusDocument } from "../../src/node/mod.ts";

/** Runs `dsync status` until `ok(stdout)` holds; returns the last run. */
async function statusUntil(
  args: string[],
  env: Record<string, string>,
  ok: (stdout: string) => boolean,
  timeoutMs = 15_000,
): Promise<string> {
  let last = "";
  await waitFor(
    async () => {
      const run = await runDsync(["status", ...args], { env });
      assertEquals(run.code, 0, run.stderr);
      last = run.stdout;
      return ok(last);
    },
    () => `dsync status to match; last output:\n${last}`,
    timeoutMs,
    250,
  );
  return last;
}

Deno.test("dsync status summarises a running node, --json prints the whole document, and no node is one line, exit 2", async () => {
  const root = await Deno.makeTempDir({ prefix: "dsync-status-" });
  const env = isolatedEnv(`${root}/home`);
  const nodes: DsyncProcess[] = [];
  try {
    for (const name of ["alpha", "beta", "idle", "home"]) {
      await Deno.mkdir(`${root}/${name}`);
    }
    await writeTree(`${root}/alpha`, {
      "a.txt": "x".repeat(2_500),
      "sub/b.txt": "b",
    });
    const [portA, portB] = [freePort(), freePort()];
    const start = (name: string, port: number, peerPort: number) => {
      const node = new DsyncProcess(
        loopbackNodeArgs(root, name, port, peerPort, []),
        { env },
      );
      nodes.push(node);
      return node;
    };
    const alphaNode = start("alpha", portA, portB);
    const beta = start("beta", portB, portA);
    // The control server is up once the node says where it listens.
    await alphaNode.waitForOutput(/Listening on port/);
    await beta.waitForOutput(/Listening on port/);

    const summary = await statusUntil(
      ["-d", `${root}/alpha`],
      env,
      (out) => out.includes("in sync with 1 peer"),
    );
    const lines = summary.trim().split("\n");
    assertEquals(
      lines[0],
      `${root}/alpha: in sync with 1 peer, 2 files, 2.5 KB`,
      summary,
    );
    assertEquals(lines.length, 2, summary);
    assert(
      /^ {2}beta \([A-Z2-7-]{14}\) at 127\.0\.0\.1:\d+: in sync, connected for /
        .test(lines[1]!),
      summary,
    );

    const json = await runDsync(["status", "-d", `${root}/beta`, "--json"], {
      env,
    });
    assertEquals(json.code, 0, json.stderr);
    const doc = JSON.parse(json.stdout) as StatusDocument;
    assertEquals(doc.folder.path, `${root}/beta`);
    assertEquals(doc.folder.files, 2);
    assertEquals(doc.device.name, "beta");
    assert(/^[A-Z2-7-]{14}$/.test(doc.group), doc.group);
    assertEquals(doc.peers.length, 1);
    const alpha = doc.peers[0]!;
    assertEquals(alpha.name, "alpha");
    assertEquals(alpha.connected, true);
    assert(alpha.indexReceived && alpha.indexSent, json.stdout);
    assert(alpha.bytesReceived > 0, json.stdout);
    assertEquals(doc.transfers, []);
    assertEquals(doc.pending, 0);

    // A peer that leaves shows as disconnected at once.
    assertEquals(await beta.stop(), 0, beta.output);
    const after = await statusUntil(
      ["-d", `${root}/alpha`],
      env,
      (out) => out.includes(": disconnected"),
      5_000,
    );
    assert(after.startsWith(`${root}/alpha: no peer connected`), after);

    // No node on the folder: one line, exit 2.
    const none = await runDsync(["status", "-d", `${root}/idle`], { env });
    assertEquals(none.code, 2, none.stderr);
    assertEquals(none.stdout, "");
    assertEquals(none.stderr.trim().split("\n").length, 1, none.stderr);
    assert(/No dsync is running for/.test(none.stderr), none.stderr);
  } finally {
    for (const node of nodes) await node.stop();
    await Deno.remove(root, { recursive: true });
  }
});
