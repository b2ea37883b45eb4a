package checkout_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/catalog"
	"github.com/surge-commerce/surge/internal/checkout"
	"github.com/surge-commerce/surge/internal/inventory"
	"github.com/surge-commerce/surge/internal/order"
	"github.com/surge-commerce/surge/internal/psp"
	"github.com/surge-commerce/surge/internal/pspclient"
	"github.com/surge-commerce/surge/internal/store"
	"github.com/surge-commerce/surge/internal/store/storetest"
)

// clock is a wall clock that tests move forward.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// logBuffer collects a service's log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// money is a store, a shop selling SKU "A", and a real provider simulator.
type money struct {
	st    *store.Store
	sl    *storetest.Seller
	sim   *psp.Server
	pay   pspclient.Payments
	clock *clock
	logs  *logBuffer
}

func setupMoney(t *testing.T, open storetest.Open) *money {
	t.Helper()
	st := open(t)
	sim, err := psp.NewServer(psp.Config{DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := sim.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Stop)
	// Generous budgets and short backoffs: the machine may be loaded.
	c := pspclient.New(pspclient.Config{BaseURL: sim.URL(), AttemptTimeout: 10 * time.Second, TotalTimeout: 20 * time.Second,
		BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond})
	return &money{st: st, sl: storetest.NewSeller(t, st, "money", "A"), sim: sim, pay: pspclient.Payments{Client: c},
		clock: &clock{}, logs: &logBuffer{}}
}

// service returns a checkout service as one process would run it; several
// may share the store, as replicas do.
func (m *money) service(cfg checkout.Config, pay checkout.Payments) *checkout.Service {
	if pay == nil {
		pay = m.pay
	}
	return checkout.NewService(m.st, nil, pay, admitAll{}, cfg, m.clock.now, slog.New(slog.NewTextHandler(m.logs, nil)))
}

// capture makes the provider hold a captured payment naming orderID, as
// if someone had charged it outside checkout, under the given
// idempotency key.
func (m *money) capture(t *testing.T, key, orderID string, amount int64, currency string) psp.Payment {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"merchant_reference": orderID, "amount": amount, "currency": currency, "capture": true})
	req, _ := http.NewRequest(http.MethodPost, m.sim.URL()+"/v1/payments", bytes.NewReader(body))
	req.Header.Set("Idempotency-Key", key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p psp.Payment
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil || resp.StatusCode != http.StatusCreated || p.Status != psp.StatusCaptured {
		t.Fatalf("capture at the provider: %d %+v %v", resp.StatusCode, p, err)
	}
	return p
}

// payment returns the provider's record of a payment, from its ledger,
// which no fault knob touches.
func (m *money) payment(t *testing.T, id string) psp.Payment {
	t.Helper()
	resp, err := http.Get(m.sim.URL() + "/v1/ledger")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct{ Data []psp.Payment }
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		t.Fatal(err)
	}
	for _, p := range page.Data {
		if p.ID == id {
			return p
		}
	}
	t.Fatalf("the provider has no payment %q", id)
	return psp.Payment{}
}

func (m *money) level(t *testing.T) inventory.Level {
	t.Helper()
	l, err := m.st.Level(context.Background(), m.sl.ShopID, "A")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func (m *money) order(t *testing.T, id string) order.Order {
	t.Helper()
	o, err := m.st.Order(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// reconcileUntil runs reconciliation rounds, a minute of the clock apart,
// until done reports true; it fails the test after many rounds.
func (m *money) reconcileUntil(t *testing.T, svc *checkout.Service, what string, done func() bool) {
	t.Helper()
	for range 50 {
		if done() {
			return
		}
		m.clock.advance(time.Minute)
		if _, err := svc.Reconcile(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if !done() {
		t.Fatalf("after 50 reconciliation rounds, still not %s", what)
	}
}

func forEngines(t *testing.T, test func(t *testing.T, open storetest.Open)) {
	for _, e := range storetest.Engines {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			test(t, e.Open)
		})
	}
}

// gatedPayments holds every charge until the test releases it.
type gatedPayments struct {
	checkout.Payments
	charging chan string
	release  chan struct{}
}

func (g gatedPayments) Charge(ctx context.Context, orderID string, amount int64, currency string) checkout.Payment {
	g.charging <- orderID
	<-g.release
	return g.Payments.Charge(ctx, orderID, amount, currency)
}

// A reservation shorter than a charge: the sweeper of another replica,
// which does not know the charge is in flight, must not cancel the order
// while it may still be paid (docs/INVARIANTS.md, I9).
func TestSweeperLeavesAChargeInFlight(t *testing.T) {
	forEngines(t, func(t *testing.T, open storetest.Open) {
		m := setupMoney(t, open)
		cfg := checkout.Config{ReservationTTL: time.Second, ChargeBudget: 30 * time.Second}
		gate := gatedPayments{Payments: m.pay, charging: make(chan string), release: make(chan struct{})}
		buyer := m.service(cfg, gate)
		sweeper := m.service(cfg, nil)

		placed := make(chan checkout.Response, 1)
		go func() {
			resp, err := buyer.Checkout(context.Background(), checkout.Request{ShopID: m.sl.ShopID, CustomerID: m.sl.Customer,
				Key: "k1", Items: []checkout.Item{{SKU: "A", Quantity: 1}}})
			if err != nil {
				t.Error(err)
			}
			placed <- resp
		}()
		id := <-gate.charging

		m.clock.advance(10 * time.Second) // the reservation expired; the charge budget has not passed
		if _, err := sweeper.Reconcile(context.Background()); err != nil {
			t.Fatal(err)
		}
		if o := m.order(t, id); o.Status != order.PendingPayment {
			t.Fatalf("the sweeper moved an order whose charge is in flight to %s", o.Status)
		}
		close(gate.release)
		if resp := <-placed; resp.Status != checkout.StatusPaid {
			t.Fatalf("checkout answered %d, want %d", resp.Status, checkout.StatusPaid)
		}
		m.clock.advance(time.Hour)
		if _, err := sweeper.Reconcile(context.Background()); err != nil {
			t.Fatal(err)
		}
		o := m.order(t, id)
		if o.Status != order.Paid || m.payment(t, o.PaymentRef).Status != psp.StatusCaptured {
			t.Fatalf("order %s with payment %+v; want paid and captured", o.Status, m.payment(t, o.PaymentRef))
		}
		if l := m.level(t); l.Sold != 1 || l.Reserved != 0 {
			t.Fatalf("stock %+v, want one sold", l)
		}
	})
}

// Money that arrives for a cancelled order is refunded; a refund the
// provider fails is retried, by whichever process runs next, until the
// provider confirms it (docs/INVARIANTS.md, I9).
func TestFailedRefundIsRetriedUntilConfirmed(t *testing.T) {
	forEngines(t, func(t *testing.T, open storetest.Open) {
		m := setupMoney(t, open)
		o := m.sl.Order(t, order.Cancelled, "A")
		p := m.capture(t, o.ID, o.ID, o.Total, o.Currency)

		if err := m.sim.SetFaults(psp.Faults{ErrorRate: 1}); err != nil {
			t.Fatal(err)
		}
		first := m.service(checkout.Config{}, nil)
		err := first.ApplyProviderEvent(context.Background(), o.ID, checkout.Payment{Outcome: checkout.PaymentPaid, Ref: p.ID, Amount: p.Amount, Currency: p.Currency})
		t.Logf("webhook while the provider fails: %v", err)
		if got := m.payment(t, p.ID).Status; got != psp.StatusCaptured {
			t.Fatalf("payment %s while the provider fails", got)
		}
		owed, err := m.st.OwedRefunds(context.Background())
		if err != nil || len(owed) != 1 || owed[0].PaymentRef != p.ID || owed[0].Attempts != 1 || owed[0].LastError == "" ||
			owed[0].Reason != checkout.RefundCancelledOrder || owed[0].Amount != o.Total {
			t.Fatalf("owed refunds %+v, %v; want %s owed after one failed attempt", owed, err, p.ID)
		}

		// Another process, after a restart, finishes it.
		if err := m.sim.SetFaults(psp.Faults{}); err != nil {
			t.Fatal(err)
		}
		next := m.service(checkout.Config{}, nil)
		m.reconcileUntil(t, next, "refunded", func() bool { return m.payment(t, p.ID).Status == psp.StatusRefunded })
		if got := m.order(t, o.ID); got.Status != order.Cancelled {
			t.Fatalf("order %s, want cancelled", got.Status)
		}
		wantConfirmed(t, m, o.ID, p.ID)
	})
}

// wantConfirmed checks that nothing is owed any more and that the order's
// one refund, of ref, is confirmed.
func wantConfirmed(t *testing.T, m *money, orderID, ref string) {
	t.Helper()
	if owed, err := m.st.OwedRefunds(context.Background()); err != nil || len(owed) != 0 {
		t.Fatalf("still owed: %+v, %v", owed, err)
	}
	rs, err := m.st.Refunds(context.Background(), orderID)
	if err != nil || len(rs) != 1 || rs[0].PaymentRef != ref || rs[0].ConfirmedAt.IsZero() {
		t.Fatalf("refunds of %s: %+v, %v; want %s confirmed", orderID, rs, err, ref)
	}
}

// A capture of another amount or currency than the order's never pays it,
// whichever path brings it: it is refunded and the order cancelled
// (docs/INVARIANTS.md, I9).
func TestMismatchedCaptureNeverPays(t *testing.T) {
	wrong := []struct {
		name     string
		amount   int64
		currency string
	}{
		{"amount", 1, "EUR"},
		{"currency", storetest.SellerPrice, "USD"},
	}
	paths := []struct {
		name string
		// settle brings the wrong capture to checkout and returns the
		// order it is about.
		settle func(t *testing.T, m *money, amount int64, currency string) (orderID, paymentID string)
	}{
		{"checkout", mismatchAtCheckout},
		{"reconciler", mismatchAtReconcile},
		{"webhook", mismatchAtWebhook},
	}
	forEngines(t, func(t *testing.T, open storetest.Open) {
		for _, w := range wrong {
			for _, path := range paths {
				t.Run(w.name+"/"+path.name, func(t *testing.T) {
					m := setupMoney(t, open)
					id, ref := path.settle(t, m, w.amount, w.currency)
					m.reconcileUntil(t, m.service(checkout.Config{}, nil), "refunded",
						func() bool { return m.payment(t, ref).Status == psp.StatusRefunded })
					if o := m.order(t, id); o.Status != order.Cancelled || o.CancelReason != order.ReasonPaymentMismatch {
						t.Fatalf("order %s (%s), want cancelled for %s", o.Status, o.CancelReason, order.ReasonPaymentMismatch)
					}
					if l := m.level(t); l.Sold != 0 || l.Reserved != 0 {
						t.Fatalf("stock %+v: the wrong capture sold it", l)
					}
					wantConfirmed(t, m, id, ref)
					if !strings.Contains(m.logs.String(), "does not match its order") {
						t.Fatalf("no warning logged:\n%s", m.logs.String())
					}
				})
			}
		}
	})
}

// wrongKey charges the order under its own id, the key checkout uses.
type wrongKey struct {
	checkout.Payments
	t        *testing.T
	m        *money
	amount   int64
	currency string
	ref      *string
}

func (w wrongKey) Charge(ctx context.Context, orderID string, amount int64, currency string) checkout.Payment {
	*w.ref = w.m.capture(w.t, orderID, orderID, w.amount, w.currency).ID
	return w.Payments.Charge(ctx, orderID, amount, currency)
}

func mismatchAtCheckout(t *testing.T, m *money, amount int64, currency string) (string, string) {
	var ref string
	svc := m.service(checkout.Config{}, wrongKey{Payments: m.pay, t: t, m: m, amount: amount, currency: currency, ref: &ref})
	resp, err := svc.Checkout(context.Background(), checkout.Request{ShopID: m.sl.ShopID, CustomerID: m.sl.Customer,
		Key: "k1", Items: []checkout.Item{{SKU: "A", Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status == checkout.StatusPaid {
		t.Fatalf("checkout answered %d for a capture of %d %s", resp.Status, amount, currency)
	}
	return resp.OrderID, ref
}

func mismatchAtReconcile(t *testing.T, m *money, amount int64, currency string) (string, string) {
	o := m.sl.Order(t, order.PendingPayment, "A")
	p := m.capture(t, "other-key", o.ID, amount, currency)
	return o.ID, p.ID
}

func mismatchAtWebhook(t *testing.T, m *money, amount int64, currency string) (string, string) {
	o := m.sl.Order(t, order.PendingPayment, "A")
	p := m.capture(t, "other-key", o.ID, amount, currency)
	err := m.service(checkout.Config{}, nil).ApplyProviderEvent(context.Background(), o.ID,
		checkout.Payment{Outcome: checkout.PaymentPaid, Ref: p.ID, Amount: p.Amount, Currency: p.Currency})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.order(t, o.ID); got.Status == order.Paid {
		t.Fatalf("the webhook paid the order with %d %s", amount, currency)
	}
	return o.ID, p.ID
}

// A definite refusal from the provider cancels the order and releases its
// stock at once, rather than holding them until the reservation expires.
func TestProviderRefusalCancelsAtOnce(t *testing.T) {
	forEngines(t, func(t *testing.T, open storetest.Open) {
		m := setupMoney(t, open)
		// More than the provider accepts in one payment: it answers 400.
		p := catalog.Product{ShopID: m.sl.ShopID, SKU: "BIG", Title: "Big", Price: 2_000_000_000_000, Currency: "EUR", Stock: 10}
		if _, _, err := m.st.PutProduct(context.Background(), p, time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := m.service(checkout.Config{}, nil).Checkout(context.Background(), checkout.Request{ShopID: m.sl.ShopID,
			CustomerID: m.sl.Customer, Key: "k1", Items: []checkout.Item{{SKU: "BIG", Quantity: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status != checkout.StatusDeclined {
			t.Fatalf("checkout answered %d, want %d", resp.Status, checkout.StatusDeclined)
		}
		if o := m.order(t, resp.OrderID); o.Status != order.Cancelled {
			t.Fatalf("order %s, want cancelled", o.Status)
		}
		l, err := m.st.Level(context.Background(), m.sl.ShopID, "BIG")
		if err != nil || l.Available != 10 || l.Reserved != 0 {
			t.Fatalf("stock %+v, %v: want all 10 back on sale", l, err)
		}
	})
}

// The ledger sweep refunds every capture no paid order keeps — a second
// capture of a paid order, a capture for a cancelled order that nothing
// reported — and leaves alone the kept ones, those of pending orders and
// those of orders it does not know (docs/INVARIANTS.md, I2).
func TestLedgerSweepRefundsStrayCaptures(t *testing.T) {
	forEngines(t, func(t *testing.T, open storetest.Open) {
		m := setupMoney(t, open)
		svc := m.service(checkout.Config{}, nil)
		resp, err := svc.Checkout(context.Background(), checkout.Request{ShopID: m.sl.ShopID, CustomerID: m.sl.Customer,
			Key: "k1", Items: []checkout.Item{{SKU: "A", Quantity: 1}}})
		if err != nil || resp.Status != checkout.StatusPaid {
			t.Fatalf("checkout: %d, %v", resp.Status, err)
		}
		paid := m.order(t, resp.OrderID)
		second := m.capture(t, "second", paid.ID, paid.Total, paid.Currency)
		cancelled := m.sl.Order(t, order.Cancelled, "A")
		late := m.capture(t, cancelled.ID, cancelled.ID, cancelled.Total, cancelled.Currency)
		pending := m.sl.Order(t, order.PendingPayment, "A")
		inFlight := m.capture(t, pending.ID, pending.ID, pending.Total, pending.Currency)
		elsewhere := m.capture(t, "elsewhere", "ord_of_another_system", 500, "EUR")

		for round, want := range []int{2, 0} {
			n, err := svc.SweepLedger(context.Background(), m.pay)
			if err != nil || n != want {
				t.Fatalf("sweep %d: %d refunds, %v; want %d", round, n, err, want)
			}
		}
		for _, c := range []struct {
			id, want string
		}{
			{paid.PaymentRef, psp.StatusCaptured}, {second.ID, psp.StatusRefunded}, {late.ID, psp.StatusRefunded},
			{inFlight.ID, psp.StatusCaptured}, {elsewhere.ID, psp.StatusCaptured},
		} {
			if got := m.payment(t, c.id).Status; got != c.want {
				t.Errorf("payment %s is %s, want %s", c.id, got, c.want)
			}
		}
		wantConfirmed(t, m, paid.ID, second.ID)
		wantConfirmed(t, m, cancelled.ID, late.ID)
		if o := m.order(t, paid.ID); o.Status != order.Paid {
			t.Fatalf("the paid order is %s", o.Status)
		}
	})
}
