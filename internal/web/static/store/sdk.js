/** The prefix of every problem `type` Surge answers with. */
export const problemTypeBase = "https://surge.dev/problems/";
/** An answer of application/problem+json, as an exception. */
export class ProblemError extends Error {
    problem;
    status;
    /** The stable part of the type, e.g. "out-of-stock". */
    type;
    /** Seconds the server asked to wait before retrying, if it did. */
    retryAfter;
    constructor(problem, retryAfter) {
        super(problem.detail ?? problem.title);
        this.name = "ProblemError";
        this.problem = problem;
        this.status = problem.status;
        this.type = problem.type.startsWith(problemTypeBase) ? problem.type.slice(problemTypeBase.length) : problem.type;
        this.retryAfter = retryAfter;
    }
}
/** A new Idempotency-Key: 32 random hex digits. */
export function newIdempotencyKey() {
    const b = new Uint8Array(16);
    if (globalThis.crypto?.getRandomValues) {
        globalThis.crypto.getRandomValues(b);
    }
    else {
        // Node 18 has no global Web Crypto; a key needs to be unique, not secret.
        for (let i = 0; i < b.length; i++)
            b[i] = Math.floor(Math.random() * 256);
    }
    return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
/** Reads Retry-After (seconds or an HTTP date) as milliseconds. */
export function retryAfterMs(header, now = Date.now()) {
    if (!header)
        return undefined;
    const secs = Number(header);
    if (Number.isFinite(secs) && secs >= 0)
        return secs * 1000;
    const at = Date.parse(header);
    return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
export class SurgeClient {
    baseUrl;
    token;
    attempts;
    maxWaitMs;
    fetchFn;
    sleep;
    constructor(opts = {}) {
        this.baseUrl = (opts.baseUrl ?? "").replace(/\/$/, "");
        this.token = opts.token;
        this.attempts = Math.max(1, opts.attempts ?? 5);
        this.maxWaitMs = opts.maxWaitMs ?? 10_000;
        this.fetchFn = opts.fetch ?? ((input, init) => fetch(input, init));
        this.sleep = opts.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    }
    /** Uses a token from now on (after signUp, or a stored one). */
    setToken(token) {
        this.token = token;
    }
    /** Registers an anonymous customer of a shop and uses its token. */
    async signUp(shop) {
        const c = (await this.call("POST", `/v1/shops/${enc(shop)}/customers`)).body;
        this.token = c.token;
        return c;
    }
    async products(shop, page = {}) {
        const q = new URLSearchParams();
        if (page.limit)
            q.set("limit", String(page.limit));
        if (page.cursor)
            q.set("cursor", page.cursor);
        const qs = q.toString();
        return (await this.call("GET", `/v1/shops/${enc(shop)}/products${qs ? "?" + qs : ""}`)).body;
    }
    async product(shop, sku) {
        return (await this.call("GET", `/v1/shops/${enc(shop)}/products/${enc(sku)}`)).body;
    }
    async search(shop, query, limit) {
        const q = new URLSearchParams({ q: query });
        if (limit)
            q.set("limit", String(limit));
        return (await this.call("GET", `/v1/shops/${enc(shop)}/search?${q}`)).body;
    }
    async createCart(shop) {
        return (await this.call("POST", `/v1/shops/${enc(shop)}/carts`)).body;
    }
    async cart(shop, cartId) {
        return (await this.call("GET", `/v1/shops/${enc(shop)}/carts/${enc(cartId)}`)).body;
    }
    /** Sets a cart line's quantity (0 removes it). */
    async setCartLine(shop, cartId, sku, quantity) {
        const path = `/v1/shops/${enc(shop)}/carts/${enc(cartId)}/lines/${enc(sku)}`;
        if (quantity <= 0)
            return (await this.call("DELETE", path)).body;
        return (await this.call("PUT", path, { quantity })).body;
    }
    /**
     * Places and pays an order. Pass the key of an earlier attempt (kept
     * across page reloads) to retry it: the server answers that attempt's
     * outcome instead of buying again. A 402 (declined), 409 (out of stock,
     * limit) or any other refusal throws ProblemError.
     */
    async checkout(shop, req, opts = {}) {
        const key = opts.idempotencyKey ?? newIdempotencyKey();
        const headers = { "Idempotency-Key": key };
        if (opts.queueTicket)
            headers["Surge-Queue-Ticket"] = opts.queueTicket;
        // A checkout still running under this key answers 409
        // request-in-progress with Retry-After: waiting is the retry.
        const res = await this.call("POST", `/v1/shops/${enc(shop)}/checkout`, req, headers, ["request-in-progress"]);
        const body = res.body;
        return {
            order: body.order,
            status: res.status,
            replayed: res.headers.get("Idempotent-Replayed") === "true",
            idempotencyKey: key,
        };
    }
    async order(shop, orderId) {
        return (await this.call("GET", `/v1/shops/${enc(shop)}/orders/${enc(orderId)}`)).body.order;
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
    async sale(shop, sku) {
        return (await this.call("GET", `/v1/shops/${enc(shop)}/sales/${enc(sku)}`)).body;
    }
    async joinQueue(shop, sku) {
        const path = `/v1/shops/${enc(shop)}/sales/${enc(sku)}/queue`;
        try {
            return (await this.call("POST", path)).body;
        }
        catch (err) {
            if (!(err instanceof ProblemError) || err.type !== "pow-required")
                throw err;
        }
        const c = await this.queueChallenge(shop, sku);
        const nonce = await solveProofOfWork(c.challenge, c.difficulty);
        return (await this.call("POST", path, { challenge: c.challenge, nonce })).body;
    }
    /** The proof-of-work challenge to join a sale's waiting room. */
    async queueChallenge(shop, sku) {
        return (await this.call("GET", `/v1/shops/${enc(shop)}/sales/${enc(sku)}/queue/challenge`)).body;
    }
    /** Where a ticket stands now. */
    async queueStatus(shop, sku, ticket) {
        return (await this.call("GET", `/v1/shops/${enc(shop)}/sales/${enc(sku)}/queue`, undefined, { "Surge-Queue-Ticket": ticket }))
            .body;
    }
    /**
     * One call with its retries: network errors, 503 and 429 (and the
     * problem types in retryTypes) are tried again with the same request
     * after the wait the server asked for, or a capped exponential backoff.
     */
    async call(method, path, body, headers = {}, retryTypes = []) {
        const h = { Accept: "application/json", ...headers };
        if (this.token)
            h["Authorization"] = `Bearer ${this.token}`;
        if (body !== undefined)
            h["Content-Type"] = "application/json";
        const init = { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) };
        for (let attempt = 1;; attempt++) {
            let res;
            try {
                res = await this.fetchFn(this.baseUrl + path, init);
            }
            catch (err) {
                // The request may or may not have reached the server: only the
                // same request (same Idempotency-Key) may be sent again.
                if (attempt >= this.attempts)
                    throw err;
                await this.sleep(this.backoff(attempt));
                continue;
            }
            const text = await res.text();
            const parsed = parseJSON(text);
            if (res.ok)
                return { status: res.status, headers: res.headers, body: parsed };
            const wait = retryAfterMs(res.headers.get("Retry-After"));
            const problem = isProblem(parsed) ? parsed : { type: "about:blank", title: res.statusText, status: res.status };
            const err = new ProblemError(problem, wait === undefined ? undefined : wait / 1000);
            const retryable = res.status === 503 || res.status === 429 || retryTypes.includes(err.type);
            if (!retryable || attempt >= this.attempts)
                throw err;
            await this.sleep(Math.min(wait ?? this.backoff(attempt), this.maxWaitMs));
        }
    }
    backoff(attempt) {
        const base = Math.min(this.maxWaitMs, 200 * 2 ** (attempt - 1));
        return base / 2 + Math.random() * (base / 2);
    }
}
/**
 * Finds a nonce such that SHA-256 of "challenge:nonce" starts with
 * difficulty zero bits: the proof a sale's waiting room may ask.
 */
export async function solveProofOfWork(challenge, difficulty) {
    // Node 18 keeps Web Crypto in its crypto module; browsers and later Nodes
    // have it global.
    const subtle = globalThis.crypto?.subtle ?? (await import(/* node only */ "node:crypto")).webcrypto.subtle;
    const text = new TextEncoder();
    for (let n = 0;; n++) {
        const nonce = n.toString(36);
        const sum = new Uint8Array(await subtle.digest("SHA-256", text.encode(`${challenge}:${nonce}`)));
        if (leadingZeroBits(sum) >= difficulty)
            return nonce;
    }
}
function leadingZeroBits(sum) {
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
function enc(s) {
    return encodeURIComponent(s);
}
function parseJSON(text) {
    try {
        return text ? JSON.parse(text) : undefined;
    }
    catch {
        return undefined; // not JSON: the status speaks alone
    }
}
function isProblem(v) {
    return typeof v === "object" && v !== null && typeof v.type === "string" && typeof v.status === "number";
}
