package audit

import (
	"context"
	"errors"
	"iter"
	"strings"
	"testing"
	"time"
)

// counts is a Store that answers crafted figures: the audit's job here is
// judging them; reading them from real stores is tested in internal/store.
type counts struct {
	stock   []StockRow
	expired int
	orders  map[string]OrderRow
	dupKeys int
	events  EventCounts
	err     error
}

func (c *counts) AuditStock(context.Context) ([]StockRow, error) { return c.stock, c.err }
func (c *counts) AuditExpiredHolds(context.Context, time.Time) (int, error) {
	return c.expired, nil
}
func (c *counts) AuditOrders(context.Context) (map[string]OrderRow, error) { return c.orders, nil }
func (c *counts) AuditDuplicateKeys(context.Context) (int, error)          { return c.dupKeys, nil }
func (c *counts) AuditEvents(context.Context, time.Time) (EventCounts, error) {
	return c.events, nil
}

func ledgerOf(charges ...Charge) Ledger {
	return func(context.Context) iter.Seq2[Charge, error] {
		return func(yield func(Charge, error) bool) {
			for _, c := range charges {
				if !yield(c, nil) {
					return
				}
			}
		}
	}
}

// clean is a consistent little system: one paid order with its capture.
func clean() (*counts, []Charge) {
	return &counts{
		stock: []StockRow{{ShopID: 1, SKU: "TEE-1", Received: 10, Available: 7, Reserved: 2, Sold: 1,
			HeldReservations: 2, SoldReservations: 1}},
		orders: map[string]OrderRow{"o1": {ID: "o1", Status: "paid", Total: 1999}, "o2": {ID: "o2", Status: "pending_payment", Total: 500}},
		events: EventCounts{PaidOrders: 1, SoldUnits: 1, AnalyticsUnits: 1},
	}, []Charge{{ID: "pay_1", OrderID: "o1", Status: "captured", Amount: 1999}}
}

func run(t *testing.T, st *counts, charges []Charge) Report {
	t.Helper()
	r, err := Run(context.Background(), st, ledgerOf(charges...), time.Now(), time.Minute)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return r
}

func TestCleanSystemPasses(t *testing.T) {
	st, charges := clean()
	r := run(t, st, charges)
	if !r.Passed || len(r.Checks) != 5 {
		t.Fatalf("clean system: %+v", r)
	}
	for _, c := range r.Checks {
		if !c.Passed || len(c.Breaches) != 0 || c.Summary == "" {
			t.Errorf("check %q: %+v", c.Name, c)
		}
	}
}

// TestEachBreachIsFlagged breaks one thing at a time: the audit must fail,
// on the right check, with a detail that says what is wrong.
func TestEachBreachIsFlagged(t *testing.T) {
	cases := []struct {
		name   string
		breaks func(*counts, *[]Charge)
		check  string
		detail string // in a breach, or in the summary for counted checks
	}{
		{"negative counter", func(c *counts, _ *[]Charge) { c.stock[0].Available, c.stock[0].Sold = -1, 9 }, "never oversell", "a counter is negative"},
		{"oversold", func(c *counts, _ *[]Charge) { c.stock[0].Available = 8 }, "never oversell", "shop 1 SKU TEE-1: available + reserved + sold != received"},
		{"reserved drift", func(c *counts, _ *[]Charge) { c.stock[0].HeldReservations = 3 }, "never oversell", "reserved 2 != held reservations 3"},
		{"sold drift", func(c *counts, _ *[]Charge) { c.stock[0].SoldReservations = 0 }, "never oversell", "sold 1 != sold reservations 0"},
		{"expired hold", func(c *counts, _ *[]Charge) { c.expired = 2 }, "no expired reservation holds stock", "2 reservation(s) expired"},
		{"duplicate key", func(c *counts, _ *[]Charge) { c.dupKeys = 1 }, "one order per idempotency key", "1 key(s) with more than one order"},
		{"double capture", func(_ *counts, ch *[]Charge) {
			*ch = append(*ch, Charge{ID: "pay_2", OrderID: "o1", Status: "captured", Amount: 1999})
		}, "never double charge", "order o1 has 2 captures kept"},
		{"paid without capture", func(_ *counts, ch *[]Charge) { *ch = nil }, "never double charge", "order o1 is paid but the provider kept no capture"},
		{"capture of cancelled order", func(c *counts, ch *[]Charge) {
			c.orders["o3"] = OrderRow{ID: "o3", Status: "cancelled", Total: 100}
			*ch = append(*ch, Charge{ID: "pay_3", OrderID: "o3", Status: "captured", Amount: 100})
		}, "never double charge", "capture pay_3 kept for order o3 which is cancelled"},
		{"capture of unknown order", func(_ *counts, ch *[]Charge) {
			*ch = append(*ch, Charge{ID: "pay_9", OrderID: "o9", Status: "captured", Amount: 1})
		}, "never double charge", "capture pay_9 for unknown order o9"},
		{"wrong amount", func(_ *counts, ch *[]Charge) { (*ch)[0].Amount = 1 }, "never double charge", "capture pay_1 of 1 for order o1 totalling 1999"},
		{"unpublished event", func(c *counts, _ *[]Charge) { c.events.Unpublished = 3 }, "every event applied exactly once", "3 committed event(s) never published"},
		{"missing invoice", func(c *counts, _ *[]Charge) { c.events.PaidWithoutInvoice = 1 }, "every event applied exactly once", "1 paid order(s) without an invoice"},
		{"invoice gap", func(c *counts, _ *[]Charge) { c.events.InvoiceGaps = 1 }, "every event applied exactly once", "1 shop(s) with gaps"},
		{"missing confirmation", func(c *counts, _ *[]Charge) { c.events.PaidWithoutConfirmation = 1 }, "every event applied exactly once", "1 paid order(s) without a confirmation"},
		{"double confirmation", func(c *counts, _ *[]Charge) { c.events.DuplicateConfirmations = 2 }, "every event applied exactly once", "2 order(s) confirmed more than once"},
		{"analytics double count", func(c *counts, _ *[]Charge) { c.events.AnalyticsUnits = 3 }, "every event applied exactly once", "2 unit(s) counted twice by analytics"},
		{"analytics missing units", func(c *counts, _ *[]Charge) { c.events.SoldUnits = 4 }, "every event applied exactly once", "3 sold unit(s) missing from analytics"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, charges := clean()
			tc.breaks(st, &charges)
			r := run(t, st, charges)
			if r.Passed {
				t.Fatalf("audit passed with %s", tc.name)
			}
			for _, c := range r.Checks {
				if c.Name != tc.check {
					if !c.Passed {
						t.Errorf("unrelated check %q failed: %+v", c.Name, c)
					}
					continue
				}
				text := c.Summary + "\n" + strings.Join(c.Breaches, "\n")
				if c.Passed || !strings.Contains(text, tc.detail) {
					t.Fatalf("check %q: passed=%v, %q; want a breach saying %q", c.Name, c.Passed, text, tc.detail)
				}
				return
			}
			t.Fatalf("no check named %q", tc.check)
		})
	}
}

// Work still settling is not a breach: a capture whose order is still
// pending, analytics behind while orders were paid within the grace, and
// a refunded order without a kept capture.
func TestInFlightWorkIsNotABreach(t *testing.T) {
	st, charges := clean()
	charges = append(charges,
		Charge{ID: "pay_2", OrderID: "o2", Status: "captured", Amount: 500},
		Charge{ID: "pay_4", OrderID: "o4", Status: "refunded", Amount: 700})
	st.orders["o4"] = OrderRow{ID: "o4", Status: "refunded", Total: 700}
	st.events.SoldUnits, st.events.RecentlyPaid = 5, 1
	if r := run(t, st, charges); !r.Passed {
		t.Fatalf("audit failed on settling work: %+v", r)
	}
}

func TestBreachListIsBoundedButCountExact(t *testing.T) {
	st, charges := clean()
	st.stock = nil
	for i := range maxListed + 5 {
		st.stock = append(st.stock, StockRow{ShopID: 1, SKU: "S" + string(rune('a'+i)), Received: 1})
	}
	r := run(t, st, charges)
	c := r.Checks[0]
	if c.Passed || len(c.Breaches) != maxListed || !strings.Contains(c.Summary, "25 out of balance") {
		t.Fatalf("stock check: %d breaches listed, summary %q", len(c.Breaches), c.Summary)
	}
}

func TestErrorsAreReturned(t *testing.T) {
	st, charges := clean()
	st.err = errors.New("db down")
	if _, err := Run(context.Background(), st, ledgerOf(charges...), time.Now(), time.Minute); err == nil {
		t.Fatal("a store error was not returned")
	}
	st.err = nil
	bad := func(context.Context) iter.Seq2[Charge, error] {
		return func(yield func(Charge, error) bool) { yield(Charge{}, errors.New("provider down")) }
	}
	if _, err := Run(context.Background(), st, bad, time.Now(), time.Minute); err == nil || !strings.Contains(err.Error(), "provider ledger") {
		t.Fatalf("a ledger error: %v", err)
	}
}
