package e2e

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// judge checks the recorded replies against the final orders and the
// provider's ledger and returns every breach, one line each. Each rule
// only condemns what was certain when the reply was given.
func judge(rec *record, orders map[string]order, payments []payment) []string {
	var b []string
	b = append(b, rec.errors...)
	b = append(b, checkAcknowledged(rec.attempts, orders)...)
	b = append(b, checkDeclined(rec.attempts, orders, payments)...)
	b = append(b, checkKeys(rec.attempts)...)
	b = append(b, checkOutOfStock(rec.attempts, rec.stocks)...)
	b = append(b, checkLimits(rec.attempts, rec.sales, orders)...)
	b = append(b, checkActions(rec.actions, orders)...)
	return b
}

// checkAcknowledged: every 201/202 order exists, and a 201 (paid) order
// stays paid or moves on to fulfilled or refunded (docs/INVARIANTS.md, I3).
func checkAcknowledged(attempts []attempt, orders map[string]order) []string {
	var b []string
	for _, a := range attempts {
		if !a.acknowledged() {
			continue
		}
		o, ok := orders[a.OrderID]
		switch {
		case !ok:
			b = append(b, fmt.Sprintf("I3: %d acknowledged order %q, which does not exist (%s)", a.Reply.Status, a.OrderID, a.Step))
		case a.Reply.Status == 201 && !slices.Contains([]string{"paid", "fulfilled", "refunded"}, o.Status):
			b = append(b, fmt.Sprintf("I3: order %s answered 201 paid is now %s (%s)", o.ID, o.Status, a.Step))
		}
	}
	return b
}

// checkDeclined: an order the customer was told failed (402) is not paid
// and keeps no capture (docs/INVARIANTS.md, I9).
func checkDeclined(attempts []attempt, orders map[string]order, payments []payment) []string {
	var b []string
	for _, a := range attempts {
		if a.Reply.Status != 402 || a.OrderID == "" {
			continue
		}
		if o, ok := orders[a.OrderID]; ok && o.Status != "cancelled" {
			b = append(b, fmt.Sprintf("I9: order %s answered 402 is %s (%s)", o.ID, o.Status, a.Step))
		}
		for _, p := range payments {
			if p.MerchantReference == a.OrderID && p.Status == "captured" {
				b = append(b, fmt.Sprintf("I9: order %s answered 402 keeps capture %s of %d (%s)", a.OrderID, p.ID, p.Amount, a.Step))
			}
		}
	}
	return b
}

// checkKeys: while a key certainly lives (an answer under it came before
// the retry was sent, and the retry was sent less than the time-to-live
// after the key's first request was), the same body gets the same order
// and another body gets no order (docs/INVARIANTS.md, I4). Malformed
// checkouts get no order either.
func checkKeys(attempts []attempt) []string {
	born := map[string]time.Time{} // the earliest send under each key
	for _, a := range attempts {
		if t, ok := born[a.Key]; !ok || a.Sent.Before(t) {
			born[a.Key] = a.Sent
		}
	}
	var b []string
	for i, a := range attempts {
		if a.Op == OpJunk && a.Reply.Status/100 == 2 {
			b = append(b, fmt.Sprintf("I4: malformed checkout got %d order %s (%s)", a.Reply.Status, a.OrderID, a.Step))
		}
		if a.OrderID == "" {
			continue
		}
		for _, later := range attempts[i+1:] {
			if later.Key != a.Key || !a.Done.Before(later.Sent) || !later.Sent.Before(born[a.Key].Add(idempotencyTTL)) {
				continue
			}
			switch {
			case later.Body == a.Body && later.OrderID != "" && later.OrderID != a.OrderID:
				b = append(b, fmt.Sprintf("I4: key %s gave order %s, then %s for the same request (%s)", a.Key, a.OrderID, later.OrderID, later.Step))
			case later.Body != a.Body && later.Reply.Status/100 == 2:
				b = append(b, fmt.Sprintf("I4: key %s reused with another body got %d, want 422 (%s)", a.Key, later.Reply.Status, later.Step))
			}
		}
	}
	return b
}

// checkOutOfStock: a 409 out-of-stock is a breach when every line fitted
// in the least stock the shop could have had: the smallest stock set
// before the answer, less every unit any other checkout could hold (all
// sent before the answer, except those refused before this one was sent).
func checkOutOfStock(attempts []attempt, stocks []stockSet) []string {
	var b []string
	for _, a := range attempts {
		if a.Reply.Status != 409 || a.Reply.Problem != "out-of-stock" || len(a.Lines) == 0 {
			continue
		}
		fits := true
		var bounds []string
		for _, l := range a.Lines {
			least := int64(math.MaxInt64)
			for _, s := range stocks {
				if s.SKU == l.SKU && s.Sent.Before(a.Done) {
					least = min(least, s.N)
				}
			}
			for _, o := range attempts {
				if o.Sent == a.Sent && o.Key == a.Key || !o.Sent.Before(a.Done) || released(o, a.Sent) {
					continue
				}
				for _, ol := range o.Lines {
					if ol.SKU == l.SKU {
						least -= ol.Quantity
					}
				}
			}
			bounds = append(bounds, fmt.Sprintf("%s: %d wanted, at least %d free", l.SKU, l.Quantity, least))
			if l.Quantity > least {
				fits = false
			}
		}
		if fits {
			b = append(b, fmt.Sprintf("I1: 409 out-of-stock while stock was certainly free (%v) (%s)", bounds, a.Step))
		}
	}
	return b
}

// released reports whether o certainly held no stock after t: it was
// refused, or declined, before t.
func released(o attempt, t time.Time) bool {
	s := o.Reply.Status
	return o.Done.Before(t) && s >= 400 && s < 500
}

// checkLimits: within each stretch of time a sale's per-customer limit was
// certainly in force, no customer's paid orders of the hot SKU begun and
// answered within it exceed the limit (docs/INVARIANTS.md, I11).
func checkLimits(attempts []attempt, sales []saleChange, orders map[string]order) []string {
	slices.SortFunc(sales, func(x, y saleChange) int { return x.Sent.Compare(y.Sent) })
	var b []string
	for i, s := range sales {
		if !s.OK || s.Limit == 0 {
			continue
		}
		from, until := s.Done, time.Unix(math.MaxInt32, 0)
		if i+1 < len(sales) {
			until = sales[i+1].Sent
		}
		units := map[string]int64{}
		seen := map[string]bool{}
		for _, a := range attempts {
			o, ok := orders[a.OrderID]
			if !ok || seen[o.ID] || a.Sent.Before(from) || !a.Done.Before(until) || (o.Status != "paid" && o.Status != "fulfilled") {
				continue
			}
			seen[o.ID] = true
			for _, l := range o.Lines {
				if l.SKU == hotSKU {
					units[o.CustomerID] += l.Quantity
				}
			}
		}
		for c, n := range units {
			if n > s.Limit {
				b = append(b, fmt.Sprintf("I11: customer %s bought %d units of %s under a limit of %d", c, n, hotSKU, s.Limit))
			}
		}
	}
	return b
}

// checkActions: a refunded order is never fulfilled, and an accepted
// refund or fulfilment shows in the order's status (docs/INVARIANTS.md, I9).
func checkActions(actions []adminAction, orders map[string]order) []string {
	var b []string
	done := map[string]map[Op]bool{}
	for _, a := range actions {
		if a.Status/100 != 2 {
			continue
		}
		if done[a.OrderID] == nil {
			done[a.OrderID] = map[Op]bool{}
		}
		done[a.OrderID][a.Op] = true
	}
	for id, ops := range done {
		status := orders[id].Status
		switch {
		case ops[OpRefund] && ops[OpFulfil]:
			b = append(b, fmt.Sprintf("I9: order %s was both refunded and fulfilled (now %s)", id, status))
		case ops[OpRefund] && status != "refunded":
			b = append(b, fmt.Sprintf("I9: order %s refund accepted, but it is %s", id, status))
		case ops[OpFulfil] && status != "fulfilled":
			b = append(b, fmt.Sprintf("I9: order %s fulfilment accepted, but it is %s", id, status))
		}
	}
	return b
}
