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
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/surge-commerce/surge/internal/event"
)

// Store is the outbox as the relay uses it.
type Store interface {
	RelayOutbox(ctx context.Context, limit int, now time.Time, publish event.Publish) (int, error)
	NextOutbox(ctx context.Context, after int64, limit int) ([]event.OutboxEvent, error)
	MarkOutbox(ctx context.Context, seqs []int64, now time.Time) error
	PruneOutbox(ctx context.Context, before time.Time, limit int) (int, error)
}

// Config tunes the relay.
type Config struct {
	Batch        int           // events per round (default 512)
	PollInterval time.Duration // safety-net polling when no wake-up comes (default 250ms)
	Retention    time.Duration // how long published events stay in the outbox (default 24h)
	AckTimeout   time.Duration // how long to wait for the broker's acks (default 5s)
	// Sole says this is the only relay on its outbox (SQLite, whose one
	// writer fixes commit order): it then publishes by position and
	// overlaps batches (Drain). Otherwise several relays share the outbox
	// by locking rows for a round (Round).
	Sole bool
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
		cfg.Batch = 512
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

// drain publishes until the outbox has nothing ready or a publish fails
// (the next wake-up or poll retries).
func (r *Relay) drain(ctx context.Context) {
	if r.cfg.Sole {
		if _, err := r.Drain(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("relay: drain failed; will retry", "err", err)
		}
		return
	}
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

// Round publishes one batch of the shared outbox (rows locked while it
// runs) and returns how many events were published.
func (r *Relay) Round(ctx context.Context) (int, error) {
	n, err := r.store.RelayOutbox(ctx, r.cfg.Batch, r.now(), r.publish)
	r.published.Add(float64(n))
	return n, err
}

// Drain publishes, as the only relay on its outbox, every event ready and
// returns how many were published. It runs as a pipeline of three stages,
// so the database, the encoder and the broker all work at once: one
// goroutine reads batches by position and encodes them, one sends them to
// the broker in order, and this one waits for the acks and marks. Events
// leave in position order, which keeps each order's events in order. A
// failure stops the reading; what was already sent is still settled, and
// the next drain starts again from the oldest unpublished event (the
// broker's dedup window drops what it already stored).
func (r *Relay) Drain(ctx context.Context) (int, error) {
	stopCtx, stop := context.WithCancel(ctx)
	defer stop()
	encoded := make(chan *inflight, 2)
	sent := make(chan *inflight, 2)
	var readErr error
	go func() {
		defer close(encoded)
		var after int64
		for {
			batch, err := r.store.NextOutbox(stopCtx, after, r.cfg.Batch)
			if err != nil || len(batch) == 0 {
				if stopCtx.Err() == nil {
					readErr = err
				}
				return
			}
			after = batch[len(batch)-1].Seq
			select {
			case encoded <- r.encode(batch):
			case <-stopCtx.Done():
				return
			}
		}
	}()
	go func() {
		defer close(sent)
		for f := range encoded {
			if stopCtx.Err() != nil {
				continue // not sent, so nothing to settle
			}
			r.send(f)
			if f.failed() {
				stop()
			}
			sent <- f
		}
	}()
	// Acknowledged events are marked together once the pipeline runs dry
	// or several batches have come in, which saves commits under load.
	published := 0
	var acked []int64
	var errs []error
	for f := range sent {
		seqs, err := r.acked(ctx, f)
		acked = append(acked, seqs...)
		if err != nil {
			stop()
			errs = append(errs, err)
		}
		if len(sent) > 0 && len(acked) < 4*r.cfg.Batch {
			continue
		}
		n, err := r.mark(ctx, acked)
		published, acked = published+n, nil
		if err != nil {
			stop()
			errs = append(errs, err)
		}
	}
	return published, errors.Join(append(errs, readErr)...)
}

// acked waits for a sent batch's acks and returns the outbox positions of
// the events the broker acknowledged.
func (r *Relay) acked(ctx context.Context, f *inflight) ([]int64, error) {
	acked, err := r.wait(ctx, f)
	seqs := make([]int64, len(acked))
	for i, k := range acked {
		seqs[i] = f.seqs[k]
	}
	return seqs, err
}

// mark marks acknowledged events published.
func (r *Relay) mark(ctx context.Context, seqs []int64) (int, error) {
	if err := r.store.MarkOutbox(ctx, seqs, r.now()); err != nil {
		return 0, err
	}
	r.published.Add(float64(len(seqs)))
	return len(seqs), nil
}

// inflight is a batch on its way to the broker.
type inflight struct {
	msgs    []*nats.Msg
	seqs    []int64 // outbox positions of the batch (Drain only)
	futures []jetstream.PubAckFuture
	errs    []error // failures to send
}

func (f *inflight) failed() bool { return len(f.errs) > 0 }

// encode turns a batch of the only relay's outbox into messages.
func (r *Relay) encode(batch []event.OutboxEvent) *inflight {
	envs := make([]event.Envelope, len(batch))
	seqs := make([]int64, len(batch))
	for i, e := range batch {
		envs[i], seqs[i] = e.Envelope, e.Seq
	}
	f := encode(envs)
	f.seqs = seqs
	return f
}

// encode turns events into messages with Nats-Msg-Id = event id.
func encode(batch []event.Envelope) *inflight {
	f := &inflight{msgs: make([]*nats.Msg, 0, len(batch))}
	for _, e := range batch {
		msg := &nats.Msg{Subject: e.Subject(), Data: e.AppendJSON(nil), Header: nats.Header{jetstream.MsgIDHeader: {e.ID}}}
		if e.TraceParent != "" {
			msg.Header["traceparent"] = []string{e.TraceParent}
		}
		f.msgs = append(f.msgs, msg)
	}
	return f
}

// send publishes the messages asynchronously, without waiting for acks.
func (r *Relay) send(f *inflight) {
	f.futures = make([]jetstream.PubAckFuture, 0, len(f.msgs))
	for _, msg := range f.msgs {
		pf, err := r.js.PublishMsgAsync(msg)
		if err != nil {
			f.errs = append(f.errs, err)
			return // the connection is likely down; later events wait for the next round
		}
		f.futures = append(f.futures, pf)
	}
}

// wait returns the batch positions of the events the broker acknowledged,
// in order, and what went wrong with the others.
func (r *Relay) wait(ctx context.Context, f *inflight) ([]int, error) {
	timeout := time.NewTimer(r.cfg.AckTimeout)
	defer timeout.Stop()
	errs := f.errs
	var acked []int
	for i, pf := range f.futures {
		select {
		case <-pf.Ok():
			acked = append(acked, i)
		case err := <-pf.Err():
			errs = append(errs, err)
		case <-timeout.C:
			return acked, errors.Join(append(errs, errors.New("relay: broker acks timed out"))...)
		case <-ctx.Done():
			return acked, ctx.Err()
		}
	}
	return acked, errors.Join(errs...)
}

// publish sends a batch and waits for every ack, returning the ids the
// broker acknowledged.
func (r *Relay) publish(ctx context.Context, batch []event.Envelope) ([]string, error) {
	f := encode(batch)
	r.send(f)
	acked, err := r.wait(ctx, f)
	ids := make([]string, len(acked))
	for i, k := range acked {
		ids[i] = batch[k].ID
	}
	return ids, err
}
