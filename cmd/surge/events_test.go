package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/surge-commerce/surge/internal/app"
	"github.com/surge-commerce/surge/internal/store"
)

// evShop is a shop selling one product with plenty of stock, and a
// customer (token) who buys it.
type evShop struct {
	shop
	token string
}

func evNewShop(t testing.TB, url, adminKey, slug string) evShop {
	t.Helper()
	sh := evShop{shop: newShop(t, url, adminKey, slug)}
	code, _, body := do(t, "PUT", sh.url("/admin/products/EVT"), sh.key,
		`{"title":"Event tee","price":1500,"currency":"EUR","stock":100000}`)
	if code != http.StatusCreated {
		t.Fatalf("put product: %d %s", code, body)
	}
	sh.token = sh.customer(t)
	return sh
}

var evOrderID = regexp.MustCompile(`"id":"([^"]+)"`)

// checkout buys one unit and returns the status and the order id. Like a
// real client it retries under the same Idempotency-Key while Surge sheds
// load (503, 429) or the first attempt is still running (409): these tests
// share two cores with others, and what they check is the order's fate.
func (sh evShop) checkout(t testing.TB, key string) (int, string) {
	t.Helper()
	var code int
	var body string
	for range 30 {
		code, _, body = do(t, "POST", sh.url("/checkout"), sh.token,
			`{"items":[{"sku":"EVT","quantity":1}]}`, "Idempotency-Key", key)
		if code != http.StatusServiceUnavailable && code != http.StatusTooManyRequests && code != http.StatusConflict {
			break
		}
		time.Sleep(200 * time.Millisecond) // a client's retry pause
	}
	id := ""
	if m := evOrderID.FindStringSubmatch(body); m != nil {
		id = m[1]
	}
	return code, id
}

// evPaid places n checkouts that must all answer 201 (paid) and returns
// the order ids.
func evPaid(t testing.TB, sh evShop, prefix string, n int) []string {
	t.Helper()
	ids := make([]string, 0, n)
	for i := range n {
		code, id := sh.checkout(t, fmt.Sprintf("%s-%d", prefix, i))
		if code != http.StatusCreated || id == "" {
			t.Fatalf("checkout %s-%d: %d", prefix, i, code)
		}
		ids = append(ids, id)
	}
	return ids
}

// evOpenStore opens the store a running Surge uses (its SQLite file under
// dataDir, or dbURL), so tests can count rows exactly.
func evOpenStore(t testing.TB, dataDir, dbURL string) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, store.Config{DataDir: dataDir, DatabaseURL: dbURL, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// evDB returns a pool that can write (DDL included), on either engine.
func evDB(st *store.Store) *sql.DB {
	if db, ok := st.Pools()["write"]; ok {
		return db
	}
	return st.Pools()["primary"]
}

func evCount(t testing.TB, st *store.Store, query string) int64 {
	t.Helper()
	var n int64
	if err := evDB(st).QueryRow(query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// evEffects are the rows behind invariant 5, counted exactly.
type evEffects struct {
	Outbox, Unpublished, PaidEvents                          int64
	Paid, Pending                                            int64
	Invoices, InvoicedOrders, MaxInvoiceNo                   int64
	Confirmations, ConfirmedOrders                           int64
	SoldUnits, AnalyticsUnits                                int64
	ConsumedNotify, ConsumedInvoice, ConsumedAnalytics, Recs int64
}

func evCountEffects(t testing.TB, st *store.Store) evEffects {
	t.Helper()
	paid := `status IN ('paid', 'fulfilled', 'refunded')`
	q := func(query string) int64 { return evCount(t, st, query) }
	return evEffects{
		Outbox:            q(`SELECT COUNT(*) FROM outbox`),
		Unpublished:       q(`SELECT COUNT(*) FROM outbox WHERE published_at IS NULL`),
		PaidEvents:        q(`SELECT COUNT(*) FROM outbox WHERE event_type = 'order.paid'`),
		Paid:              q(`SELECT COUNT(*) FROM orders WHERE ` + paid),
		Pending:           q(`SELECT COUNT(*) FROM orders WHERE status = 'pending_payment'`),
		Invoices:          q(`SELECT COUNT(*) FROM invoices`),
		InvoicedOrders:    q(`SELECT COUNT(DISTINCT order_id) FROM invoices`),
		MaxInvoiceNo:      q(`SELECT COALESCE(MAX(invoice_no), 0) FROM invoices`),
		Confirmations:     q(`SELECT COUNT(*) FROM notifications WHERE kind = 'order.paid'`),
		ConfirmedOrders:   q(`SELECT COUNT(DISTINCT order_id) FROM notifications WHERE kind = 'order.paid'`),
		SoldUnits:         q(`SELECT COALESCE(SUM(l.quantity), 0) FROM order_lines l JOIN orders o ON o.order_id = l.order_id WHERE o.` + paid),
		AnalyticsUnits:    q(`SELECT COALESCE(SUM(units), 0) FROM sales_by_minute`),
		ConsumedNotify:    q(`SELECT COUNT(*) FROM consumed_events WHERE consumer = 'notify'`),
		ConsumedInvoice:   q(`SELECT COUNT(*) FROM consumed_events WHERE consumer = 'invoice'`),
		ConsumedAnalytics: q(`SELECT COUNT(*) FROM consumed_events WHERE consumer = 'analytics'`),
		Recs:              q(`SELECT COUNT(*) FROM consumed_events WHERE consumer = 'recommend'`),
	}
}

// settled reports whether every paid order has gone through every consumer.
func (e evEffects) settled() bool {
	return e.Unpublished == 0 && e.Pending == 0 && e.Invoices == e.Paid && e.Confirmations == e.Paid &&
		e.AnalyticsUnits == e.SoldUnits && e.Recs == e.PaidEvents
}

// evAssertOnce checks that each paid order has exactly one invoice, one
// confirmation and its units counted once, with invoice numbers 1..n.
func evAssertOnce(t testing.TB, e evEffects) {
	t.Helper()
	if e.Paid == 0 || e.PaidEvents != e.Paid {
		t.Errorf("%d paid orders but %d order.paid events in the outbox", e.Paid, e.PaidEvents)
	}
	if e.Invoices != e.Paid || e.InvoicedOrders != e.Paid || e.MaxInvoiceNo != e.Paid {
		t.Errorf("invoices: %d for %d orders, highest number %d; want one per paid order (%d), numbered 1..%d",
			e.Invoices, e.InvoicedOrders, e.MaxInvoiceNo, e.Paid, e.Paid)
	}
	if e.Confirmations != e.Paid || e.ConfirmedOrders != e.Paid {
		t.Errorf("confirmations: %d for %d orders; want one per paid order (%d)", e.Confirmations, e.ConfirmedOrders, e.Paid)
	}
	if e.AnalyticsUnits != e.SoldUnits {
		t.Errorf("analytics counted %d units, %d were sold", e.AnalyticsUnits, e.SoldUnits)
	}
	if e.ConsumedInvoice != e.PaidEvents || e.ConsumedAnalytics != e.PaidEvents || e.Recs != e.PaidEvents {
		t.Errorf("consumed: invoice %d, analytics %d, recommend %d; want %d each", e.ConsumedInvoice, e.ConsumedAnalytics, e.Recs, e.PaidEvents)
	}
	if e.Unpublished != 0 {
		t.Errorf("%d outbox events never published", e.Unpublished)
	}
}

// evConnect connects to NATS at url (or, when url is empty, to the embedded
// broker of the Surge running on dataDir).
func evConnect(t testing.TB, url, dataDir string) jetstream.JetStream {
	t.Helper()
	if url == "" {
		b, err := os.ReadFile(app.NATSURLFile(dataDir))
		if err != nil {
			t.Fatal(err)
		}
		url = strings.TrimSpace(string(b))
	}
	nc, err := nats.Connect(url, nats.Timeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func evStreamMsgs(t testing.TB, js jetstream.JetStream, name string) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, name)
	if err != nil {
		t.Fatalf("stream %s: %v", name, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatalf("stream %s: %v", name, err)
	}
	return info.State.Msgs
}

// TestEvStatusBrokerUnreachable: `surge events status` fails when there is
// no broker to ask, whether named by URL or expected under the data dir.
func TestEvStatusBrokerUnreachable(t *testing.T) {
	t.Parallel()
	out, err := cli(t, map[string]string{"SURGE_DATA": t.TempDir()}, "events", "status")
	if err == nil {
		t.Fatalf("status without any broker succeeded:\n%s", out)
	}
	// A port nothing listens on: the listener is closed before the call.
	ln, lerr := evListenClosed()
	if lerr != nil {
		t.Fatal(lerr)
	}
	out, err = cli(t, map[string]string{"SURGE_DATA": t.TempDir(), "SURGE_NATS_URL": "nats://" + ln}, "events", "status")
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("status with a dead broker URL: %v\n%s", err, out)
	}
	var buf bytes.Buffer
	if err := run(context.Background(), []string{"events"}, func(string) string { return "" }, &buf, &buf); err == nil {
		t.Fatal("events without a subcommand succeeded")
	}
}
