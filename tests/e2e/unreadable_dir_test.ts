/**
 * An unreadable subfolder is skipped and reported on its own, and the rest
 * of the folder stays watched live (issue #20: one such folder used to turn
 * the whole folder into a rescan every 10 s). As root the node runs without
 * the capabilities that bypass file permissions (setpriv), as in the
 * faults test; skipped with the reason where that cannot be done.
 * @module
 */
import { assert, assertEquals } from "../assert.ts";
import { waitFor } from "../_wait.ts";
import {
  DsyncProcess,
  freePort,
  isolatedEnv,
  loopbackNodeArgs,
  runDsync,
} from "./_dsync.ts";
import { skip, whyNotRoot } from "./_faults.ts";
import type { StatusDocument } from "../../src/node/mod.ts";

const TEST = "unreadable subfolder";

function has(path: string, text: string): boolean {
  try {
    return Deno.readTextFileSync(path) === text;
  } catch {
    return false;
  }
}

Deno.test("unreadable subfolder: skipped and reported, the rest watched live (new folders too)", async () => {
  const reason = Deno.uid() === 0
    ? await whyNotRoot([["setpriv", ["--version"]]])
    : Deno.build.os === "linux"
    ? undefined
    : "not Linux";
  if (reason !== undefined) return skip(TEST, reason);
  const wrapper = Deno.uid() === 0
    ? ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]
    : [];
  const root = await Deno.makeTempDir({ prefix: "dsync-unreadable-" });
  const env = isolatedEnv(`${root}/home`);
  const nodes: DsyncProcess[] = [];
  try {
    for (const dir of ["alpha/closed", "alpha/open", "beta", "home"]) {
      await Deno.mkdir(`${root}/${dir}`, { recursive: true });
    }
    await Deno.writeTextFile(`${root}/alpha/closed/secret.txt`, "secret");
    await Deno.writeTextFile(`${root}/alpha/open/a.txt`, "a");
    await Deno.chmod(`${root}/alpha/closed`, 0o000);
    const [pa, pb] = [freePort(), freePort()];
    const start = (name: string, port: number, peer: number) => {
      const node = new DsyncProcess(loopbackNodeArgs(root, name, port, peer), {
        env,
        wrapper,
      });
      nodes.push(node);
      return node;
    };
    const alpha = start("alpha", pa, pb);
    start("beta", pb, pa);
    await alpha.waitForOutput(
      /Not watching closed: permission denied\. The rest of .* is watched/,
      30_000,
    );
    await waitFor(
      () => has(`${root}/beta/open/a.txt`, "a"),
      "open/a.txt on beta",
      30_000,
    );

    // Changes anywhere else arrive while being watched: in a watched
    // subfolder, at the top, and in a folder made after the start. (The
    // fallback rescans every 10 s; these wait 5 s at most.)
    await Deno.writeTextFile(`${root}/alpha/open/b.txt`, "b");
    await Deno.writeTextFile(`${root}/alpha/top.txt`, "top");
    await waitFor(
      () =>
        has(`${root}/beta/open/b.txt`, "b") &&
        has(`${root}/beta/top.txt`, "top"),
      "open/b.txt and top.txt on beta",
      5_000,
    );
    await Deno.mkdir(`${root}/alpha/later`);
    await Deno.writeTextFile(`${root}/alpha/later/first.txt`, "1");
    await waitFor(
      () => has(`${root}/beta/later/first.txt`, "1"),
      "later/first.txt on beta",
      5_000,
    );
    // And what is written in it afterwards.
    await Deno.writeTextFile(`${root}/alpha/later/second.txt`, "2");
    await waitFor(
      () => has(`${root}/beta/later/second.txt`, "2"),
      "later/second.txt on beta",
      5_000,
    );
    assert(!/rescanning it every/.test(alpha.output), alpha.output);
    assert(!has(`${root}/beta/closed/secret.txt`, "secret"));

    const status = await runDsync(
      ["status", "-d", `${root}/alpha`, "--json"],
      { env },
    );
    assertEquals(status.code, 0, status.stderr);
    const doc = JSON.parse(status.stdout) as StatusDocument;
    assertEquals(doc.notSynced.files, [
      { path: "closed", reason: "unreadable" },
    ]);
    assertEquals(doc.notSynced.counts.unreadable, 1);
  } finally {
    for (const node of nodes) await node.stop();
    await Deno.chmod(`${root}/alpha/closed`, 0o755).catch(() => {});
    await Deno.remove(root, { recursive: true });
  }
});
