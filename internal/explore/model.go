package explore

import (
	"context"
	"slices"
	"time"

	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/order"
)

// falseOutOfStock judges an out_of_stock answer: it breaks I1's promise
// to buyers when, by the model's conservative bounds, the SKU had the units.
// The bound takes the stock the shop had configured when the request was
// sent and subtracts every unit any other checkout could have held: all
// that were sent before this one was answered, except those answered
// without holding stock before it was sent. A request that ran beside an
// admin write of the same SKU is not judged.
func (r *recorder) falseOutOfStock(a attempt) (Breach, bool) {
	sku, want := a.sku, a.units(a.sku)
	if want == 0 {
		return Breach{}, false
	}
	configured, onSale := r.initial[sku], r.onSale[sku]
	for _, w := range r.writes {
		switch {
		case w.sku != sku:
		case w.start < a.end && (w.uncertain || w.end > a.start):
			return Breach{}, false
		case w.ok && w.end < a.start:
			configured = w.asked
			if w.op == OpPutSale || w.op == OpEndSale {
				onSale = w.op == OpPutSale
			}
		}
	}
	var committed int64
	for _, b := range r.attempts {
		if b.start == a.start || b.start > a.end || (b.end < a.start && b.holdsNothing()) {
			continue
		}
		committed += b.units(sku)
	}
	if free := configured - committed; free >= want {
		where := ""
		if onSale {
			where = " (on flash sale)"
		}
		return Breach{"out of stock was true (I1)", sprintf("step %d: out_of_stock for %d of %s%s while at least %d of %d configured units were free",
			a.step, want, sku, where, free, configured)}, true
	}
	return Breach{}, false
}

// keyBreaches checks I4 on what clients saw: one key, one order; the same
// key with another request, no order. Keys the clock expired are free again.
func (r *recorder) keyBreaches() []Breach {
	// The key was claimed no earlier than the first request that got its
	// order was sent, so it expired no earlier than that plus its TTL.
	claimed := map[string]time.Time{}
	for _, a := range r.attempts {
		if t, ok := claimed[a.orderID]; a.orderID != "" && (!ok || a.at.Before(t)) {
			claimed[a.orderID] = a.at
		}
	}
	var out []Breach
	for _, a := range r.attempts {
		if a.orderID == "" {
			continue
		}
		for _, b := range r.attempts {
			if b.customer != a.customer || b.key != a.key || b.start < a.end || b.orderID == "" || b.orderID == a.orderID ||
				b.endAt.Sub(claimed[a.orderID]) >= r.keyTTL {
				continue
			}
			check := "same key, same request, same order (I4)"
			if b.fingerprint != a.fingerprint {
				check = "same key, another request, no order (I4)"
			}
			out = append(out, Breach{check, sprintf("steps %d and %d: key %s of customer %d gave orders %s and %s",
				a.step, b.step, a.key, a.customer, a.orderID, b.orderID)})
		}
	}
	return out
}

// adminBreaches checks that an admin write that lowers no stock is never
// refused for want of stock.
func (r *recorder) adminBreaches() []Breach {
	var out []Breach
	for _, w := range r.writes {
		if (w.op == OpPutProduct || w.op == OpPutSale) && w.code == errcode.Conflict && w.asked >= w.before {
			out = append(out, Breach{"admin writes that lower no stock succeed", sprintf("step %d: %s %s with stock %d (was %d) refused: %s",
				w.step, w.op, w.sku, w.asked, w.before, w.err)})
		}
	}
	return out
}

// stockBreaches checks I10 and I1 after the drain: every SKU received
// exactly what the shop configured, and no more was sold or held.
func (w *world) stockBreaches(ctx context.Context) ([]Breach, error) {
	var out []Breach
	r := w.rec
	for sku, want := range r.configured {
		if slices.ContainsFunc(r.writes, func(wr adminWrite) bool { return wr.sku == sku && wr.uncertain }) {
			continue
		}
		l, err := w.stock.Level(ctx, w.shop.ID, sku)
		if err != nil {
			return nil, err
		}
		if l.Received != want {
			out = append(out, Breach{"stock is created only by the shop (I10)",
				sprintf("%s received %d units, the shop configured %d", sku, l.Received, want)})
		}
		if l.Sold+l.Reserved > want {
			out = append(out, Breach{"never oversell (I1)", sprintf("%s: %d sold and %d reserved of %d configured", sku, l.Sold, l.Reserved, want)})
		}
	}
	return out, nil
}

// limitBreaches checks I11: no customer holds more units of a SKU than the
// highest limit that SKU ever had (SKUs that were ever uncapped are not
// judged).
func (w *world) limitBreaches(ctx context.Context) ([]Breach, error) {
	orders, err := w.st.Orders(ctx, w.shop.ID, order.Filter{Limit: 1 << 20})
	if err != nil {
		return nil, err
	}
	type holding struct{ customer, sku string }
	held := map[holding]int64{}
	for _, o := range orders {
		if o.Status == order.Cancelled || o.Status == order.Refunded {
			continue
		}
		full, err := w.st.Order(ctx, o.ID)
		if err != nil {
			return nil, err
		}
		for _, l := range full.Lines {
			held[holding{o.CustomerID, l.SKU}] += l.Quantity
		}
	}
	var out []Breach
	for h, units := range held {
		limits := w.rec.limits[h.sku]
		if slices.Contains(limits, 0) {
			continue
		}
		if most := slices.Max(limits); units > most {
			out = append(out, Breach{"limits hold (I11)", sprintf("%s holds %d units of %s; the limit was never above %d", h.customer, units, h.sku, most)})
		}
	}
	return out, nil
}
