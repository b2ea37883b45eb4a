package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/analytics"
	"github.com/surge-commerce/surge/internal/audit"
	"github.com/surge-commerce/surge/internal/catalog"
	"github.com/surge-commerce/surge/internal/checkout"
	"github.com/surge-commerce/surge/internal/customer"
	"github.com/surge-commerce/surge/internal/flashsale"
	"github.com/surge-commerce/surge/internal/invoice"
	"github.com/surge-commerce/surge/internal/notify"
	"github.com/surge-commerce/surge/internal/order"
	"github.com/surge-commerce/surge/internal/recommend"
	"github.com/surge-commerce/surge/internal/store"
	"github.com/surge-commerce/surge/internal/store/storetest"
	"github.com/surge-commerce/surge/internal/worker"
)

// auditRig is a small real system: a shop whose orders went through the
// store's own methods, every event relayed and applied by every consumer,
// and the provider's ledger that matches it.
type auditRig struct {
	s       *store.Store
	shopID  int64
	orders  map[string]order.Order // by role: paid, limited, sale, cancelled, pending, fulfilled
	charges []audit.Charge
	dead    []audit.DeadLetter
}

// auditRespond renders what checkout stores under a key.
func auditRespond(o order.Order) checkout.Response {
	outcome := checkout.OutcomeCreated
	switch o.Status {
	case order.PendingPayment:
		outcome = checkout.OutcomeAccepted
	case order.Cancelled:
		outcome = checkout.OutcomeDeclined
	}
	body, _ := json.Marshal(map[string]any{"order": checkout.ToJSON(o)})
	return checkout.Response{Outcome: outcome, Body: body, OrderID: o.ID}
}

func auditHandlers(s *store.Store) []worker.Handler {
	return []worker.Handler{notify.NewHandler(s, time.Now), invoice.NewHandler(s, time.Now),
		analytics.NewHandler(s, time.Now), recommend.NewHandler(s, time.Now)}
}

func setupAudit(t *testing.T, open storetest.Open) *auditRig {
	t.Helper()
	ctx := t.Context()
	s := open(t)
	now := time.Now()
	sh, err := s.CreateShop(ctx, "audited", "Audited", "audited-key", now)
	if err != nil {
		t.Fatal(err)
	}
	r := &auditRig{s: s, shopID: sh.ID, orders: map[string]order.Order{}}
	for _, p := range []catalog.Product{
		{SKU: "A", Stock: 100}, {SKU: "F", Stock: 10}, {SKU: "L", Stock: 50, PurchaseLimit: 3},
	} {
		p.ShopID, p.Title, p.Price, p.Currency = sh.ID, "Title "+p.SKU, 1999, "EUR"
		if _, _, err := s.PutProduct(ctx, p, now); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Restock(ctx, sh.ID, "A", 5); err != nil {
		t.Fatal(err)
	}
	sale := flashsale.Sale{SKU: "F", Stock: 40, StartsAt: now.Add(-time.Minute), Buckets: 4}
	if err := s.StartSale(ctx, sh.ID, sale, now); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateCustomer(ctx, customer.Customer{ShopID: sh.ID, ID: "cus_1", Email: "c@example.com", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	place := func(role string, placed time.Time, to order.Status, sku string, qty int64) {
		t.Helper()
		o, _, err := s.PlaceOrder(ctx, checkout.Placement{
			ShopID: sh.ID, CustomerID: "cus_1", Key: "key-" + role, Fingerprint: role, OrderID: "ord_" + role,
			Items: []checkout.Item{{SKU: sku, Quantity: qty}}, Now: placed,
			ReservationExpiry: now.Add(time.Hour), LockUntil: placed.Add(time.Minute), KeyExpiry: placed.Add(24 * time.Hour),
		}, auditRespond)
		if err != nil {
			t.Fatalf("%s: %v", role, err)
		}
		pay := audit.Charge{ID: "pay_" + role, OrderID: o.ID, Amount: o.Total, Currency: o.Currency, Status: "authorized"}
		switch to {
		case order.Cancelled:
			o, err = s.CancelOrder(ctx, sh.ID, o.ID, order.ReasonPaymentDeclined, now, auditRespond)
			pay.Status = "declined"
		case order.Paid, order.Fulfilled:
			o, err = s.CompletePayment(ctx, sh.ID, o.ID, pay.ID, now, auditRespond)
			pay.Status = "captured"
			if err == nil && to == order.Fulfilled {
				o, err = s.TransitionOrder(ctx, o.ID, order.Paid, order.Fulfilled, now)
			}
		}
		if err != nil {
			t.Fatalf("%s: %v", role, err)
		}
		r.orders[role], r.charges = o, append(r.charges, pay)
	}
	place("paid", now, order.Paid, "A", 2)
	place("limited", now, order.Paid, "L", 2)
	place("sale", now, order.Paid, "F", 1)
	place("cancelled", now, order.Cancelled, "A", 1)
	place("pending", now.Add(-time.Hour), order.PendingPayment, "A", 2)
	place("fulfilled", now, order.Paid, "A", 1)
	if _, err := s.TransitionOrder(ctx, "ord_fulfilled", order.Paid, order.Fulfilled, now); err != nil {
		t.Fatal(err)
	}

	var pub storetest.Published
	storetest.RelayAll(t, s, pub.Publish)
	for _, e := range pub.Events() {
		for _, h := range auditHandlers(s) {
			if slices.ContainsFunc(h.Subjects(), func(f string) bool { return strings.HasSuffix(f, "."+e.Type) }) {
				if err := h.Handle(ctx, e); err != nil {
					t.Fatalf("%s on %s: %v", h.Name(), e.Type, err)
				}
			}
		}
	}
	return r
}

func (r *auditRig) run(t *testing.T) audit.Report {
	t.Helper()
	consumers := map[string][]string{}
	for _, h := range auditHandlers(r.s) {
		for _, f := range h.Subjects() {
			consumers[h.Name()] = append(consumers[h.Name()], strings.TrimPrefix(f, "surge.*."))
		}
	}
	ledger := func(context.Context) iter.Seq2[audit.Charge, error] { return sliceSeq(r.charges) }
	rep, err := audit.Run(t.Context(), r.s, ledger, audit.Options{
		Grace: 30 * time.Second, ChargeBudget: 10 * time.Second, IdempotencyTTL: 24 * time.Hour, Consumers: consumers,
		DeadLetters: func(context.Context) ([]audit.DeadLetter, error) { return r.dead, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func sliceSeq[T any](items []T) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for _, it := range items {
			if !yield(it, nil) {
				return
			}
		}
	}
}

// exec corrupts the store behind its back.
func (r *auditRig) exec(t *testing.T, query string) {
	t.Helper()
	db := r.s.Pools()["write"]
	if r.s.Engine() == store.Postgres {
		db = r.s.Pools()["primary"]
	}
	res, err := db.ExecContext(t.Context(), query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	if n, _ := res.RowsAffected(); n == 0 && !strings.HasPrefix(query, "DROP") {
		t.Fatalf("%s changed nothing", query)
	}
}

func failed(rep audit.Report) []string {
	var out []string
	for _, c := range rep.Checks {
		if !c.Passed {
			out = append(out, fmt.Sprintf("%s: %s %v", c.Name, c.Summary, c.Breaches))
		}
	}
	return out
}

// TestAuditSeesEachCorruption builds a real system on each engine, sees
// the audit pass, then corrupts one thing and sees exactly the check that
// judges it fail (docs/INVARIANTS.md lists which check judges what).
func TestAuditSeesEachCorruption(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, check string
		corrupt     func(t *testing.T, r *auditRig)
	}{
		{"reserved counter drifts from its reservations", "never oversell", func(t *testing.T, r *auditRig) {
			r.exec(t, `UPDATE inventory SET available = available - 1, reserved = reserved + 1 WHERE sku = 'A'`)
		}},
		{"stock appears from nowhere", "stock created only by the shop", func(t *testing.T, r *auditRig) {
			r.exec(t, `UPDATE inventory SET received = received + 5, available = available + 5 WHERE sku = 'A'`)
		}},
		{"an expired reservation still holds stock", "no expired reservation holds stock", func(t *testing.T, r *auditRig) {
			r.exec(t, `UPDATE reservations SET expires_at = 1 WHERE state = 'held'`)
		}},
		{"a paid order's reservation is held", "reservations follow their order", func(t *testing.T, r *auditRig) {
			// Swapped between two orders of the same units, so the counters
			// still agree.
			r.exec(t, `UPDATE reservations SET state = CASE WHEN state = 'sold' THEN 'held' ELSE 'sold' END
				WHERE order_id IN ('ord_paid', 'ord_pending')`)
		}},
		{"lines do not add up to the total", "order total equals its lines", func(t *testing.T, r *auditRig) {
			r.exec(t, `UPDATE order_lines SET unit_price = unit_price + 1 WHERE order_id = 'ord_pending'`)
		}},
		{"a second capture", "never double charge", func(t *testing.T, r *auditRig) {
			o := r.orders["paid"]
			r.charges = append(r.charges, audit.Charge{ID: "pay_again", OrderID: o.ID, Status: "captured", Amount: o.Total, Currency: o.Currency})
		}},
		{"captured in another currency", "money matches state", func(t *testing.T, r *auditRig) {
			r.exec(t, `UPDATE orders SET currency = 'USD' WHERE order_id = 'ord_fulfilled'`)
		}},
		{"a declined payment for a fulfilled order", "money matches state", func(t *testing.T, r *auditRig) {
			o := r.orders["fulfilled"]
			r.charges = append(r.charges, audit.Charge{ID: "pay_declined", OrderID: o.ID, Status: "declined", Amount: o.Total, Currency: o.Currency})
		}},
		{"a refund owed is never confirmed", "money owed back is refunded", func(t *testing.T, r *auditRig) {
			r.exec(t, `INSERT INTO refunds_owed (payment_ref, order_id, shop_id, amount, currency, reason, created_at, next_attempt_at)
				SELECT 'pay_stray', order_id, shop_id, total, currency, 'cancelled_order', 1, 1 FROM orders WHERE order_id = 'ord_cancelled'`)
		}},
		{"a refund confirmed that the provider kept", "money owed back is refunded", func(t *testing.T, r *auditRig) {
			r.exec(t, `INSERT INTO refunds_owed (payment_ref, order_id, shop_id, amount, currency, reason, created_at, next_attempt_at, confirmed_at)
				SELECT 'pay_paid', order_id, shop_id, total, currency, 'second_capture', 1, 1, 2 FROM orders WHERE order_id = 'ord_paid'`)
		}},
		{"a pending order the provider never saw", "no order waits without a provider record", func(t *testing.T, r *auditRig) {
			r.charges = slices.DeleteFunc(r.charges, func(c audit.Charge) bool { return c.OrderID == "ord_pending" })
		}},
		{"a purchase count drifts", "purchase limits hold", func(t *testing.T, r *auditRig) {
			r.exec(t, `UPDATE purchase_counts SET units = 3 WHERE sku = 'L'`)
		}},
		{"a card's count drifts from its orders", "purchase limits hold", func(t *testing.T, r *auditRig) {
			r.exec(t, `UPDATE orders SET instrument = 'fp_card' WHERE order_id = 'ord_paid'`)
			r.exec(t, `INSERT INTO purchase_counts (shop_id, customer_id, sku, units, limit_seen)
				SELECT shop_id, 'instrument:fp_card', sku, quantity + 1, -1 FROM order_lines WHERE order_id = 'ord_paid'`)
		}},
		{"a customer over the limit", "purchase limits hold", func(t *testing.T, r *auditRig) {
			// Units the limit in force when they were bought did not allow
			// (a shop lowering a limit later is no breach: limit_seen).
			r.exec(t, `UPDATE products SET purchase_limit = 1 WHERE sku = 'L'`)
			r.exec(t, `UPDATE purchase_counts SET limit_seen = 1 WHERE sku = 'L'`)
		}},
		{"a stored response contradicts its order", "stored responses agree with their order", func(t *testing.T, r *auditRig) {
			r.exec(t, `UPDATE idempotency_keys SET response_status = 202 WHERE order_id = 'ord_paid'`)
		}},
		{"two orders under one key", "one order per idempotency key", func(t *testing.T, r *auditRig) {
			r.exec(t, `UPDATE orders SET idempotency_key = 'key-paid' WHERE order_id = 'ord_fulfilled'`)
		}},
		{"an event never applied", "every event published and applied", func(t *testing.T, r *auditRig) {
			r.exec(t, `DELETE FROM consumed_events WHERE consumer = 'recommend'`)
		}},
		{"an event never published", "every event published and applied", func(t *testing.T, r *auditRig) {
			r.exec(t, `UPDATE outbox SET published_at = NULL WHERE event_type = 'order.paid'`)
		}},
		{"an event dead-lettered", "no dead letters", func(t *testing.T, r *auditRig) {
			r.dead = []audit.DeadLetter{{Consumer: "notify", EventID: "evt_1", Error: "smtp refused"}}
		}},
		{"a deleted invoice", "every event applied exactly once", func(t *testing.T, r *auditRig) {
			r.exec(t, `DELETE FROM invoices WHERE invoice_no = (SELECT MAX(invoice_no) FROM invoices)`)
		}},
		{"analytics counts a unit twice", "analytics match sales", func(t *testing.T, r *auditRig) {
			r.exec(t, `UPDATE sales_by_minute SET units = units + 1 WHERE sku = 'A'`)
		}},
		{"a sale forgets a bucket", "flash-sale buckets agree with the sale", func(t *testing.T, r *auditRig) {
			r.exec(t, `UPDATE flash_sales SET buckets = buckets - 1`)
		}},
	}
	for _, engine := range storetest.Engines {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					r := setupAudit(t, engine.Open)
					if rep := r.run(t); !rep.Passed || !rep.Settled {
						t.Fatalf("the clean system fails the audit: %v", failed(rep))
					}
					tc.corrupt(t, r)
					rep := r.run(t)
					got := failed(rep)
					if rep.Passed || len(got) != 1 || !strings.HasPrefix(got[0], tc.check+":") {
						t.Fatalf("after the corruption, failed checks: %q; want only %q", got, tc.check)
					}
				})
			}
		})
	}
}

// TestStockLedgerOpensExistingStock: a store upgraded to the stock ledger
// gets one opening row per SKU, so its audit passes; stock changed after
// the upgrade is in the ledger too.
func TestStockLedgerOpensExistingStock(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()
			r := setupAudit(t, engine.Open)
			// The store as it was before migration 00013.
			r.exec(t, `DROP TABLE stock_ledger`)
			r.exec(t, `DELETE FROM goose_db_version WHERE version_id = 13`)
			if _, err := r.s.Migrate(t.Context()); err != nil {
				t.Fatal(err)
			}
			if rep := r.run(t); !rep.Passed {
				t.Fatalf("the upgraded store fails the audit: %v", failed(rep))
			}
			if _, err := r.s.Restock(t.Context(), r.shopID, "F", 7); err != nil {
				t.Fatal(err)
			}
			if rep := r.run(t); !rep.Passed {
				t.Fatalf("after a restock: %v", failed(rep))
			}
		})
	}
}
