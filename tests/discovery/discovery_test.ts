import { assert, assertEquals } from "../assert.ts";

const CHILD = new URL("./_two_nodes.ts", import.meta.url).pathname;

async function run(cmd: string, args: string[]): Promise<Deno.CommandOutput> {
  return await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" })
    .output();
}

async function ip(args: string[]): Promise<void> {
  const out = await run("ip", args);
  if (!out.success) {
    throw new Error(
      `Command "ip ${args.join(" ")}" failed: ${
        new TextDecoder().decode(out.stderr)
      }`,
    );
  }
}

async function whyNotRunnable(): Promise<string | undefined> {
  if (Deno.build.os !== "linux") return "not Linux";
  if (Deno.uid() !== 0) return "not root";
  try {
    const out = await run("ip", ["-V"]);
    if (!out.success) return "`ip` does not run";
  } catch {
    return "`ip` is missing";
  }
  return undefined;
}

Deno.test("Discovery finds a peer and sees its goodbye in a private netns", async () => {
  const reason = await whyNotRunnable();
  if (reason !== undefined) {
    console.log(`Skipping discovery netns test: ${reason}`);
    return;
  }
  const ns = `dsync-test-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await ip(["netns", "add", ns]);
  } catch (err) {
    console.log(`Skipping discovery netns test: cannot create netns: ${err}`);
    return;
  }
  try {
    await ip(["-n", ns, "link", "set", "lo", "up"]);
    // Both veth ends live inside the namespace: nothing reaches the host.
    await ip([
      "-n",
      ns,
      "link",
      "add",
      "dsync0",
      "type",
      "veth",
      "peer",
      "name",
      "dsync1",
    ]);
    await ip(["-n", ns, "link", "set", "dsync0", "multicast", "on"]);
    await ip(["-n", ns, "addr", "add", "10.213.0.1/24", "dev", "dsync0"]);
    await ip(["-n", ns, "link", "set", "dsync1", "up"]);
    await ip(["-n", ns, "link", "set", "dsync0", "up"]);
    await ip(["-n", ns, "route", "add", "224.0.0.0/4", "dev", "dsync0"]);
    const out = await run("ip", [
      "netns",
      "exec",
      ns,
      Deno.execPath(),
      "run",
      "-A",
      CHILD,
    ]);
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assert(out.success, `Child failed: ${stderr}`);
    const line = stdout.trim().split("\n").at(-1) ?? "";
    const result = JSON.parse(line);
    assertEquals(result.error, undefined, stderr);
    // Each saw only the other: its own announcements were ignored.
    for (const p of result.seenByA) assertEquals(p.id, result.idB);
    for (const p of result.seenByB) assertEquals(p.id, result.idA);
    assertEquals(result.seenByA[0].port, 22002);
    assertEquals(result.seenByA[0].name, "node-b");
    assert(result.seenByA[0].addresses.includes("10.213.0.1"));
    assertEquals(result.seenByB[0].id, result.idA);
    assertEquals(result.seenByB[0].port, 22001);
    assertEquals(result.lostByA[0].id, result.idB);
  } finally {
    await ip(["netns", "delete", ns]).catch((err) =>
      console.log(`Cannot delete netns ${ns}: ${err}`)
    );
  }
});
