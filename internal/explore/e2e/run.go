package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

const shop = "explore"

// runner executes one schedule against one cluster.
type runner struct {
	c     *cluster
	s     Schedule
	http  *client
	rec   *record
	start time.Time

	mu        sync.Mutex
	shopKey   string
	customers map[string]customer // by actor
	bodies    map[string][]byte   // first body sent under each Idempotency-Key
}

type customer struct{ ID, Token string }

func newRunner(c *cluster, s Schedule) *runner {
	return &runner{c: c, s: s, http: newClient(), rec: &record{},
		customers: map[string]customer{}, bodies: map[string][]byte{}}
}

func (r *runner) url(path string) string { return r.c.URL + path }

func (r *runner) key() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.shopKey
}

// setup creates the shop, its products and the initial sale.
func (r *runner) setup(ctx context.Context) error {
	var created struct {
		APIKey string `json:"api_key"`
	}
	rep := r.http.do(ctx, "POST", r.url("/v1/admin/shops"), adminKey, map[string]string{"slug": shop, "name": "Explore"}, nil)
	if rep.Status != 201 || !rep.decode(&created) {
		return fmt.Errorf("create shop: %d %s %v", rep.Status, rep.Body, rep.Err)
	}
	r.shopKey = created.APIKey
	for _, p := range r.s.Products {
		rep := r.http.do(ctx, "PUT", r.url("/v1/shops/"+shop+"/admin/products/"+p.SKU), r.shopKey,
			map[string]any{"title": p.SKU, "price": p.Price, "currency": "EUR", "stock": p.Stock}, nil)
		if rep.Status/100 != 2 {
			return fmt.Errorf("put product %s: %d %s %v", p.SKU, rep.Status, rep.Body, rep.Err)
		}
		r.rec.addStock(stockSet{SKU: p.SKU, N: p.Stock, Sent: time.Now()})
	}
	if r.s.SaleLimit > 0 {
		sent := time.Now()
		rep := r.putSale(ctx, r.s.Products[0].Stock, r.s.SaleLimit)
		if rep.Status != 200 {
			return fmt.Errorf("put sale: %d %s %v", rep.Status, rep.Body, rep.Err)
		}
		r.rec.addSale(saleChange{Limit: r.s.SaleLimit, Sent: sent, Done: time.Now(), OK: true})
	}
	return nil
}

func (r *runner) putSale(ctx context.Context, stock, limit int64) reply {
	return r.http.do(ctx, "PUT", r.url("/v1/shops/"+shop+"/admin/sales/"+hotSKU), r.key(), map[string]any{
		"stock": stock, "starts_at": time.Now().Add(-time.Minute).UTC(), "per_customer_limit": limit, "buckets": 2}, nil)
}

// execute runs every actor's steps concurrently, each at its time.
func (r *runner) execute(ctx context.Context) {
	byActor := map[string][]Step{}
	var actors []string
	for _, st := range r.s.Steps {
		if _, ok := byActor[st.Actor]; !ok {
			actors = append(actors, st.Actor)
		}
		byActor[st.Actor] = append(byActor[st.Actor], st)
	}
	r.start = time.Now()
	var wg sync.WaitGroup
	for _, a := range actors {
		wg.Go(func() {
			for _, st := range byActor[a] {
				ctxSleep(ctx, time.Until(r.start.Add(st.At)))
				if ctx.Err() != nil {
					return
				}
				r.step(ctx, st)
			}
		})
	}
	wg.Wait()
}

func (r *runner) step(ctx context.Context, st Step) {
	switch st.Op {
	case OpSignup:
		r.signup(ctx, st.Actor)
	case OpCheckout, OpRetry, OpMismatch, OpBotBuy:
		r.checkout(ctx, st, r.itemsBody(st))
	case OpLateRetry:
		// Waiting out the key's time-to-live is part of the step.
		ctxSleep(ctx, idempotencyTTL+500*time.Millisecond)
		r.checkout(ctx, st, r.itemsBody(st))
	case OpCart:
		if cartID := r.cart(ctx, st); cartID != "" {
			r.checkout(ctx, st, mustJSON(map[string]string{"cart_id": cartID}))
		}
	case OpAbandon:
		r.cart(ctx, st)
	case OpJunk:
		r.checkout(ctx, st, []byte(`{"items":[{"sku":"HOT","quantity":-1}]}`))
	case OpFaults:
		rep := r.http.do(ctx, "PUT", r.c.PSP+"/v1/faults", pspAPIKey, st.Faults, nil)
		if rep.Status != 200 {
			r.rec.addError(fmt.Sprintf("%s: %d %s %v", st, rep.Status, rep.Body, rep.Err))
		}
	case OpWaitTTL:
		ctxSleep(ctx, reservationTTL+time.Second)
	case OpKill:
		if err := r.c.crash(); err != nil {
			r.rec.addError(fmt.Sprintf("restart after SIGKILL: %v", err))
		}
	default:
		r.admin(ctx, st)
	}
}

// itemsBody is the body of a checkout by items; a retry reuses the body
// first sent under its key, whatever it was.
func (r *runner) itemsBody(st Step) []byte {
	if st.Op == OpRetry || st.Op == OpLateRetry {
		r.mu.Lock()
		b := r.bodies[st.Key]
		r.mu.Unlock()
		if b != nil {
			return b
		}
	}
	return mustJSON(map[string]any{"items": st.Lines})
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// retrying sends a request again while its outcome is unknown or it was
// shed, as a well-behaved client does; the caller records every reply.
func (r *runner) retrying(ctx context.Context, send func() reply, each func(reply)) reply {
	var rep reply
	for i := range 4 {
		if i > 0 {
			ctxSleep(ctx, time.Duration(i)*400*time.Millisecond) // client backoff
		}
		rep = send()
		each(rep)
		if rep.Status != 0 && rep.Status != 503 && rep.Status != 429 {
			break
		}
	}
	return rep
}
