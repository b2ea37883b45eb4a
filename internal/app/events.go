package app

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/surge-commerce/surge/internal/analytics"
	"github.com/surge-commerce/surge/internal/broker"
	"github.com/surge-commerce/surge/internal/config"
	"github.com/surge-commerce/surge/internal/event"
	"github.com/surge-commerce/surge/internal/invoice"
	"github.com/surge-commerce/surge/internal/notify"
	"github.com/surge-commerce/surge/internal/recommend"
	"github.com/surge-commerce/surge/internal/store"
	"github.com/surge-commerce/surge/internal/worker"
)

// prepareEvents makes sure the streams exist and, when the embedded broker
// starts on a new store or after an unclean stop, marks events for
// re-publishing: the SQL outbox, not the broker, is the source of truth
// (docs/adr/0005).
func prepareEvents(ctx context.Context, st *store.Store, brk *broker.Broker, cfg *config.Config, log *slog.Logger) error {
	err := brk.EnsureStreams(ctx, broker.StreamConfig{
		Replicas: cfg.StreamReplicas, Duplicates: 2 * time.Hour, MaxAge: cfg.EventRetention,
	}, append(event.Streams, event.DLQ)...)
	if err != nil {
		return err
	}
	if brk.Embedded() {
		// Other local tools (surge events ...) find the running broker here.
		if err := os.WriteFile(NATSURLFile(cfg.DataDir), []byte(brk.URL()), 0o640); err != nil {
			return err
		}
		switch {
		case brk.FreshStore():
			// Every event the outbox still holds goes out again: the
			// consumers skip those whose effects they recorded (the
			// restored consumed_events) and apply the rest once
			// (docs/DR.md). On a new install the outbox is empty.
			n, err := st.RepublishSince(ctx, time.Unix(0, 0))
			if err != nil {
				return err
			}
			if n > 0 {
				log.Warn("the broker's store is new but the outbox holds published events (a restore, or a lost data directory): re-publishing them", "events", n)
			}
		case brk.UncleanStart():
			n, err := st.RepublishSince(ctx, time.Now().Add(-cfg.RepublishWindow))
			if err != nil {
				return err
			}
			log.Warn("broker did not stop cleanly: re-publishing recent events", "events", n, "window", cfg.RepublishWindow.String())
		}
	}
	return nil
}

// Consumers are the event consumers, in the worker role and in a replay
// alike.
func Consumers(st *store.Store, now func() time.Time) []worker.Handler {
	return []worker.Handler{
		notify.NewHandler(st, now), invoice.NewHandler(st, now),
		analytics.NewHandler(st, now), recommend.NewHandler(st, now),
	}
}

// NATSURLFile is where a server with an embedded broker leaves its URL for
// the other commands on the same data directory.
func NATSURLFile(dataDir string) string { return filepath.Join(dataDir, "nats.url") }

// outboxInfo reports the outbox lag in /readyz detail.
func outboxInfo(st *store.Store, now func() time.Time) func(context.Context) any {
	return func(ctx context.Context) any {
		lag, pending, err := st.OutboxLag(ctx, now())
		if err != nil {
			return map[string]any{"error": err.Error()}
		}
		return map[string]any{"unpublished": pending, "lag_seconds": lag.Seconds()}
	}
}
