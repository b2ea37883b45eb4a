package main

import (
	"context"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/surge-commerce/surge/internal/analytics"
	"github.com/surge-commerce/surge/internal/invoice"
	"github.com/surge-commerce/surge/internal/notify"
	"github.com/surge-commerce/surge/internal/recommend"
	"github.com/surge-commerce/surge/internal/testrig"
	"github.com/surge-commerce/surge/internal/worker"
)

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

	out, err := cli(t, env, "events", "dlq", "list")
	if err != nil || !strings.Contains(out, "invoice") || !strings.Contains(out, "order on hold") {
		t.Fatalf("dlq list: %v\n%s", err, out)
	}
	seq := regexp.MustCompile(`(?m)^(\d+)\s+invoice\s`).FindStringSubmatch(out)
	if seq == nil {
		t.Fatalf("no dead letter of invoice listed:\n%s", out)
	}
	out, err = cli(t, env, "events", "dlq", "show", seq[1])
	if err != nil || !strings.Contains(out, poisoned) || !strings.Contains(out, "order.paid") {
		t.Fatalf("dlq show %s: %v\n%s", seq[1], err, out)
	}
	out, err = cli(t, env, "events", "status")
	if err != nil || !regexp.MustCompile(`(?m)^DLQ\s+-\s+1\s`).MatchString(out) {
		t.Fatalf("status: %v\n%s", err, out)
	}

	// Replaying before the fix changes nothing and says so.
	out, err = cli(t, env, "events", "replay", "--consumer", "invoice", "--dlq")
	if err == nil || !strings.Contains(out, "still failing") {
		t.Fatalf("replay before the fix: %v\n%s", err, out)
	}
	if got := evStreamMsgs(t, js, "DLQ"); got != 1 {
		t.Fatalf("DLQ holds %d after a failed replay, want 1", got)
	}

	if _, err := evDB(st).Exec(`DROP TRIGGER ev_poison`); err != nil {
		t.Fatal(err)
	}
	out, err = cli(t, env, "events", "replay", "--consumer", "invoice", "--dlq")
	if err != nil || !strings.Contains(out, "1 handled") {
		t.Fatalf("replay after the fix: %v\n%s", err, out)
	}
	if got := evStreamMsgs(t, js, "DLQ"); got != 0 {
		t.Fatalf("DLQ holds %d after a successful replay, want 0", got)
	}
	// Replaying the whole stream again is harmless: effects stay once.
	out, err = cli(t, env, "events", "replay", "--consumer", "invoice", "--from", "1")
	if err != nil {
		t.Fatalf("replay of the stream: %v\n%s", err, out)
	}
	if n := evCount(t, st, `SELECT COUNT(*) FROM invoices WHERE order_id = '`+poisoned+`' AND invoice_no = 3`); n != 1 {
		t.Fatalf("poisoned order: %d invoices numbered 3, want exactly one", n)
	}
	evAssertOnce(t, evCountEffects(t, st))
	requireAudit(t, s.URL, s.AdminKey)
}
