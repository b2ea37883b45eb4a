// The storefront in a real browser: playwright-core driving Debian's
// chromium against a running `surge serve --demo` (the Go test
// TestStorefrontInABrowser starts it and passes SURGE_URL, CHROMIUM,
// SHOP_KEY and SALE_SKU).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { SurgeClient } from "../../../sdk/typescript/dist/index.js";

const url = process.env.SURGE_URL;
const shop = "demo";
const skip = url && process.env.CHROMIUM ? false : "SURGE_URL and CHROMIUM are not set";
const shots = process.env.SCREENSHOTS; // a directory: save the pages for the docs
let browser;

before(async () => {
  if (!skip) browser = await chromium.launch({ executablePath: process.env.CHROMIUM, args: ["--no-sandbox"] });
});
after(async () => browser?.close());

async function newPage(width = 1024) {
  const ctx = await browser.newContext({ viewport: { width, height: 800 } });
  const page = await ctx.newPage();
  page.setDefaultTimeout(30_000);
  return page;
}

// tabTo presses Tab until the focused element's accessible text matches
// name, and fails when the tab order never reaches it.
async function tabTo(page, name) {
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press("Tab");
    const text = await page.evaluate(() => {
      const el = document.activeElement;
      return el?.getAttribute("aria-label") || el?.textContent?.trim() || el?.id || "";
    });
    if (name instanceof RegExp ? name.test(text) : text === name) {
      // What has the keyboard's focus shows it.
      const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
      assert.notEqual(outline, "none", `${text} shows no focus`);
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

async function orderCount() {
  let n = 0;
  let cursor = "";
  for (;;) {
    const res = await fetch(`${url}/v1/shops/${shop}/admin/orders?limit=100${cursor ? "&cursor=" + cursor : ""}`, {
      headers: { Authorization: `Bearer ${process.env.SHOP_KEY}` },
    });
    assert.equal(res.status, 200);
    const page = await res.json();
    n += page.items.length;
    if (!page.next_cursor) return n;
    cursor = encodeURIComponent(page.next_cursor);
  }
}

async function buyThroughCart(page, sku, click) {
  await page.goto(`${url}/shops/${shop}/products/${sku}`);
  await page.getByRole("button", { name: "Add to cart" }).click();
  await page.getByRole("status").filter({ hasText: "is in your cart" }).waitFor();
  await page.getByRole("link", { name: /Cart/ }).click();
  await page.getByRole("heading", { name: "Your cart" }).waitFor();
  await click(page.getByRole("button", { name: "Place order" }));
  await page.locator("#order-status").filter({ hasText: "Paid" }).waitFor();
}

test("a buyer finds a product, fills a cart and pays, on a 360 px screen", { skip }, async () => {
  const page = await newPage(360);
  await page.goto(`${url}/shops/${shop}/`);
  await page.getByRole("searchbox", { name: "Search products" }).fill("mug");
  await page.getByRole("button", { name: "Search" }).click();
  await page.getByRole("link", { name: "Enamel mug" }).click();
  await page.getByRole("heading", { name: "Enamel mug" }).waitFor();
  if (shots) await page.screenshot({ path: `${shots}/storefront-product.png`, fullPage: true });
  await buyThroughCart(page, "MUG-ENAMEL", (b) => b.click());
  assert.match(page.url(), /\/orders\/ord_/);
  // The page does not scroll sideways at 360 px.
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 360));
  await page.context().close();
});

test("a double click on the buy button places one order", { skip }, async () => {
  const page = await newPage();
  const before = await orderCount();
  await buyThroughCart(page, "NOTEBOOK-A5", (b) => b.dblclick());
  assert.equal(await orderCount(), before + 1);
  await page.context().close();
});

test("a keyboard alone buys, with a skip link, labelled fields and announced outcomes", { skip }, async () => {
  const page = await newPage();
  await page.goto(`${url}/shops/${shop}/products/NOTEBOOK-A5`);
  await page.locator("#qty").waitFor();
  await tabTo(page, "Skip to content");
  await page.keyboard.press("Enter");
  assert.equal(await page.evaluate(() => document.activeElement.id), "main");
  assert.deepEqual(await unlabelled(page), []);
  await tabTo(page, "Add to cart");
  await page.keyboard.press("Enter");
  await page.getByRole("status").filter({ hasText: "is in your cart" }).waitFor();
  await tabTo(page, /^Cart/);
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "Your cart" }).waitFor();
  await tabTo(page, "Place order");
  await page.keyboard.press("Enter");
  const state = page.locator("#order-status");
  await state.filter({ hasText: "Paid" }).waitFor();
  assert.equal(await state.getAttribute("aria-live"), "polite");
  await page.context().close();
});

test("a sale that starts later counts down before anyone joins, on the server's clock", { skip }, async () => {
  const page = await newPage();
  // This buyer's clock is three hours slow: the countdown must not be.
  await page.addInitScript(() => {
    const now = Date.now;
    Date.now = () => now() - 3 * 3600 * 1000;
  });
  await page.goto(`${url}/shops/${shop}/sales/${process.env.SOON_SKU}`);
  await page.locator("#position").filter({ hasText: "The sale has not started" }).waitFor();
  const timer = page.getByRole("timer");
  await timer.filter({ hasText: /Starts in 1:5\d:\d\d\./ }).waitFor();
  assert.equal(await page.locator("#position").getAttribute("aria-live"), "polite");
  assert.ok(await page.getByRole("button", { name: "Buy now" }).isDisabled());
  // Nobody joined by looking: the waiting room is empty.
  const res = await fetch(`${url}/v1/shops/${shop}/admin/sales/${process.env.SOON_SKU}`, {
    headers: { Authorization: `Bearer ${process.env.SHOP_KEY}` },
  });
  assert.equal((await res.json()).queue_length, 0);
  if (shots) await page.screenshot({ path: `${shots}/storefront-countdown.png` });
  // Joining early is a keyboard away, and puts the buyer in the pre-queue.
  await tabTo(page, "Join the waiting room");
  await page.keyboard.press("Enter");
  await page.locator("#position").filter({ hasText: "In the pre-queue" }).waitFor();
  await page.context().close();
});

test("a flash sale sells out while the page shows it", { skip }, async () => {
  const sku = process.env.SALE_SKU;
  const page = await newPage();
  await page.goto(`${url}/shops/${shop}/sales/${sku}`);
  await page.getByText("It is your turn").waitFor();
  await tabTo(page, "Buy now");
  // Others buy every unit while this buyer looks at the page.
  for (;;) {
    const c = new SurgeClient({ baseUrl: url });
    await c.signUp(shop);
    const t = await c.joinQueue(shop, sku);
    if (t.status === "sold_out") break;
    try {
      await c.checkout(shop, { items: [{ sku, quantity: 1 }] }, { queueTicket: t.token });
    } catch (e) {
      if (e.type === "out-of-stock") break;
      throw e;
    }
  }
  await page.getByRole("button", { name: "Buy now" }).click();
  await page.getByRole("status").filter({ hasText: "Sold out" }).waitFor();
  if (shots) await page.screenshot({ path: `${shots}/storefront-sold-out.png` });
  // A buyer who arrives now is told at once.
  const late = await newPage();
  await late.goto(`${url}/shops/${shop}/sales/${sku}`);
  await late.locator("#position").filter({ hasText: "Sold out" }).waitFor();
  await late.context().close();
  await page.context().close();
});
