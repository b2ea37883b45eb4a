package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/surge-commerce/surge/internal/broker"
	"github.com/surge-commerce/surge/internal/checkout"
	"github.com/surge-commerce/surge/internal/config"
	"github.com/surge-commerce/surge/internal/mailer"
	"github.com/surge-commerce/surge/internal/relay"
	"github.com/surge-commerce/surge/internal/store"
	"github.com/surge-commerce/surge/internal/tracing"
	"github.com/surge-commerce/surge/internal/worker"
)

// service is anything that runs in the background.
type service interface {
	Start(ctx context.Context) error
	Stop()
}

// roles are the background roles cfg gives this process. The sweeper,
// relay and workers work through bg, the background pool; the relay
// wakes on commits of st, where checkout writes.
func roles(ctx context.Context, cfg *config.Config, st, bg *store.Store, brk *broker.Broker, mods modules,
	now func() time.Time, log *slog.Logger, reg prometheus.Registerer, tracer *tracing.Tracer) ([]service, error) {
	var out []service
	if cfg.HasRole("sweeper") {
		out = append(out, sweeper(bg, mods, cfg, now, log))
	}
	if cfg.HasRole("relay") {
		out = append(out, relayRole(ctx, st, bg, brk, cfg, now, log, reg))
	}
	if cfg.HasRole("worker") {
		workers, err := workerRole(bg, brk, cfg, now, log, reg, tracer)
		if err != nil {
			return nil, err
		}
		out = append(out, workers...)
	}
	return out, nil
}

// sweeper reconciles expired reservations and unsettled charges, on the
// background pool bg.
func sweeper(bg *store.Store, mods modules, cfg *config.Config, now func() time.Time, log *slog.Logger) service {
	bgCheckout := newCheckout(bg, mods.carts, mods.payments, mods.sales, cfg, now, log)
	return checkout.NewReconciler(bgCheckout, cfg.ReconcileInterval, mods.payments)
}

// relayRole publishes the outbox to the broker.
func relayRole(ctx context.Context, st, bg *store.Store, brk *broker.Broker, cfg *config.Config,
	now func() time.Time, log *slog.Logger, reg prometheus.Registerer) service {
	return relay.New(bg, brk.JetStream(), relayWake(ctx, st, cfg),
		relay.Config{Retention: cfg.OutboxRetention, Sole: bg.OneWriter()}, now, log, reg)
}

// workerRole runs the event consumers and, with SMTP configured, the mail
// sender.
func workerRole(bg *store.Store, brk *broker.Broker, cfg *config.Config, now func() time.Time,
	log *slog.Logger, reg prometheus.Registerer, tracer *tracing.Tracer) ([]service, error) {
	var out []service
	m := worker.NewMetrics(reg)
	for _, h := range Consumers(bg, now) {
		out = append(out, worker.New(brk.JetStream(), h, worker.Config{Tracer: tracer}, log, m))
	}
	if cfg.SMTPURL != "" {
		sender, err := mailer.New(bg, mailer.Config{URL: cfg.SMTPURL}, now, log, reg)
		if err != nil {
			return nil, err
		}
		out = append(out, sender)
	}
	return out, nil
}

// relayWake merges this process's commits and, on PostgreSQL, every
// process's commits (LISTEN/NOTIFY) into one wake-up channel.
func relayWake(ctx context.Context, st *store.Store, cfg *config.Config) <-chan struct{} {
	wake := make(chan struct{}, 1)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-st.OutboxWake():
				select {
				case wake <- struct{}{}:
				default:
				}
			}
		}
	}()
	if !st.OneWriter() {
		go store.ListenOutbox(ctx, cfg.DatabaseURL, wake)
	}
	return wake
}
