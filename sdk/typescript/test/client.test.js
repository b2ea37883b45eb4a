// Runs against a real `surge serve --demo` at SURGE_URL (the Go test
// TestTypeScriptClient starts one): node --test test/
import { test } from "node:test";
import assert from "node:assert/strict";
import { SurgeClient, ProblemError, newIdempotencyKey, retryAfterMs } from "../dist/index.js";

const baseUrl = process.env.SURGE_URL;
const shop = process.env.SURGE_SHOP ?? "demo";
const skip = baseUrl ? false : "SURGE_URL is not set";

async function customer(opts = {}) {
  const c = new SurgeClient({ baseUrl, ...opts });
  await c.signUp(shop);
  return c;
}

async function someSKU(c) {
  const list = await c.products(shop, { limit: 50 });
  assert.ok(list.items.length > 0, "the demo shop has products");
  return list.items[0].sku;
}

test("a checkout is paid and its order reads back", { skip }, async () => {
  const c = await customer();
  const sku = await someSKU(c);
  const res = await c.checkout(shop, { items: [{ sku, quantity: 1 }] });
  assert.equal(res.status, 201);
  assert.equal(res.order.status, "paid");
  assert.equal(res.replayed, false);
  const o = await c.order(shop, res.order.id);
  assert.equal(o.id, res.order.id);
});

test("the same key twice (a double click) buys once", { skip }, async () => {
  const c = await customer();
  const sku = await someSKU(c);
  const key = newIdempotencyKey();
  const [a, b] = await Promise.all([
    c.checkout(shop, { items: [{ sku, quantity: 1 }] }, { idempotencyKey: key }),
    c.checkout(shop, { items: [{ sku, quantity: 1 }] }, { idempotencyKey: key }),
  ]);
  assert.equal(a.order.id, b.order.id);
  assert.ok(a.replayed || b.replayed, "one of the two is the replay");
});

test("a refusal is a ProblemError with its stable type", { skip }, async () => {
  const c = await customer();
  await assert.rejects(c.checkout(shop, { items: [{ sku: "NO-SUCH-SKU", quantity: 1 }] }), (err) => {
    assert.ok(err instanceof ProblemError);
    assert.equal(err.status, 422);
    assert.equal(err.type, "validation");
    return true;
  });
  await assert.rejects(new SurgeClient({ baseUrl }).createCart(shop), (err) => err instanceof ProblemError && err.status === 401);
});

test("503 is retried after Retry-After with the same key", { skip }, async () => {
  const sent = [];
  const waits = [];
  let failures = 1;
  const flaky = async (url, init) => {
    if (init.method === "POST" && url.endsWith("/checkout")) {
      sent.push(init.headers["Idempotency-Key"]);
      if (failures-- > 0) {
        return new Response(JSON.stringify({ type: "https://surge.dev/problems/overloaded", title: "Overloaded", status: 503 }), {
          status: 503,
          headers: { "Content-Type": "application/problem+json", "Retry-After": "2" },
        });
      }
    }
    return fetch(url, init);
  };
  const c = await customer({ fetch: flaky, sleep: async (ms) => void waits.push(ms) });
  const sku = await someSKU(c);
  const res = await c.checkout(shop, { items: [{ sku, quantity: 1 }] });
  assert.equal(res.status, 201);
  assert.deepEqual(waits, [2000]);
  assert.equal(sent.length, 2);
  assert.equal(sent[0], sent[1]);
});

test("a lost response is retried with the same key and pays once", { skip }, async () => {
  let lost = 1;
  const lossy = async (url, init) => {
    const res = await fetch(url, init);
    if (init.method === "POST" && url.endsWith("/checkout") && lost-- > 0) {
      throw new TypeError("fetch failed (the response was lost)");
    }
    return res;
  };
  const c = await customer({ fetch: lossy, sleep: async () => {} });
  const sku = await someSKU(c);
  const res = await c.checkout(shop, { items: [{ sku, quantity: 1 }] });
  assert.equal(res.replayed, true, "the retry got the first attempt's answer");
  assert.equal(res.order.status, "paid");
});

test("Retry-After in seconds or as a date", () => {
  assert.equal(retryAfterMs("3"), 3000);
  assert.equal(retryAfterMs(new Date(10_000).toUTCString(), 4_000), 6000);
  assert.equal(retryAfterMs(null), undefined);
  assert.equal(retryAfterMs("soon"), undefined);
});

test("a proof of work reaches its difficulty", async () => {
  const { createHash } = await import("node:crypto");
  const { solveProofOfWork } = await import("../dist/index.js");
  const challenge = "pw1.example.challenge";
  const nonce = await solveProofOfWork(challenge, 10);
  const sum = createHash("sha256").update(`${challenge}:${nonce}`).digest();
  const zeros = sum.readUInt16BE(0) >> 6; // the first 10 bits
  assert.equal(zeros, 0);
});
