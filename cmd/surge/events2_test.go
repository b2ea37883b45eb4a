package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/surge-commerce/surge/internal/analytics"
	"github.com/surge-commerce/surge/internal/invoice"
	"github.com/surge-commerce/surge/internal/notify"
	"github.com/surge-commerce/surge/internal/recommend"
	"github.com/surge-commerce/surge/internal/testrig"
	"github.com/surge-commerce/surge/internal/worker"
)

// evMetric sums a metric's samples (all label sets) from /metrics.
func evMetric(t testing.TB, url, name string) float64 {
	t.Helper()
	_, _, body := do(t, "GET", url+"/metrics", "", "")
	sum := 0.0
	for line := range strings.SplitSeq(body, "\n") {
		if !strings.HasPrefix(line, name+" ") && !strings.HasPrefix(line, name+"{") {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		sum += v
	}
	return sum
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

// TestEvBrokerDownDuringCheckouts stops the standalone nats-server for 30 s
// while customers keep buying: every checkout succeeds (the outbox buffers),
// `surge events status` fails, the outbox lag shows, and after the broker is
// back the backlog drains with every effect applied once.
func TestEvBrokerDownDuringCheckouts(t *testing.T) {
	if testing.Short() {
		t.Skip("30 s broker outage")
	}
	t.Parallel()
	nt := testrig.StartNATS(t)
	dir := t.TempDir()
	env := map[string]string{"SURGE_DATA": dir, "SURGE_NATS_URL": nt.URL(), "SURGE_RATE_LIMITS": "off"}
	s := startSurge(t, env)
	sh := evNewShop(t, s.URL, s.AdminKey, "evbroker")
	st := evOpenStore(t, dir, "")
	evPaid(t, sh, "before", 5)
	testrig.Eventually(t, "the first orders' effects", func() bool { return evCountEffects(t, st).settled() })

	nt.Stop()
	out, err := evCLI(env, "events", "status")
	if err == nil {
		t.Fatalf("events status with the broker down succeeded:\n%s", out)
	}
	// Checkouts at a steady pace for the length of the outage; none may fail.
	outage := time.Now().Add(30 * time.Second)
	pace := time.NewTicker(100 * time.Millisecond)
	defer pace.Stop()
	during := 0
	for time.Now().Before(outage) {
		code, _ := sh.checkout(t, fmt.Sprintf("during-%d", during))
		if code != http.StatusCreated {
			t.Fatalf("checkout %d with the broker down: %d, want 201", during, code)
		}
		during++
		<-pace.C
	}
	if lag := evMetric(t, s.URL, "surge_outbox_lag_seconds"); lag <= 0 {
		t.Fatalf("outbox lag %v after a 30 s outage, want > 0", lag)
	}
	if e := evCountEffects(t, st); e.Unpublished < int64(during) {
		t.Fatalf("%d events unpublished after %d checkouts with the broker down", e.Unpublished, during)
	}

	nt.Start()
	testrig.Eventually(t, "the outbox backlog to drain", func() bool {
		return evMetric(t, s.URL, "surge_outbox_lag_seconds") == 0 && evCountEffects(t, st).settled()
	})
	e := evCountEffects(t, st)
	if e.Paid != int64(5+during) {
		t.Fatalf("%d paid orders, want %d", e.Paid, 5+during)
	}
	evAssertOnce(t, e)
	js := evConnect(t, nt.URL(), "")
	if got := evStreamMsgs(t, js, "ORDERS"); got != uint64(e.Outbox) {
		t.Fatalf("ORDERS holds %d events, the outbox %d", got, e.Outbox)
	}
	if out, err := evCLI(env, "events", "status"); err != nil {
		t.Fatalf("events status after recovery: %v\n%s", err, out)
	}
	if ok, body := evAudit(t, s.URL, s.AdminKey); !ok {
		t.Fatalf("audit: %s", body)
	}
}

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
			return evMetric(t, w.URL, "surge_consumer_redeliveries_total") > 0
		})
	}
	if ok, body := evAudit(t, api.URL, api.AdminKey); !ok {
		t.Fatalf("audit: %s", body)
	}
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
	client := &http.Client{Timeout: 10 * time.Second}
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				code, id, err := evTryCheckout(client, sh, fmt.Sprintf("load-%d-%d", g, i))
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
	if ok, body := evAudit(t, p.URL, p.AdminKey); !ok {
		t.Fatalf("audit: %s", body)
	}
}

// evTryCheckout is a checkout for goroutines other than the test's, which
// must not call t.Fatal.
func evTryCheckout(c *http.Client, sh evShop, key string) (int, string, error) {
	req, err := http.NewRequest("POST", sh.url+"/v1/shops/"+sh.slug+"/checkout",
		strings.NewReader(`{"items":[{"sku":"EVT","quantity":1}]}`))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+sh.customer)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", err
	}
	id := ""
	if m := evOrderID.FindSubmatch(body); m != nil {
		id = string(m[1])
	}
	return resp.StatusCode, id, nil
}

// TestEvPoisonEventDLQAndReplay makes one order's invoice fail in the
// database (a trigger standing in for a data-dependent bug): its event goes
// to the DLQ after MaxDeliver, the other orders are invoiced meanwhile,
// replay fails while the bug is there, and after the fix `surge events
// replay --dlq` issues the missing invoice once and empties the DLQ.
func TestEvPoisonEventDLQAndReplay(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{"SURGE_DATA": dir, "SURGE_RATE_LIMITS": "off"}
	// The workers run in this test with a short backoff; Surge's own would
	// take minutes to exhaust MaxDeliver.
	s := startSurge(t, env, "--roles", "api,relay,sweeper")
	sh := evNewShop(t, s.URL, s.AdminKey, "evpoison")
	ids := evPaid(t, sh, "poison", 3)
	poisoned := ids[1]
	st := evOpenStore(t, dir, "")
	js := evConnect(t, "", dir)
	testrig.Eventually(t, "the events to be relayed", func() bool { return evStreamMsgs(t, js, "ORDERS") == 6 })
	// The trigger is created before any worker runs, so the first delivery
	// already fails.
	_, err := evDB(st).Exec(`CREATE TRIGGER ev_poison BEFORE INSERT ON invoices WHEN NEW.order_id = '` + poisoned + `'
		BEGIN SELECT RAISE(ABORT, 'invoice rejected: order on hold'); END`)
	if err != nil {
		t.Fatal(err)
	}

	log := slog.New(slog.DiscardHandler)
	m := worker.NewMetrics(prometheus.NewRegistry())
	cfg := worker.Config{Backoff: []time.Duration{500 * time.Millisecond}, MaxDeliver: 3}
	for _, h := range []worker.Handler{notify.NewHandler(st, time.Now), invoice.NewHandler(st, time.Now),
		analytics.NewHandler(st, time.Now), recommend.NewHandler(st, time.Now)} {
		c := worker.New(js, h, cfg, log, m)
		if err := c.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Stop)
	}
	testrig.Eventually(t, "the poison event in the DLQ", func() bool { return evStreamMsgs(t, js, "DLQ") == 1 })
	testrig.Eventually(t, "the other orders' effects", func() bool {
		e := evCountEffects(t, st)
		return e.Invoices == 2 && e.Confirmations == 3 && e.AnalyticsUnits == 3 && e.Recs == 3
	})
	if n := evCount(t, st, `SELECT COUNT(*) FROM invoices WHERE order_id = '`+poisoned+`'`); n != 0 {
		t.Fatalf("poisoned order has %d invoices before the fix", n)
	}

	out, err := evCLI(env, "events", "dlq", "list")
	if err != nil || !strings.Contains(out, "invoice") || !strings.Contains(out, "order on hold") {
		t.Fatalf("dlq list: %v\n%s", err, out)
	}
	seq := regexp.MustCompile(`(?m)^(\d+)\s+invoice\s`).FindStringSubmatch(out)
	if seq == nil {
		t.Fatalf("no dead letter of invoice listed:\n%s", out)
	}
	out, err = evCLI(env, "events", "dlq", "show", seq[1])
	if err != nil || !strings.Contains(out, poisoned) || !strings.Contains(out, "order.paid") {
		t.Fatalf("dlq show %s: %v\n%s", seq[1], err, out)
	}
	out, err = evCLI(env, "events", "status")
	if err != nil || !regexp.MustCompile(`(?m)^DLQ\s+-\s+1\s`).MatchString(out) {
		t.Fatalf("status: %v\n%s", err, out)
	}

	// Replaying before the fix changes nothing and says so.
	out, err = evCLI(env, "events", "replay", "--consumer", "invoice", "--dlq")
	if err == nil || !strings.Contains(out, "still failing") {
		t.Fatalf("replay before the fix: %v\n%s", err, out)
	}
	if got := evStreamMsgs(t, js, "DLQ"); got != 1 {
		t.Fatalf("DLQ holds %d after a failed replay, want 1", got)
	}

	if _, err := evDB(st).Exec(`DROP TRIGGER ev_poison`); err != nil {
		t.Fatal(err)
	}
	out, err = evCLI(env, "events", "replay", "--consumer", "invoice", "--dlq")
	if err != nil || !strings.Contains(out, "1 handled") {
		t.Fatalf("replay after the fix: %v\n%s", err, out)
	}
	if got := evStreamMsgs(t, js, "DLQ"); got != 0 {
		t.Fatalf("DLQ holds %d after a successful replay, want 0", got)
	}
	// Replaying the whole stream again is harmless: effects stay once.
	out, err = evCLI(env, "events", "replay", "--consumer", "invoice", "--from", "1")
	if err != nil {
		t.Fatalf("replay of the stream: %v\n%s", err, out)
	}
	if n := evCount(t, st, `SELECT COUNT(*) FROM invoices WHERE order_id = '`+poisoned+`' AND invoice_no = 3`); n != 1 {
		t.Fatalf("poisoned order: %d invoices numbered 3, want exactly one", n)
	}
	evAssertOnce(t, evCountEffects(t, st))
	if ok, body := evAudit(t, s.URL, s.AdminKey); !ok {
		t.Fatalf("audit: %s", body)
	}
}
