// Package relay moves committed outbox events to JetStream: it is the only
// way an event leaves the database. Each event is published with
// Nats-Msg-Id = event id, so a re-publish (after a crash between publish
// and mark) is dropped by the broker's dedup window, and marked published
// only once the broker acknowledged it.
//
// It must never decide what an event means.
package relay

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/surge-commerce/surge/internal/event"
	"github.com/surge-commerce/surge/internal/store"
)

// Store is the outbox as the relay uses it.
type Store interface {
	RelayOutbox(ctx context.Context, limit int, now time.Time, publish store.Publish) (int, error)
	PruneOutbox(ctx context.Context, before time.Time, limit int) (int, error)
}

// Config tunes the relay.
type Config struct {
	Batch        int           // events per round (default 256)
	PollInterval time.Duration // safety-net polling when no wake-up comes (default 250ms)
	Retention    time.Duration // how long published events stay in the outbox (default 24h)
	AckTimeout   time.Duration // how long to wait for the broker's acks (default 5s)
}

// Relay publishes the outbox.
type Relay struct {
	store     Store
	js        jetstream.JetStream
	cfg       Config
	wake      <-chan struct{}
	now       func() time.Time
	log       *slog.Logger
	published prometheus.Counter
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

// New returns a Relay woken by wake (and by polling).
func New(st Store, js jetstream.JetStream, wake <-chan struct{}, cfg Config, now func() time.Time, log *slog.Logger, reg prometheus.Registerer) *Relay {
	if cfg.Batch <= 0 {
		cfg.Batch = 256
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 250 * time.Millisecond
	}
	if cfg.Retention <= 0 {
		cfg.Retention = 24 * time.Hour
	}
	if cfg.AckTimeout <= 0 {
		cfg.AckTimeout = 5 * time.Second
	}
	r := &Relay{store: st, js: js, cfg: cfg, wake: wake, now: now, log: log,
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "surge_outbox_published_total", Help: "Events the relay published and the broker acknowledged.",
		})}
	reg.MustRegister(r.published)
	return r
}

// Start runs the relay until Stop.
func (r *Relay) Start(ctx context.Context) error {
	ctx, r.cancel = context.WithCancel(ctx)
	r.wg.Go(func() { r.loop(ctx) })
	return nil
}

// Stop ends the relay after the round in progress.
func (r *Relay) Stop() {
	if r.cancel != nil {
		r.cancel()
	}
	r.wg.Wait()
}

func (r *Relay) loop(ctx context.Context) {
	poll := time.NewTicker(r.cfg.PollInterval)
	defer poll.Stop()
	prune := time.NewTicker(time.Minute)
	defer prune.Stop()
	for {
		r.drain(ctx)
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case <-poll.C:
		case <-prune.C:
			if _, err := r.store.PruneOutbox(ctx, r.now().Add(-r.cfg.Retention), 10_000); err != nil {
				r.log.Warn("relay: prune failed", "err", err)
			}
		}
	}
}

// drain publishes rounds until the outbox has nothing ready or a round
// fails (the next wake-up or poll retries).
func (r *Relay) drain(ctx context.Context) {
	for ctx.Err() == nil {
		n, err := r.Round(ctx)
		if err != nil {
			r.log.Warn("relay: round failed; will retry", "err", err)
			return
		}
		if n == 0 {
			return
		}
	}
}

// Round publishes one batch and returns how many events were published.
func (r *Relay) Round(ctx context.Context) (int, error) {
	n, err := r.store.RelayOutbox(ctx, r.cfg.Batch, r.now(), r.publish)
	r.published.Add(float64(n))
	return n, err
}

// publish sends a batch asynchronously and waits for every ack, returning
// the ids the broker acknowledged.
func (r *Relay) publish(ctx context.Context, batch []event.Envelope) ([]string, error) {
	futures := make([]jetstream.PubAckFuture, 0, len(batch))
	ids := make([]string, 0, len(batch))
	var errs []error
	for _, e := range batch {
		body, err := json.Marshal(e)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		msg := &nats.Msg{Subject: e.Subject(), Data: body, Header: nats.Header{}}
		msg.Header.Set(jetstream.MsgIDHeader, e.ID)
		if e.TraceParent != "" {
			msg.Header.Set("traceparent", e.TraceParent)
		}
		f, err := r.js.PublishMsgAsync(msg)
		if err != nil {
			errs = append(errs, err)
			break // the connection is likely down; later events wait for the next round
		}
		futures = append(futures, f)
		ids = append(ids, e.ID)
	}
	timeout := time.NewTimer(r.cfg.AckTimeout)
	defer timeout.Stop()
	var acked []string
	for i, f := range futures {
		select {
		case <-f.Ok():
			acked = append(acked, ids[i])
		case err := <-f.Err():
			errs = append(errs, err)
		case <-timeout.C:
			return acked, errors.Join(append(errs, errors.New("relay: broker acks timed out"))...)
		case <-ctx.Done():
			return acked, ctx.Err()
		}
	}
	return acked, errors.Join(errs...)
}
