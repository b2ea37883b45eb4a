package checkout_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/checkout"
	"github.com/surge-commerce/surge/internal/inventory"
	"github.com/surge-commerce/surge/internal/order"
	pspclient "github.com/surge-commerce/surge/internal/payment/client"
	psp "github.com/surge-commerce/surge/internal/payment/simulator"
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
