package psp

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"
)

const (
	webhookBatch = 100
	// webhookIdle bounds a sleep with nothing due, as a safety net should
	// a wake-up ever be missed.
	webhookIdle = time.Minute
)

// webhookSender delivers the webhook outbox: each event until the receiver
// answers 2xx or WebhookMaxAttempts have failed, with exponential backoff.
// Delivery is at least once and in no particular order across retries.
type webhookSender struct {
	cfg    Config
	store  *store
	client *http.Client
	log    *slog.Logger
	wakeCh chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
}

func newWebhookSender(cfg Config, st *store) *webhookSender {
	return &webhookSender{
		cfg:    cfg,
		store:  st,
		client: &http.Client{Timeout: cfg.WebhookTimeout},
		log:    cfg.Logger,
		wakeCh: make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
}

func (w *webhookSender) start() {
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	go w.run(ctx)
}

// stop abandons a delivery in flight (it is retried after a restart) and
// waits for the loop to end.
func (w *webhookSender) stop() {
	w.cancel()
	<-w.done
}

// wake tells the loop that a new event may be due, without blocking.
func (w *webhookSender) wake() {
	select {
	case w.wakeCh <- struct{}{}:
	default:
	}
}

func (w *webhookSender) run(ctx context.Context) {
	defer close(w.done)
	for {
		w.deliverDue(ctx)
		t := time.NewTimer(w.untilNextDue(ctx))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-w.wakeCh:
		case <-t.C:
		}
		t.Stop()
	}
}

func (w *webhookSender) untilNextDue(ctx context.Context) time.Duration {
	next, ok, err := w.store.nextDue(ctx)
	if err != nil || !ok {
		return webhookIdle
	}
	return min(max(next.Sub(w.cfg.Now()), 0), webhookIdle)
}

func (w *webhookSender) deliverDue(ctx context.Context) {
	for ctx.Err() == nil {
		events, err := w.store.dueEvents(ctx, w.cfg.Now(), webhookBatch)
		if err != nil {
			w.log.Warn("psp: read webhook outbox", "err", err)
			return
		}
		for _, ev := range events {
			if err := w.deliver(ctx, ev); err != nil {
				// The store is failing; the next wake-up or timer retries.
				w.log.Warn("psp: record webhook attempt", "err", err)
				return
			}
		}
		if len(events) < webhookBatch {
			return
		}
	}
}

// deliver makes one attempt and records it; the error is the store's.
func (w *webhookSender) deliver(ctx context.Context, ev pendingEvent) error {
	err := w.post(ctx, ev.body)
	if ctx.Err() != nil {
		return nil // stopping: not the receiver's fault, try again after restart
	}
	attempts := ev.attempts + 1
	giveUp := err != nil && attempts >= w.cfg.WebhookMaxAttempts
	if err != nil {
		w.log.Warn("psp: webhook delivery failed", "attempt", attempts, "give_up", giveUp, "err", err)
	}
	next := w.cfg.Now().Add(w.backoff(attempts))
	return w.store.markEvent(ctx, ev.seq, err == nil || giveUp, next)
}

func (w *webhookSender) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, Sign(w.cfg.WebhookSecret, body, w.cfg.Now()))
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return &statusError{status: resp.StatusCode}
	}
	return nil
}

// backoff is the delay before attempt+1: doubling from WebhookBackoff up to
// WebhookMaxBackoff, with jitter so that a receiver coming back is not hit
// by every retry at once.
func (w *webhookSender) backoff(attempt int) time.Duration {
	d := w.cfg.WebhookBackoff
	for i := 1; i < attempt && d < w.cfg.WebhookMaxBackoff; i++ {
		d *= 2
	}
	d = min(d, w.cfg.WebhookMaxBackoff)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

type statusError struct{ status int }

func (e *statusError) Error() string { return fmt.Sprintf("receiver answered %d", e.status) }
