package relay

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/surge-commerce/surge/internal/broker"
	"github.com/surge-commerce/surge/internal/event"
	"github.com/surge-commerce/surge/internal/order"
	"github.com/surge-commerce/surge/internal/store"
	"github.com/surge-commerce/surge/internal/store/storetest"
	"github.com/surge-commerce/surge/internal/testrig"
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

func (o *outbox) RelayOutbox(ctx context.Context, _ int, _ time.Time, publish event.Publish) (int, error) {
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

func (o *outbox) NextOutbox(context.Context, int64, int) ([]event.OutboxEvent, error) {
	panic("the shared-outbox relay never reads by position")
}

func (o *outbox) MarkOutbox(context.Context, []int64, time.Time) error {
	panic("the shared-outbox relay never marks by position")
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
	testrig.Eventually(t, "the first round", func() bool { a, _ := st.results(); return len(a) == 1 })
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
	testrig.Eventually(t, "the second round", func() bool { a, _ := st.results(); return len(a) == 2 })
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
	if r.cfg.Batch != 512 || r.cfg.PollInterval != 250*time.Millisecond || r.cfg.Retention != 24*time.Hour || r.cfg.AckTimeout != 5*time.Second {
		t.Fatalf("defaults: %+v", r.cfg)
	}
}

// markFails is a SQLite outbox whose marking always fails: a relay that
// dies between the broker's acks and the mark.
type markFails struct{ *store.Store }

func (markFails) MarkOutbox(context.Context, []int64, time.Time) error {
	return errors.New("killed before the mark")
}

// TestDrain runs the only relay of a SQLite outbox against an embedded
// JetStream, over several overlapping batches: every event reaches the
// stream once and in outbox order, and all are marked. Events published
// but never marked are sent again by the next drain and dropped by the
// broker's dedup window.
func TestDrain(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	b, err := broker.Start(ctx, broker.Config{DataDir: filepath.Join(dir, "nats"), Name: "drain-test"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.EnsureStreams(ctx, broker.StreamConfig{Duplicates: time.Hour, MaxAge: time.Hour}, event.Streams...); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, store.Config{DataDir: filepath.Join(dir, "db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	sl := storetest.NewSeller(t, st, "drain", "A")
	for range 150 {
		sl.Order(t, order.Paid, "A") // order.created and order.paid
	}
	log := slog.New(slog.DiscardHandler)
	cfg := Config{Sole: true, Batch: 64, AckTimeout: 30 * time.Second}
	r := New(st, b.JetStream(), nil, cfg, time.Now, log, prometheus.NewRegistry())
	if n, err := r.Drain(ctx); n != 300 || err != nil {
		t.Fatalf("drained %d events (%v), want 300", n, err)
	}
	if _, n, err := st.OutboxLag(ctx, time.Now()); n != 0 || err != nil {
		t.Fatalf("%d events left unpublished (%v)", n, err)
	}
	want, err := st.NextOutbox(ctx, 0, 1000) // nothing: all are marked
	if err != nil || len(want) != 0 {
		t.Fatalf("unpublished after the drain: %d (%v)", len(want), err)
	}
	s, err := b.JetStream().Stream(ctx, "ORDERS")
	if err != nil {
		t.Fatal(err)
	}
	created := map[string]bool{}
	for seq := uint64(1); seq <= 300; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("stream message %d: %v", seq, err)
		}
		var e event.Envelope
		if err := json.Unmarshal(m.Data, &e); err != nil {
			t.Fatal(err)
		}
		switch e.Type {
		case "order.created":
			created[e.AggregateID] = true
		case "order.paid":
			if !created[e.AggregateID] {
				t.Fatalf("message %d: order.paid of %s before its order.created", seq, e.AggregateID)
			}
		}
	}
	if len(created) != 150 {
		t.Fatalf("%d orders created in the stream, want 150", len(created))
	}

	for range 10 {
		sl.Order(t, order.Paid, "A")
	}
	dying := New(markFails{st}, b.JetStream(), nil, cfg, time.Now, log, prometheus.NewRegistry())
	if n, err := dying.Drain(ctx); n != 0 || err == nil {
		t.Fatalf("a relay that cannot mark reported %d published (%v)", n, err)
	}
	if n, err := b.StreamMessages(ctx, "ORDERS"); err != nil || n != 320 {
		t.Fatalf("ORDERS holds %d messages (%v), want 320", n, err)
	}
	if n, err := r.Drain(ctx); n != 20 || err != nil {
		t.Fatalf("the next drain published %d (%v), want the 20 left unmarked", n, err)
	}
	if n, err := b.StreamMessages(ctx, "ORDERS"); err != nil || n != 320 {
		t.Fatalf("ORDERS holds %d messages (%v), want 320: the broker drops the copies", n, err)
	}
}
