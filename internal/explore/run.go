package explore

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/surge-commerce/surge/internal/catalog"
	"github.com/surge-commerce/surge/internal/checkout"
	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/flashsale"
	"github.com/surge-commerce/surge/internal/platform"
	"github.com/surge-commerce/surge/internal/precondition"
	"github.com/surge-commerce/surge/internal/shop"
)

// run plays the schedule: phase by phase, each lane's steps in order, the
// lanes of a phase concurrently.
func (w *world) run(ctx context.Context) {
	for phase := range w.sched.phases() {
		var wg sync.WaitGroup
		for lane := range w.sched.Lanes {
			wg.Go(func() {
				for i, st := range w.sched.Steps {
					if st.Phase == phase && st.Lane == lane && ctx.Err() == nil {
						w.step(ctx, i, st)
					}
				}
			})
		}
		wg.Wait()
	}
}

func (w *world) step(ctx context.Context, i int, st Step) {
	w.clock.Advance(st.Advance)
	switch st.Op {
	case OpCheckout, OpReuseKey, OpRetry, OpCartCheckout:
		w.customerCheckout(ctx, i, st)
	case OpAbandon:
		if c, err := w.carts.Create(ctx, w.shop.ID, customerID(st.Customer)); err == nil {
			w.fillCart(ctx, c.ID, st.Customer, st.Items)
		}
	case OpBot:
		var wg sync.WaitGroup
		for j := range st.N {
			wg.Go(func() {
				w.attempt(ctx, i, st.Fault, attempt{customer: st.Customer, key: fmt.Sprintf("k%d-%d", i, j), items: st.Items})
			})
		}
		wg.Wait()
	case OpWebhook:
		if ev, ok := w.provider.event(st.Ref); ok {
			for range st.N {
				_ = w.checkout.ApplyProviderEvent(ctx, ev.orderID, ev.payment)
			}
		}
	case OpReconcile:
		_, _ = w.checkout.Reconcile(ctx)
		_, _ = w.st.PruneKeys(ctx, w.clock.Now(), 1000)
	case OpExpireReservations:
		w.clock.Advance(w.sched.ReservationTTL + time.Second)
	case OpExpireKeys:
		w.clock.Advance(w.sched.KeyTTL + time.Second)
	case OpProviderDown:
		w.provider.down.Store(true)
	case OpProviderUp:
		w.provider.down.Store(false)
	default:
		w.admin(ctx, i, st)
	}
}

// customerCheckout builds the request a customer step sends.
func (w *world) customerCheckout(ctx context.Context, i int, st Step) {
	a := attempt{customer: st.Customer, key: fmt.Sprintf("k%d", i), items: st.Items}
	switch st.Op {
	case OpRetry, OpReuseKey:
		prev, ok := w.rec.earlier(st.Ref, false)
		if !ok {
			return
		}
		a.customer, a.key = prev.customer, prev.key
		if st.Op == OpRetry {
			a.items, a.cartID = prev.items, prev.cartID
		}
	case OpCartCheckout:
		c, err := w.carts.Create(ctx, w.shop.ID, customerID(st.Customer))
		if err != nil {
			return
		}
		a.cartID, a.items = c.ID, w.fillCart(ctx, c.ID, st.Customer, st.Items)
	}
	w.attempt(ctx, i, st.Fault, a)
}

// fillCart puts items in a cart and returns its lines.
func (w *world) fillCart(ctx context.Context, cartID string, cust int, items []checkout.Item) []checkout.Item {
	qty := map[string]int64{}
	for _, it := range items {
		qty[it.SKU] += it.Quantity
	}
	var lines []checkout.Item
	for _, sku := range slices.Sorted(maps.Keys(qty)) {
		if _, err := w.carts.SetLine(ctx, w.shop.ID, customerID(cust), cartID, sku, qty[sku]); err == nil {
			lines = append(lines, checkout.Item{SKU: sku, Quantity: qty[sku]})
		}
	}
	return lines
}

// attempt sends one checkout and records what its client saw.
func (w *world) attempt(ctx context.Context, i int, f Fault, a attempt) {
	a.step = i
	req := checkout.Request{ShopID: w.shop.ID, CustomerID: customerID(a.customer), Key: a.key, CartID: a.cartID}
	if a.cartID == "" {
		req.Items = a.items
		a.fingerprint = fmt.Sprint(a.items)
	} else {
		a.fingerprint = "cart " + a.cartID
	}
	a.start, a.at = w.rec.now(), w.clock.Now()
	resp, err := w.checkout.Checkout(withFault(ctx, f), req)
	a.end, a.endAt = w.rec.now(), w.clock.Now()
	a.outcome(resp, err)
	w.rec.addAttempt(a)
}

// admin runs one admin write and records its effect on stock and limits.
func (w *world) admin(ctx context.Context, i int, st Step) {
	wr := adminWrite{step: i, op: st.Op, sku: st.SKU}
	var limit *int64
	wr.start = w.rec.now()
	var err error
	switch st.Op {
	case OpPutProduct:
		wr.asked = max(0, w.rec.stockOf(st.SKU)+st.Stock)
		_, _, err = w.catalog.Put(ctx, w.shop.ID, st.SKU, catalog.Input{Title: "Product " + st.SKU,
			Price: st.Price, Currency: "EUR", Stock: wr.asked, PurchaseLimit: st.Limit})
		limit = &st.Limit
	case OpRestock:
		wr.asked = w.rec.stockOf(st.SKU) + st.Stock
		_, err = w.stock.Restock(ctx, w.shop.ID, st.SKU, st.Stock, precondition.Condition{})
	case OpPutSale:
		wr.asked = max(0, w.rec.stockOf(st.SKU)+st.Stock)
		_, err = w.sales.Start(ctx, w.shop.ID, flashsale.Sale{SKU: st.SKU, Stock: wr.asked,
			PerCustomerLimit: st.Limit, Buckets: st.Buckets})
		if err == nil {
			w.catalog.Changed(w.shop.ID, st.SKU) // as the HTTP handler does
		}
		limit = &st.Limit
	case OpEndSale:
		wr.asked = w.rec.stockOf(st.SKU)
		err = w.sales.End(ctx, w.shop.ID, st.SKU)
	default:
		w.afterSale(ctx, st)
		return
	}
	wr.end = w.rec.now()
	wr.ok = err == nil
	wr.code = errcode.Code(err)
	if err != nil {
		wr.err = err.Error()
	}
	switch wr.code {
	case "", errcode.Conflict, errcode.Invalid, errcode.NotFound:
	default:
		wr.uncertain = true
	}
	w.rec.addWrite(wr, limit)
}

// afterSale runs the admin writes that change no stock.
func (w *world) afterSale(ctx context.Context, st Step) {
	switch st.Op {
	case OpRefund, OpFulfil:
		a, ok := w.rec.earlier(st.Ref, true)
		if !ok {
			return
		}
		if st.Op == OpRefund {
			_, _ = w.orders.Refund(ctx, w.shop.ID, a.orderID, precondition.Condition{})
		} else {
			_, _ = w.orders.Fulfil(ctx, w.shop.ID, a.orderID, precondition.Condition{})
		}
	case OpRotateKey:
		_, _, _ = w.shops.RotateKey(ctx, w.shop.Slug, "", time.Minute)
	case OpSetTier:
		_, _ = w.shops.SetTier(ctx, w.shop.Slug, shop.Tiers[st.Ref%len(shop.Tiers)], precondition.Condition{})
	case OpSetFlag:
		_ = w.flags.Set(ctx, platform.FlagSearch, st.Flag)
	}
}
