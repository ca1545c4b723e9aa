/**
 * Names that lie, end to end: a right-to-left override (`\u202egnp.exe`
 * reads "exe.png"), a zero-width space and case-only twins sync like any
 * name (refusing them on some devices would split the group), but no log
 * line or status shows them raw, and `dsync status` lists them on every
 * device that holds them.
 * @module
 */
import { assert, assertEquals } from "../assert.ts";
import { DsyncProcess, freePort, isolatedEnv, runDsync } from "./_dsync.ts";
import { waitFor } from "../_wait.ts";

const RLO = "\u202egnp.exe";
const ZWSP = "a\u200bb.txt";
const NAMES = [RLO, ZWSP, "ab.txt", "Twin.txt", "twin.txt"];

Deno.test("names: bidi overrides, zero-width characters and case twins are never shown raw, and status lists them on both sides", async () => {
  const root = await Deno.makeTempDir({ prefix: "dsync-names-" });
  const env = isolatedEnv(`${root}/home`);
  const nodes: DsyncProcess[] = [];
  try {
    for (const name of ["alpha", "beta", "home"]) {
      await Deno.mkdir(`${root}/${name}`);
    }
    for (const name of NAMES) {
      await Deno.writeTextFile(`${root}/alpha/${name}`, `${name}\n`);
    }
    const [portA, portB] = [freePort(), freePort()];
    for (
      const [name, port, peer] of [["alpha", portA, portB], [
        "beta",
        portB,
        portA,
      ]] as const
    ) {
      nodes.push(
        new DsyncProcess([
          "-d",
          `${root}/${name}`,
          "-n",
          // A device name from the network lies the same way.
          name === "beta" ? "be\u202eta" : name,
          "-p",
          String(port),
          "--no-discovery",
          "-v",
          "-a",
          `127.0.0.1:${peer}`,
        ], { env }),
      );
    }
    await waitFor(
      async () => {
        for (const name of NAMES) {
          const text = await Deno.readTextFile(`${root}/beta/${name}`).catch(
            () => "",
          );
          if (text !== `${name}\n`) return false;
        }
        return true;
      },
      "every name to reach beta",
      30_000,
    );
    for (const side of ["alpha", "beta"]) {
      const run = await runDsync(["status", "-d", `${root}/${side}`], { env });
      assertEquals(run.code, 0, run.stderr);
      const out = run.stdout;
      assert(!/[\u202e\u200b]/.test(out), `raw invisible character: ${out}`);
      assert(
        out.includes(
          "look-alike names (differ only by case, normalisation or invisible characters): Twin.txt, twin.txt",
        ),
        out,
      );
      assert(out.includes("a<U+200B>b.txt"), out);
      assert(
        out.includes(
          "name with invisible or reordering characters: <U+202E>gnp.exe",
        ),
        out,
      );
      const json = await runDsync(
        ["status", "-d", `${root}/${side}`, "--json"],
        { env },
      );
      const doc = JSON.parse(json.stdout);
      assertEquals(doc.names.invisible, [ZWSP, RLO]);
    }
    // Alpha's log names beta: spelled out, never raw.
    await waitFor(
      () => nodes[0]!.output.includes("Peer be<U+202E>ta ("),
      "alpha's log to name beta",
    );
    for (const node of nodes) {
      assert(
        !/[\u202e\u200b]/.test(node.output),
        "a raw invisible character in a log",
      );
    }
  } finally {
    await Promise.allSettled(nodes.map((n) => n.stop("SIGKILL")));
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
});
