// A small, typed client for the Surge API. Its types come from the
// OpenAPI document the server serves (schema.ts, generated); what it adds
// is what every client of a flash sale must get right:
//
//   - checkout always carries an Idempotency-Key, and every retry of one
//     attempt reuses it, so a retry never buys twice;
//   - network errors, 503 and 429 are retried with the same request,
//     waiting what Retry-After asks (bounded), never more often;
//   - problem+json answers become ProblemError, with the stable `type`.
import type { components } from "./schema.js";

export type Schemas = components["schemas"];
export type Product = Schemas["Product"];
export type ProductList = Schemas["ProductList"];
export type Cart = Schemas["Cart"];
export type Order = Schemas["Order"];
export type Ticket = Schemas["Ticket"];
export type Customer = Schemas["CustomerCreated"];
export type CheckoutRequest = Schemas["CheckoutRequest"];
export type Problem = Schemas["Problem"];
export type Challenge = Schemas["Challenge"];
export type SaleInfo = Schemas["SaleInfo"];

/** The prefix of every problem `type` Surge answers with. */
export const problemTypeBase = "https://surge.dev/problems/";

/** An answer of application/problem+json, as an exception. */
export class ProblemError extends Error {
  readonly problem: Problem;
  readonly status: number;
  /** The stable part of the type, e.g. "out-of-stock". */
  readonly type: string;
  /** Seconds the server asked to wait before retrying, if it did. */
  readonly retryAfter?: number;

  constructor(problem: Problem, retryAfter?: number) {
    super(problem.detail ?? problem.title);
    this.name = "ProblemError";
    this.problem = problem;
    this.status = problem.status;
    this.type = problem.type.startsWith(problemTypeBase) ? problem.type.slice(problemTypeBase.length) : problem.type;
    this.retryAfter = retryAfter;
  }
}

export interface ClientOptions {
  /** The API's origin, e.g. "http://127.0.0.1:8080"; "" for the page's own. */
  baseUrl?: string;
  /** A customer token or a shop key, sent as a bearer token. */
  token?: string;
  /** Attempts per call, the first included (default 5). */
  attempts?: number;
  /** The longest wait between attempts, in milliseconds (default 10 s). */
  maxWaitMs?: number;
  fetch?: typeof fetch;
  /** How the client waits; tests may replace it. */
  sleep?: (ms: number) => Promise<void>;
}

/** What a checkout answered: 201 paid, or 202 pending (poll the order). */
export interface CheckoutResult {
  order: Order;
  status: 201 | 202;
  /** True when the server replayed the answer to an earlier attempt. */
  replayed: boolean;
  idempotencyKey: string;
}

/** A new Idempotency-Key: 32 random hex digits. */
export function newIdempotencyKey(): string {
  const b = new Uint8Array(16);
  if (globalThis.crypto?.getRandomValues) {
    globalThis.crypto.getRandomValues(b);
  } else {
    // Node 18 has no global Web Crypto; a key needs to be unique, not secret.
    for (let i = 0; i < b.length; i++) b[i] = Math.floor(Math.random() * 256);
  }
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** Reads Retry-After (seconds or an HTTP date) as milliseconds. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const secs = Number(header);
  if (Number.isFinite(secs) && secs >= 0) return secs * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export class SurgeClient {
  private readonly baseUrl: string;
  private token?: string;
  private readonly attempts: number;
  private readonly maxWaitMs: number;
  private readonly fetchFn: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(opts: ClientOptions = {}) {
    this.baseUrl = (opts.baseUrl ?? "").replace(/\/$/, "");
    this.token = opts.token;
    this.attempts = Math.max(1, opts.attempts ?? 5);
    this.maxWaitMs = opts.maxWaitMs ?? 10_000;
    this.fetchFn = opts.fetch ?? ((input, init) => fetch(input, init));
    this.sleep = opts.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** Uses a token from now on (after signUp, or a stored one). */
  setToken(token: string | undefined): void {
    this.token = token;
  }

  /** Registers an anonymous customer of a shop and uses its token. */
  async signUp(shop: string): Promise<Customer> {
    const c = (await this.call("POST", `/v1/shops/${enc(shop)}/customers`)).body as Customer;
    this.token = c.token;
    return c;
  }

  async products(shop: string, page: { limit?: number; cursor?: string } = {}): Promise<ProductList> {
    const q = new URLSearchParams();
    if (page.limit) q.set("limit", String(page.limit));
    if (page.cursor) q.set("cursor", page.cursor);
    const qs = q.toString();
    return (await this.call("GET", `/v1/shops/${enc(shop)}/products${qs ? "?" + qs : ""}`)).body as ProductList;
  }

  async product(shop: string, sku: string): Promise<Product> {
    return (await this.call("GET", `/v1/shops/${enc(shop)}/products/${enc(sku)}`)).body as Product;
  }

  async search(shop: string, query: string, limit?: number): Promise<ProductList> {
    const q = new URLSearchParams({ q: query });
    if (limit) q.set("limit", String(limit));
    return (await this.call("GET", `/v1/shops/${enc(shop)}/search?${q}`)).body as ProductList;
  }

  async createCart(shop: string): Promise<Cart> {
    return (await this.call("POST", `/v1/shops/${enc(shop)}/carts`)).body as Cart;
  }

  async cart(shop: string, cartId: string): Promise<Cart> {
    return (await this.call("GET", `/v1/shops/${enc(shop)}/carts/${enc(cartId)}`)).body as Cart;
  }

  /** Sets a cart line's quantity (0 removes it). */
  async setCartLine(shop: string, cartId: string, sku: string, quantity: number): Promise<Cart> {
    const path = `/v1/shops/${enc(shop)}/carts/${enc(cartId)}/lines/${enc(sku)}`;
    if (quantity <= 0) return (await this.call("DELETE", path)).body as Cart;
    return (await this.call("PUT", path, { quantity })).body as Cart;
  }

  /**
   * Places and pays an order. Pass the key of an earlier attempt (kept
   * across page reloads) to retry it: the server answers that attempt's
   * outcome instead of buying again. A 402 (declined), 409 (out of stock,
   * limit) or any other refusal throws ProblemError.
   */
  async checkout(
    shop: string,
    req: CheckoutRequest,
    opts: { idempotencyKey?: string; queueTicket?: string } = {},
  ): Promise<CheckoutResult> {
    const key = opts.idempotencyKey ?? newIdempotencyKey();
    const headers: Record<string, string> = { "Idempotency-Key": key };
    if (opts.queueTicket) headers["Surge-Queue-Ticket"] = opts.queueTicket;
    // A checkout still running under this key answers 409
    // request-in-progress with Retry-After: waiting is the retry.
    const res = await this.call("POST", `/v1/shops/${enc(shop)}/checkout`, req, headers, ["request-in-progress"]);
    const body = res.body as Schemas["OrderEnvelope"];
    return {
      order: body.order,
      status: res.status as 201 | 202,
      replayed: res.headers.get("Idempotent-Replayed") === "true",
      idempotencyKey: key,
    };
  }

  async order(shop: string, orderId: string): Promise<Order> {
    return ((await this.call("GET", `/v1/shops/${enc(shop)}/orders/${enc(orderId)}`)).body as Schemas["OrderEnvelope"]).order;
  }

  /**
   * Joins (or finds one's place in) a flash sale's waiting room. A sale
   * that asks a proof of work gets one: the client asks the challenge and
   * solves it (a short wait at the difficulties shops use), then joins.
   */
  /**
   * A flash sale as any buyer may see it before joining: its start, the
   * server's clock (now), whether it has a waiting room or asks a proof
   * of work, and whether it is sold out.
   */
  async sale(shop: string, sku: string): Promise<SaleInfo> {
    return (await this.call("GET", `/v1/shops/${enc(shop)}/sales/${enc(sku)}`)).body as SaleInfo;
  }

  async joinQueue(shop: string, sku: string): Promise<Ticket> {
    const path = `/v1/shops/${enc(shop)}/sales/${enc(sku)}/queue`;
    try {
      return (await this.call("POST", path)).body as Ticket;
    } catch (err) {
      if (!(err instanceof ProblemError) || err.type !== "pow-required") throw err;
    }
    const c = await this.queueChallenge(shop, sku);
    const nonce = await solveProofOfWork(c.challenge, c.difficulty);
    return (await this.call("POST", path, { challenge: c.challenge, nonce })).body as Ticket;
  }

  /** The proof-of-work challenge to join a sale's waiting room. */
  async queueChallenge(shop: string, sku: string): Promise<Challenge> {
    return (await this.call("GET", `/v1/shops/${enc(shop)}/sales/${enc(sku)}/queue/challenge`)).body as Challenge;
  }

  /** Where a ticket stands now. */
  async queueStatus(shop: string, sku: string, ticket: string): Promise<Ticket> {
    return (await this.call("GET", `/v1/shops/${enc(shop)}/sales/${enc(sku)}/queue`, undefined, { "Surge-Queue-Ticket": ticket }))
      .body as Ticket;
  }

  /**
   * One call with its retries: network errors, 503 and 429 (and the
   * problem types in retryTypes) are tried again with the same request
   * after the wait the server asked for, or a capped exponential backoff.
   */
  private async call(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
    retryTypes: string[] = [],
  ): Promise<{ status: number; headers: Headers; body: unknown }> {
    const h: Record<string, string> = { Accept: "application/json", ...headers };
    if (this.token) h["Authorization"] = `Bearer ${this.token}`;
    if (body !== undefined) h["Content-Type"] = "application/json";
    const init: RequestInit = { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) };
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await this.fetchFn(this.baseUrl + path, init);
      } catch (err) {
        // The request may or may not have reached the server: only the
        // same request (same Idempotency-Key) may be sent again.
        if (attempt >= this.attempts) throw err;
        await this.sleep(this.backoff(attempt));
        continue;
      }
      const text = await res.text();
      const parsed = parseJSON(text);
      if (res.ok) return { status: res.status, headers: res.headers, body: parsed };
      const wait = retryAfterMs(res.headers.get("Retry-After"));
      const problem = isProblem(parsed) ? parsed : { type: "about:blank", title: res.statusText, status: res.status };
      const err = new ProblemError(problem, wait === undefined ? undefined : wait / 1000);
      const retryable = res.status === 503 || res.status === 429 || retryTypes.includes(err.type);
      if (!retryable || attempt >= this.attempts) throw err;
      await this.sleep(Math.min(wait ?? this.backoff(attempt), this.maxWaitMs));
    }
  }

  private backoff(attempt: number): number {
    const base = Math.min(this.maxWaitMs, 200 * 2 ** (attempt - 1));
    return base / 2 + Math.random() * (base / 2);
  }
}

/**
 * Finds a nonce such that SHA-256 of "challenge:nonce" starts with
 * difficulty zero bits: the proof a sale's waiting room may ask.
 */
export async function solveProofOfWork(challenge: string, difficulty: number): Promise<string> {
  // Node 18 keeps Web Crypto in its crypto module; browsers and later Nodes
  // have it global.
  const subtle: SubtleCrypto =
    globalThis.crypto?.subtle ?? ((await import(/* node only */ "node:crypto" as string)) as { webcrypto: Crypto }).webcrypto.subtle;
  const text = new TextEncoder();
  for (let n = 0; ; n++) {
    const nonce = n.toString(36);
    const sum = new Uint8Array(await subtle.digest("SHA-256", text.encode(`${challenge}:${nonce}`)));
    if (leadingZeroBits(sum) >= difficulty) return nonce;
  }
}

function leadingZeroBits(sum: Uint8Array): number {
  let bits = 0;
  for (const byte of sum) {
    if (byte === 0) {
      bits += 8;
      continue;
    }
    return bits + Math.clz32(byte) - 24;
  }
  return bits;
}

function enc(s: string): string {
  return encodeURIComponent(s);
}

function parseJSON(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined; // not JSON: the status speaks alone
  }
}

function isProblem(v: unknown): v is Problem {
  return typeof v === "object" && v !== null && typeof (v as Problem).type === "string" && typeof (v as Problem).status === "number";
}
