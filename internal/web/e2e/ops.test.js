// The ops console in a real browser: sign in with the platform admin key,
// watch a flash sale's units fall as buyers check out, run the audit.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { SurgeClient } from "../../../sdk/typescript/dist/index.js";

const url = process.env.SURGE_URL;
const skip = url && process.env.CHROMIUM ? false : "SURGE_URL and CHROMIUM are not set";
const shots = process.env.SCREENSHOTS; // a directory: save the pages for the docs
let browser;

before(async () => {
  if (!skip) browser = await chromium.launch({ executablePath: process.env.CHROMIUM, args: ["--no-sandbox"] });
});
after(async () => browser?.close());

// tabTo presses Tab until the focused element's text is name, and checks
// that the focus shows.
async function tabTo(page, name) {
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press("Tab");
    const text = await page.evaluate(() => document.activeElement?.textContent?.trim() ?? "");
    if (text === name) {
      assert.notEqual(await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle), "none", `${name} shows no focus`);
      return;
    }
  }
  assert.fail(`the tab order never reaches ${name}`);
}

// unlabelled lists the form fields a screen reader could not name.
async function unlabelled(page) {
  return page.evaluate(() => [...document.querySelectorAll("input, select, textarea")]
    .filter((el) => el.type !== "hidden" && !el.labels?.length && !el.getAttribute("aria-label") && !el.getAttribute("aria-labelledby"))
    .map((el) => el.outerHTML));
}

test("the console shows a sale's units falling and the audit passing", { skip }, async () => {
  const sku = process.env.OPS_SKU;
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  const page = await ctx.newPage();
  page.setDefaultTimeout(30_000);
  await page.goto(`${url}/ops`);
  await page.getByLabel("Key").waitFor();
  await tabTo(page, "Skip to content");
  await page.getByLabel("Key").fill(process.env.ADMIN_KEY);
  await page.getByLabel("Key").press("Enter");
  await page.locator("#who").filter({ hasText: "Platform admin" }).waitFor();
  await page.locator("#dead-letters").filter({ hasText: "No dead letter." }).waitFor();
  assert.deepEqual(await unlabelled(page), []);
  await tabTo(page, "Refresh dead letters");
  await page.keyboard.press("Enter");
  await page.locator("#dead-letters-result").filter({ hasText: "Dead letters refreshed." }).waitFor();
  assert.equal(await page.locator("#dead-letters-result").getAttribute("aria-live"), "polite");
  const units = page.locator(`#sales tr[data-sku="${sku}"] td:nth-child(3)`);
  await units.waitFor();
  const start = Number(await units.textContent());
  assert.ok(start > 0, `the sale starts with units (${start})`);

  for (let i = 0; i < 2; i++) {
    const c = new SurgeClient({ baseUrl: url });
    await c.signUp("demo");
    await c.checkout("demo", { items: [{ sku, quantity: 1 }] });
  }
  await page.waitForFunction(
    ([sel, below]) => Number(document.querySelector(sel)?.textContent) <= below,
    [`#sales tr[data-sku="${sku}"] td:nth-child(3)`, start - 2],
  );

  await page.getByRole("button", { name: "Run the audit" }).click();
  await page.locator("#audit").filter({ hasText: "Audit passed" }).waitFor({ timeout: 90_000 });
  if (shots) await page.screenshot({ path: `${shots}/ops-console.png`, fullPage: true });

  // Writes carry the console's header: a form another site posts is refused.
  const forged = await page.evaluate(async () => (await fetch("/ops/api/admin/flags/search", { method: "PUT", body: '{"enabled":false}' })).status);
  assert.equal(forged, 403);
  await ctx.close();
});
