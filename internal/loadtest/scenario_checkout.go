package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// checkoutScenario buys: a customer fills a cart with one or two SKUs
// (skewed to hot ones) and checks it out with an Idempotency-Key,
// retrying with the same key after errors as a real client does. It keeps
// every order the server acknowledged (201, 202) and checks at the end
// that each is still there (docs/INVARIANTS.md, I3).
type checkoutScenario struct {
	mu    sync.Mutex
	acked []string
	lost  int
}

// checkoutStock is large enough that a checkout run does not sell out.
const checkoutStock = 100_000_000

func (c *checkoutScenario) setup(ctx context.Context, e *env) error {
	if err := e.createProducts(ctx, e.cfg.SKUs, checkoutStock); err != nil {
		return err
	}
	if e.cfg.Flash {
		// Every SKU in flash-sale mode: stock spread over buckets, no
		// waiting room, so checkout exercises the hot-SKU path.
		err := parallel(ctx, len(e.skus), 8, func(i int) error {
			return e.setupCall(ctx, http.StatusOK, "PUT", "/v1/shops/"+e.shop+"/admin/sales/"+e.skus[i], e.shopKey,
				map[string]any{"stock": checkoutStock}, nil)
		})
		if err != nil {
			return err
		}
	}
	return e.createCustomers(ctx, e.cfg.Customers)
}

func (c *checkoutScenario) profile(rate float64, _ time.Duration) Profile { return Constant(rate) }

// maxAttempts bounds a checkout operation's retries of one request.
const maxAttempts = 4

func (c *checkoutScenario) op(ctx context.Context, e *env, s *session, rng *rand.Rand) {
	token := e.customers[s.i%len(e.customers)]
	shop := "/v1/shops/" + e.shop
	ok := func() bool {
		r := retry(ctx, s, func() response { return s.do(ctx, "POST", shop+"/carts", token, []byte("{}")) })
		var cart struct {
			ID string `json:"id"`
		}
		if r.code != http.StatusCreated || json.Unmarshal(r.body, &cart) != nil {
			return false
		}
		for range 1 + rng.IntN(2) {
			sku := e.skus[zipf(rng, len(e.skus))]
			r = retry(ctx, s, func() response {
				return s.do(ctx, "PUT", shop+"/carts/"+cart.ID+"/lines/"+sku, token, []byte(`{"quantity":1}`))
			})
			if r.code != http.StatusOK {
				return false
			}
		}
		key := fmt.Sprintf("lt-%s-%d", e.run, s.i)
		body := []byte(`{"cart_id":` + strconv.Quote(cart.ID) + `}`)
		r = retry(ctx, s, func() response {
			return s.do(ctx, "POST", shop+"/checkout", token, body, "Idempotency-Key", key)
		})
		if r.code == http.StatusCreated || r.code == http.StatusAccepted {
			c.acknowledged(r.body)
		}
		return r.code == http.StatusCreated || r.code == http.StatusAccepted || r.code == http.StatusPaymentRequired
	}()
	s.rec.OpDone(time.Now(), ok)
}

// retry repeats a request after a refusal (429, 503, 409 in progress) or
// an error, honouring Retry-After, at most maxAttempts times.
func retry(ctx context.Context, s *session, send func() response) response {
	var r response
	for attempt := 1; ; attempt++ {
		r = send()
		again := r.failed() || (r.code == http.StatusConflict && (r.problemType() == "request-in-progress" || r.problemType() == "conflict-retry"))
		if !again || attempt == maxAttempts {
			return r
		}
		if !sleep(ctx, min(r.retryAfter(time.Duration(attempt)*100*time.Millisecond), 5*time.Second)) {
			return r
		}
	}
}

func (c *checkoutScenario) acknowledged(body []byte) {
	var res struct {
		Order struct {
			ID string `json:"id"`
		} `json:"order"`
	}
	if json.Unmarshal(body, &res) != nil || res.Order.ID == "" {
		return
	}
	c.mu.Lock()
	c.acked = append(c.acked, res.Order.ID)
	c.mu.Unlock()
}

// verify reads back every acknowledged order as the shop: one that is
// gone, or was never written, is an acknowledged write lost.
func (c *checkoutScenario) verify(ctx context.Context, e *env) ([]Check, *FlashResult, error) {
	c.mu.Lock()
	acked := append([]string(nil), c.acked...)
	c.mu.Unlock()
	var mu sync.Mutex
	var lost, unread []string
	err := parallel(ctx, len(acked), 8, func(i int) error {
		var r response
		for attempt := range 5 { // the read is retried, not the verdict: a 404 is final
			r = e.c.call(ctx, "GET", "/v1/shops/"+e.shop+"/admin/orders/"+acked[i], e.shopKey, nil)
			if r.code == http.StatusOK || r.code == http.StatusNotFound || !sleep(ctx, time.Duration(attempt+1)*200*time.Millisecond) {
				break
			}
		}
		// Only a 404 says the order is gone; any other failure says the
		// server could not be asked, which proves nothing either way.
		switch {
		case r.code == http.StatusNotFound:
			mu.Lock()
			lost = append(lost, fmt.Sprintf("order %s acknowledged, now not found", acked[i]))
			mu.Unlock()
		case r.code != http.StatusOK:
			mu.Lock()
			unread = append(unread, fmt.Sprintf("order %s acknowledged, could not be read back (%d %s)", acked[i], r.code, r.kind()))
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	ch := Check{Name: "acknowledged orders kept", Passed: len(lost) == 0 && len(unread) == 0,
		Summary:  fmt.Sprintf("%d acknowledged, %d lost, %d could not be read back", len(acked), len(lost), len(unread)),
		Breaches: append(lost, unread...)}
	c.mu.Lock()
	c.lost = len(lost)
	c.mu.Unlock()
	return []Check{ch}, nil, nil
}

// counts returns how many orders the server acknowledged and how many of
// them verify found gone.
func (c *checkoutScenario) counts() (acked, lost int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.acked), c.lost
}
