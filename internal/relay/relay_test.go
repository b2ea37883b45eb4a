package relay

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/surge-commerce/surge/internal/broker"
	"github.com/surge-commerce/surge/internal/event"
	"github.com/surge-commerce/surge/internal/store"
)

// outbox is a Store handing fixed batches to the relay, recording what
// the relay reported acknowledged. The SQL outbox itself is tested with
// both engines in internal/store; here only the relay's side is.
type outbox struct {
	mu     sync.Mutex
	batch  []event.Envelope
	acked  [][]string
	errs   []error
	rounds int
	pruned int
}

func (o *outbox) RelayOutbox(ctx context.Context, _ int, _ time.Time, publish store.Publish) (int, error) {
	o.mu.Lock()
	batch := o.batch
	o.batch = nil
	o.rounds++
	o.mu.Unlock()
	if len(batch) == 0 {
		return 0, nil
	}
	acked, err := publish(ctx, batch)
	o.mu.Lock()
	o.acked = append(o.acked, acked)
	o.errs = append(o.errs, err)
	o.mu.Unlock()
	return len(acked), err
}

func (o *outbox) PruneOutbox(context.Context, time.Time, int) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.pruned++
	return 0, nil
}

func (o *outbox) give(batch ...event.Envelope) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.batch = batch
}

func (o *outbox) results() ([][]string, []error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.acked), slices.Clone(o.errs)
}

func envelope(id, typ, traceparent string) event.Envelope {
	return event.Envelope{Spec: event.Spec, ID: id, Type: typ, Shop: "acme", TraceParent: traceparent, Data: json.RawMessage(`{}`)}
}

func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRelayPublishes runs the relay's loop against an embedded JetStream:
// a wake-up publishes the batch with Nats-Msg-Id = event id, only events
// the broker acknowledged are reported (an event no stream takes is not),
// and publishing the same events again is deduplicated by the broker.
func TestRelayPublishes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b, err := broker.Start(ctx, broker.Config{DataDir: t.TempDir(), Name: "relay-test"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.EnsureStreams(ctx, broker.StreamConfig{Duplicates: time.Hour, MaxAge: time.Hour}, event.Streams...); err != nil {
		t.Fatal(err)
	}
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	st := &outbox{}
	wake := make(chan struct{}, 1)
	reg := prometheus.NewRegistry()
	// A long poll interval: rounds here are started by wake-ups.
	r := New(st, b.JetStream(), wake, Config{PollInterval: time.Hour, AckTimeout: 30 * time.Second}, time.Now, slog.New(slog.DiscardHandler), reg)
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer r.Stop()

	batch := []event.Envelope{
		envelope("evt-1", "order.created", tp),
		envelope("evt-2", "nostream.created", ""), // no stream captures surge.acme.nostream.>
		envelope("evt-3", "order.paid", ""),
	}
	st.give(batch...)
	wake <- struct{}{}
	poll(t, "the first round", func() bool { a, _ := st.results(); return len(a) == 1 })
	acked, errs := st.results()
	if !slices.Equal(acked[0], []string{"evt-1", "evt-3"}) || errs[0] == nil {
		t.Fatalf("first round: acked %v, err %v; want evt-1 and evt-3 acknowledged and an error for evt-2", acked[0], errs[0])
	}

	s, err := b.JetStream().Stream(ctx, "ORDERS")
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.GetMsg(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	var got event.Envelope
	if err := json.Unmarshal(m.Data, &got); err != nil || got.ID != "evt-1" || m.Subject != "surge.acme.order.created" ||
		m.Header.Get("Nats-Msg-Id") != "evt-1" || m.Header.Get("traceparent") != tp {
		t.Fatalf("published message: subject %q headers %v body %s (%v)", m.Subject, m.Header, m.Data, err)
	}

	// A relay that crashed before marking its batch publishes it again:
	// acknowledged, but stored once.
	st.give(batch[0], batch[2])
	wake <- struct{}{}
	poll(t, "the second round", func() bool { a, _ := st.results(); return len(a) == 2 })
	acked, errs = st.results()
	if !slices.Equal(acked[1], []string{"evt-1", "evt-3"}) || errs[1] != nil {
		t.Fatalf("republish: acked %v, err %v", acked[1], errs[1])
	}
	if n, err := b.StreamMessages(ctx, "ORDERS"); err != nil || n != 2 {
		t.Fatalf("ORDERS holds %d messages (%v), want 2: duplicates must be dropped", n, err)
	}
	var metric dto.Metric
	r.published.Write(&metric)
	if v := metric.GetCounter().GetValue(); v != 4 {
		t.Fatalf("published counter %v, want 4 (two acknowledged per round)", v)
	}
}

func TestConfigDefaults(t *testing.T) {
	r := New(&outbox{}, nil, nil, Config{}, time.Now, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if r.cfg.Batch != 256 || r.cfg.PollInterval != 250*time.Millisecond || r.cfg.Retention != 24*time.Hour || r.cfg.AckTimeout != 5*time.Second {
		t.Fatalf("defaults: %+v", r.cfg)
	}
}
