// Package audit checks Surge's invariants (DESIGN §3, 1-4) against a live
// store and the payment provider's ledger, and reports every breach:
//
//  1. never oversell: available, reserved, sold >= 0 and
//     available + reserved + sold == received; reserved and sold equal the
//     held and sold reservations; no expired reservation still holds stock;
//  2. never double charge: at most one capture kept per order, and every
//     kept capture belongs to a paid or fulfilled order (and vice versa);
//  4. one Idempotency-Key, one order;
//  5. every committed event was published and applied exactly once by each
//     consumer: one invoice and one confirmation per paid order, invoice
//     numbers without gaps, analytics units equal to units sold.
//
// It only reads, so it is safe to run against a live system. It must never
// import a driver or a transport.
package audit

import (
	"context"
	"fmt"
	"iter"
	"time"
)

// StockRow is one SKU's counters and what its reservations add up to.
type StockRow struct {
	ShopID                              int64
	SKU                                 string
	Received, Available, Reserved, Sold int64
	HeldReservations, SoldReservations  int64
}

// OrderRow is what the ledger check needs of an order.
type OrderRow struct {
	ID, Status string
	Total      int64
}

// Store is what the audit reads.
type Store interface {
	AuditStock(ctx context.Context) ([]StockRow, error)
	// AuditExpiredHolds counts held reservations that expired before t.
	AuditExpiredHolds(ctx context.Context, t time.Time) (int, error)
	AuditOrders(ctx context.Context) (map[string]OrderRow, error)
	// AuditDuplicateKeys counts idempotency keys with more than one order.
	AuditDuplicateKeys(ctx context.Context) (int, error)
	// AuditEvents counts what invariant 5 compares, for work settled
	// before the given time.
	AuditEvents(ctx context.Context, settled time.Time) (EventCounts, error)
}

// EventCounts are the figures behind invariant 5.
type EventCounts struct {
	Unpublished             int64 // outbox events older than the grace, unpublished
	PaidOrders              int64
	PaidWithoutInvoice      int64
	InvoiceGaps             int64 // shops whose invoice numbers are not 1..n
	PaidWithoutConfirmation int64
	DuplicateConfirmations  int64
	SoldUnits               int64 // units on paid, fulfilled or refunded orders
	AnalyticsUnits          int64
	RecentlyPaid            int64 // orders paid within the grace
}

// Charge is one payment in the provider's ledger.
type Charge struct {
	ID, OrderID, Status string
	Amount              int64
}

// Ledger iterates the provider's payments.
type Ledger func(ctx context.Context) iter.Seq2[Charge, error]

// Check is the result of one invariant.
type Check struct {
	Name     string   `json:"name"`
	Passed   bool     `json:"passed"`
	Summary  string   `json:"summary"`
	Breaches []string `json:"breaches,omitempty"`
}

// Report is a whole audit.
type Report struct {
	Passed bool      `json:"passed"`
	At     time.Time `json:"at"`
	Checks []Check   `json:"checks"`
}

// maxListed bounds the breaches listed per check; the count is exact.
const maxListed = 20

// Run performs every check. grace is how long past expiry a reservation
// may still be held (the sweeper's round trip) before it is a breach.
func Run(ctx context.Context, st Store, ledger Ledger, now time.Time, grace time.Duration) (Report, error) {
	r := Report{Passed: true, At: now}
	stock, err := checkStock(ctx, st)
	if err != nil {
		return r, err
	}
	expired, err := st.AuditExpiredHolds(ctx, now.Add(-grace))
	if err != nil {
		return r, err
	}
	holds := Check{Name: "no expired reservation holds stock", Passed: expired == 0,
		Summary: fmt.Sprintf("%d reservation(s) expired more than %s ago still hold stock", expired, grace)}
	dups, err := st.AuditDuplicateKeys(ctx)
	if err != nil {
		return r, err
	}
	keys := Check{Name: "one order per idempotency key", Passed: dups == 0,
		Summary: fmt.Sprintf("%d key(s) with more than one order", dups)}
	charges, err := checkCharges(ctx, st, ledger)
	if err != nil {
		return r, err
	}
	events, err := st.AuditEvents(ctx, now.Add(-grace))
	if err != nil {
		return r, err
	}
	r.Checks = []Check{stock, holds, keys, charges, checkEvents(events)}
	for _, c := range r.Checks {
		r.Passed = r.Passed && c.Passed
	}
	return r, nil
}

func checkEvents(e EventCounts) Check {
	c := Check{Name: "every event applied exactly once", Passed: true,
		Summary: fmt.Sprintf("%d paid order(s) settled; analytics %d of %d units sold", e.PaidOrders, e.AnalyticsUnits, e.SoldUnits)}
	fail := func(n int64, what string) {
		if n != 0 {
			c.Passed = false
			c.Breaches = append(c.Breaches, fmt.Sprintf("%d %s", n, what))
		}
	}
	fail(e.Unpublished, "committed event(s) never published")
	fail(e.PaidWithoutInvoice, "paid order(s) without an invoice")
	fail(e.InvoiceGaps, "shop(s) with gaps or duplicates in invoice numbers")
	fail(e.PaidWithoutConfirmation, "paid order(s) without a confirmation")
	fail(e.DuplicateConfirmations, "order(s) confirmed more than once")
	switch {
	case e.AnalyticsUnits > e.SoldUnits:
		fail(e.AnalyticsUnits-e.SoldUnits, "unit(s) counted twice by analytics")
	case e.AnalyticsUnits < e.SoldUnits && e.RecentlyPaid == 0:
		fail(e.SoldUnits-e.AnalyticsUnits, "sold unit(s) missing from analytics")
	}
	return c
}

func checkStock(ctx context.Context, st Store) (Check, error) {
	rows, err := st.AuditStock(ctx)
	if err != nil {
		return Check{}, err
	}
	c := Check{Name: "never oversell", Passed: true}
	bad := 0
	for _, s := range rows {
		var why string
		switch {
		case s.Available < 0 || s.Reserved < 0 || s.Sold < 0:
			why = "a counter is negative"
		case s.Available+s.Reserved+s.Sold != s.Received:
			why = "available + reserved + sold != received"
		case s.Reserved != s.HeldReservations:
			why = fmt.Sprintf("reserved %d != held reservations %d", s.Reserved, s.HeldReservations)
		case s.Sold != s.SoldReservations:
			why = fmt.Sprintf("sold %d != sold reservations %d", s.Sold, s.SoldReservations)
		default:
			continue
		}
		bad++
		if len(c.Breaches) < maxListed {
			c.Breaches = append(c.Breaches, fmt.Sprintf("shop %d SKU %s: %s (received %d, available %d, reserved %d, sold %d)",
				s.ShopID, s.SKU, why, s.Received, s.Available, s.Reserved, s.Sold))
		}
	}
	c.Passed = bad == 0
	c.Summary = fmt.Sprintf("%d SKU(s) checked, %d out of balance", len(rows), bad)
	return c, nil
}

// checkCharges compares orders and the ledger. On a live system both move
// while they are read, so each direction uses the read that cannot race:
// an order paid before the ledger is read has its capture in it (captures
// precede "paid"), and a capture in the ledger has its order committed
// before the second read of orders (orders precede their charge).
func checkCharges(ctx context.Context, st Store, ledger Ledger) (Check, error) {
	before, err := st.AuditOrders(ctx)
	if err != nil {
		return Check{}, err
	}
	c := Check{Name: "never double charge", Passed: true}
	kept := map[string]int{} // captures not refunded, per order
	var captures []Charge
	payments := 0
	for ch, err := range ledger(ctx) {
		if err != nil {
			return Check{}, fmt.Errorf("audit: reading the provider ledger: %w", err)
		}
		payments++
		if ch.Status == "captured" {
			kept[ch.OrderID]++
			captures = append(captures, ch)
		}
	}
	after, err := st.AuditOrders(ctx)
	if err != nil {
		return Check{}, err
	}
	breach := func(format string, args ...any) {
		c.Passed = false
		if len(c.Breaches) < maxListed {
			c.Breaches = append(c.Breaches, fmt.Sprintf(format, args...))
		}
	}
	for _, ch := range captures {
		o, ok := after[ch.OrderID]
		switch {
		case !ok:
			breach("capture %s for unknown order %s", ch.ID, ch.OrderID)
		case o.Status == "pending_payment":
			// Captured, being recorded right now (or by the reconciler soon).
		case o.Status != "paid" && o.Status != "fulfilled":
			breach("capture %s kept for order %s which is %s", ch.ID, ch.OrderID, o.Status)
		case ch.Amount != o.Total:
			breach("capture %s of %d for order %s totalling %d", ch.ID, ch.Amount, ch.OrderID, o.Total)
		}
	}
	paid := 0
	for id, o := range before {
		if o.Status != "paid" && o.Status != "fulfilled" {
			continue
		}
		paid++
		if kept[id] == 0 && after[id].Status != "refunded" {
			breach("order %s is %s but the provider kept no capture", id, o.Status)
		}
	}
	for id, n := range kept {
		if n > 1 {
			breach("order %s has %d captures kept", id, n)
		}
	}
	c.Summary = fmt.Sprintf("%d payment(s) in the ledger, %d paid order(s)", payments, paid)
	return c, nil
}
