/**
 * The status page's buttons in a real browser (issue #20, with what #16
 * and #18 added): invite shows a join code, pause holds the folder and
 * resume lets a peer's file in, a version a peer's delete left is restored
 * from the page and reaches the peer again, and remove takes a device out
 * of the group. Skipped, saying so, where chromium is not installed.
 * @module
 */
import type { Page } from "puppeteer-core";
import { assert, assertEquals } from "../assert.ts";
import { waitFor } from "../_wait.ts";
import { runDsync } from "./_dsync.ts";
import { skip } from "./_faults.ts";
import { findChromium } from "./_chromium.ts";
import { PagePair } from "./_page_pair.ts";

const TEST = "status page buttons";

async function text(page: Page, selector: string): Promise<string> {
  return await page.$eval(selector, (e) => e.textContent ?? "");
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

Deno.test(
  "status page buttons: invite, pause and resume, restore a version, remove a device",
  async () => {
    const chromium = findChromium();
    if ("reason" in chromium) return skip(TEST, chromium.reason);
    await using pair = await PagePair.start("dsync-buttons-", {
      path: "doc.txt",
      text: "the only copy\n",
    });
    const { root, env, url } = pair;
    await waitFor(
      () => exists(`${root}/beta/doc.txt`),
      "doc.txt on beta",
      30_000,
    );

    const browser = await pair.launch(chromium.path);
    const page = await browser.newPage();
    page.on("dialog", (dialog) => void dialog.accept());
    await page.goto(url, { waitUntil: "domcontentloaded" });
    await page.waitForFunction(
      `document.getElementById("state")?.textContent === "In sync with 1 device"`,
      { timeout: 15_000 },
    );

    // Invite: a join code to type on the new device.
    await page.click("#invite");
    await page.waitForFunction(
      `!document.getElementById("invite-code").hidden`,
      { timeout: 10_000 },
    );
    const code = await text(page, "#invite-code");
    assert(/^[0-9A-Z]{4}(-[0-9A-Z]{4}){2,}$/.test(code), code);
    assert((await text(page, "#outcome")).includes(`--join ${code}`));

    // Pause, then resume: a file beta makes meanwhile arrives after.
    await page.click("#pause");
    await page.waitForFunction(
      `document.getElementById("f-state").textContent === "paused" &&
        document.getElementById("pause").textContent === "Resume"`,
      { timeout: 10_000 },
    );
    const paused = await runDsync(
      ["status", "-d", `${root}/alpha`, "--json"],
      { env },
    );
    assertEquals(JSON.parse(paused.stdout).folder.state, "paused");
    await Deno.writeTextFile(`${root}/beta/later.txt`, "made while paused\n");
    await page.click("#pause");
    await page.waitForFunction(
      `document.getElementById("pause").textContent === "Pause"`,
      { timeout: 10_000 },
    );
    await waitFor(
      () => exists(`${root}/alpha/later.txt`),
      "later.txt on alpha after resume",
      30_000,
    );

    // Beta deletes doc.txt: alpha keeps a version, listed on the page,
    // and its Restore button brings the file back on both devices.
    await Deno.remove(`${root}/beta/doc.txt`);
    await waitFor(
      async () => !(await exists(`${root}/alpha/doc.txt`)),
      "beta's delete of doc.txt on alpha",
      30_000,
    );
    await page.waitForSelector('#versions tr[data-path="doc.txt"] button', {
      timeout: 15_000,
    });
    await page.click('#versions tr[data-path="doc.txt"] button');
    await waitFor(
      async () =>
        await Deno.readTextFile(`${root}/alpha/doc.txt`).catch(() => "") ===
          "the only copy\n",
      "doc.txt restored on alpha",
      15_000,
    );
    await waitFor(
      async () =>
        await Deno.readTextFile(`${root}/beta/doc.txt`).catch(() => "") ===
          "the only copy\n",
      "the restored doc.txt back on beta",
      30_000,
    );
    assert((await text(page, "#outcome")).includes("Restored doc.txt"));

    // Remove beta from the group (the page asks first; the test agrees).
    await page.click('#peers tbody tr button[aria-label^="Remove beta"]');
    await page.waitForFunction(
      `document.getElementById("outcome").textContent.startsWith("Removed beta")`,
      { timeout: 15_000 },
    );
    const members = await runDsync(["members", "-d", `${root}/alpha`], {
      env,
    });
    assertEquals(members.code, 0, members.stderr);
    assert(/\bbeta\s+removed /.test(members.stdout), members.stdout);
  },
);
