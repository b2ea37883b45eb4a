package e2e

import (
	"context"
	"fmt"
	"time"
)

// signup registers the actor's customer, retrying while the server is
// away; an actor without a customer signs up at its first checkout.
func (r *runner) signup(ctx context.Context, actor string) (customer, bool) {
	var c customer
	rep := r.retrying(ctx, func() reply {
		return r.http.do(ctx, "POST", r.url("/v1/shops/"+shop+"/customers"), "", nil, nil)
	}, func(reply) {})
	if rep.Status != 201 || !rep.decode(&c) {
		return c, false
	}
	if actor != "" {
		r.mu.Lock()
		r.customers[actor] = c
		r.mu.Unlock()
	}
	return c, true
}

// customerOf returns the actor's customer; bots are a new one each time.
func (r *runner) customerOf(ctx context.Context, st Step) (customer, bool) {
	if st.Actor == "bot" {
		return r.signup(ctx, "")
	}
	r.mu.Lock()
	c, ok := r.customers[st.Actor]
	r.mu.Unlock()
	if ok {
		return c, true
	}
	return r.signup(ctx, st.Actor)
}

// checkout sends body under the step's key and records every reply.
func (r *runner) checkout(ctx context.Context, st Step, body []byte) {
	c, ok := r.customerOf(ctx, st)
	if !ok {
		return
	}
	if st.Op == OpCheckout || st.Op == OpCart || st.Op == OpBotBuy {
		r.mu.Lock()
		if r.bodies[st.Key] == nil {
			r.bodies[st.Key] = body
		}
		r.mu.Unlock()
	}
	var sent time.Time
	r.retrying(ctx, func() reply {
		sent = time.Now()
		return r.http.do(ctx, "POST", r.url("/v1/shops/"+shop+"/checkout"), c.Token, body,
			map[string]string{"Idempotency-Key": st.Key})
	}, func(rep reply) {
		r.rec.addAttempt(attempt{Step: st.String(), Op: st.Op, Key: st.Key, Body: string(body), Lines: st.Lines,
			Customer: c.ID, Sent: sent, Done: time.Now(), Reply: rep, OrderID: rep.orderID()})
	})
}

// cart fills a new cart with the step's lines and returns its id, or ""
// when the server would not.
func (r *runner) cart(ctx context.Context, st Step) string {
	c, ok := r.customerOf(ctx, st)
	if !ok {
		return ""
	}
	var cart struct {
		ID string `json:"id"`
	}
	rep := r.retrying(ctx, func() reply {
		return r.http.do(ctx, "POST", r.url("/v1/shops/"+shop+"/carts"), c.Token, nil, nil)
	}, func(reply) {})
	if rep.Status != 201 || !rep.decode(&cart) {
		return ""
	}
	for _, l := range st.Lines {
		rep := r.retrying(ctx, func() reply {
			return r.http.do(ctx, "PUT", r.url("/v1/shops/"+shop+"/carts/"+cart.ID+"/lines/"+l.SKU), c.Token,
				map[string]int64{"quantity": l.Quantity}, nil)
		}, func(reply) {})
		if rep.Status/100 != 2 {
			return ""
		}
	}
	return cart.ID
}

// admin performs one admin write; outcomes that matter to the model are
// recorded, the rest only need to have run beside the checkouts.
func (r *runner) admin(ctx context.Context, st Step) {
	base := "/v1/shops/" + shop + "/admin"
	switch st.Op {
	case OpProduct:
		r.rec.addStock(stockSet{SKU: st.SKU, N: st.N, Sent: time.Now()})
		price := r.s.Products[0].Price
		for _, p := range r.s.Products {
			if p.SKU == st.SKU {
				price = p.Price + st.N%3*100
			}
		}
		sent := time.Now()
		rep := r.retrying(ctx, func() reply {
			return r.http.do(ctx, "PUT", r.url(base+"/products/"+st.SKU), r.key(),
				map[string]any{"title": st.SKU, "price": price, "currency": "EUR", "stock": st.N}, nil)
		}, func(reply) {})
		if st.SKU == hotSKU {
			r.rec.addSale(saleChange{Sent: sent, Done: time.Now(), OK: rep.Status == 200})
		}
	case OpRestock:
		r.retrying(ctx, func() reply {
			return r.http.do(ctx, "POST", r.url(base+"/inventory/"+st.SKU+"/restock"), r.key(),
				map[string]int64{"quantity": st.N}, nil)
		}, func(reply) {})
	case OpSalePut:
		r.rec.addStock(stockSet{SKU: hotSKU, N: st.N, Sent: time.Now()})
		sent := time.Now()
		rep := r.retrying(ctx, func() reply { return r.putSale(ctx, st.N, st.Limit) }, func(reply) {})
		r.rec.addSale(saleChange{Limit: st.Limit, Sent: sent, Done: time.Now(), OK: rep.Status == 200})
	case OpSaleDel:
		sent := time.Now()
		rep := r.retrying(ctx, func() reply {
			return r.http.do(ctx, "DELETE", r.url(base+"/sales/"+hotSKU), r.key(), nil, nil)
		}, func(reply) {})
		r.rec.addSale(saleChange{Sent: sent, Done: time.Now(), OK: rep.Status == 204})
	case OpRefund, OpFulfil:
		ids := r.rec.ackedOrders()
		if len(ids) == 0 {
			return
		}
		id := ids[int(st.N)%len(ids)]
		action := map[Op]string{OpRefund: "refund", OpFulfil: "fulfil"}[st.Op]
		rep := r.retrying(ctx, func() reply {
			return r.http.do(ctx, "POST", r.url(base+"/orders/"+id+"/"+action), r.key(), nil, nil)
		}, func(reply) {})
		r.rec.addAction(adminAction{Op: st.Op, OrderID: id, Status: rep.Status})
	case OpRotate:
		var rotated struct {
			APIKey string `json:"api_key"`
		}
		rep := r.retrying(ctx, func() reply {
			return r.http.do(ctx, "POST", r.url(base+"/keys"), r.key(), map[string]int64{"grace_seconds": st.N}, nil)
		}, func(reply) {})
		if rep.Status/100 == 2 && rep.decode(&rotated) && rotated.APIKey != "" {
			r.mu.Lock()
			r.shopKey = rotated.APIKey
			r.mu.Unlock()
		} else if rep.Status != 0 {
			r.rec.addError(fmt.Sprintf("%s: %d %s", st, rep.Status, rep.Body))
		}
	case OpTier:
		r.retrying(ctx, func() reply {
			return r.http.do(ctx, "PUT", r.url("/v1/admin/shops/"+shop+"/tier"), adminKey, map[string]string{"tier": st.Name}, nil)
		}, func(reply) {})
	case OpFlag:
		r.retrying(ctx, func() reply {
			return r.http.do(ctx, "PUT", r.url("/v1/admin/flags/"+st.Name), adminKey, map[string]bool{"enabled": st.On}, nil)
		}, func(reply) {})
	}
}
