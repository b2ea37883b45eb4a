package audit

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// The checks of what the store alone shows. Each names the invariant of
// docs/INVARIANTS.md it judges.

func checkStock(s Snapshot) Check {
	t := newTally("never oversell", "I1")
	for _, r := range s.Stock {
		var why string
		switch {
		case r.Available < 0 || r.Reserved < 0 || r.Sold < 0:
			why = "a counter is negative"
		case r.Available+r.Reserved+r.Sold != r.Received:
			why = "available + reserved + sold != received"
		case r.Reserved != r.HeldReservations:
			why = fmt.Sprintf("reserved %d != held reservations %d", r.Reserved, r.HeldReservations)
		case r.Sold != r.SoldReservations:
			why = fmt.Sprintf("sold %d != sold reservations %d", r.Sold, r.SoldReservations)
		default:
			continue
		}
		t.breach("shop %d SKU %s: %s (received %d, available %d, reserved %d, sold %d)",
			r.ShopID, r.SKU, why, r.Received, r.Available, r.Reserved, r.Sold)
	}
	return t.done("%d SKU(s) checked, %d out of balance", len(s.Stock), t.n)
}

func checkLedger(s Snapshot) Check {
	t := newTally("stock created only by the shop", "I10")
	for _, r := range s.Stock {
		if r.Received != r.Ledger {
			t.breach("shop %d SKU %s: %d unit(s) received, but the shop configured %d", r.ShopID, r.SKU, r.Received, r.Ledger)
		}
	}
	return t.done("%d SKU(s): received equals the stock ledger", len(s.Stock)-t.n)
}

func checkHolds(s Snapshot, grace time.Duration) Check {
	t := newTally("no expired reservation holds stock", "I1")
	if s.ExpiredHolds > 0 {
		t.breach("%d reservation(s) expired more than %s ago still hold stock", s.ExpiredHolds, grace)
	}
	return t.done("%d reservation(s) expired more than %s ago still hold stock", s.ExpiredHolds, grace)
}

func checkReservations(s Snapshot) Check {
	t := newTally("reservations follow their order", "I1")
	for _, o := range s.Orders {
		switch {
		case o.ReservedLines != o.Lines:
			t.breach("order %s: %d of %d line(s) have a reservation of their quantity", o.ID, o.ReservedLines, o.Lines)
		case o.Paid() && (o.Held != 0 || o.Released != 0):
			t.breach("order %s is %s but %d reservation(s) are held and %d released", o.ID, o.Status, o.Held, o.Released)
		case o.Status == "cancelled" && (o.Held != 0 || o.Sold != 0):
			t.breach("order %s is cancelled but holds %d reservation(s) and sold %d", o.ID, o.Held, o.Sold)
		case o.Status == "pending_payment" && o.Sold != 0:
			t.breach("order %s is pending but %d reservation(s) are sold", o.ID, o.Sold)
		}
	}
	return t.done("%d order(s) checked", len(s.Orders))
}

func checkTotals(s Snapshot) Check {
	t := newTally("order total equals its lines", "I9")
	for _, o := range s.Orders {
		if o.Total != o.LinesTotal {
			t.breach("order %s totals %d but its lines add up to %d", o.ID, o.Total, o.LinesTotal)
		}
	}
	return t.done("%d order(s) checked", len(s.Orders))
}

func checkLimits(s Snapshot) Check {
	t := newTally("purchase limits hold", "I11")
	for _, p := range s.Purchases {
		if p.Counted >= 0 && p.Counted != p.Live {
			t.breach("shop %d customer %s SKU %s: %d unit(s) counted against the limit, %d on live orders",
				p.ShopID, p.CustomerID, p.SKU, p.Counted, p.Live)
		}
		// A limit the shop lowered after a purchase does not make that
		// purchase a breach: the bound is the most permissive limit any
		// counted purchase was made under, or none when one was made with
		// no limit in force.
		if allowed := max(p.Limit, p.LimitSeen); p.Limit > 0 && p.LimitSeen >= 0 && p.Live > allowed {
			t.breach("shop %d customer %s SKU %s: %d unit(s) on live orders, over the limit of %d",
				p.ShopID, p.CustomerID, p.SKU, p.Live, allowed)
		}
	}
	return t.done("%d customer and SKU pair(s) checked", len(s.Purchases))
}

// responseOrder is the order a stored checkout response shows.
type responseOrder struct {
	Order *struct {
		ID    string `json:"id"`
		Total int64  `json:"total"`
	} `json:"order"`
}

func checkResponses(s Snapshot) Check {
	t := newTally("stored responses agree with their order", "I4")
	for _, r := range s.Responses {
		if !r.OrderFound {
			t.breach("key %s of customer %s answers %d for order %s, which does not exist", r.Key, r.CustomerID, r.Status, r.OrderID)
			continue
		}
		var want []string
		switch r.Status {
		case 201:
			want = []string{"paid", "fulfilled", "refunded"}
		case 202:
			want = []string{"pending_payment"}
		case 402:
			want = []string{"cancelled"}
		}
		if want != nil && !slices.Contains(want, r.OrderStatus) {
			t.breach("key %s answers %d but order %s is %s", r.Key, r.Status, r.OrderID, r.OrderStatus)
			continue
		}
		var body responseOrder
		if json.Unmarshal(r.Body, &body) == nil && body.Order != nil &&
			(body.Order.ID != r.OrderID || body.Order.Total != r.OrderTotal) {
			t.breach("key %s answers order %s totalling %d, but it names order %s totalling %d",
				r.Key, body.Order.ID, body.Order.Total, r.OrderID, r.OrderTotal)
		}
	}
	return t.done("%d stored response(s) checked", len(s.Responses))
}

func checkKeys(s Snapshot, ttl time.Duration) Check {
	t := newTally("one order per idempotency key", "I4")
	for _, d := range s.DuplicateKeys {
		t.breach("shop %d customer %s key %s: orders %s and %s", d.ShopID, d.CustomerID, d.Key, d.First, d.Second)
	}
	return t.done("%d key(s) with more than one order within %s", len(s.DuplicateKeys), ttl)
}

// checkEffects judges the consumers' per-order effects: one invoice and
// one confirmation per order paid before the cutoff, none for an order
// never paid, and invoice numbers 1..n per shop (docs/INVARIANTS.md, I5).
func checkEffects(s Snapshot, cutoff time.Time) Check {
	t := newTally("every event applied exactly once", "I5")
	paid := 0
	for _, o := range s.Orders {
		settled := o.Paid() && !o.UpdatedAt.After(cutoff)
		if settled {
			paid++
		}
		switch {
		case o.Invoices > 1 || o.Confirmations > 1:
			t.breach("order %s has %d invoice(s) and %d confirmation(s)", o.ID, o.Invoices, o.Confirmations)
		case settled && o.Invoices == 0:
			t.breach("order %s was paid but has no invoice", o.ID)
		case settled && o.Confirmations == 0:
			t.breach("order %s was paid but has no confirmation", o.ID)
		case !o.Paid() && (o.Invoices > 0 || o.Confirmations > 0):
			t.breach("order %s is %s but has %d invoice(s) and %d paid confirmation(s)", o.ID, o.Status, o.Invoices, o.Confirmations)
		}
	}
	for _, sh := range s.Shops {
		if sh.Invoices > 0 && (sh.MinInvoice != 1 || sh.MaxInvoice != sh.Invoices) {
			t.breach("shop %d: %d invoice(s) numbered %d..%d, want 1..%d", sh.ShopID, sh.Invoices, sh.MinInvoice, sh.MaxInvoice, sh.Invoices)
		}
	}
	return t.done("%d paid order(s) settled", paid)
}

// checkAnalytics compares each shop's analytics with its paid orders:
// at least the units of orders paid before the cutoff (their events were
// applied), at most the units of every paid order.
func checkAnalytics(s Snapshot, cutoff time.Time) Check {
	t := newTally("analytics match sales", "I5")
	type units struct{ settled, all, analytics int64 }
	shops := map[int64]*units{}
	get := func(id int64) *units {
		if shops[id] == nil {
			shops[id] = &units{}
		}
		return shops[id]
	}
	for _, o := range s.Orders {
		if !o.Paid() {
			continue
		}
		u := get(o.ShopID)
		u.all += o.Units
		if !o.UpdatedAt.After(cutoff) {
			u.settled += o.Units
		}
	}
	for _, sh := range s.Shops {
		get(sh.ShopID).analytics = sh.AnalyticsUnits
	}
	var total int64
	for id, u := range shops {
		total += u.analytics
		switch {
		case u.analytics > u.all:
			t.breach("shop %d: analytics counts %d unit(s), %d more than were sold", id, u.analytics, u.analytics-u.all)
		case u.analytics < u.settled:
			t.breach("shop %d: analytics counts %d unit(s), %d sold unit(s) missing", id, u.analytics, u.settled-u.analytics)
		}
	}
	return t.done("%d shop(s), %d unit(s) in analytics", len(shops), total)
}

func checkSales(s Snapshot) Check {
	t := newTally("flash-sale buckets agree with the sale", "I1")
	for _, b := range s.Sales {
		if b.OnSale && b.Present != b.Buckets {
			t.breach("shop %d SKU %s: the sale has %d bucket(s), %d exist", b.ShopID, b.SKU, b.Buckets, b.Present)
		}
		if b.Stranded != 0 {
			t.breach("shop %d SKU %s: %d unit(s) for sale in buckets checkout never tries", b.ShopID, b.SKU, b.Stranded)
		}
	}
	return t.done("%d SKU(s) with buckets checked", len(s.Sales))
}
