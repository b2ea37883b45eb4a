package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/surge-commerce/surge/internal/flashsale"
)

// flashSale sells one SKU with --stock units to buyers arriving on a ramp
// up to --rate. Each buyer is a new customer who behaves like a real
// client: waits in the waiting room, honours Retry-After, and retries its
// checkout with the same Idempotency-Key after errors until it has an
// answer or gives up (--buyer-timeout).
type flashSale struct {
	mu     sync.Mutex
	buyers Buyers
}

// Buyers counts the flash-sale buyers by how they ended.
type Buyers struct {
	Total    int64 `json:"total"`
	Paid     int64 `json:"paid"`
	Declined int64 `json:"declined"`
	SoldOut  int64 `json:"sold_out"`
	// Pending buyers' payments were still unknown when they stopped asking.
	Pending int64 `json:"pending"`
	GaveUp  int64 `json:"gave_up"`
	Failed  int64 `json:"failed"`
	// TwoOrders counts buyers who were shown two different orders for
	// one Idempotency-Key (must be 0).
	TwoOrders int64 `json:"two_orders"`
}

// FlashResult is what a flash sale sold.
type FlashResult struct {
	Stock  int64  `json:"stock"`
	Sold   int64  `json:"sold"`
	Buyers Buyers `json:"buyers"`
}

const flashSKU = "FLASH-1"

type outcome int

const (
	paid outcome = iota
	declined
	soldOut
	pending
	gaveUp
	failed
)

func (f *flashSale) setup(ctx context.Context, e *env) error {
	e.skus = []string{flashSKU}
	if err := e.setupCall(ctx, http.StatusCreated, "PUT", "/v1/shops/"+e.shop+"/admin/products/"+flashSKU, e.shopKey,
		map[string]any{"title": "flash sale item", "price": 999, "currency": "EUR", "stock": e.cfg.Stock}, nil); err != nil {
		return err
	}
	return e.setupCall(ctx, http.StatusOK, "PUT", "/v1/shops/"+e.shop+"/admin/sales/"+flashSKU, e.shopKey,
		map[string]any{"stock": e.cfg.Stock, "per_customer_limit": 1,
			"admission_rate": e.cfg.AdmissionRate, "admission_burst": e.cfg.AdmissionBurst}, nil)
}

// profile ramps from a quarter of the rate to the full rate: the crowd
// builds up past what the waiting room admits.
func (f *flashSale) profile(rate float64, d time.Duration) Profile { return Ramp(rate/4, rate, d) }

func (f *flashSale) op(ctx context.Context, e *env, s *session, _ *rand.Rand) {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.BuyerTimeout)
	defer cancel()
	o, orders := f.buy(ctx, e, s)
	f.mu.Lock()
	b := &f.buyers
	b.Total++
	switch o {
	case paid:
		b.Paid++
	case declined:
		b.Declined++
	case soldOut:
		b.SoldOut++
	case pending:
		b.Pending++
	case gaveUp:
		b.GaveUp++
	default:
		b.Failed++
	}
	if orders > 1 {
		b.TwoOrders++
	}
	f.mu.Unlock()
	s.rec.OpDone(time.Now(), o == paid || o == declined || o == soldOut)
}

// persist repeats a request the server refused or failed (429, 5xx, no
// answer), waiting what Retry-After asks, until it gets an answer or ctx
// ends.
func persist(ctx context.Context, s *session, send func() response) response {
	for attempt := 1; ; attempt++ {
		r := send()
		if !r.failed() {
			return r
		}
		if !sleep(ctx, r.retryAfter(min(time.Duration(attempt)*250*time.Millisecond, 2*time.Second))) {
			return r
		}
	}
}

func (f *flashSale) buy(ctx context.Context, e *env, s *session) (outcome, int) {
	shop := "/v1/shops/" + e.shop
	r := persist(ctx, s, func() response { return s.do(ctx, "POST", shop+"/customers", "", nil) })
	var cust struct {
		Token string `json:"token"`
	}
	if r.code != http.StatusCreated || json.Unmarshal(r.body, &cust) != nil {
		return endOf(ctx), 0
	}
	ticket := ""
	if e.cfg.AdmissionRate > 0 {
		var o outcome
		if ticket, o = f.wait(ctx, s, shop, cust.Token); ticket == "" {
			return o, 0
		}
	}
	key := fmt.Sprintf("lt-%s-buyer-%d", e.run, s.i)
	body := []byte(`{"items":[{"sku":"` + flashSKU + `","quantity":1}]}`)
	seen := map[string]bool{}
	for attempt := 1; ; attempt++ {
		r = s.do(ctx, "POST", shop+"/checkout", cust.Token, body, "Idempotency-Key", key, "Surge-Queue-Ticket", ticket)
		id := orderID(r.body)
		if id != "" {
			seen[id] = true
		}
		switch {
		case r.code == http.StatusCreated:
			return paid, len(seen)
		case r.code == http.StatusAccepted:
			return f.settle(ctx, s, shop, cust.Token, id), len(seen)
		case r.code == http.StatusPaymentRequired:
			return declined, len(seen)
		case r.code == http.StatusConflict && r.problemType() == "out-of-stock":
			return soldOut, len(seen)
		case r.failed(), r.code == http.StatusConflict && (r.problemType() == "request-in-progress" || r.problemType() == "conflict-retry" || r.problemType() == "sale-not-started"):
			// Same key again: the server answers the first attempt's outcome.
		default:
			return failed, len(seen)
		}
		if !sleep(ctx, r.retryAfter(min(time.Duration(attempt)*250*time.Millisecond, 2*time.Second))) {
			return gaveUp, len(seen)
		}
	}
}

// wait joins the waiting room and asks again when Retry-After says, until
// admitted (returns the ticket) or sold out.
func (f *flashSale) wait(ctx context.Context, s *session, shop, token string) (string, outcome) {
	path := shop + "/sales/" + flashSKU + "/queue"
	r := persist(ctx, s, func() response { return s.do(ctx, "POST", path, token, nil) })
	if r.code == http.StatusForbidden && r.problemType() == "pow-required" {
		r = f.proveAndJoin(ctx, s, path, token)
	}
	for {
		var t struct {
			Token      string `json:"token"`
			Status     string `json:"status"`
			RetryAfter int    `json:"retry_after"`
		}
		if r.code != http.StatusOK || json.Unmarshal(r.body, &t) != nil {
			if ctx.Err() != nil {
				return "", gaveUp
			}
			return "", failed
		}
		switch t.Status {
		case "admitted":
			return t.Token, paid
		case "sold_out":
			return "", soldOut
		}
		if !sleep(ctx, r.retryAfter(max(time.Duration(t.RetryAfter)*time.Second, time.Second))) {
			return "", gaveUp
		}
		r = persist(ctx, s, func() response { return s.do(ctx, "GET", path, token, nil, "Surge-Queue-Ticket", t.Token) })
	}
}

// proveAndJoin joins a waiting room that asks a proof of work: it asks a
// challenge, solves it and joins with the proof, as a buyer's page does.
func (f *flashSale) proveAndJoin(ctx context.Context, s *session, path, token string) response {
	r := persist(ctx, s, func() response { return s.do(ctx, "GET", path+"/challenge", token, nil) })
	var c flashsale.Challenge
	if r.code != http.StatusOK || json.Unmarshal(r.body, &c) != nil {
		return r
	}
	proof, _ := json.Marshal(flashsale.Proof{Challenge: c.Challenge, Nonce: flashsale.SolvePoW(c.Challenge, c.Difficulty)})
	return persist(ctx, s, func() response { return s.do(ctx, "POST", path, token, proof) })
}

// settle asks for a pending order until its payment is known.
func (f *flashSale) settle(ctx context.Context, s *session, shop, token, id string) outcome {
	for {
		if !sleep(ctx, time.Second) {
			return pending
		}
		r := persist(ctx, s, func() response { return s.do(ctx, "GET", shop+"/orders/"+id, token, nil) })
		var o struct {
			Order struct {
				Status string `json:"status"`
			} `json:"order"`
		}
		if r.code != http.StatusOK || json.Unmarshal(r.body, &o) != nil {
			return endOf(ctx)
		}
		switch o.Order.Status {
		case "paid", "fulfilled":
			return paid
		case "cancelled":
			return declined
		}
	}
}

func endOf(ctx context.Context) outcome {
	if ctx.Err() != nil {
		return gaveUp
	}
	return failed
}

func orderID(body []byte) string {
	var o struct {
		Order struct {
			ID string `json:"id"`
		} `json:"order"`
	}
	_ = json.Unmarshal(body, &o)
	return o.Order.ID
}
