package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/surge-commerce/surge/internal/app"
	"github.com/surge-commerce/surge/internal/event"
	"github.com/surge-commerce/surge/internal/testrig"
	"github.com/surge-commerce/surge/internal/worker"
)

// TestDeadLettersReplayThroughTheAPI makes one order's invoice fail in the
// database, as TestEvPoisonEventDLQAndReplay does, and then works its dead
// letter through the platform admin API alone: the list shows it with its
// error, a replay before the fix leaves it, and a replay after the fix
// issues the invoice once and empties the DLQ.
func TestDeadLettersReplayThroughTheAPI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{"SURGE_DATA": dir, "SURGE_RATE_LIMITS": "off"}
	// The workers run in this test with a short backoff; Surge's own would
	// take minutes to exhaust MaxDeliver.
	s := startSurge(t, env, "--roles", "api,relay,sweeper")
	sh := evNewShop(t, s.URL, s.AdminKey, "dlqapi")
	ids := evPaid(t, sh, "dlq", 2)
	poisoned := ids[1]
	st := evOpenStore(t, dir, "")
	js := evConnect(t, "", dir)
	testrig.Eventually(t, "the events to be relayed", func() bool { return evStreamMsgs(t, js, "ORDERS") == 4 })
	_, err := evDB(st).Exec(`CREATE TRIGGER dlq_poison BEFORE INSERT ON invoices WHEN NEW.order_id = '` + poisoned + `'
		BEGIN SELECT RAISE(ABORT, 'invoice rejected: order on hold'); END`)
	if err != nil {
		t.Fatal(err)
	}
	m := worker.NewMetrics(prometheus.NewRegistry())
	cfg := worker.Config{Backoff: []time.Duration{500 * time.Millisecond}, MaxDeliver: 3}
	for _, h := range app.Consumers(st, time.Now) {
		c := worker.New(js, h, cfg, slog.New(slog.DiscardHandler), m)
		if err := c.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Stop)
	}
	testrig.Eventually(t, "the poison event in the DLQ", func() bool { return evStreamMsgs(t, js, "DLQ") == 1 })

	code, _, body := do(t, "GET", s.URL+"/v1/admin/dead-letters", s.AdminKey, "")
	var list struct{ Items []event.DeadLetterGroup }
	if err := json.Unmarshal([]byte(body), &list); code != 200 || err != nil || len(list.Items) != 1 ||
		list.Items[0].Consumer != "invoice" || list.Items[0].Count != 1 || !strings.Contains(list.Items[0].Error, "order on hold") {
		t.Fatalf("list: %d %s", code, body)
	}
	replay := func() event.ReplayReport {
		t.Helper()
		code, _, body := do(t, "POST", s.URL+"/v1/admin/dead-letters/replay", s.AdminKey, `{"consumer":"invoice"}`)
		var out struct{ Items []event.ReplayReport }
		if err := json.Unmarshal([]byte(body), &out); code != 200 || err != nil || len(out.Items) != 1 {
			t.Fatalf("replay: %d %s", code, body)
		}
		return out.Items[0]
	}
	if r := replay(); r.Applied != 0 || r.Failed != 1 || len(r.Failures) != 1 || !strings.Contains(r.Failures[0], "still failing") {
		t.Fatalf("replay before the fix: %+v", r)
	}
	if got := evStreamMsgs(t, js, "DLQ"); got != 1 {
		t.Fatalf("DLQ holds %d after a failed replay, want 1", got)
	}

	if _, err := evDB(st).Exec(`DROP TRIGGER dlq_poison`); err != nil {
		t.Fatal(err)
	}
	if r := replay(); r.Applied != 1 || r.Failed != 0 {
		t.Fatalf("replay after the fix: %+v", r)
	}
	if got := evStreamMsgs(t, js, "DLQ"); got != 0 {
		t.Fatalf("DLQ holds %d after a successful replay, want 0", got)
	}
	if n := evCount(t, st, `SELECT COUNT(*) FROM invoices WHERE order_id = '`+poisoned+`'`); n != 1 {
		t.Fatalf("poisoned order: %d invoices, want exactly one", n)
	}
	if code, _, body := do(t, "GET", s.URL+"/v1/admin/dead-letters", s.AdminKey, ""); code != 200 || !strings.Contains(body, `"items":[]`) {
		t.Fatalf("list after the replay: %d %s", code, body)
	}
}
