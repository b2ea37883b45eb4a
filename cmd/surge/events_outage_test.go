package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/surge-commerce/surge/internal/event"
	"github.com/surge-commerce/surge/internal/relay"
	"github.com/surge-commerce/surge/internal/store"
	"github.com/surge-commerce/surge/internal/testrig"
)

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
	out, err := cli(t, env, "events", "status")
	if err == nil {
		t.Fatalf("events status with the broker down succeeded:\n%s", out)
	}
	// Still ready: requests never wait for the broker, so a balancer must
	// keep sending them here (docs/INVARIANTS.md, I8); the broker's state
	// is reported.
	start := time.Now()
	code, _, body := do(t, "GET", s.URL+"/readyz", "", "")
	if code != http.StatusOK || !strings.Contains(body, `"broker":"failing`) || time.Since(start) > 2*time.Second {
		t.Fatalf("/readyz with the broker down: %d in %v: %s", code, time.Since(start), body)
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
	if lag := metric(t, s.URL, "surge_outbox_lag_seconds"); lag <= 0 {
		t.Fatalf("outbox lag %v after a 30 s outage, want > 0", lag)
	}
	if e := evCountEffects(t, st); e.Unpublished < int64(during) {
		t.Fatalf("%d events unpublished after %d checkouts with the broker down", e.Unpublished, during)
	}

	nt.Start()
	testrig.Eventually(t, "the outbox backlog to drain", func() bool {
		return metric(t, s.URL, "surge_outbox_lag_seconds") == 0 && evCountEffects(t, st).settled()
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
	if out, err := cli(t, env, "events", "status"); err != nil {
		t.Fatalf("events status after recovery: %v\n%s", err, out)
	}
	requireAudit(t, s.URL, s.AdminKey)
}

// TestEvRelayDiesBetweenPublishAndMark publishes events with a relay that
// never marks them, then lets a healthy relay publish them again: the
// broker keeps one copy of each (Nats-Msg-Id = event id) and every effect
// happens once. On PostgreSQL the relays share the outbox, each holding
// its batch FOR UPDATE SKIP LOCKED while publishing; on SQLite the only
// relay publishes by position, outside the write lock.
func TestEvRelayDiesBetweenPublishAndMark(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) { evSoleRelayDies(t) })
	t.Run("postgres", func(t *testing.T) { evRelayDies(t, testrig.PostgresURL(t)) })
}

// evCrashAfterPublish is the outbox as a relay sees it that dies right
// after the broker acknowledged a batch and before marking it published.
type evCrashAfterPublish struct{ *store.Store }

func (s evCrashAfterPublish) RelayOutbox(ctx context.Context, limit int, now time.Time, publish event.Publish) (int, error) {
	return s.Store.RelayOutbox(ctx, limit, now, func(ctx context.Context, batch []event.Envelope) ([]string, error) {
		acked, err := publish(ctx, batch)
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("relay died after the broker acknowledged %d events, before marking them", len(acked))
	})
}

// evMarkDies is the outbox as the only relay of a SQLite outbox sees it
// that dies after the broker acknowledged its batches, before any mark.
type evMarkDies struct{ *store.Store }

func (evMarkDies) MarkOutbox(context.Context, []int64, time.Time) error {
	return errors.New("relay died after the broker acknowledged, before marking")
}

func evSoleRelayDies(t *testing.T) {
	dir := t.TempDir()
	// No relay role: this test is the relay.
	s := startSurge(t, map[string]string{"SURGE_DATA": dir, "SURGE_RATE_LIMITS": "off"}, "--roles", "api,worker,sweeper")
	sh := evNewShop(t, s.URL, s.AdminKey, "evsole")
	const orders = 5
	evPaid(t, sh, "sole", orders)
	st := evOpenStore(t, dir, "")
	js := evConnect(t, "", dir)
	log := slog.New(slog.DiscardHandler)
	cfg := relay.Config{Sole: true}
	healthy := relay.New(st, js, nil, cfg, time.Now, log, prometheus.NewRegistry())
	dying := relay.New(evMarkDies{st}, js, nil, cfg, time.Now, log, prometheus.NewRegistry())
	ctx := context.Background()

	if n, err := dying.Drain(ctx); n != 0 || err == nil {
		t.Fatalf("dying drain: %d marked, %v; want 0 marked and the crash", n, err)
	}
	if got := evStreamMsgs(t, js, "ORDERS"); got != 2*orders {
		t.Fatalf("ORDERS holds %d events after the dying drain, want %d", got, 2*orders)
	}
	if e := evCountEffects(t, st); e.Unpublished != 2*orders {
		t.Fatalf("%d events unpublished after the dying drain, want all %d", e.Unpublished, 2*orders)
	}
	// The workers may already apply the events that reached the broker; the
	// relay on restart publishes them again.
	if n, err := healthy.Drain(ctx); n != 2*orders || err != nil {
		t.Fatalf("republish: %d published, %v; want %d", n, err, 2*orders)
	}
	if n, err := healthy.Drain(ctx); n != 0 || err != nil {
		t.Fatalf("outbox not drained: %d more, %v", n, err)
	}
	if got := evStreamMsgs(t, js, "ORDERS"); got != 2*orders {
		t.Fatalf("ORDERS holds %d events after the republish, want %d: the duplicates were not dropped", got, 2*orders)
	}
	testrig.Eventually(t, "every effect", func() bool { return evCountEffects(t, st).settled() })
	evAssertOnce(t, evCountEffects(t, st))
	requireAudit(t, s.URL, s.AdminKey)
}

func evRelayDies(t *testing.T, dbURL string) {
	dir := t.TempDir()
	// No relay role: this test is the relay.
	s := startSurge(t, map[string]string{"SURGE_DATA": dir, "SURGE_DATABASE_URL": dbURL, "SURGE_RATE_LIMITS": "off"},
		"--roles", "api,worker,sweeper")
	sh := evNewShop(t, s.URL, s.AdminKey, "evrelay")
	const orders = 5
	evPaid(t, sh, "relay", orders)
	st := evOpenStore(t, dir, dbURL)
	js := evConnect(t, "", dir)
	log := slog.New(slog.DiscardHandler)
	healthy := relay.New(st, js, nil, relay.Config{}, time.Now, log, prometheus.NewRegistry())
	dying := relay.New(evCrashAfterPublish{st}, js, nil, relay.Config{}, time.Now, log, prometheus.NewRegistry())
	ctx := context.Background()

	// Events of one order go out in order, so the first round carries the
	// order.created events and the second the order.paid ones.
	if n, err := healthy.Round(ctx); n != orders || err != nil {
		t.Fatalf("first round: %d published, %v; want %d order.created", n, err, orders)
	}
	if n, err := dying.Round(ctx); n != 0 || err == nil {
		t.Fatalf("dying round: %d marked, %v; want 0 marked and the crash", n, err)
	}
	if got := evStreamMsgs(t, js, "ORDERS"); got != 2*orders {
		t.Fatalf("ORDERS holds %d events after the dying round, want %d", got, 2*orders)
	}
	if e := evCountEffects(t, st); e.Unpublished != orders {
		t.Fatalf("%d events unpublished after the dying round, want the %d order.paid", e.Unpublished, orders)
	}
	// The workers may already apply the events that reached the broker; the
	// relay on restart publishes them again.
	if n, err := healthy.Round(ctx); n != orders || err != nil {
		t.Fatalf("republish round: %d published, %v; want %d", n, err, orders)
	}
	if n, err := healthy.Round(ctx); n != 0 || err != nil {
		t.Fatalf("outbox not drained: %d more, %v", n, err)
	}
	if got := evStreamMsgs(t, js, "ORDERS"); got != 2*orders {
		t.Fatalf("ORDERS holds %d events after the republish, want %d: the duplicate was not dropped", got, 2*orders)
	}
	testrig.Eventually(t, "every effect", func() bool { return evCountEffects(t, st).settled() })
	evAssertOnce(t, evCountEffects(t, st))
	requireAudit(t, s.URL, s.AdminKey)
}

// evListenClosed returns a loopback address nothing listens on any more.
func evListenClosed() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}
