package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/surge-commerce/surge/internal/testrig"
)

// TestEvWorkerKilledMidBatch runs the roles apart on PostgreSQL and a
// standalone nats-server: an api+relay replica takes the orders, a worker
// replica is SIGKILLed while it works through the backlog, and its
// replacement gets the unacknowledged events redelivered and applies each
// effect once.
func TestEvWorkerKilledMidBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	nt := testrig.StartNATS(t)
	dbURL := testrig.PostgresURL(t)
	env := func() map[string]string {
		return map[string]string{"SURGE_DATABASE_URL": dbURL, "SURGE_NATS_URL": nt.URL(), "SURGE_RATE_LIMITS": "off"}
	}
	api := startProcess(t, env(), "--roles", "api,relay,sweeper")
	sh := evNewShop(t, api.URL, api.AdminKey, "evworker")
	const orders = 150
	evPaid(t, sh, "backlog", orders)
	st := evOpenStore(t, "", dbURL)
	js := evConnect(t, nt.URL(), "")
	testrig.Eventually(t, "the backlog to be relayed", func() bool { return evStreamMsgs(t, js, "ORDERS") == 2*orders })

	w := startProcess(t, env(), "--roles", "worker")
	testrig.Eventually(t, "the worker to start applying", func() bool {
		return evCount(t, st, `SELECT COUNT(*) FROM consumed_events`) > 0
	})
	w.Kill(t)
	at := evCountEffects(t, st)
	inFlight := evAckPending(t, js)
	t.Logf("killed the worker with %d invoices of %d issued, %d deliveries unacknowledged", at.Invoices, orders, inFlight)
	if at.settled() {
		t.Fatal("the worker finished the whole backlog before it was killed; nothing was left to redeliver")
	}

	w = startProcess(t, env(), "--roles", "worker")
	testrig.Eventually(t, "the backlog to be applied", func() bool { return evCountEffects(t, st).settled() })
	e := evCountEffects(t, st)
	if e.Paid != orders {
		t.Fatalf("%d paid orders, want %d", e.Paid, orders)
	}
	evAssertOnce(t, e)
	if inFlight > 0 {
		// What the killed worker held was delivered again, not lost.
		testrig.Eventually(t, "redeliveries to be counted", func() bool {
			return metric(t, w.URL, "surge_consumer_redeliveries_total") > 0
		})
	}
	requireAudit(t, api.URL, api.AdminKey)
}

// TestEvSurgeKilledUnderLoad SIGKILLs the all-in-one Surge (embedded SQLite
// and NATS) while checkouts are being placed and relayed, and restarts it
// on the same data: every acknowledged order is there, the restart
// re-publishes the recent outbox into the broker without duplicating a
// single event, and every effect is applied once.
func TestEvSurgeKilledUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	env := func() map[string]string {
		return map[string]string{"SURGE_DATA": dir, "SURGE_RATE_LIMITS": "off",
			"SURGE_CHARGE_BUDGET": "2s", "SURGE_RECONCILE_INTERVAL": "200ms"}
	}
	p := startProcess(t, env())
	sh := evNewShop(t, p.URL, p.AdminKey, "evkill")

	var acked sync.Map // order id → key, for 201 answers
	var ok atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	c := &client{http: &http.Client{Timeout: 10 * time.Second}}
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				code, id, err := evTryCheckout(c, sh, fmt.Sprintf("load-%d-%d", g, i))
				if err != nil {
					return // the server is gone
				}
				if code == http.StatusCreated {
					acked.Store(id, true)
					ok.Add(1)
				}
			}
		})
	}
	testrig.Eventually(t, "checkouts under load", func() bool { return ok.Load() >= 60 })
	p.Kill(t)
	close(stop)
	wg.Wait()

	p = startProcess(t, env())
	if !strings.Contains(p.Stdout.String(), "re-publishing recent events") {
		t.Fatalf("the embedded broker's unclean start went unnoticed:\n%s", p.Stdout)
	}
	st := evOpenStore(t, dir, "")
	js := evConnect(t, "", dir)
	testrig.Eventually(t, "every effect after the restart", func() bool { return evCountEffects(t, st).settled() })
	e := evCountEffects(t, st)
	n := 0
	acked.Range(func(id, _ any) bool {
		n++
		if c := evCount(t, st, `SELECT COUNT(*) FROM invoices WHERE order_id = '`+id.(string)+`'`); c != 1 {
			t.Errorf("acknowledged order %s has %d invoices, want 1", id, c)
		}
		return true
	})
	if int64(n) > e.Paid {
		t.Fatalf("%d orders acknowledged as paid, only %d paid after the restart", n, e.Paid)
	}
	t.Logf("%d orders acknowledged before the kill, %d paid after the restart, %d events", n, e.Paid, e.Outbox)
	evAssertOnce(t, e)
	if got := evStreamMsgs(t, js, "ORDERS"); got != uint64(e.Outbox) {
		t.Fatalf("ORDERS holds %d events, the outbox %d: the re-publish after the crash duplicated or lost events", got, e.Outbox)
	}
	requireAudit(t, p.URL, p.AdminKey)
}

// evAckPending sums the events delivered to the consumers and not yet
// acknowledged.
func evAckPending(t testing.TB, js jetstream.JetStream) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n := 0
	for _, name := range []string{"notify", "invoice", "analytics", "recommend"} {
		c, err := js.Consumer(ctx, "ORDERS", name)
		if err != nil {
			t.Fatalf("consumer %s: %v", name, err)
		}
		info, err := c.Info(ctx)
		if err != nil {
			t.Fatalf("consumer %s: %v", name, err)
		}
		n += info.NumAckPending
	}
	return n
}

// evTryCheckout is a checkout for goroutines other than the test's, which
// must not call t.Fatal.
func evTryCheckout(c *client, sh evShop, key string) (int, string, error) {
	r := c.call("POST", sh.url("/checkout"), sh.token, `{"items":[{"sku":"EVT","quantity":1}]}`, "Idempotency-Key", key)
	if r.err != nil {
		return 0, "", r.err
	}
	id := ""
	if m := evOrderID.FindStringSubmatch(r.body); m != nil {
		id = m[1]
	}
	return r.code, id, nil
}
