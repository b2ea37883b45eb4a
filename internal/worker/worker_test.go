package worker

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/surge-commerce/surge/internal/broker"
	"github.com/surge-commerce/surge/internal/event"
	"github.com/surge-commerce/surge/internal/testrig"
)

func TestDefaults(t *testing.T) {
	var c Config
	c.defaults()
	want := []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute}
	if c.Stream != "ORDERS" || c.AckWait != 30*time.Second || c.MaxDeliver != 5 || c.MaxBatch != 64 || len(c.Backoff) != len(want) {
		t.Fatalf("defaults: %+v", c)
	}
	for i := range want {
		if c.Backoff[i] != want[i] {
			t.Fatalf("backoff %v, want %v", c.Backoff, want)
		}
	}
	// JetStream refuses a consumer with more backoff steps than deliveries.
	if c.MaxDeliver <= len(c.Backoff) {
		t.Fatalf("MaxDeliver %d does not exceed %d backoff steps", c.MaxDeliver, len(c.Backoff))
	}
	set := Config{Stream: "S", AckWait: time.Second, Backoff: []time.Duration{time.Millisecond}, MaxDeliver: 2, MaxBatch: 3}
	kept := set
	set.defaults()
	if set.Stream != kept.Stream || set.AckWait != kept.AckWait || set.MaxDeliver != 2 || set.MaxBatch != 3 || len(set.Backoff) != 1 {
		t.Fatalf("defaults overwrote given values: %+v", set)
	}
}

func TestAdapt(t *testing.T) {
	cases := []struct {
		batch    int
		perEvent time.Duration
		want     int
	}{
		{64, 0, 64},                                    // no measure: full batch
		{64, time.Millisecond, 64},                     // fast: stays at the cap
		{8, time.Millisecond, 16},                      // fast: grows by doubling
		{48, time.Millisecond, 64},                     // ...up to the cap
		{64, 100 * time.Millisecond, 34},               // slow: halfway to 5
		{2, time.Second, 1},                            // very slow: never below 1
		{1, time.Second, 1},                            // ...
		{10, 50 * time.Millisecond, 10},                // on target: unchanged
		{64, 10 * time.Millisecond, 57},                // target 50: halfway down
		{1, 499 * time.Millisecond, 1},                 // one per half second
		{3, 250*time.Millisecond + time.Nanosecond, 2}, // just over: shrink
	}
	for _, c := range cases {
		if got := adapt(c.batch, 64, c.perEvent); got != c.want {
			t.Errorf("adapt(%d, 64, %v) = %d, want %d", c.batch, c.perEvent, got, c.want)
		}
	}
}

// failing is a handler that fails an event until it has seen it okAfter
// times (0: always fails) and records when each delivery arrived.
type failing struct {
	name    string
	okAfter map[string]int
	mu      sync.Mutex
	calls   map[string][]time.Time
}

func (h *failing) Name() string       { return h.name }
func (h *failing) Subjects() []string { return []string{"surge.*.order.>"} }
func (h *failing) Handle(_ context.Context, e event.Envelope) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls[e.ID] = append(h.calls[e.ID], time.Now())
	if n := h.okAfter[e.ID]; n > 0 && len(h.calls[e.ID]) >= n {
		return nil
	}
	return errors.New("handler says no to " + e.ID)
}

func (h *failing) deliveries(id string) []time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]time.Time(nil), h.calls[id]...)
}

// TestRetriesBackoffAndDeadLetters runs a consumer against an embedded
// JetStream: an event failing twice is retried on the backoff schedule and
// then acknowledged; an event that always fails is dead-lettered with its
// last error after MaxDeliver deliveries; an unreadable one is
// dead-lettered at once without reaching the handler.
func TestRetriesBackoffAndDeadLetters(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b, err := broker.Start(ctx, broker.Config{DataDir: t.TempDir(), Name: "worker-test"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.EnsureStreams(ctx, broker.StreamConfig{Duplicates: time.Minute, MaxAge: time.Hour}, append(event.Streams, event.DLQ)...); err != nil {
		t.Fatal(err)
	}
	js := b.JetStream()
	publish := func(id, spec string) uint64 {
		body, _ := json.Marshal(event.Envelope{Spec: spec, ID: id, Type: "order.paid", Shop: "acme", Data: json.RawMessage(`{}`)})
		ack, err := js.Publish(ctx, "surge.acme.order.paid", body)
		if err != nil {
			t.Fatal(err)
		}
		return ack.Sequence
	}
	publish("evt-retry", event.Spec)
	poisonSeq := publish("evt-poison", event.Spec)
	publish("evt-alien", "surge.event/v9")

	h := &failing{name: "test", okAfter: map[string]int{"evt-retry": 3}, calls: map[string][]time.Time{}}
	// The first step is also the server's ack wait (see TestAckWaitIsHonoured),
	// so it is long enough that a stalled machine does not cause redeliveries.
	backoff := []time.Duration{2 * time.Second, 3 * time.Second}
	metrics := NewMetrics(prometheus.NewRegistry())
	c := New(js, h, Config{Backoff: backoff, MaxDeliver: 3}, slog.New(slog.DiscardHandler), metrics)
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Stop()

	dead := func() float64 { return counter(metrics.deadLettered.WithLabelValues("test")) }
	processed := func() float64 { return counter(metrics.processed.WithLabelValues("test")) }
	testrig.Eventually(t, "one event processed and two dead-lettered", func() bool { return processed() == 1 && dead() == 2 })

	for id, want := range map[string]int{"evt-retry": 3, "evt-poison": 3, "evt-alien": 0} {
		if got := len(h.deliveries(id)); got != want {
			t.Errorf("%s reached the handler %d times, want %d", id, got, want)
		}
	}
	// Each retry waits at least its step of the schedule (never sooner).
	for _, id := range []string{"evt-retry", "evt-poison"} {
		at := h.deliveries(id)
		for i := 1; i < len(at); i++ {
			if gap := at[i].Sub(at[i-1]); gap < backoff[i-1] {
				t.Errorf("%s: delivery %d came %v after the previous one, before its backoff %v", id, i+1, gap, backoff[i-1])
			}
		}
	}
	if got := counter(metrics.redelivered.WithLabelValues("test")); got != 4 {
		t.Errorf("redeliveries counted: %v, want 4", got)
	}

	dlq, err := js.Stream(ctx, event.DLQ.Name)
	if err != nil {
		t.Fatal(err)
	}
	letters := map[string]*jetstream.RawStreamMsg{}
	for seq := uint64(1); seq <= 2; seq++ {
		m, err := dlq.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("DLQ message %d: %v", seq, err)
		}
		var e event.Envelope
		json.Unmarshal(m.Data, &e)
		letters[e.ID] = m
	}
	poison := letters["evt-poison"]
	if poison == nil || letters["evt-alien"] == nil {
		t.Fatalf("DLQ holds %v, want evt-poison and evt-alien", letters)
	}
	hd := poison.Header
	if poison.Subject != event.DLQSubject("test") ||
		hd.Get(event.HeaderError) != "handler says no to evt-poison" ||
		hd.Get(event.HeaderOriginalSubject) != "surge.acme.order.paid" ||
		hd.Get(event.HeaderOriginalSeq) != strconv.FormatUint(poisonSeq, 10) ||
		hd.Get(event.HeaderConsumer) != "test" ||
		hd.Get(jetstream.MsgIDHeader) != "test-"+strconv.FormatUint(poisonSeq, 10) {
		t.Errorf("dead letter of evt-poison: subject %q headers %v", poison.Subject, hd)
	}
	if msg := letters["evt-alien"].Header.Get(event.HeaderError); !strings.Contains(msg, `spec "surge.event/v9"`) {
		t.Errorf("dead letter of the unreadable event says %q", msg)
	}
}

// The consumer's AckWait must be what the server uses, or a handler
// slower than the first backoff step gets its event redelivered while it
// is still working on it.
func TestAckWaitIsHonoured(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := broker.Start(ctx, broker.Config{DataDir: t.TempDir(), Name: "worker-test"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.EnsureStreams(ctx, broker.StreamConfig{Duplicates: time.Minute, MaxAge: time.Hour}, event.Streams...); err != nil {
		t.Fatal(err)
	}
	c := New(b.JetStream(), &failing{name: "ackwait"}, Config{}, slog.New(slog.DiscardHandler), NewMetrics(prometheus.NewRegistry()))
	cons, err := b.JetStream().CreateOrUpdateConsumer(ctx, "ORDERS", c.ConsumerConfig())
	if err != nil {
		t.Fatal(err)
	}
	if got := cons.CachedInfo().Config.AckWait; got != 30*time.Second {
		t.Fatalf("server AckWait %v, want the configured 30s", got)
	}
}

// counter reads a counter's value.
func counter(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}
