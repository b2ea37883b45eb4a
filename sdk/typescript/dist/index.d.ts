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
export declare const problemTypeBase = "https://surge.dev/problems/";
/** An answer of application/problem+json, as an exception. */
export declare class ProblemError extends Error {
    readonly problem: Problem;
    readonly status: number;
    /** The stable part of the type, e.g. "out-of-stock". */
    readonly type: string;
    /** Seconds the server asked to wait before retrying, if it did. */
    readonly retryAfter?: number;
    constructor(problem: Problem, retryAfter?: number);
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
export declare function newIdempotencyKey(): string;
/** Reads Retry-After (seconds or an HTTP date) as milliseconds. */
export declare function retryAfterMs(header: string | null, now?: number): number | undefined;
export declare class SurgeClient {
    private readonly baseUrl;
    private token?;
    private readonly attempts;
    private readonly maxWaitMs;
    private readonly fetchFn;
    private readonly sleep;
    constructor(opts?: ClientOptions);
    /** Uses a token from now on (after signUp, or a stored one). */
    setToken(token: string | undefined): void;
    /** Registers an anonymous customer of a shop and uses its token. */
    signUp(shop: string): Promise<Customer>;
    products(shop: string, page?: {
        limit?: number;
        cursor?: string;
    }): Promise<ProductList>;
    product(shop: string, sku: string): Promise<Product>;
    search(shop: string, query: string, limit?: number): Promise<ProductList>;
    createCart(shop: string): Promise<Cart>;
    cart(shop: string, cartId: string): Promise<Cart>;
    /** Sets a cart line's quantity (0 removes it). */
    setCartLine(shop: string, cartId: string, sku: string, quantity: number): Promise<Cart>;
    /**
     * Places and pays an order. Pass the key of an earlier attempt (kept
     * across page reloads) to retry it: the server answers that attempt's
     * outcome instead of buying again. A 402 (declined), 409 (out of stock,
     * limit) or any other refusal throws ProblemError.
     */
    checkout(shop: string, req: CheckoutRequest, opts?: {
        idempotencyKey?: string;
        queueTicket?: string;
    }): Promise<CheckoutResult>;
    order(shop: string, orderId: string): Promise<Order>;
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
    sale(shop: string, sku: string): Promise<SaleInfo>;
    joinQueue(shop: string, sku: string): Promise<Ticket>;
    /** The proof-of-work challenge to join a sale's waiting room. */
    queueChallenge(shop: string, sku: string): Promise<Challenge>;
    /** Where a ticket stands now. */
    queueStatus(shop: string, sku: string, ticket: string): Promise<Ticket>;
    /**
     * One call with its retries: network errors, 503 and 429 (and the
     * problem types in retryTypes) are tried again with the same request
     * after the wait the server asked for, or a capped exponential backoff.
     */
    private call;
    private backoff;
}
/**
 * Finds a nonce such that SHA-256 of "challenge:nonce" starts with
 * difficulty zero bits: the proof a sale's waiting room may ask.
 */
export declare function solveProofOfWork(challenge: string, difficulty: number): Promise<string>;
