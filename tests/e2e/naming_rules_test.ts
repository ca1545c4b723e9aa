/**
 * Names one peer's file system cannot hold (issue #20): `a:b.txt` syncs
 * between two Linux peers; a third that declares Windows naming rules
 * (`naming = "windows"` in its dsync.toml, as for an NTFS disk) does not
 * get it, and both it and the sender report the file as not synced, while
 * the rest of the folder syncs and both sides say in sync with the note.
 * @module
 */
import { assert, assertEquals } from "../assert.ts";
import { waitFor } from "../_wait.ts";
import { DsyncProcess, freePort, isolatedEnv, runDsync } from "./_dsync.ts";
import type { StatusDocument } from "../../src/node/mod.ts";

async function statusOf(
  folder: string,
  env: Record<string, string>,
): Promise<StatusDocument> {
  const run = await runDsync(["status", "-d", folder, "--json"], { env });
  assertEquals(run.code, 0, run.stderr);
  return JSON.parse(run.stdout) as StatusDocument;
}

Deno.test("naming rules: a:b.txt syncs between Linux peers, is withheld from a peer with Windows rules, and both sides report it", async () => {
  if (Deno.build.os === "windows") return; // the name cannot exist here
  const root = await Deno.makeTempDir({ prefix: "dsync-names-" });
  const env = isolatedEnv(`${root}/home`);
  const nodes: DsyncProcess[] = [];
  try {
    for (const name of ["alpha", "beta", "gamma", "home"]) {
      await Deno.mkdir(`${root}/${name}`);
    }
    await Deno.writeTextFile(`${root}/alpha/a:b.txt`, "colon\n");
    await Deno.writeTextFile(`${root}/alpha/plain.txt`, "plain\n");
    await Deno.writeTextFile(`${root}/gamma.toml`, 'naming = "windows"\n');
    const [pa, pb, pg] = [freePort(), freePort(), freePort()];
    const start = (
      name: string,
      port: number,
      peers: number[],
      extra: string[] = [],
    ) => {
      const node = new DsyncProcess([
        "-d",
        `${root}/${name}`,
        "-n",
        name,
        "-p",
        String(port),
        "--no-discovery",
        "--gui",
        "127.0.0.1:0",
        ...peers.flatMap((p) => ["-a", `127.0.0.1:${p}`]),
        ...extra,
      ], { env });
      nodes.push(node);
      return node;
    };
    const alpha = start("alpha", pa, [pb, pg]);
    const beta = start("beta", pb, [pa]);
    const gamma = start("gamma", pg, [pa], ["--config", `${root}/gamma.toml`]);

    await waitFor(
      () => {
        try {
          return Deno.readTextFileSync(`${root}/beta/a:b.txt`) === "colon\n" &&
            Deno.readTextFileSync(`${root}/gamma/plain.txt`) === "plain\n";
        } catch {
          return false;
        }
      },
      "a:b.txt on beta and plain.txt on gamma",
      30_000,
    );
    await alpha.waitForOutput(
      /In sync with 2 peers, 2 files, .*; 1 file cannot be synced, see `dsync status`/,
      30_000,
    );
    await gamma.waitForOutput(
      /In sync with 1 peer, 1 file, .*; 1 file cannot be synced, see `dsync status`/,
      30_000,
    );
    await beta.waitForOutput(/In sync with 1 peer, 2 files, 12 B$/m, 30_000);
    assert(/NameNotAllowedError/.test(gamma.output), gamma.output);
    let gone = false;
    try {
      Deno.lstatSync(`${root}/gamma/a:b.txt`);
    } catch {
      gone = true;
    }
    assert(gone, "gamma must not hold a:b.txt");

    const a = await statusOf(`${root}/alpha`, env);
    assertEquals(a.folder.state, "in sync");
    assertEquals(a.notSynced.files, [
      { path: "a:b.txt", reason: "name not allowed on peer", peer: "gamma" },
    ]);
    assertEquals(a.notSynced.counts["name not allowed on peer"], 1);
    const g = await statusOf(`${root}/gamma`, env);
    assertEquals(g.folder.state, "in sync");
    assertEquals(g.notSynced.files, [
      { path: "a:b.txt", reason: "name not allowed here", peer: "alpha" },
    ]);
    const b = await statusOf(`${root}/beta`, env);
    assertEquals(b.notSynced.files, []);
    const text = await runDsync(["status", "-d", `${root}/alpha`], { env });
    assert(
      text.stdout.includes("  not synced: a:b.txt (name not allowed on gamma)"),
      text.stdout,
    );
  } finally {
    for (const node of nodes) await node.stop();
    await Deno.remove(root, { recursive: true });
  }
});
