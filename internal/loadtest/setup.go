package loadtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// env is what a scenario works against: the shop the run created.
type env struct {
	c         *client
	cfg       *Config
	run       string // unique per run: prefixes idempotency keys
	shop      string
	shopKey   string
	skus      []string
	customers []string // tokens
}

// words make product titles searchable.
var words = []string{"tee", "hoodie", "cap", "socks", "jacket", "scarf", "boots", "bag", "mug", "poster"}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// setupCall sends a setup request, retrying what the server sheds or
// limits (honouring Retry-After) and transport errors, for up to a minute.
func (e *env) setupCall(ctx context.Context, want int, method, path, token string, body any, out any) error {
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		r := e.c.call(ctx, method, path, token, b)
		if r.code == want || (want == http.StatusCreated && r.code == http.StatusOK) {
			if out != nil {
				return json.Unmarshal(r.body, out)
			}
			return nil
		}
		if !r.failed() || time.Now().After(deadline) {
			if r.err != nil {
				return fmt.Errorf("%s %s: %w", method, path, r.err)
			}
			return fmt.Errorf("%s %s: %d %s", method, path, r.code, r.body)
		}
		if !sleep(ctx, max(r.retryAfter(0), 200*time.Millisecond)) {
			return ctx.Err()
		}
	}
}

// createShop makes the run's shop on the enterprise tier, so the shop's
// own quota is not what the test measures.
func (e *env) createShop(ctx context.Context) error {
	if e.shop == "" {
		e.shop = "lt-" + e.run
	}
	var sh struct {
		APIKey string `json:"api_key"`
	}
	if err := e.setupCall(ctx, http.StatusCreated, "POST", "/v1/admin/shops", e.cfg.AdminKey,
		map[string]string{"slug": e.shop, "name": "Load test " + e.run}, &sh); err != nil {
		return err
	}
	e.shopKey = sh.APIKey
	return e.setupCall(ctx, http.StatusOK, "PUT", "/v1/admin/shops/"+e.shop+"/tier", e.cfg.AdminKey,
		map[string]string{"tier": "enterprise"}, nil)
}

// createProducts puts n products on sale with the given stock each.
func (e *env) createProducts(ctx context.Context, n int, stock int64) error {
	e.skus = make([]string, n)
	for i := range n {
		e.skus[i] = fmt.Sprintf("LT-%05d", i)
	}
	return parallel(ctx, n, 8, func(i int) error {
		w := words[i%len(words)]
		return e.setupCall(ctx, http.StatusCreated, "PUT", "/v1/shops/"+e.shop+"/admin/products/"+e.skus[i], e.shopKey,
			map[string]any{"title": fmt.Sprintf("%s %d", w, i), "description": "a " + w + " for load tests",
				"price": 500 + i%50*100, "currency": "EUR", "stock": stock}, nil)
	})
}

// createCustomer registers a customer and returns its token.
func (e *env) createCustomer(ctx context.Context) (string, error) {
	var c struct {
		Token string `json:"token"`
	}
	err := e.setupCall(ctx, http.StatusCreated, "POST", "/v1/shops/"+e.shop+"/customers", "", nil, &c)
	return c.Token, err
}

func (e *env) createCustomers(ctx context.Context, n int) error {
	e.customers = make([]string, n)
	return parallel(ctx, n, 8, func(i int) error {
		t, err := e.createCustomer(ctx)
		e.customers[i] = t
		return err
	})
}

// parallel runs fn for 0..n-1 on at most workers goroutines and returns
// the first error.
func parallel(ctx context.Context, n, workers int, fn func(i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				if err := fn(i); err != nil {
					once.Do(func() { first = err; cancel() })
				}
			}
		})
	}
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(next)
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}
