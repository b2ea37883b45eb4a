// Package worker runs Surge's event consumers: durable JetStream pull
// consumers with explicit acks, a backoff schedule and a delivery limit,
// after which the event goes to the dead-letter stream with its last error.
//
// Effects are made idempotent by the handlers (each records the event id in
// the same transaction as its effect), so at-least-once delivery yields
// exactly-once effects. This package must never know what an effect is.
package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/surge-commerce/surge/internal/event"
	"github.com/surge-commerce/surge/internal/tracing"
	"github.com/surge-commerce/surge/internal/tracing/tracectx"
)

// Handler applies one consumer's effect for an event. It must be
// idempotent: the same event may arrive more than once.
type Handler interface {
	// Name is the durable consumer name (also the DLQ subject suffix).
	Name() string
	// Subjects filters the events the handler receives.
	Subjects() []string
	Handle(ctx context.Context, e event.Envelope) error
}

// Config tunes delivery.
type Config struct {
	Stream     string          // default ORDERS
	AckWait    time.Duration   // default 30s
	Backoff    []time.Duration // redelivery delays (default 1s, 5s, 30s, 2m)
	MaxDeliver int             // default 5
	// MaxBatch bounds the events pulled at once (in-flight work); the batch
	// shrinks when handling gets slow and grows back when it is fast.
	MaxBatch int // default 64
	// Parallel is how many events of a batch are handled at once. Handled
	// one at a time, each event would wait out a commit of its own; handed
	// over together, a consumer applies them in one transaction (package
	// batch). A consumer must therefore not rely on the order of the
	// events within one batch; none does, as each takes at most one event
	// per order (paid or cancelled).
	Parallel int // default 8
	// Tracer exports each event's span, a child of the hop that wrote the
	// event; nil exports none.
	Tracer *tracing.Tracer
}

func (c *Config) defaults() {
	if c.Stream == "" {
		c.Stream = "ORDERS"
	}
	if c.AckWait <= 0 {
		c.AckWait = 30 * time.Second
	}
	if len(c.Backoff) == 0 {
		c.Backoff = []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute}
	}
	if c.MaxDeliver <= 0 {
		c.MaxDeliver = 5
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 64
	}
	if c.Parallel <= 0 {
		c.Parallel = 8
	}
}

// Metrics are shared by all consumers, labelled by consumer.
type Metrics struct {
	processed, redelivered, deadLettered *prometheus.CounterVec
	pending                              *prometheus.GaugeVec
}

// NewMetrics registers the consumer metrics.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		processed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "surge_consumer_processed_total", Help: "Events a consumer handled and acknowledged."}, []string{"consumer"}),
		redelivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "surge_consumer_redeliveries_total", Help: "Deliveries that were not the first for their event."}, []string{"consumer"}),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "surge_consumer_dead_lettered_total", Help: "Events a consumer gave up on and sent to the DLQ."}, []string{"consumer"}),
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "surge_consumer_lag", Help: "Events not yet delivered to a consumer (JetStream num_pending)."}, []string{"consumer"}),
	}
	reg.MustRegister(m.processed, m.redelivered, m.deadLettered, m.pending)
	return m
}

// Consumer runs one Handler.
type Consumer struct {
	js      jetstream.JetStream
	h       Handler
	cfg     Config
	log     *slog.Logger
	metrics *Metrics
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// New returns a Consumer for h.
func New(js jetstream.JetStream, h Handler, cfg Config, log *slog.Logger, m *Metrics) *Consumer {
	cfg.defaults()
	return &Consumer{js: js, h: h, cfg: cfg, log: log.With("consumer", h.Name()), metrics: m}
}

// ConsumerConfig is the durable consumer's JetStream configuration. It
// sets no BackOff: JetStream would then use BackOff[0] as the ack wait and
// redeliver events still being worked on; failures wait out the backoff
// schedule through NakWithDelay instead.
func (c *Consumer) ConsumerConfig() jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable: c.h.Name(), FilterSubjects: c.h.Subjects(), AckPolicy: jetstream.AckExplicitPolicy,
		AckWait: c.cfg.AckWait, MaxDeliver: c.cfg.MaxDeliver,
		MaxAckPending: c.cfg.MaxBatch * 4, DeliverPolicy: jetstream.DeliverAllPolicy,
	}
}

// Start creates (or updates) the durable consumer and begins consuming.
func (c *Consumer) Start(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	cons, err := c.js.CreateOrUpdateConsumer(cctx, c.cfg.Stream, c.ConsumerConfig())
	cancel()
	if err != nil {
		return fmt.Errorf("worker %s: consumer: %w", c.h.Name(), err)
	}
	ctx, c.cancel = context.WithCancel(ctx)
	c.wg.Go(func() { c.loop(ctx, cons) })
	return nil
}

// Stop ends consuming after the event in progress; unacknowledged events
// are redelivered after AckWait.
func (c *Consumer) Stop() {
	if c.cancel != nil {
		c.cancel()
	}
	c.wg.Wait()
}

func (c *Consumer) loop(ctx context.Context, cons jetstream.Consumer) {
	batch := c.cfg.MaxBatch
	lastLag := time.Time{}
	for ctx.Err() == nil {
		if time.Since(lastLag) > 5*time.Second {
			c.updateLag(ctx, cons)
			lastLag = time.Now()
		}
		msgs, err := cons.Fetch(batch, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			c.pause(ctx)
			continue
		}
		start, n := time.Now(), 0
		sem := make(chan struct{}, c.cfg.Parallel)
		var wg sync.WaitGroup
		for msg := range msgs.Messages() {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				c.handle(ctx, msg)
			})
			n++
		}
		wg.Wait()
		if n > 0 {
			batch = adapt(batch, c.cfg.MaxBatch, time.Since(start)/time.Duration(n))
		}
		if err := msgs.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && ctx.Err() == nil {
			c.pause(ctx)
		}
	}
}

// adapt sizes the next pull so one batch takes about half a second:
// slow handling (a struggling database) means fewer events held at once.
func adapt(batch, maxBatch int, perEvent time.Duration) int {
	const target = 500 * time.Millisecond
	if perEvent <= 0 {
		return maxBatch
	}
	want := int(target / perEvent)
	switch {
	case want < batch:
		batch = max(1, (batch+want)/2)
	case want > batch:
		batch = min(maxBatch, batch*2)
	}
	return batch
}

func (c *Consumer) pause(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-time.After(500 * time.Millisecond):
	}
}

func (c *Consumer) updateLag(ctx context.Context, cons jetstream.Consumer) {
	ictx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if info, err := cons.Info(ictx); err == nil {
		c.metrics.pending.WithLabelValues(c.h.Name()).Set(float64(info.NumPending))
	}
}

// handle applies one message: ack on success, retry with backoff on
// failure, dead-letter on the last allowed delivery or an unreadable event.
func (c *Consumer) handle(ctx context.Context, msg jetstream.Msg) {
	meta, err := msg.Metadata()
	if err != nil {
		_ = msg.Term()
		return
	}
	if meta.NumDelivered > 1 {
		c.metrics.redelivered.WithLabelValues(c.h.Name()).Inc()
	}
	var e event.Envelope
	if err := json.Unmarshal(msg.Data(), &e); err != nil || e.Spec != event.Spec {
		c.deadLetter(ctx, msg, meta, fmt.Errorf("unreadable envelope (spec %q): %v", e.Spec, err))
		return
	}
	parent, _ := tracectx.Parse(e.TraceParent)
	// This consumer's hop of the order's trace.
	sctx, span := c.cfg.Tracer.Start(ctx, c.h.Name()+" "+e.Type, trace.SpanKindConsumer, parent)
	span.SetAttributes(attribute.String("event.id", e.ID), attribute.Int("delivery", int(meta.NumDelivered)))
	hop := tracectx.From(sctx)
	hctx, cancel := context.WithTimeout(sctx, c.cfg.AckWait/2)
	err = c.h.Handle(hctx, e)
	cancel()
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
	if err == nil {
		if err := msg.DoubleAck(ctx); err != nil {
			c.log.Warn("ack failed; the event will be redelivered and deduplicated", "event_id", e.ID, "err", err)
		}
		c.metrics.processed.WithLabelValues(c.h.Name()).Inc()
		return
	}
	if int(meta.NumDelivered) >= c.cfg.MaxDeliver {
		c.deadLetter(ctx, msg, meta, err)
		return
	}
	delay := c.cfg.Backoff[min(int(meta.NumDelivered)-1, len(c.cfg.Backoff)-1)]
	c.log.Warn("event failed; will retry", "event_id", e.ID, "trace_id", hop.TraceID, "delivery", meta.NumDelivered, "retry_in", delay.String(), "err", err)
	_ = msg.NakWithDelay(delay)
}

// deadLetter stores the event and its last error in the DLQ stream, then
// terminates its delivery. If the DLQ publish fails the event is left
// unacknowledged, to be redelivered rather than lost.
func (c *Consumer) deadLetter(ctx context.Context, msg jetstream.Msg, meta *jetstream.MsgMetadata, cause error) {
	dl := &nats.Msg{Subject: event.DLQSubject(c.h.Name()), Data: msg.Data(), Header: nats.Header{}}
	dl.Header.Set(event.HeaderError, truncate(cause.Error(), 1000))
	dl.Header.Set(event.HeaderOriginalSubject, msg.Subject())
	dl.Header.Set(event.HeaderOriginalSeq, strconv.FormatUint(meta.Sequence.Stream, 10))
	dl.Header.Set(event.HeaderConsumer, c.h.Name())
	dl.Header.Set(jetstream.MsgIDHeader, c.h.Name()+"-"+strconv.FormatUint(meta.Sequence.Stream, 10))
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := c.js.PublishMsg(pctx, dl); err != nil {
		c.log.Error("dead-letter publish failed; the event stays pending", "seq", meta.Sequence.Stream, "err", err)
		return
	}
	c.metrics.deadLettered.WithLabelValues(c.h.Name()).Inc()
	c.log.Error("event dead-lettered", "seq", meta.Sequence.Stream, "err", cause)
	_ = msg.Term()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
